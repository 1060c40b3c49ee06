"""The breakdown scene of `rupn-bot demo`: the bot's mailbox on a local Dovecot, the helpdesk
played as GLPI answers.

A teacher's `!panne` makes the bot mail a ticket, which the demo's SMTP server receives; the
demo then answers it as the desk would (devtools/desk.py) by putting the reply in the bot's
mailbox, and the bot posts its new text in the thread of the report. Dovecot is Debian's
package, which `make install` installs; where it is missing the scene is left out, with a
line saying why, and the rest of the demo runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from devtools.desk import glpi_answer
from devtools.imap import DOVECOT, ThrowawayDovecot
from devtools.smtp import ReceivedMail

DESK = "assistance@ac-exemple.fr"
DESK_HOST = DESK.partition("@")[2]
MAILBOX = "rupn-bot@clg-exemple.fr"
SCHOOL, UAI = "Collège Jean Moulin", "0860001J"
DESK_TICKET = "[GLPI #0000123]"
MISSING = (
    "Dovecot (serveur IMAP) n’est pas installé : la scène du signalement de panne est sautée "
    "(make install l’installe)."
)


class DemoDesk:
    """The bot's mailbox (`server`, None until started or when Dovecot is missing)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self.server: ThrowawayDovecot | None = None

    async def start(self) -> bool:
        """Start Dovecot if it is installed; whether the scene can be played."""
        if shutil.which(DOVECOT) is None:
            return False
        server = ThrowawayDovecot(self._directory, user=MAILBOX)
        await server.start()
        self.server = server
        return True

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.port}" if self.server is not None else ""

    def section(self) -> dict[str, Any]:
        """The bot's `[assistance]` section; empty when there is no mailbox."""
        if self.server is None:
            return {}
        return {"to": DESK, **self.server.assistance_keys(), "etablissement": SCHOOL, "uai": UAI}

    @property
    def environment(self) -> dict[str, str]:
        return self.server.environment if self.server is not None else {}

    async def answer(self, ticket: ReceivedMail, text: str) -> str:
        """The desk answers `ticket` with `text`; returns the answer's subject."""
        if self.server is None:
            raise RuntimeError("the bot's mailbox is not started")
        message = ticket.parsed()
        ticket_id = str(message["Message-ID"]).strip("<> ")
        subject = f"{DESK_TICKET} Re: {message['Subject']}"
        answer = glpi_answer(
            subject, f"glpi-123@{DESK_HOST}", text, desk=DESK, mailbox=MAILBOX,
            in_reply_to=ticket_id, references=(ticket_id,),
        )  # fmt: skip
        await self.server.deliver(answer)
        return subject

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()
