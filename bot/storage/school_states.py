"""How each établissement served is doing, for the académie's admins (`!etablissements`)
and the DRANE's command line (`rupn-bot etablissements`): its rooms, what waits or failed
in the outbox, its latest letter. Aggregates only: no message, no person.

Read for every school at once in three statements, by index: pending and failed posts
are few (the posts' status index), a school's letters are one row a week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.database import Database, loaded_or_none


@dataclass(frozen=True, slots=True)
class SchoolState:
    rooms: tuple[str, ...]  # the rooms it owns (its RUPN invited the bot there)
    pending: int  # posts and mails waiting in the outbox
    failed: int  # posts and mails that could not be delivered
    last_letter: datetime | None  # when its latest weekly letter was sent
    letter_paused: bool


NO_STATE = SchoolState((), 0, 0, None, False)
"""A school the database does not know yet (added to the directory, never in a room)."""


class SchoolStatesRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def every_school(self) -> dict[str, SchoolState]:
        """The state of every school the database knows, by key."""
        schools = await self._db.fetchall(
            "SELECT s.key, s.letter_paused, (SELECT MAX(w.decided_at) FROM digest_weeks AS w"
            "  WHERE w.school = s.key AND w.outcome = 'sent') AS last_letter"
            " FROM schools AS s"
        )
        outbox = await self._db.fetchall(
            "SELECT school, status, COUNT(*) AS n FROM posts INDEXED BY posts_pending"
            " WHERE status IN ('pending', 'failed') GROUP BY school, status"
        )
        rooms = await self._db.fetchall("SELECT room_id, school FROM rooms ORDER BY room_id")
        counts = {(str(r["school"]), str(r["status"])): int(r["n"]) for r in outbox}
        owned: dict[str, list[str]] = {}
        for r in rooms:
            owned.setdefault(str(r["school"]), []).append(str(r["room_id"]))
        return {
            str(s["key"]): SchoolState(
                rooms=tuple(owned.get(str(s["key"]), ())),
                pending=counts.get((str(s["key"]), "pending"), 0),
                failed=counts.get((str(s["key"]), "failed"), 0),
                last_letter=loaded_or_none(s["last_letter"]),
                letter_paused=bool(s["letter_paused"]),
            )
            for s in schools
        }

    async def sent(self, school: str) -> int:
        """How many posts the school's rooms received (its own sent-posts index)."""
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM posts INDEXED BY posts_school_sent"
            " WHERE school = ? AND status = 'sent'",
            (school,),
        )
        return int(row["n"]) if row else 0
