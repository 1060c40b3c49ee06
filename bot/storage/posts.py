"""The bot's outbox and post registry (table `posts`).

A post is queued in the transaction that decided it, then sent by the
sender with its own `txn_id`; the homeserver deduplicates a resent
transaction id, so a crash between sending and recording sends nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import aiosqlite

from bot.storage.database import Database, stored

Action = Literal["send", "redact"]


@dataclass(frozen=True, slots=True)
class OutgoingPost:
    """A post decided by a handler, not yet in the database."""

    room_id: str
    action: Action
    event_type: str
    content: dict[str, Any]
    kind: str
    txn_id: str
    ref_type: str | None = None
    ref_id: int | None = None
    target_txn_id: str | None = None
    target_event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Post:
    """A row of the registry: queued, sent or failed."""

    id: int
    room_id: str
    action: Action
    event_type: str
    content: dict[str, Any]
    kind: str
    txn_id: str
    status: str
    event_id: str | None
    attempts: int
    ref_type: str | None
    ref_id: int | None
    target_txn_id: str | None
    target_event_id: str | None
    error: str | None = None  # the errcode of a failed post (M_TOO_LARGE, M_FORBIDDEN…)


_COLUMNS = (
    "id, room_id, action, event_type, content, kind, txn_id, status, event_id, attempts, "
    "ref_type, ref_id, target_txn_id, target_event_id, error"
)


def _to_post(row: aiosqlite.Row) -> Post:
    return Post(
        id=row["id"],
        room_id=row["room_id"],
        action=row["action"],
        event_type=row["event_type"],
        content=json.loads(row["content"]),
        kind=row["kind"],
        txn_id=row["txn_id"],
        status=row["status"],
        event_id=row["event_id"],
        attempts=row["attempts"],
        ref_type=row["ref_type"],
        ref_id=row["ref_id"],
        target_txn_id=row["target_txn_id"],
        target_event_id=row["target_event_id"],
        error=row["error"],
    )


class PostsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def queue(self, posts: Sequence[OutgoingPost], now: datetime) -> None:
        if not posts:
            return
        await self._db.executemany(
            "INSERT INTO posts (room_id, action, event_type, content, kind, txn_id, ref_type,"
            " ref_id, target_txn_id, target_event_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    p.room_id,
                    p.action,
                    p.event_type,
                    json.dumps(p.content, ensure_ascii=False),
                    p.kind,
                    p.txn_id,
                    p.ref_type,
                    p.ref_id,
                    p.target_txn_id,
                    p.target_event_id,
                    stored(now),
                )
                for p in posts
            ],
        )

    async def next_pending(self) -> Post | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM posts WHERE status = 'pending' ORDER BY id LIMIT 1"  # noqa: S608 - constant columns
        )
        return _to_post(row) if row else None

    async def mark_sent(self, post_id: int, event_id: str, now: datetime) -> None:
        await self._db.execute(
            "UPDATE posts SET status = 'sent', event_id = ?, sent_at = ?,"
            " attempts = attempts + 1 WHERE id = ?",
            (event_id, stored(now), post_id),
        )

    async def mark_failed(self, post_id: int, error: str) -> None:
        await self._db.execute(
            "UPDATE posts SET status = 'failed', error = ?, attempts = attempts + 1 WHERE id = ?",
            (error, post_id),
        )

    async def count_attempt(self, post_id: int) -> None:
        await self._db.execute("UPDATE posts SET attempts = attempts + 1 WHERE id = ?", (post_id,))

    async def event_id_for_txn(self, txn_id: str) -> str | None:
        row = await self._db.fetchone("SELECT event_id FROM posts WHERE txn_id = ?", (txn_id,))
        return row["event_id"] if row else None

    async def by_event_id(self, event_id: str) -> Post | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM posts WHERE event_id = ?",  # noqa: S608 - constant columns
            (event_id,),
        )
        return _to_post(row) if row else None

    async def by_ref(self, ref_type: str, ref_id: int) -> list[Post]:
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM posts WHERE ref_type = ? AND ref_id = ? ORDER BY id",  # noqa: S608 - constant columns
            (ref_type, ref_id),
        )
        return [_to_post(r) for r in rows]

    async def count_by_status(self) -> dict[str, int]:
        rows = await self._db.fetchall("SELECT status, COUNT(*) AS n FROM posts GROUP BY status")
        return {str(r["status"]): int(r["n"]) for r in rows}
