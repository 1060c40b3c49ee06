"""Value types shared by several sections: Matrix user ids, rooms, web and mail addresses."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, ValidationInfo

# Historical Matrix user ids allow any printable ASCII but ':' in the localpart;
# the server name is a host name, an IPv4 address or a bracketed IPv6 address,
# with an optional port.
_USER_ID_RE = re.compile(
    r"@[\x21-\x39\x3b-\x7e]+"
    r":(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
    r"(?::[0-9]{1,5})?"
)
_USER_ID_MAX_LENGTH = 255


def _check_user_id(value: str) -> str:
    if len(value) > _USER_ID_MAX_LENGTH:
        raise ValueError(
            f"identifiant Matrix trop long ({len(value)} caractères, "
            f"{_USER_ID_MAX_LENGTH} au maximum)"
        )
    if _USER_ID_RE.fullmatch(value) is None:
        raise ValueError(
            "doit être un identifiant Matrix de la forme @nom:serveur, "
            "par exemple @prenom.nom:agent.education.tchap.gouv.fr"
        )
    localpart, server = value.split(":", 1)
    if localpart != localpart.lower():
        # Matrix user ids are lower case: a capital letter can never match a sender.
        raise ValueError(
            "contient des majuscules : les identifiants Matrix s’écrivent en minuscules, "
            f"écrivez « {localpart.lower()}:{server} »"
        )
    return value


UserId = Annotated[str, AfterValidator(_check_user_id)]
"""A Matrix user id such as ``@rupn:example.org``."""

# Room ids are opaque ("!abc:server", or "!abc" since room version 12); aliases are #name:server.
_ROOM_RE = re.compile(r"![^\s]+|#[^\s:]+:[A-Za-z0-9.\-\[\]:]+")


def _check_room(value: str) -> str:
    if _ROOM_RE.fullmatch(value) is None:
        raise ValueError(
            "doit être un identifiant de salon (commençant par « ! ») ou une adresse de salon "
            "(#salle-des-profs:serveur)"
        )
    return value


RoomRef = Annotated[str, AfterValidator(_check_room)]
"""A room id (``!abc:server``) or alias (``#name:server``)."""


def check_feed_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("doit être l’adresse web d’un flux RSS ou Atom, commençant par https://")
    return value


_MAIL_RE = re.compile(r"[^@\s<>\"]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


def _check_mail_address(value: str) -> str:
    if _MAIL_RE.fullmatch(value.strip()) is None:
        raise ValueError("doit être une adresse électronique, par exemple « rupn@ac-exemple.fr »")
    return value.strip()


MailAddress = Annotated[str, AfterValidator(_check_mail_address)]


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _zone_upper(value: object) -> object:
    """« b », « Zone B » → « B »; an empty text is no zone."""
    if isinstance(value, str):
        value = value.strip().upper().removeprefix("ZONE ").strip()
        return value or None
    return value


Zone = Annotated[Literal["A", "B", "C"] | None, BeforeValidator(_zone_upper)]
"""A school-holiday zone « A », « B » or « C » (None: unknown, only bank holidays count)."""


def relative_to_config(value: Path | None, info: ValidationInfo) -> Path | None:
    """Expand ``~`` and resolve a relative path against ``context["base_dir"]``.

    ``base_dir`` is the folder of the configuration file: paths in it mean what they say
    whatever the current directory of the process.
    """
    if value is None:
        return None
    try:
        value = value.expanduser()
    except RuntimeError:
        raise ValueError("impossible de déterminer le dossier personnel (« ~ »)") from None
    context = info.context
    base_dir = context.get("base_dir") if isinstance(context, Mapping) else None
    if not value.is_absolute() and isinstance(base_dir, Path):
        value = base_dir / value
    return Path(os.path.normpath(value)) if value.is_absolute() else value
