"""Where each établissement's RUPN sort the news: the room chosen with `!veille ici`
(table `curation_rooms`, one per school)."""

from __future__ import annotations

from datetime import datetime

from bot.schools import IMPLICIT_KEY
from bot.storage.database import Database, stored


class CurationRoomsRepository:
    def __init__(self, db: Database, school: str = IMPLICIT_KEY) -> None:
        self._db = db
        self._school = school

    async def get(self) -> str | None:
        """The room this school's RUPN chose for the news, if any."""
        row = await self._db.fetchone(
            "SELECT room_id FROM curation_rooms WHERE school = ?", (self._school,)
        )
        return str(row["room_id"]) if row else None

    async def set(self, room_id: str, now: datetime) -> None:
        await self._db.execute(
            "INSERT INTO curation_rooms (school, room_id, set_at) VALUES (?, ?, ?)"
            " ON CONFLICT (school) DO UPDATE SET room_id = excluded.room_id,"
            " set_at = excluded.set_at",
            (self._school, room_id, stored(now)),
        )
