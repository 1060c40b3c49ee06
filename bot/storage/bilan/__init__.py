"""The bilan's indicators, computed in SQL over a school year.

Every figure is an aggregate made by SQLite: counts, sums and medians (window
functions), per month and per local time slot (the bounds of the months and the
UTC offsets of the time zone are passed in as JSON, so that summer time is right).
Python only maps the few result rows to frozen dataclasses: a year of 500,000
engagement rows costs a dozen statements. Nothing here returns a person: no user
id, no name, only numbers and what the RUPN typed (themes, poll answers, feeds).

What each figure means is documented where it is shown (digests/bilan/model.py,
`INDICATORS`); the choices that only SQL can see are commented below.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.schools import IMPLICIT_KEY
from bot.storage.bilan import consultations, diffusion, gatherings, repairs
from bot.storage.bilan.periods import month_bounds, offset_periods
from bot.storage.bilan.poll_votes import FEEDBACK_TEMPLATE, NEEDS_TEMPLATE
from bot.storage.bilan.repairs import NO_REPAIRS, CategoryRepairs, Repairs
from bot.storage.bilan.results import (
    Consultations,
    Diffusion,
    Gatherings,
    KeyCount,
    MonthCount,
    NewsWatch,
    Reading,
    Satisfaction,
    SourceCounts,
    ThemeCount,
    WorkshopKind,
)
from bot.storage.database import Database

__all__ = [
    "FEEDBACK_TEMPLATE",
    "NEEDS_TEMPLATE",
    "NO_REPAIRS",
    "BilanRepository",
    "CategoryRepairs",
    "Consultations",
    "Diffusion",
    "Gatherings",
    "KeyCount",
    "MonthCount",
    "NewsWatch",
    "Reading",
    "Repairs",
    "Satisfaction",
    "SourceCounts",
    "ThemeCount",
    "WorkshopKind",
    "month_bounds",
    "offset_periods",
]


class BilanRepository:
    """One call per section of the survey, for one établissement (an académie's news
    sources count for a school by what it decided on); each module holds its section's
    SQL."""

    def __init__(self, db: Database, school: str = IMPLICIT_KEY) -> None:
        self._db = db
        self._school = school

    def of_school(self, school: str) -> BilanRepository:
        """The same figures for another établissement: only the académie's bilan asks."""
        return BilanRepository(self._db, school)

    async def diffusion(self, since: datetime, until: datetime, tz: ZoneInfo) -> Diffusion:
        return await diffusion.diffusion(self._db, since, until, tz, self._school)

    async def news(self, since: datetime, until: datetime) -> NewsWatch:
        return await diffusion.news(self._db, since, until, self._school)

    async def gatherings(
        self, since: datetime, until: datetime, cutoff: datetime, tz: ZoneInfo
    ) -> dict[WorkshopKind, Gatherings]:
        return await gatherings.gatherings(self._db, since, until, cutoff, tz, self._school)

    async def consultations(self, since: datetime, until: datetime) -> Consultations:
        return await consultations.consultations(self._db, since, until, self._school)

    async def repairs(self, since: datetime, until: datetime) -> Repairs:
        return await repairs.repairs(self._db, since, until, self._school)
