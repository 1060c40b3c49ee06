"""School years (« 2025-2026 »): 1 September – 31 August by default, in the bot's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

_LABEL = re.compile(r"([0-9]{4})\s*[-/]\s*([0-9]{4})")
FIRST_YEARS = range(1900, 9999)
"""The first calendar years a label may name: 1900-1901 to 9998-9999 (dates end at 9999)."""


@dataclass(frozen=True, order=True)
class SchoolYear:
    first: int  # 2025 for 2025-2026
    start_month: int = 9
    start_day: int = 1

    @property
    def label(self) -> str:
        return f"{self.first}-{self.first + 1}"

    @property
    def start_date(self) -> date:
        return date(self.first, self.start_month, self.start_day)

    @property
    def end_date(self) -> date:
        """The first day of the next school year (exclusive)."""
        return date(self.first + 1, self.start_month, self.start_day)

    def start(self, tz: ZoneInfo) -> datetime:
        return datetime.combine(self.start_date, time(0, 0), tzinfo=tz)

    def end(self, tz: ZoneInfo) -> datetime:
        return datetime.combine(self.end_date, time(0, 0), tzinfo=tz)

    def contains(self, moment: datetime, tz: ZoneInfo) -> bool:
        return self.start(tz) <= moment < self.end(tz)


def school_year_of(
    moment: datetime, tz: ZoneInfo, start_month: int = 9, start_day: int = 1
) -> SchoolYear:
    local = moment.astimezone(tz).date()
    first = local.year if (local.month, local.day) >= (start_month, start_day) else local.year - 1
    return SchoolYear(first, start_month, start_day)


def parse_school_year(text: str, start_month: int = 9, start_day: int = 1) -> SchoolYear:
    """« 2025-2026 » (or « 2025/2026 »), ASCII digits, from 1900-1901; ValueError with a
    French message otherwise (« 0000-0001 » has no dates: year 0 does not exist)."""
    match = _LABEL.fullmatch(text.strip())
    if match is None or int(match[2]) != int(match[1]) + 1 or int(match[1]) not in FIRST_YEARS:
        raise ValueError(
            f"« {text.strip()[:20]} » n’est pas une année scolaire : écrivez par exemple 2025-2026."
        )
    return SchoolYear(int(match[1]), start_month, start_day)
