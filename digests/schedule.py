"""When the weekly letter is due (pure: `now`, the settings and the calendar passed in).

A week is the ISO week in the bot's time zone (« 2026-W49 »). The letter of a week
is due at `[digest] day` and `time`, moved by the school calendar
(`SchoolCalendar.letter_day`): nothing in a school-holiday week, the next school
day of the same week after a public holiday. It goes out at the first tick after
that moment, if less than `LATE_LIMIT` late; later than that it is skipped (the
bot was down). The previous week is looked at too, within that limit, so that a
letter due on Sunday evening still goes out after a restart on Monday morning.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.config import DigestSettings

LATE_LIMIT = timedelta(hours=24)


class LetterCalendar(Protocol):
    def letter_day(self, week_monday: date, weekday: int) -> date | None: ...


@dataclass(frozen=True)
class DueLetter:
    week: str  # « 2026-W49 »
    due: datetime

    def too_late(self, now: datetime) -> bool:
        return now - self.due > LATE_LIMIT


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def due_letter(
    week_monday: date, settings: DigestSettings, tz: ZoneInfo, calendar: LetterCalendar
) -> DueLetter | None:
    """The week's letter and its due moment, or None (holidays, or the week ended first)."""
    day = calendar.letter_day(week_monday, settings.weekday)
    if day is None:
        return None
    due = datetime.combine(day, settings.local_time, tzinfo=tz)
    return DueLetter(iso_week(week_monday), due)


def fallen_due(
    now: datetime, settings: DigestSettings, tz: ZoneInfo, calendar: LetterCalendar
) -> Iterator[DueLetter]:
    """This week's letter once its moment has come, after last week's if that one is
    less than `LATE_LIMIT` late (older weeks are history: nothing to send, nothing to log)."""
    local = now.astimezone(tz).date()
    monday = local - timedelta(days=local.weekday())
    last_week = due_letter(monday - timedelta(days=7), settings, tz, calendar)
    if last_week is not None and not last_week.too_late(now):
        yield last_week
    this_week = due_letter(monday, settings, tz, calendar)
    if this_week is not None and this_week.due <= now:
        yield this_week


def next_letter(
    now: datetime, settings: DigestSettings, tz: ZoneInfo, calendar: LetterCalendar
) -> DueLetter | None:
    """The next due moment after `now`, within the coming year (for `!lettre`'s answers)."""
    local = now.astimezone(tz).date()
    monday = local - timedelta(days=local.weekday())
    for weeks in range(53):
        letter = due_letter(monday + timedelta(weeks=weeks), settings, tz, calendar)
        if letter is not None and letter.due > now:
            return letter
    return None
