"""`privacy_requests`: `!mesdonnees [effacer]` waiting for an answer in a direct room."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.storage.database import Database, loaded, stored

Action = Literal["show", "erase"]


@dataclass(frozen=True, slots=True)
class PrivacyRequest:
    """`!mesdonnees [effacer]` to answer in a direct room with the person."""

    id: int
    user_id: str
    action: Action
    requested_at: datetime


class PrivacyRequests:
    """The requests of every school: each is about a person, answered wherever they were
    typed (`_school`, set by the repository that mixes this in, records where)."""

    _school: str

    def __init__(self, db: Database) -> None:
        self._db = db

    async def request(
        self, user_id: str, action: Action, now: datetime, *, renew: bool = False
    ) -> bool:
        """Record a request to answer in a direct room; False if the same one is pending
        (`renew`: the pending one is replaced by this one, as if new)."""
        if renew:
            await self._db.execute(
                "DELETE FROM privacy_requests WHERE user_id = ? AND action = ?",
                (user_id, action),
            )
        row = await self._db.fetchone(
            "SELECT 1 FROM privacy_requests WHERE user_id = ? AND action = ?", (user_id, action)
        )
        if row is not None:
            return False
        await self._db.execute(
            "INSERT INTO privacy_requests (user_id, action, requested_at, school)"
            " VALUES (?, ?, ?, ?)",
            (user_id, action, stored(now), self._school),
        )
        return True

    async def requests(self) -> list[PrivacyRequest]:
        rows = await self._db.fetchall(
            "SELECT id, user_id, action, requested_at FROM privacy_requests ORDER BY id"
        )
        return [
            PrivacyRequest(int(r["id"]), str(r["user_id"]), r["action"], loaded(r["requested_at"]))
            for r in rows
        ]

    async def answered(self, request_id: int) -> None:
        await self._db.execute("DELETE FROM privacy_requests WHERE id = ?", (request_id,))

    async def confirmed_erasure(
        self, user_id: str, rooms: Sequence[str], kind: str, since: datetime
    ) -> str | None:
        """The room of `rooms` where a post of `kind` caused by the person was queued since
        `since` (the command confirmed the erasure itself), if any."""
        if not rooms:
            return None
        marks = ", ".join("?" for _ in rooms)
        row = await self._db.fetchone(
            f"SELECT room_id FROM posts WHERE room_id IN ({marks})"  # noqa: S608 - placeholders
            " AND kind = ? AND requester = ? AND created_at >= ? LIMIT 1",
            (*rooms, kind, user_id, stored(since)),
        )
        return str(row["room_id"]) if row is not None else None
