"""The ``[privacy]`` and ``[bilan]`` sections: how long personal data is kept, which school year
the bilan covers."""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

_MONTH_DAY_RE = re.compile(r"(?P<m>\d{2})-(?P<d>\d{2})")


MIN_RETENTION_MONTHS = 12


class PrivacySettings(BaseModel):
    """The ``[privacy]`` section: how long personal data is kept."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    retention_months: int = Field(default=13, le=120)

    @field_validator("retention_months")
    @classmethod
    def _a_school_year_at_least(cls, value: int) -> int:
        # Shorter, read markers would go mid-year and the year's readers be counted again.
        if value < MIN_RETENTION_MONTHS:
            raise ValueError(
                f"doit valoir au moins {MIN_RETENTION_MONTHS} mois (une année scolaire entière, "
                f"pour que le bilan de l’année reste juste) ; vous avez écrit {value}"
            )
        return value


class BilanSettings(BaseModel):
    """The ``[bilan]`` section: the school year the bilan covers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    year_start: str = "09-01"  # MM-DD: 1 September

    @field_validator("year_start")
    @classmethod
    def _check_year_start(cls, value: str) -> str:
        match = _MONTH_DAY_RE.fullmatch(value.strip())
        try:
            if match is None:
                raise ValueError
            date(2001, int(match["m"]), int(match["d"]))  # not a leap year: no 29 February
        except ValueError:
            raise ValueError(
                "doit être un jour de l’année au format MM-JJ, par exemple « 09-01 » pour le "
                "1er septembre"
            ) from None
        return value.strip()

    @property
    def start_month_day(self) -> tuple[int, int]:
        month, day = self.year_start.split("-")
        return int(month), int(day)
