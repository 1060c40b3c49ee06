"""Assistance requests (`!panne`), who follows them, and the mails they exchange.

`AssistanceRepository` is one établissement's; finding the request a desk's mail is about
reads across schools, in bot/storage/desk_mails.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import aiosqlite

from bot.anonymise import ERASED_PREFIX
from bot.schools import IMPLICIT_KEY
from bot.storage.database import Database, loaded, loaded_or_none, required, stored

Status = Literal["open", "closed"]


@dataclass(frozen=True, slots=True)
class Request:
    id: int
    number: int
    school: str
    room_id: str
    report_event: str | None  # None once the reporter's data is erased
    reporter: str | None  # None once anonymised
    location: str
    equipment: str
    symptom: str
    category: str
    desk: str
    message_id: str  # the ticket's, bare
    desk_ticket: str | None
    status: Status
    opened_at: datetime
    first_answer_at: datetime | None
    last_news_at: datetime | None
    last_news: str | None
    closed_at: datetime | None
    flagged_at: datetime | None

    @property
    def title(self) -> str:
        return f"{self.location} — {self.equipment}"


@dataclass(frozen=True, slots=True)
class Follower:
    user_id: str
    room_id: str
    thread_root: str | None


_COLUMNS = (
    "id, number, school, room_id, report_event, reporter, location, equipment, symptom,"
    " category, desk, message_id, desk_ticket, status, opened_at, first_answer_at,"
    " last_news_at, last_news, closed_at, flagged_at"
)


def _request(row: aiosqlite.Row) -> Request:
    return Request(
        id=row["id"],
        number=row["number"],
        school=row["school"],
        room_id=row["room_id"],
        report_event=row["report_event"],
        reporter=row["reporter"],
        location=row["location"],
        equipment=row["equipment"],
        symptom=row["symptom"],
        category=row["category"],
        desk=row["desk"],
        message_id=row["message_id"],
        desk_ticket=row["desk_ticket"],
        status=row["status"],
        opened_at=loaded(row["opened_at"]),
        first_answer_at=loaded_or_none(row["first_answer_at"]),
        last_news_at=loaded_or_none(row["last_news_at"]),
        last_news=row["last_news"],
        closed_at=loaded_or_none(row["closed_at"]),
        flagged_at=loaded_or_none(row["flagged_at"]),
    )


class AssistanceRepository:
    """One établissement's assistance requests."""

    def __init__(self, db: Database, school: str = IMPLICIT_KEY) -> None:
        self._db = db
        self._school = school

    async def open_with_key(self, dedup_key: str) -> Request | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM assistance_requests"  # noqa: S608 - constant columns
            " WHERE school = ? AND dedup_key = ? AND status = 'open'",
            (self._school, dedup_key),
        )
        return _request(row) if row is not None else None

    async def create(
        self,
        *,
        room_id: str,
        report_event: str,
        thread_root: str | None,
        reporter: str,
        location: str,
        equipment: str,
        symptom: str,
        dedup_key: str,
        category: str,
        desk: str,
        message_id_of: Callable[[int], str],
        now: datetime,
    ) -> Request:
        """A new request; its ticket's Message-ID is made from its number (`message_id_of`).
        The reporter follows it, in `thread_root` (None: a direct room, no thread)."""
        new_id = await self._db.execute(
            "INSERT INTO assistance_requests (school, room_id, report_event, reporter, location,"
            " equipment, symptom, dedup_key, category, desk, message_id, opened_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self._school, room_id, report_event, reporter, location, equipment, symptom,
                dedup_key, category, desk, f"pending-{report_event}", stored(now),
            ),
        )  # fmt: skip
        created = required(await self._by_id(int(new_id or 0)), "new request")
        message_id = message_id_of(created.number)
        await self._db.execute(
            "UPDATE assistance_requests SET message_id = ? WHERE id = ?", (message_id, created.id)
        )
        await self.add_mail(message_id, created.id, "out", symptom, now)
        await self.follow(created.id, reporter, room_id, thread_root, now)
        return required(await self._by_id(created.id), "new request")

    async def _by_id(self, request_id: int) -> Request | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM assistance_requests"  # noqa: S608 - constant columns
            " WHERE id = ? AND school = ?",
            (request_id, self._school),
        )
        return _request(row) if row is not None else None

    async def get(self, number: int) -> Request | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM assistance_requests"  # noqa: S608 - constant columns
            " WHERE school = ? AND number = ?",
            (self._school, number),
        )
        return _request(row) if row is not None else None

    async def by_id(self, request_id: int) -> Request | None:
        return await self._by_id(request_id)

    async def follow(
        self, request_id: int, user_id: str, room_id: str, thread_root: str | None, now: datetime
    ) -> bool:
        """Add a person who hears the desk's answers; False if they already did."""
        changed = await self._db.changes(
            "INSERT OR IGNORE INTO assistance_followers"
            " (request_id, user_id, room_id, thread_root, added_at) VALUES (?, ?, ?, ?, ?)",
            (request_id, user_id, room_id, thread_root, stored(now)),
        )
        return changed > 0

    async def followers(self, request_id: int) -> list[Follower]:
        rows = await self._db.fetchall(
            "SELECT user_id, room_id, thread_root FROM assistance_followers"
            " WHERE request_id = ? AND user_id NOT LIKE ? ORDER BY added_at, user_id",
            (request_id, ERASED_PREFIX + "%"),
        )
        return [Follower(r["user_id"], r["room_id"], r["thread_root"]) for r in rows]

    async def add_mail(
        self,
        message_id: str,
        request_id: int | None,
        direction: Literal["out", "in"],
        body: str,
        now: datetime,
    ) -> bool:
        """Record a mail once; False if this Message-ID is already known."""
        changed = await self._db.changes(
            "INSERT OR IGNORE INTO assistance_mails"
            " (message_id, request_id, school, direction, body, at) VALUES (?, ?, ?, ?, ?, ?)",
            (message_id, request_id, self._school, direction, body, stored(now)),
        )
        return changed > 0

    async def sent_mail_ids(self, request_id: int) -> list[str]:
        """The Message-IDs of what the bot mailed for this request, oldest first."""
        rows = await self._db.fetchall(
            "SELECT message_id FROM assistance_mails WHERE request_id = ? AND direction = 'out'"
            " ORDER BY at, rowid",
            (request_id,),
        )
        return [r["message_id"] for r in rows]

    async def record_news(
        self, request_id: int, text: str, now: datetime, desk_ticket: str | None
    ) -> None:
        await self._db.execute(
            "UPDATE assistance_requests SET last_news = ?, last_news_at = ?,"
            " first_answer_at = COALESCE(first_answer_at, ?),"
            " desk_ticket = COALESCE(desk_ticket, ?), flagged_at = NULL"
            " WHERE id = ? AND school = ?",
            (text, stored(now), stored(now), desk_ticket, request_id, self._school),
        )

    async def close(self, request_id: int, now: datetime) -> None:
        await self._db.execute(
            "UPDATE assistance_requests SET status = 'closed', closed_at = ?"
            " WHERE id = ? AND school = ?",
            (stored(now), request_id, self._school),
        )

    async def flag(self, request_id: int, now: datetime) -> None:
        await self._db.execute(
            "UPDATE assistance_requests SET flagged_at = ? WHERE id = ? AND school = ?",
            (stored(now), request_id, self._school),
        )

    async def open_unflagged(self) -> list[Request]:
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM assistance_requests"  # noqa: S608 - constant columns
            " WHERE school = ? AND status = 'open' AND flagged_at IS NULL ORDER BY number",
            (self._school,),
        )
        return [_request(r) for r in rows]

    async def listed(self, since: datetime, follower: str | None = None) -> list[Request]:
        """Open requests and those closed since `since`; only `follower`'s when given."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM assistance_requests AS r"  # noqa: S608 - constant columns
            " WHERE school = ? AND (status = 'open' OR closed_at >= ?)"
            " AND (? IS NULL OR EXISTS (SELECT 1 FROM assistance_followers AS f"
            " WHERE f.request_id = r.id AND f.user_id = ?)) ORDER BY number",
            (self._school, stored(since), follower, follower),
        )
        return [_request(r) for r in rows]

    async def follower_count(self, request_id: int) -> int:
        """Everyone who reported it, the erased included (they did report it)."""
        row = await self._db.fetchone(
            "SELECT COUNT(*) FROM assistance_followers WHERE request_id = ?", (request_id,)
        )
        return int(row[0]) if row is not None else 0
