"""Dates for people, in French (babel), in the bot's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime


def format_moment(moment: datetime, tz: ZoneInfo) -> str:
    """« dimanche 22 novembre 2026 à 19h42 »."""
    return format_datetime(moment.astimezone(tz), "EEEE d MMMM y 'à' H'h'mm", locale="fr_FR")
