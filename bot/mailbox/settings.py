"""What the mailbox reader needs to know, taken from `[assistance]`.

Light on purpose: bot/app.py reads it at start-up to decide whether to start the reader,
without importing the reader's libraries (aioimaplib, mail-parser-reply).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.config.assistance import IMAP_PASSWORD_ENV_VAR, AssistanceSettings
from bot.mailbox.folders import HANDLED_FOLDER

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


def mailbox_settings(
    assistance: AssistanceSettings | None, environ: Mapping[str, str]
) -> MailboxSettings | None:
    """The reader's settings from the `[assistance]` section, or None without one (then no
    reader starts). The password comes only from RUPN_IMAP_PASSWORD: the section holds it
    once loaded, else `environ` gives it."""
    if assistance is None or not assistance.imap_host:
        return None
    return MailboxSettings(
        host=assistance.imap_host,
        user=assistance.imap_user,
        password=assistance.password_value() or environ.get(IMAP_PASSWORD_ENV_VAR, ""),
        security=assistance.imap_security,
        port=assistance.imap_port,
        handled_folder=assistance.imap_dossier_traites,
        poll_seconds=assistance.imap_intervalle_s,
    )
