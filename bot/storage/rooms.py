"""Which établissement owns each room (tables `schools`, `rooms`)."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime

from bot.storage.database import Database, stored


class RoomsRepository:
    """Room ownership is bot-wide by nature: it is how a room's school is found."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def register_school(self, key: str, name: str, now: datetime) -> None:
        """Record a served school (its rows reference it); its name follows the config."""
        await self._db.execute(
            "INSERT INTO schools (key, name, added_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET name = excluded.name",
            (key, name, stored(now)),
        )

    async def school_of(self, room_id: str) -> str | None:
        row = await self._db.fetchone("SELECT school FROM rooms WHERE room_id = ?", (room_id,))
        return str(row["school"]) if row else None

    async def schools_of(self, room_ids: Collection[str]) -> dict[str, str]:
        """The owner of each of these rooms that has one (one query for them all)."""
        if not room_ids:
            return {}
        rows = await self._db.fetchall(
            "SELECT room_id, school FROM rooms WHERE room_id IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(room_ids)),),
        )
        return {str(r["room_id"]): str(r["school"]) for r in rows}

    async def claim(self, room_id: str, school: str, now: datetime) -> str:
        """Give the room to `school` unless another one owns it; returns its owner."""
        await self._db.execute(
            "INSERT INTO schools (key, added_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            (school, stored(now)),
        )
        await self._db.execute(
            "INSERT INTO rooms (room_id, school, claimed_at) VALUES (?, ?, ?)"
            " ON CONFLICT (room_id) DO NOTHING",
            (room_id, school, stored(now)),
        )
        return await self.school_of(room_id) or school

    async def owned(self) -> dict[str, str]:
        """Every claimed room and its school."""
        rows = await self._db.fetchall("SELECT room_id, school FROM rooms ORDER BY room_id")
        return {str(r["room_id"]): str(r["school"]) for r in rows}

    async def rooms_of(self, school: str) -> list[str]:
        """The rooms `school` owns."""
        rows = await self._db.fetchall(
            "SELECT room_id FROM rooms WHERE school = ? ORDER BY room_id", (school,)
        )
        return [str(r["room_id"]) for r in rows]
