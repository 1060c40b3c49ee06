"""The French school calendar: public holidays, and the school holidays of one zone.

Public holidays are the eleven of the Code du travail (article L3133-1), computed: fixed
days, and the three that follow Easter (Gregorian computus). They were read from the
`holidays` package, which imports its 250 countries to answer for one (9 MiB held by
the bot from its first check, when the weekly letter is on: at start-up); a unit test
checks every year from 2008 (when Pentecost Monday became a holiday again) to 2100
against that package. School holidays come from `vacances-scolaires-france` (the
ministry's calendar for zones A, B and C), which ships data up to a given school year
(the end of its last summer holidays); a day beyond it, or before its first year,
counts as « not a school holiday », and one warning per year says that the package
needs updating. Names keep the wording of the packages, with the typographic
apostrophe (« Vacances d’hiver », « Jour de l’an »), since people read them.

The school-holiday data is imported and read on the first question, once per process
and per zone: building a calendar is free, a bot that never asks (no weekly letter, no
atelier) never loads it, and every question after the first is a dictionary lookup.
The data takes a fraction of a second to load.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

log = logging.getLogger(__name__)

ZONES = ("A", "B", "C")
_DAY = timedelta(days=1)


class SchoolCalendar:
    """Public holidays everywhere in France, and the school holidays of `zone` (if any)."""

    def __init__(self, zone: str | None) -> None:
        """`zone` is "A", "B" or "C"; None knows no school holidays, only public ones."""
        if zone is not None and zone not in ZONES:
            raise ValueError(f"unknown school zone {zone!r}: expected A, B, C or None")
        self.zone = zone

    def public_holiday(self, day: date) -> str | None:
        """The French name of the public holiday on `day` (« Ascension »), else None."""
        return _public_holidays(_checked(day).year).get(day)

    def school_holiday(self, day: date) -> str | None:
        """The name of the zone's school holidays `day` falls in (« Vacances de Noël »)."""
        if self.zone is None:
            return None
        known = _zone_holidays(self.zone)
        if not known.first <= _checked(day) <= known.last:
            _warn_out_of_date(day.year, known.first, known.last)
            return None
        return known.names.get(day)

    def is_school_day(self, day: date) -> bool:
        """Monday to Friday, neither a public holiday nor in the zone's school holidays."""
        return (
            day.weekday() < 5
            and self.public_holiday(day) is None
            and self.school_holiday(day) is None
        )

    def letter_day(self, week_monday: date, weekday: int) -> date | None:
        """The day the weekly letter due on `weekday` (0 = Monday) goes out that ISO week.

        None in the school holidays; a public holiday moves it to the next school day of
        the same week (None if there is none); any other day, weekends included (the RUPN
        chose it), is kept.
        """
        if _checked(week_monday).weekday() != 0:
            raise ValueError(f"{week_monday} is not a Monday")
        if not 0 <= weekday <= 6:
            raise ValueError(f"weekday {weekday} is not in 0..6")
        due = week_monday + timedelta(days=weekday)
        if self.school_holiday(due) is not None:
            return None
        if self.public_holiday(due) is None:
            return due
        for offset in range(weekday + 1, 7):
            later = week_monday + timedelta(days=offset)
            if self.is_school_day(later):
                return later
        return None

    def break_before(self, day: date) -> tuple[date, str] | None:
        """The first day and name of the school holidays that end just before `day`.

        `day` (outside the holidays) counts as coming « just after » them when only
        weekends and public holidays lie in between, as on the Monday of the return to
        school: `break_before(date(2027, 1, 4))` is `(date(2026, 12, 19), "Vacances de
        Noël")`. A weekend or a public holiday alone is no break: None.
        """
        if self.school_holiday(day) is not None:
            return None
        last = day - _DAY
        while (name := self.school_holiday(last)) is None:
            if self.is_school_day(last):
                return None
            last -= _DAY  # a weekend or a public holiday: look further back
        first = last
        while self.school_holiday(first - _DAY) == name:
            first -= _DAY
        return first, name


def _checked(day: date) -> date:
    """A datetime is a date to the type checker but never equal to one: refuse it."""
    if isinstance(day, datetime):
        raise TypeError("expected a date, not a datetime: use .date() in the right time zone")
    return day


def _typographic(name: str) -> str:
    return name.replace("'", "’")


_FIXED_HOLIDAYS = {
    (1, 1): "Jour de l’an",
    (5, 1): "Fête du Travail",
    (5, 8): "Fête de la Victoire",
    (7, 14): "Fête nationale",
    (8, 15): "Assomption",
    (11, 1): "Toussaint",
    (11, 11): "Armistice",
    (12, 25): "Noël",
}
_AFTER_EASTER = {1: "Lundi de Pâques", 39: "Ascension", 50: "Lundi de Pentecôte"}


def easter(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (the « anonymous » computus, Meeus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


@functools.cache
def _public_holidays(year: int) -> Mapping[date, str]:
    """A day with two holidays (Ascension on 1 or 8 May) bears both names, in alphabetical
    order (« Ascension; Fête du Travail »), as `holidays` named it."""
    sunday = easter(year)
    names: dict[date, list[str]] = {}
    for day, name in [
        *((date(year, month, day), name) for (month, day), name in _FIXED_HOLIDAYS.items()),
        *((sunday + timedelta(days=n), name) for n, name in _AFTER_EASTER.items()),
    ]:
        names.setdefault(day, []).append(name)
    return {day: "; ".join(sorted(both)) for day, both in names.items()}


@dataclass(frozen=True)
class _ZoneHolidays:
    """One zone's school holidays, and the first and last days the data knows about."""

    first: date
    last: date
    names: Mapping[date, str]


@functools.cache
def _zone_holidays(zone: str) -> _ZoneHolidays:
    """Read once per zone; the package's own table (every day of every zone and year, as
    one dict per day: about 2 MiB) is left to the garbage collector once it is read."""
    from vacances_scolaires_france import SchoolHolidayDates  # see the module's docstring

    data = SchoolHolidayDates()
    names = {
        day: sys.intern(_typographic(row["nom_vacances"]))
        for day, row in data.data.items()  # one pass: its per-year queries scan it all
        if data.is_holiday_for_zone(day, zone)
    }
    return _ZoneHolidays(date(data.min_year, 1, 1), max(data.data), names)


@functools.cache
def _warn_out_of_date(year: int, first: date, last: date) -> None:
    """Once per year and per process, however many rooms or days ask."""
    log.warning(
        "No school-holiday data for (part of) %d: vacances-scolaires-france covers %s to %s. "
        "The calendar data is out of date: update the vacances-scolaires-france package. "
        "Until then those days count as school days.",
        year,
        first,
        last,
    )
