"""Which request a mail from the helpdesk is about, across schools.

`DeskMailIndex` reads across schools, on purpose and for one thing only: a mail from the
desk carries no school, so finding its request (by Message-ID, by the bot's tag, by the
desk's ticket number) must look at every school's; it returns where the request is, and
the school's `AssistanceRepository` does the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.storage.database import Database, stored


@dataclass(frozen=True, slots=True)
class Located:
    """Where a desk's mail belongs: a school's request."""

    school: str
    request_id: int


class DeskMailIndex:
    """Finds the request a desk's mail is about, across schools (see the module's note)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def known(self, message_id: str) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM assistance_mails WHERE message_id = ?", (message_id,)
        )
        return row is not None

    async def by_message_ids(self, message_ids: Sequence[str]) -> Located | None:
        """The request of the first of these Message-IDs the bot knows (its own mails')."""
        for message_id in message_ids:
            row = await self._db.fetchone(
                "SELECT r.school, r.id FROM assistance_mails AS m"
                " JOIN assistance_requests AS r ON r.id = m.request_id WHERE m.message_id = ?",
                (message_id,),
            )
            if row is not None:
                return Located(row["school"], row["id"])
        return None

    async def by_number(self, school: str, number: int) -> Located | None:
        row = await self._db.fetchone(
            "SELECT id FROM assistance_requests WHERE school = ? AND number = ?", (school, number)
        )
        return Located(school, row["id"]) if row is not None else None

    async def by_desk_ticket(self, ticket: str, desk_domain: str) -> Located | None:
        """The one request this desk ticket is known for; None when none or ambiguous."""
        rows = await self._db.fetchall(
            "SELECT school, id, desk FROM assistance_requests WHERE desk_ticket = ?", (ticket,)
        )
        same_desk = [r for r in rows if r["desk"].rpartition("@")[2].lower() == desk_domain]
        found = same_desk if same_desk else rows
        return Located(found[0]["school"], found[0]["id"]) if len(found) == 1 else None

    async def record_unmatched(
        self, message_id: str, school: str | None, body: str, now: datetime
    ) -> bool:
        changed = await self._db.changes(
            "INSERT OR IGNORE INTO assistance_mails"
            " (message_id, request_id, school, direction, body, at)"
            " VALUES (?, NULL, ?, 'in', ?, ?)",
            (message_id, school, body, stored(now)),
        )
        return changed > 0
