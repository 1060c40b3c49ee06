"""bot/school_calendar.py over the real data of `holidays` and `vacances-scolaires-france`.

The expected dates below were checked against vacances-scolaires-france 0.12.0 (the
ministry's calendar up to the summer of 2028) and holidays (France).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import pytest

from bot.school_calendar import SchoolCalendar, easter

ZONES = ("A", "B", "C")
MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2027, 1, 1), "Jour de l’an"),  # typographic apostrophe, as people read it
        (date(2027, 3, 29), "Lundi de Pâques"),
        (date(2027, 5, 1), "Fête du Travail"),
        (date(2027, 5, 8), "Fête de la Victoire"),
        (date(2027, 5, 6), "Ascension"),
        (date(2027, 5, 17), "Lundi de Pentecôte"),
        (date(2027, 7, 14), "Fête nationale"),
        (date(2027, 11, 11), "Armistice"),
        (date(2026, 12, 25), "Noël"),
    ],
)
def test_public_holidays_have_their_french_names(day: date, name: str) -> None:
    for zone in (*ZONES, None):
        assert SchoolCalendar(zone).public_holiday(day) == name


def test_an_ordinary_day_is_no_holiday() -> None:
    calendar = SchoolCalendar("A")
    assert calendar.public_holiday(date(2027, 1, 19)) is None
    assert calendar.school_holiday(date(2027, 1, 19)) is None
    assert calendar.is_school_day(date(2027, 1, 19))


def test_school_days() -> None:
    calendar = SchoolCalendar("B")
    assert calendar.is_school_day(date(2027, 1, 22))  # a Friday
    assert not calendar.is_school_day(date(2027, 1, 23))  # Saturday
    assert not calendar.is_school_day(date(2027, 1, 24))  # Sunday
    assert not calendar.is_school_day(date(2027, 11, 11))  # Armistice
    assert not calendar.is_school_day(date(2026, 12, 22))  # Christmas holidays


def test_christmas_2026_is_a_holiday_in_every_zone() -> None:
    for zone in ZONES:
        calendar = SchoolCalendar(zone)
        assert calendar.school_holiday(date(2026, 12, 18)) is None  # the last Friday of school
        assert calendar.school_holiday(date(2026, 12, 19)) == "Vacances de Noël"
        assert calendar.school_holiday(date(2027, 1, 3)) == "Vacances de Noël"
        assert calendar.school_holiday(date(2027, 1, 4)) is None  # back to school
        for monday in (date(2026, 12, 21), date(2026, 12, 28)):
            for weekday in range(7):
                assert calendar.letter_day(monday, weekday) is None, (zone, monday, weekday)
        assert calendar.letter_day(date(2027, 1, 4), MONDAY) == date(2027, 1, 4)


def test_winter_holidays_2027_differ_by_zone() -> None:
    """Zone C: 6–21 February; zone A: 13–28 February; zone B: 20 February–7 March."""
    a, b, c = (SchoolCalendar(zone) for zone in ZONES)
    assert a.school_holiday(date(2027, 2, 19)) == "Vacances d’hiver"
    # A Friday letter in the week of 15 February: zones A and C are on holiday, not B.
    week = date(2027, 2, 15)
    assert a.letter_day(week, FRIDAY) is None
    assert c.letter_day(week, FRIDAY) is None
    assert b.letter_day(week, FRIDAY) == date(2027, 2, 19)
    # The week of 8 February: zone C only.
    week = date(2027, 2, 8)
    assert c.letter_day(week, TUESDAY) is None
    assert a.letter_day(week, TUESDAY) == b.letter_day(week, TUESDAY) == date(2027, 2, 9)
    # The week of 1 March: zone B only.
    week = date(2027, 3, 1)
    assert b.letter_day(week, MONDAY) is None
    assert a.letter_day(week, MONDAY) == c.letter_day(week, MONDAY) == date(2027, 3, 1)


def test_spring_holidays_2027_differ_by_zone() -> None:
    """Zone C: 3–18 April; zone A: 10–25 April; zone B: 17 April–2 May."""
    a, b, c = (SchoolCalendar(zone) for zone in ZONES)
    week = date(2027, 4, 5)
    assert c.letter_day(week, THURSDAY) is None
    assert a.letter_day(week, THURSDAY) == b.letter_day(week, THURSDAY) == date(2027, 4, 8)
    week = date(2027, 4, 26)
    assert b.letter_day(week, THURSDAY) is None
    assert a.letter_day(week, THURSDAY) == c.letter_day(week, THURSDAY) == date(2027, 4, 29)
    assert b.school_holiday(date(2027, 4, 29)) == "Vacances de printemps"


def test_a_public_holiday_moves_the_letter_to_the_next_school_day_of_the_week() -> None:
    for zone in (*ZONES, None):
        calendar = SchoolCalendar(zone)
        # Armistice, Thursday 11 November 2027 (after the Toussaint holidays, which end on
        # the 7th): the letter goes on Friday.
        assert calendar.letter_day(date(2027, 11, 8), THURSDAY) == date(2027, 11, 12)
        # Easter Monday 2027 (no zone is on holiday): on Tuesday.
        assert calendar.letter_day(date(2027, 3, 29), MONDAY) == date(2027, 3, 30)
        # Whit Monday 2027: on Tuesday.
        assert calendar.letter_day(date(2027, 5, 17), MONDAY) == date(2027, 5, 18)
        # Armistice on Friday 11 November 2022: no school day is left that week.
        assert calendar.letter_day(date(2022, 11, 7), FRIDAY) is None
        # Christmas on Friday 25 December 2026 (holidays or not): nothing.
        assert calendar.letter_day(date(2026, 12, 21), FRIDAY) is None


def test_a_public_holiday_on_a_saturday_leaves_no_school_day() -> None:
    # Fête du Travail, Saturday 1 May 2027 (zones A and C are back at school).
    for zone in ("A", "C", None):
        assert SchoolCalendar(zone).letter_day(date(2027, 4, 26), SATURDAY) is None


def test_the_ascension_week_2027() -> None:
    """Ascension is Thursday 6 May 2027; the ministry also gives the Friday (the « pont »).

    Without a zone the Thursday letter goes on Friday 7 May; with a zone the Thursday is in
    the school holidays (« Pont de l’Ascension », 6–8 May in every zone): no letter.
    """
    assert SchoolCalendar(None).letter_day(date(2027, 5, 3), THURSDAY) == date(2027, 5, 7)
    for zone in ZONES:
        calendar = SchoolCalendar(zone)
        assert calendar.public_holiday(date(2027, 5, 6)) == "Ascension"
        assert calendar.school_holiday(date(2027, 5, 7)) == "Pont de l’Ascension"
        assert calendar.letter_day(date(2027, 5, 3), THURSDAY) is None
        assert calendar.letter_day(date(2027, 5, 3), WEDNESDAY) == date(2027, 5, 5)


def test_a_weekend_letter_day_is_kept() -> None:
    for zone in (*ZONES, None):
        assert SchoolCalendar(zone).letter_day(date(2027, 1, 18), SATURDAY) == date(2027, 1, 23)
        assert SchoolCalendar(zone).letter_day(date(2027, 1, 18), SUNDAY) == date(2027, 1, 24)


def test_without_a_zone_only_public_holidays_count() -> None:
    calendar = SchoolCalendar(None)
    assert calendar.school_holiday(date(2026, 12, 22)) is None
    assert calendar.is_school_day(date(2026, 12, 22))
    assert calendar.letter_day(date(2026, 12, 21), TUESDAY) == date(2026, 12, 22)
    assert calendar.letter_day(date(2027, 2, 15), FRIDAY) == date(2027, 2, 19)
    assert calendar.letter_day(date(2026, 12, 28), FRIDAY) is None  # 1 January
    assert calendar.break_before(date(2027, 1, 4)) is None


def test_break_before_the_return_to_school() -> None:
    for zone in ZONES:
        calendar = SchoolCalendar(zone)
        assert calendar.break_before(date(2027, 1, 4)) == (date(2026, 12, 19), "Vacances de Noël")
        assert calendar.break_before(date(2027, 1, 5)) is None  # the second day back
        assert calendar.break_before(date(2027, 1, 3)) is None  # still in the holidays
        assert calendar.break_before(date(2027, 1, 18)) is None  # a weekend is no break
        # Easter Monday then a Tuesday back at school: a long weekend is no break either.
        assert calendar.break_before(date(2027, 3, 30)) is None
        assert calendar.break_before(date(2027, 9, 1)) == (date(2027, 7, 3), "Vacances d’été")
        assert calendar.break_before(date(2027, 5, 10)) == (
            date(2027, 5, 6),
            "Pont de l’Ascension",
        )
    a, b, c = (SchoolCalendar(zone) for zone in ZONES)
    assert a.break_before(date(2027, 3, 1)) == (date(2027, 2, 13), "Vacances d’hiver")
    assert b.break_before(date(2027, 3, 8)) == (date(2027, 2, 20), "Vacances d’hiver")
    assert c.break_before(date(2027, 2, 22)) == (date(2027, 2, 6), "Vacances d’hiver")
    assert b.break_before(date(2027, 3, 1)) is None  # zone B is on holiday then


def test_out_of_range_years_warn_once_per_year(caplog: pytest.LogCaptureFixture) -> None:
    """No data for 2061 or 1985: school days as usual, one warning for each year."""
    with caplog.at_level(logging.WARNING, logger="bot.school_calendar"):
        for zone in ZONES:
            calendar = SchoolCalendar(zone)
            assert calendar.school_holiday(date(2061, 12, 25)) is None
            assert calendar.public_holiday(date(2061, 12, 25)) == "Noël"
            assert calendar.is_school_day(date(2061, 12, 22))  # a Thursday
            assert calendar.letter_day(date(2061, 12, 19), FRIDAY) == date(2061, 12, 23)
            assert calendar.break_before(date(2061, 12, 19)) is None
            assert calendar.school_holiday(date(1985, 7, 20)) is None
    warnings = [r for r in caplog.records if r.name == "bot.school_calendar"]
    assert [r.levelno for r in warnings] == [logging.WARNING, logging.WARNING]
    assert "2061" in warnings[0].getMessage()
    assert "1985" in warnings[1].getMessage()
    assert "update the vacances-scolaires-france package" in warnings[0].getMessage()


def test_beyond_the_last_summer_of_the_data_no_exception() -> None:
    """The data stops at the end of the summer of 2028: the Toussaint 2028 is unknown."""
    calendar = SchoolCalendar("A")
    assert calendar.school_holiday(date(2028, 8, 31)) == "Vacances d’été"
    assert calendar.school_holiday(date(2028, 10, 26)) is None
    assert calendar.public_holiday(date(2028, 11, 1)) == "Toussaint"


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="zone"):
        SchoolCalendar("D")
    calendar = SchoolCalendar("A")
    with pytest.raises(ValueError, match="Monday"):
        calendar.letter_day(date(2027, 1, 19), MONDAY)
    with pytest.raises(ValueError, match="weekday"):
        calendar.letter_day(date(2027, 1, 18), 7)
    moment = datetime(2027, 5, 6, 12, 0)  # noqa: DTZ001 -- a datetime is refused before use
    with pytest.raises(TypeError):
        calendar.public_holiday(moment)


def test_a_year_of_letters_for_many_rooms() -> None:
    """Calendars share the data read once: 200 rooms get the same weeks off."""
    calendar = SchoolCalendar("C")
    first = date(2027, 1, 4)
    expected = [calendar.letter_day(first + timedelta(weeks=w), THURSDAY) for w in range(52)]
    assert expected.count(None) >= 10  # the school holidays of zone C
    for _room in range(200):
        room_calendar = SchoolCalendar("C")
        assert [
            room_calendar.letter_day(first + timedelta(weeks=w), THURSDAY) for w in range(52)
        ] == expected


def test_public_holidays_are_those_of_the_holidays_package_from_2008_to_2100() -> None:
    """The computed holidays against the `holidays` package (a test dependency only: it
    imports its 250 countries to answer for one, 9 MiB the bot would keep)."""
    from holidays import country_holidays

    years = range(2008, 2101)
    expected = {
        day: name.replace("'", "’")
        for day, name in country_holidays("FR", years=years, language="fr").items()
    }
    calendar = SchoolCalendar(None)
    computed = {
        day: name
        for year in years
        for day in (date(year, 1, 1) + timedelta(days=n) for n in range(366))
        if day.year == year and (name := calendar.public_holiday(day)) is not None
    }
    assert computed == expected
    assert computed[date(2008, 5, 1)] == "Ascension; Fête du Travail"  # two on one day


def test_easter_sundays() -> None:
    assert [easter(year) for year in (2025, 2026, 2027, 2038, 2285)] == [
        date(2025, 4, 20),
        date(2026, 4, 5),
        date(2027, 3, 28),
        date(2038, 4, 25),  # the latest possible
        date(2285, 3, 22),  # the earliest possible
    ]
