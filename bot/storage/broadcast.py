"""Diffusion rooms added in chat (table `broadcast_rooms`)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime

from bot.schools import IMPLICIT_KEY
from bot.storage.database import Database, stored


class BroadcastRoomsRepository:
    """One établissement's diffusion rooms."""

    def __init__(self, db: Database, school: str = IMPLICIT_KEY) -> None:
        self._db = db
        self._school = school

    async def add(self, room_id: str, added_by: str, now: datetime) -> bool:
        """Returns False if the room was already there."""
        row = await self._db.fetchone("SELECT 1 FROM broadcast_rooms WHERE room_id = ?", (room_id,))
        if row:
            return False
        await self._db.execute(
            "INSERT INTO broadcast_rooms (room_id, added_by, added_at, school) VALUES (?, ?, ?, ?)",
            (room_id, added_by, stored(now), self._school),
        )
        return True

    async def remove(self, room_id: str) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM broadcast_rooms WHERE room_id = ? AND school = ?",
            (room_id, self._school),
        )
        if not row:
            return False
        await self._db.execute(
            "DELETE FROM broadcast_rooms WHERE room_id = ? AND school = ?", (room_id, self._school)
        )
        return True

    async def list(self) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT room_id FROM broadcast_rooms WHERE school = ? ORDER BY added_at",
            (self._school,),
        )
        return [str(r["room_id"]) for r in rows]

    async def diffusion_rooms(self, configured: Sequence[str]) -> builtins.list[str]:
        """The rooms of the config file (`configured`), then those added in chat, once each."""
        return list(dict.fromkeys([*configured, *await self.list()]))
