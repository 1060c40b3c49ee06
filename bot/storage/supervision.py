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


def every_channel(found: dict[str, Backlog]) -> dict[str, Backlog]:
    """`found`, with an empty backlog for each channel it lacks."""
    return {c: found.get(c, Backlog(c, 0, None)) for c in CHANNELS}


class SupervisionRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def backlog(self) -> dict[str, dict[str, Backlog]]:
        """Each school's pending posts by channel, keyed by the posts' school: every channel
        of a school with pending posts (zero for the other channel)."""
        async with self._db.transaction():
            rows = await self._db.fetchall(
                "SELECT school, action = 'mail' AS mail, COUNT(*) AS n,"
                " MIN(created_at) AS oldest"
                " FROM posts INDEXED BY posts_pending WHERE status = 'pending'"
                " GROUP BY school, action = 'mail'"
            )
        found: dict[str, dict[str, Backlog]] = {}
        for r in rows:
            channel = MAIL if r["mail"] else MATRIX
            found.setdefault(str(r["school"]), {})[channel] = Backlog(
                channel, int(r["n"]), loaded(r["oldest"])
            )
        return {key: every_channel(channels) for key, channels in found.items()}

    async def last_sync(self) -> datetime | None:
        """When the last sync batch was handled (and committed)."""
        async with self._db.transaction():
            return await StateRepository(self._db).batch_handled_at()
