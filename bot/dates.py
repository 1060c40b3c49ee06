"""Dates for people, in French (babel), in the bot's time zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime


def format_when(moment: datetime, tz: ZoneInfo, *, with_year: bool = False) -> str:
    """« mardi 1 décembre à 12h30 » (« mardi 1 décembre 2026 à 12h30 » with the year)."""
    pattern = "EEEE d MMMM y 'à' H'h'mm" if with_year else "EEEE d MMMM 'à' H'h'mm"
    return format_datetime(moment.astimezone(tz), pattern, locale="fr_FR")


def format_day(day: date, *, weekday: bool = False) -> str:
    """« 30 novembre », « 1er décembre » (« vendredi 4 décembre » with the weekday)."""
    text = format_date(day, "d MMMM", locale="fr_FR")
    if day.day == 1:
        text = "1er" + text[1:]
    return f"{format_date(day, 'EEEE', locale='fr_FR')} {text}" if weekday else text
