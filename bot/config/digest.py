"""The ``[digest]`` section: the weekly letter in the staff rooms."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

from bot.config.fields import RoomRef, Zone

FRENCH_WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
"""Index = `date.weekday()`."""

_LETTER_TIME_RE = re.compile(r"(?P<h>[01]?\d|2[0-3])\s*(?:h\s*(?P<m1>[0-5]\d)?|:(?P<m2>[0-5]\d))")


def parse_letter_time(value: str) -> time:
    """« 16h30 », « 16h », « 16:30 » → 16:30 (a local minute)."""
    match = _LETTER_TIME_RE.fullmatch(value.strip().lower())
    if match is None:
        raise ValueError("doit être une heure comme « 16h30 », « 16h » ou « 16:30 »")
    return time(int(match["h"]), int(match["m1"] or match["m2"] or 0))


LocalTime = time
"""`time` is also a field name of DigestSettings."""


class DigestSettings(BaseModel):
    """The ``[digest]`` section: the weekly letter in the staff rooms."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    day: Literal["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"] = (
        "vendredi"
    )
    time: Annotated[str, AfterValidator(lambda v: (parse_letter_time(v), v)[1])] = "16h30"
    zone: Zone = None
    rooms: tuple[RoomRef, ...] = ()
    permalink_base: str = "https://matrix.to/#/"

    @field_validator("day", mode="before")
    @classmethod
    def _day_accents_ignored(cls, value: object) -> object:
        return value.strip().casefold() if isinstance(value, str) else value

    @field_validator("permalink_base")
    @classmethod
    def _check_permalink_base(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "doit être une adresse web, par exemple « https://matrix.to/#/ » ou "
                "« https://www.tchap.gouv.fr/#/room/ »"
            )
        return value

    @property
    def weekday(self) -> int:
        """0 = Monday."""
        return FRENCH_WEEKDAYS.index(self.day)

    @property
    def local_time(self) -> LocalTime:
        return parse_letter_time(self.time)
