"""Announcements: what the RUPN broadcast, where, and when (table `announcements`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import aiosqlite

from bot.schools import IMPLICIT_KEY
from bot.storage.database import Database, loaded, loaded_or_none, required, stored, stored_or_none

Status = Literal["scheduled", "sent", "withdrawn", "cancelled"]


@dataclass(frozen=True, slots=True)
class Announcement:
    id: int
    author: str
    body: str
    html: str | None
    rooms: tuple[str, ...]
    status: Status
    scheduled_for: datetime | None
    created_at: datetime
    published_at: datetime | None
    edited_at: datetime | None
    entry_id: int | None
    request_room: str | None
    request_event: str | None
    confirmed: bool
    number: int  # what the RUPN sees and types, counted per school


_COLUMNS = (
    "id, author, body, html, rooms, status, scheduled_for, created_at, published_at, "
    "edited_at, entry_id, request_room, request_event, confirmed, number"
)


def _to_announcement(row: aiosqlite.Row) -> Announcement:
    return Announcement(
        id=row["id"],
        author=row["author"],
        body=row["body"],
        html=row["html"],
        rooms=tuple(json.loads(row["rooms"])),
        status=row["status"],
        scheduled_for=loaded_or_none(row["scheduled_for"]),
        created_at=loaded(row["created_at"]),
        published_at=loaded_or_none(row["published_at"]),
        edited_at=loaded_or_none(row["edited_at"]),
        entry_id=row["entry_id"],
        request_room=row["request_room"],
        request_event=row["request_event"],
        confirmed=bool(row["confirmed"]),
        number=row["number"],
    )


class AnnouncementsRepository:
    """One établissement's announcements."""

    def __init__(self, db: Database, school: str = IMPLICIT_KEY) -> None:
        self._db = db
        self._school = school

    async def create(
        self,
        *,
        author: str,
        body: str,
        html: str | None,
        rooms: tuple[str, ...],
        now: datetime,
        scheduled_for: datetime | None = None,
        entry_id: int | None = None,
        request_room: str | None = None,
        request_event: str | None = None,
    ) -> Announcement:
        new_id = await self._db.execute(
            "INSERT INTO announcements (author, body, html, rooms, status, scheduled_for,"
            " created_at, entry_id, request_room, request_event, school)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                author,
                body,
                html,
                json.dumps(list(rooms)),
                "scheduled" if scheduled_for else "sent",
                stored_or_none(scheduled_for),
                stored(now),
                entry_id,
                request_room,
                request_event,
                self._school,
            ),
        )
        if not scheduled_for:
            await self.mark_published(int(new_id or 0), now)
        return required(await self.get(int(new_id or 0)), "new announcement")

    async def get(self, announcement_id: int) -> Announcement | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM announcements"  # noqa: S608 - constant columns
            " WHERE id = ? AND school = ?",
            (announcement_id, self._school),
        )
        return _to_announcement(row) if row else None

    async def get_number(self, number: int) -> Announcement | None:
        """The announcement a RUPN names by its number (n° 3), in this school only."""
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM announcements"  # noqa: S608 - constant columns
            " WHERE number = ? AND school = ?",
            (number, self._school),
        )
        return _to_announcement(row) if row else None

    async def due(self, now: datetime) -> list[Announcement]:
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM announcements"  # noqa: S608 - constant columns
            " WHERE status = 'scheduled' AND scheduled_for <= ? AND school = ?"
            " ORDER BY scheduled_for, id",
            (stored(now), self._school),
        )
        return [_to_announcement(r) for r in rows]

    async def recent(self, limit: int = 10) -> list[Announcement]:
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM announcements WHERE school = ?"  # noqa: S608 - constant columns
            " ORDER BY CASE status WHEN 'scheduled' THEN 0 ELSE 1 END, id DESC LIMIT ?",
            (self._school, limit),
        )
        return [_to_announcement(r) for r in rows]

    async def published_in_room(self, room_id: str, limit: int = 10) -> list[Announcement]:
        """The latest announcements the bot posted (and did not withdraw) in `room_id`."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM announcements WHERE status = 'sent' AND id IN ("  # noqa: S608 - constant columns
            " SELECT ref_id FROM posts WHERE ref_type = 'announcement' AND kind = 'announcement'"
            " AND room_id = ? AND status = 'sent') AND school = ?"
            " ORDER BY published_at DESC, id DESC LIMIT ?",
            (room_id, self._school, limit),
        )
        return [_to_announcement(r) for r in rows]

    async def mark_published(self, announcement_id: int, now: datetime) -> None:
        await self._db.execute(
            "UPDATE announcements SET status = 'sent', published_at = ? WHERE id = ?",
            (stored(now), announcement_id),
        )

    async def set_status(self, announcement_id: int, status: Status) -> None:
        await self._db.execute(
            "UPDATE announcements SET status = ? WHERE id = ?", (status, announcement_id)
        )

    async def edit(self, announcement_id: int, body: str, html: str | None, now: datetime) -> None:
        await self._db.execute(
            "UPDATE announcements SET body = ?, html = ?, edited_at = ? WHERE id = ?",
            (body, html, stored(now), announcement_id),
        )

    async def mark_confirmed(self, announcement_id: int) -> bool:
        """Returns True only the first time (the confirmation is sent once)."""
        row = await self._db.fetchone(
            "SELECT confirmed FROM announcements WHERE id = ?", (announcement_id,)
        )
        if not row or row["confirmed"]:
            return False
        await self._db.execute(
            "UPDATE announcements SET confirmed = 1 WHERE id = ?", (announcement_id,)
        )
        return True
