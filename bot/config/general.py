"""The ``[bot]`` section: who administers the bot, and how it behaves."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from bot.config.errors import UnechoedValueError
from bot.config.fields import RoomRef, UserId

SHARED_ADMINS_MESSAGE = (
    "n’a plus cours quand des établissements sont déclarés : indiquez les RUPN de chaque "
    "établissement dans [[etablissements]] admins ou dans la colonne rupn du fichier CSV, "
    "et les administrateurs de l’académie dans [academie] admins"
)
"""Why ``[bot] admins`` is refused in a shared deployment (the key is named before it)."""


class BotSettings(BaseModel):
    """The ``[bot]`` section: who administers the bot, and how it behaves."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Required (at least one) for a single school; refused once établissements are declared
    # (validation context ``shared``): their RUPN are then the schools' admins.
    admins: tuple[UserId, ...] = Field(default=None, validate_default=True)
    timezone: str = "Europe/Paris"
    max_sends_per_second: float = Field(default=1.0, strict=True, gt=0, le=100, allow_inf_nan=False)

    broadcast_rooms: tuple[RoomRef, ...] = ()
    workshop_reminders: Literal["salon", "prive"] = "salon"
    workshop_signup_notices: Literal["discret", "salon"] = "discret"

    @field_validator("workshop_reminders", "workshop_signup_notices", mode="before")
    @classmethod
    def _accents_ignored(cls, value: object) -> object:
        """« privé » and « Prive » mean "prive", as commands ignore case and accents."""
        if not isinstance(value, str):
            return value
        decomposed = unicodedata.normalize("NFKD", value.strip())
        return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()

    curation_room: RoomRef | None = None
    feed_poll_minutes: float = Field(default=30.0, strict=True, ge=0.05, le=1440)
    poll_check_seconds: float = Field(
        default=5.0, strict=True, ge=1, le=300, allow_inf_nan=False
    )  # how soon after its deadline a poll ends; one indexed query per check
    needs_poll_themes: tuple[str, ...] = ()

    @field_validator("needs_poll_themes")
    @classmethod
    def _check_themes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        themes = tuple(" ".join(t.split()) for t in value)
        if not themes:
            return themes
        if not 2 <= len(themes) <= 20:
            raise ValueError(
                f"il faut entre 2 et 20 thèmes pour le sondage des besoins (ici {len(themes)})"
            )
        if any(not t or "|" in t for t in themes):
            raise ValueError("chaque thème doit être un texte non vide, sans barre « | »")
        if len({t.casefold() for t in themes}) != len(themes):
            raise ValueError("un thème figure deux fois dans needs_poll_themes")
        return themes

    @field_validator("admins", mode="before")
    @classmethod
    def _admins_where_they_belong(cls, value: object, info: ValidationInfo) -> object:
        context = info.context
        shared = isinstance(context, Mapping) and bool(context.get("shared"))
        if shared:
            if value is not None:
                raise UnechoedValueError(SHARED_ADMINS_MESSAGE)
            return ()
        if value is None:
            raise PydanticCustomError("missing", "Field required")
        return value

    @field_validator("admins")
    @classmethod
    def _deduplicate(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        context = info.context
        if not value and not (isinstance(context, Mapping) and context.get("shared")):
            raise PydanticCustomError(
                "too_short", "too short", {"min_length": 1, "actual_length": 0}
            )
        return tuple(dict.fromkeys(value))

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                "fuseau horaire inconnu : utilisez un nom de la base IANA, "
                "par exemple « Europe/Paris », « America/Cayenne » ou « Indian/Reunion »"
            ) from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)
