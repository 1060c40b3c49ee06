"""Section 7: the breakdowns reported with `!panne` in the year, and how fast the desk was.

Delays are in days (fractions kept, medians rounded by the CSV): opened → the desk's first
answer, and opened → closed. A request counts in the year it was reported; its closing,
when it came (even after the year's end, when the bilan is made later).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from statistics import median

from bot.storage.database import Database, loaded, stored

_DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class CategoryRepairs:
    category: str  # a key of [assistance] categories; "" for the school's desk
    opened: int
    closed: int


@dataclass(frozen=True, slots=True)
class Repairs:
    opened: int
    closed: int
    first_answer_median_days: float | None
    resolution_median_days: float | None
    by_category: tuple[CategoryRepairs, ...] = ()


NO_REPAIRS = Repairs(0, 0, None, None)


def _days(start: str, end: str | None) -> float | None:
    return (loaded(end) - loaded(start)).total_seconds() / _DAY_S if end else None


async def repairs(db: Database, since: datetime, until: datetime, school: str) -> Repairs:
    rows = await db.fetchall(
        "SELECT category, status, opened_at, first_answer_at, closed_at"
        " FROM assistance_requests WHERE school = ? AND opened_at >= ? AND opened_at < ?",
        (school, stored(since), stored(until)),
    )
    answers = [d for r in rows if (d := _days(r["opened_at"], r["first_answer_at"])) is not None]
    resolutions = [d for r in rows if (d := _days(r["opened_at"], r["closed_at"])) is not None]
    categories: dict[str, list[int]] = {}
    for r in rows:
        counts = categories.setdefault(r["category"], [0, 0])
        counts[0] += 1
        counts[1] += r["status"] == "closed"
    return Repairs(
        opened=len(rows),
        closed=sum(1 for r in rows if r["status"] == "closed"),
        first_answer_median_days=median(answers) if answers else None,
        resolution_median_days=median(resolutions) if resolutions else None,
        by_category=tuple(
            CategoryRepairs(name, opened, closed)
            for name, (opened, closed) in sorted(categories.items(), key=lambda c: (-c[1][0], c[0]))
        ),
    )
