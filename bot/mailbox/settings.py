"""What the mailbox reader needs to know, taken from `[assistance]`.

Light on purpose: bot/app.py reads it at start-up to decide whether to start the reader,
without importing the reader's libraries (aioimaplib, mail-parser-reply).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from bot.mailbox.folders import HANDLED_FOLDER

IMAP_PASSWORD_ENV_VAR = "RUPN_IMAP_PASSWORD"  # noqa: S105 (a variable name, not a secret)

Security = Literal["tls", "starttls", "aucune"]
DEFAULT_PORTS: Mapping[str, int] = {"tls": 993, "starttls": 143, "aucune": 143}


@dataclass(frozen=True)
class MailboxSettings:
    """The bot's mailbox (the Reply-To of every ticket) and how to watch it.

    `aucune` (no encryption) is for loopback tests only. `ca_file` trusts one more
    certificate authority (a test's self-signed certificate, an académie's own CA)."""

    host: str
    user: str
    password: str
    security: Security = "tls"
    port: int | None = None
    handled_folder: str = HANDLED_FOLDER
    poll_seconds: float = 60.0
    # IDLE is re-issued before servers drop it (RFC 2177: clients re-issue within 29 min).
    idle_seconds: float = 25 * 60.0
    timeout_seconds: float = 30.0
    backoff_seconds: tuple[float, float] = (1.0, 300.0)  # first and longest retry delay
    ca_file: Path | None = None

    @property
    def password_protected(self) -> bool:
        """Whether the password is safe on its way: TLS, or a server on this machine."""
        if self.security != "aucune":
            return True
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def imap_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.security]

    def __repr__(self) -> str:  # never the password, even in a traceback
        return (
            f"MailboxSettings(host={self.host!r}, port={self.imap_port}, "
            f"security={self.security!r}, user={self.user!r})"
        )


def _password(assistance: object) -> str | None:
    """The section's own password (already read from RUPN_IMAP_PASSWORD when loading)."""
    password_value = getattr(assistance, "password_value", None)
    secret = password_value() if callable(password_value) else None
    return secret if isinstance(secret, str) else None


def mailbox_settings(
    assistance: object | None, environ: Mapping[str, str]
) -> MailboxSettings | None:
    """The reader's settings from an `[assistance]` section, or None when it sets no
    `imap_host` (then no reader starts). The password comes only from RUPN_IMAP_PASSWORD.

    Reads the contract's keys by name (`imap_host`, `imap_port`, `imap_security`,
    `imap_user`) and, when the section has them, `imap_dossier_traites` (the handled
    mails' folder) and `imap_intervalle_s` (polling period without IDLE)."""
    host = getattr(assistance, "imap_host", None)
    if not host:
        return None
    settings = MailboxSettings(
        host=str(host),
        user=str(getattr(assistance, "imap_user", "")),
        password=_password(assistance) or environ.get(IMAP_PASSWORD_ENV_VAR, ""),
        security=getattr(assistance, "imap_security", "tls"),
        port=getattr(assistance, "imap_port", None),
    )
    if folder := getattr(assistance, "imap_dossier_traites", None):
        settings = replace(settings, handled_folder=str(folder))
    if poll := getattr(assistance, "imap_intervalle_s", None):
        settings = replace(settings, poll_seconds=float(poll))
    return settings
