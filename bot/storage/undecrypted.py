"""Encrypted events waiting for their room key, and the alerts sent about withheld keys."""

from __future__ import annotations

import json
from datetime import date, datetime

from bot.domain import UndecryptableEvent
from bot.storage.database import Database, loaded, stored

MAX_PENDING = 1000
"""Beyond this, the oldest waiting events are forgotten (a flood of unreadable events)."""


class UndecryptedRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def keep(self, event: UndecryptableEvent, now: datetime) -> None:
        await self._db.execute(
            "INSERT OR IGNORE INTO undecrypted_events"
            " (event_id, room_id, sender, session_id, source, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                event.event_id,
                event.room_id,
                event.sender,
                event.session_id,
                json.dumps(event.source),
                stored(now),
            ),
        )
        await self._db.execute(
            "DELETE FROM undecrypted_events WHERE event_id NOT IN"
            " (SELECT event_id FROM undecrypted_events ORDER BY received_at DESC LIMIT ?)",
            (MAX_PENDING,),
        )

    async def pending(self) -> list[UndecryptableEvent]:
        rows = await self._db.fetchall(
            "SELECT room_id, event_id, sender, session_id, source, received_at"
            " FROM undecrypted_events ORDER BY received_at, rowid"
        )
        return [
            UndecryptableEvent(
                room_id=str(r["room_id"]),
                event_id=str(r["event_id"]),
                sender=str(r["sender"]),
                session_id=str(r["session_id"]),
                timestamp=loaded(r["received_at"]),
                source=json.loads(r["source"]),
            )
            for r in rows
        ]

    async def forget(self, event_id: str) -> None:
        await self._db.execute("DELETE FROM undecrypted_events WHERE event_id = ?", (event_id,))

    async def forget_older_than(self, moment: datetime) -> int:
        """Events whose key never came; returns how many were dropped."""
        row = await self._db.execute_returning(
            "SELECT COUNT(*) AS n FROM undecrypted_events WHERE received_at < ?", (stored(moment),)
        )
        count = int(row["n"]) if row else 0
        if count:
            await self._db.execute(
                "DELETE FROM undecrypted_events WHERE received_at < ?", (stored(moment),)
            )
        return count

    async def waiting_in_session(self, session_id: str) -> int:
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM undecrypted_events WHERE session_id = ?", (session_id,)
        )
        return int(row["n"]) if row else 0

    async def claim_alert(self, sender: str, day: date) -> bool:
        """True the first time for `sender` on `day` (then the RUPN is told)."""
        row = await self._db.execute_returning(
            "INSERT OR IGNORE INTO decryption_alerts (sender, day) VALUES (?, ?) RETURNING 1",
            (sender, day.isoformat()),
        )
        return row is not None
