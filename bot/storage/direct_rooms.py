"""The direct rooms the bot opened with one person each (in `bot_state`).

The only place that knows how they are kept: reminders, promotions, the letter's
pointers and `!mesdonnees` read them here, bot/direct.py records them, and the
erasure forgets them.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.storage.database import Database

_PREFIX = "direct_room:"


class DirectRoomsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: str) -> str | None:
        row = await self._db.fetchone(
            "SELECT value FROM bot_state WHERE key = ?", (_PREFIX + user_id,)
        )
        return str(row["value"]) if row else None

    async def known(self, users: Iterable[str]) -> dict[str, str]:
        """The rooms recorded for these people (those without one are left out)."""
        found: dict[str, str] = {}
        for user in users:
            room_id = await self.get(user)
            if room_id is not None:
                found[user] = room_id
        return found

    async def record(self, user_id: str, room_id: str) -> None:
        await self._db.execute(
            "INSERT INTO bot_state (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (_PREFIX + user_id, room_id),
        )

    async def forget(self, user_id: str) -> int:
        """Forget the person's direct room; 1 if one was recorded."""
        return await self._db.changes("DELETE FROM bot_state WHERE key = ?", (_PREFIX + user_id,))
