"""The ``[assistance]`` section: `!panne` mails a ticket to the helpdesk (issue 19).

The contract keys (`to`, `imap_*`) are shared with the mailbox reader (bot/mailbox/);
the others shape the requests. A school of a shared deployment may override the desk
(`[etablissements.assistance]`: `to`, `categories`, `copie_rupn`, `relance_jours`); the
mailbox and the ticket pattern stay the bot's: one mailbox reads every desk's answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from bot.config.fields import MailAddress
from bot.config.uai import Uai
from bot.mailbox.folders import HANDLED_FOLDER

IMAP_PASSWORD_ENV_VAR = "RUPN_IMAP_PASSWORD"  # noqa: S105 (a variable name, not a secret)
"""Environment variable that supplies the password of the bot's mailbox."""

DEFAULT_TICKET_PATTERN = r"\[GLPI #(\d+)\]"


def _one_group(value: str) -> str:
    try:
        compiled = re.compile(value)
    except re.error:
        raise ValueError(
            "n’est pas une expression régulière valide (par exemple « \\[GLPI #(\\d+)\\] »)"
        ) from None
    if compiled.groups != 1:
        raise ValueError(
            "doit contenir exactement un groupe entre parenthèses, le numéro du ticket "
            "(par exemple « \\[GLPI #(\\d+)\\] »)"
        )
    return value


def _category_keys(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        if not key.strip():
            raise ValueError("une catégorie ne peut pas être vide (par exemple « réseau »)")
    return value


class DeskOverride(BaseModel):
    """A school's own desk (``[etablissements.assistance]``); unset keys: the bot's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    to: MailAddress
    categories: dict[str, MailAddress] = Field(default_factory=dict)
    copie_rupn: tuple[MailAddress, ...] = ()
    relance_jours: int | None = Field(default=None, ge=1, le=60)

    _keys = field_validator("categories")(_category_keys)


class AssistanceSettings(BaseModel):
    """The ``[assistance]`` section."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    to: MailAddress
    imap_host: str = Field(min_length=1)
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_security: Literal["tls", "starttls", "aucune"] = "tls"
    imap_user: MailAddress
    imap_password: SecretStr | None = None  # from RUPN_IMAP_PASSWORD only (see parse_config)
    imap_dossier_traites: str = Field(default=HANDLED_FOLDER, min_length=1)
    # Without IDLE, how often the mailbox is read (seconds).
    imap_intervalle_s: float = Field(default=60.0, ge=5, le=3600)
    categories: dict[str, MailAddress] = Field(default_factory=dict)
    copie_rupn: tuple[MailAddress, ...] = ()
    ticket_pattern: str = DEFAULT_TICKET_PATTERN
    relance_jours: int = Field(default=5, ge=1, le=60)
    # A single-school bot names its school in the tickets (a shared deployment takes
    # each school's nom and UAI from its entry).
    etablissement: str = Field(default="", max_length=200)
    uai: Uai | None = None

    _pattern = field_validator("ticket_pattern")(_one_group)
    _keys = field_validator("categories")(_category_keys)

    def password_value(self) -> str | None:
        return None if self.imap_password is None else self.imap_password.get_secret_value()


@dataclass(frozen=True)
class Desk:
    """Where one school's requests go, resolved from the configuration (Settings)."""

    to: str
    reply_to: str  # the bot's mailbox: the desk's answers come back there
    categories: tuple[tuple[str, str], ...] = ()  # (keyword, desk address), in their order
    copy: tuple[str, ...] = ()  # the RUPN's addresses, in Cc of every mail
    ticket_pattern: str = DEFAULT_TICKET_PATTERN
    follow_up_days: int = 5  # working days without news before the RUPN is told
    school_name: str = ""  # for the tickets: the établissement's name and UAI
    uai: str = ""


def desk_of(
    section: AssistanceSettings | None,
    own: DeskOverride | None = None,
    *,
    school_name: str = "",
    uai: str = "",
) -> Desk | None:
    """A school's desk: its own override of the bot's ``[assistance]``, else the bot's."""
    if section is None:
        return None
    return Desk(
        school_name=school_name or section.etablissement,
        uai=uai or (section.uai or ""),
        to=own.to if own is not None else section.to,
        reply_to=section.imap_user,
        categories=tuple((own.categories if own is not None else section.categories).items()),
        copy=own.copie_rupn if own is not None and own.copie_rupn else section.copie_rupn,
        ticket_pattern=section.ticket_pattern,
        follow_up_days=(
            own.relance_jours
            if own is not None and own.relance_jours is not None
            else section.relance_jours
        ),
    )
