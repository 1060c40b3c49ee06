"""Small named values the bot keeps between runs (table `bot_state`)."""

from __future__ import annotations

from datetime import datetime

from bot.storage.database import Database, loaded, stored

SYNC_TOKEN = "sync_token"  # noqa: S105 - a key name, not a secret
BATCH_HANDLED_AT = "batch_handled_at"


class StateRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        row = await self._db.fetchone("SELECT value FROM bot_state WHERE key = ?", (key,))
        return str(row["value"]) if row else None

    async def set(self, key: str, value: str) -> None:
        await self._db.execute(
            "INSERT INTO bot_state (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def sync_token(self) -> str | None:
        return await self.get(SYNC_TOKEN)

    async def save_sync_token(self, token: str) -> None:
        await self.set(SYNC_TOKEN, token)

    async def batch_handled_at(self) -> datetime | None:
        """When the last sync batch was handled: events after it were sent after it."""
        value = await self.get(BATCH_HANDLED_AT)
        return loaded(value) if value else None

    async def save_batch_handled_at(self, moment: datetime) -> None:
        await self.set(BATCH_HANDLED_AT, stored(moment))
