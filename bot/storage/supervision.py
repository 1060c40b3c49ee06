"""What supervision reads from the database: the outbox's backlog and the last sync.

Read when /metrics or /sante is asked, never on the bot's own path: the counters that
move with events are kept in memory (bot/metrics/).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.database import Database, loaded
from bot.storage.state import StateRepository

MATRIX = "matrix"
MAIL = "courriel"
CHANNELS = (MATRIX, MAIL)
"""The outbox's two queues: Matrix posts (the sender) and e-mails (the mail sender)."""


@dataclass(frozen=True)
class Backlog:
    """The pending posts of one channel."""

    channel: str
    pending: int
    oldest: datetime | None  # when the oldest of them was queued; None if none is pending


class SupervisionRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def backlog(self) -> dict[str, Backlog]:
        """Each channel's pending posts (every channel, zero when nothing is pending)."""
        async with self._db.transaction():
            rows = await self._db.fetchall(
                "SELECT action = 'mail' AS mail, COUNT(*) AS n, MIN(created_at) AS oldest"
                " FROM posts INDEXED BY posts_pending WHERE status = 'pending'"
                " GROUP BY action = 'mail'"
            )
        found = {
            MAIL if r["mail"] else MATRIX: Backlog(
                MAIL if r["mail"] else MATRIX, int(r["n"]), loaded(r["oldest"])
            )
            for r in rows
        }
        return {c: found.get(c, Backlog(c, 0, None)) for c in CHANNELS}

    async def last_sync(self) -> datetime | None:
        """When the last sync batch was handled (and committed)."""
        async with self._db.transaction():
            return await StateRepository(self._db).batch_handled_at()
