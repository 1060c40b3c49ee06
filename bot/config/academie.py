"""The ``[academie]`` section and the ``[[etablissements]]`` entries: a shared deployment.

One bot run by the académie's digital service (DRANE/DANE) for many établissements. Each
school has its UAI, name, RUPN (its admins), holiday zone and, in TOML only, its own
``digest``/``email``/``feeds`` overrides. Hundreds of schools come from the CSV directory
named by ``academie.etablissements`` (read by `bot.config.directory`). With établissements,
``[bot]`` has no ``admins`` (see `bot.config.general`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.config.assistance import DeskOverride
from bot.config.digest import DigestSettings
from bot.config.errors import UnechoedValueError
from bot.config.feeds import FeedSettings
from bot.config.fields import UserId, Zone, relative_to_config
from bot.config.mail import EmailSettings
from bot.config.uai import Uai


def _one_line(value: object) -> object:
    return " ".join(value.split()) if isinstance(value, str) else value


def _deduplicate(value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value))


class SchoolSettings(BaseModel):
    """One ``[[etablissements]]`` entry, or one line of the CSV directory."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    uai: Uai
    nom: str = Field(min_length=1, max_length=200)
    admins: tuple[UserId, ...] = ()
    zone: Zone = None
    digest: DigestSettings | None = None  # None: the bot-wide [digest]
    email: EmailSettings | None = None  # None: the bot-wide [email]
    feeds: tuple[FeedSettings, ...] = ()  # besides the bot-wide [[feeds]]
    assistance: DeskOverride | None = None  # None: the bot-wide [assistance] desk

    _nom_one_line = field_validator("nom", mode="before")(_one_line)
    _admins_once = field_validator("admins")(_deduplicate)

    @model_validator(mode="after")
    def _one_zone(self) -> SchoolSettings:
        own = self.digest.zone if self.digest is not None else None
        if own is not None and self.zone is not None and own != self.zone:
            raise UnechoedValueError(
                f"deux zones différentes : zone = « {self.zone} » et digest.zone = « {own} » ; "
                "gardez seulement zone"
            )
        return self


class AcademieSettings(BaseModel):
    """The ``[academie]`` section: who runs the shared bot, and where its directory is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nom: str = Field(min_length=1, max_length=200)
    admins: tuple[UserId, ...] = ()
    etablissements: Path | None = None
    """The CSV directory (``uai;nom;rupn;zone``), relative to the configuration file."""

    _nom_one_line = field_validator("nom", mode="before")(_one_line)
    _admins_once = field_validator("admins")(_deduplicate)

    @field_validator("etablissements", mode="before")
    @classmethod
    def _reject_empty(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("ne doit pas être vide (par exemple « etablissements.csv »)")
        return value

    _resolve = field_validator("etablissements")(relative_to_config)


def duplicated_uai(entries: tuple[SchoolSettings, ...]) -> tuple[str, int, int] | None:
    """The first UAI declared twice, with the indexes of both entries; None when all differ."""
    first: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if entry.uai in first:
            return entry.uai, first[entry.uai], index
        first[entry.uai] = index
    return None
