"""What the weekly letter reads and writes (tables `digest_weeks`, `digest_words`).

The letter reads across features (announcements, feed entries, polls, ateliers and
the posts that showed them); those queries live here, next to the letter's own
tables, and return plain rows for `digests/collect.py`. Every query reads all rooms
at once: the letters of 200 rooms cost a handful of statements, not 200 times more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.storage.database import Database, loaded, loaded_or_none, stored

Outcome = Literal["sent", "empty", "skipped"]


@dataclass(frozen=True, slots=True)
class PublishedRow:
    """An announcement (or a published news entry) as posted in one room."""

    announcement_id: int
    room_id: str
    event_id: str
    published_at: datetime
    body: str
    entry_title: str | None
    entry_link: str | None
    feed_name: str | None


@dataclass(frozen=True, slots=True)
class OpenPollRow:
    poll_id: int
    room_id: str
    question: str
    deadline: datetime | None
    event_id: str | None  # the poll's start event, once sent


@dataclass(frozen=True, slots=True)
class UpcomingRow:
    workshop_id: int
    kind: Literal["atelier", "cafe"]
    theme: str
    starts_at: datetime
    place: str | None
    capacity: int | None
    confirmed: int
    notices: tuple[tuple[str, str], ...]  # (room id, event id) of each notice sent


@dataclass(frozen=True, slots=True)
class Word:
    """A line of « Le mot du RUPN »."""

    id: int
    body: str
    added_by: str
    added_at: datetime


class DigestsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- what the letter shows ----------------------------------------------------------

    async def published_between(self, since: datetime, until: datetime) -> list[PublishedRow]:
        """Announcements published in (since, until], newest first, one row per room."""
        rows = await self._db.fetchall(
            "SELECT a.id, a.body, a.published_at, p.room_id, p.event_id,"
            " e.title AS entry_title, e.link AS entry_link, f.name AS feed_name"
            " FROM announcements AS a"
            " JOIN posts AS p ON p.ref_type = 'announcement' AND p.ref_id = a.id"
            "  AND p.kind = 'announcement' AND p.status = 'sent'"
            " LEFT JOIN feed_entries AS e ON e.id = a.entry_id"
            " LEFT JOIN feeds AS f ON f.id = e.feed_id"
            " WHERE a.status = 'sent' AND a.published_at > ? AND a.published_at <= ?"
            " ORDER BY a.published_at DESC, a.id DESC",
            (stored(since), stored(until)),
        )
        return [
            PublishedRow(
                announcement_id=int(r["id"]),
                room_id=str(r["room_id"]),
                event_id=str(r["event_id"]),
                published_at=loaded(r["published_at"]),
                body=str(r["body"]),
                entry_title=r["entry_title"],
                entry_link=r["entry_link"],
                feed_name=r["feed_name"],
            )
            for r in rows
        ]

    async def open_polls(self, now: datetime) -> list[OpenPollRow]:
        """Polls still open at `now` (one past its deadline is about to be closed)."""
        rows = await self._db.fetchall(
            "SELECT p.id, p.room_id, p.question, p.deadline, s.event_id"
            " FROM polls AS p LEFT JOIN posts AS s ON s.txn_id = p.start_txn AND s.status = 'sent'"
            " WHERE p.status = 'open' AND (p.deadline IS NULL OR p.deadline > ?)"
            " ORDER BY p.deadline IS NULL, p.deadline, p.id",
            (stored(now),),
        )
        return [
            OpenPollRow(
                poll_id=int(r["id"]),
                room_id=str(r["room_id"]),
                question=str(r["question"]),
                deadline=loaded_or_none(r["deadline"]),
                event_id=r["event_id"],
            )
            for r in rows
        ]

    async def upcoming_between(self, start: datetime, end: datetime) -> list[UpcomingRow]:
        """Planned ateliers and cafés starting in (start, end], soonest first."""
        rows = await self._db.fetchall(
            "SELECT w.id, w.kind, w.theme, w.starts_at, w.place, w.capacity,"
            " (SELECT COUNT(*) FROM workshop_signups AS s"
            "  WHERE s.workshop_id = w.id AND s.status = 'confirmed') AS confirmed"
            " FROM workshops AS w"
            " WHERE w.status = 'planned' AND w.starts_at > ? AND w.starts_at <= ?"
            " ORDER BY w.starts_at, w.id",
            (stored(start), stored(end)),
        )
        notices = await self._notices([int(r["id"]) for r in rows])
        return [
            UpcomingRow(
                workshop_id=int(r["id"]),
                kind=r["kind"],
                theme=str(r["theme"]),
                starts_at=loaded(r["starts_at"]),
                place=r["place"],
                capacity=r["capacity"],
                confirmed=int(r["confirmed"]),
                notices=tuple(notices.get(int(r["id"]), ())),
            )
            for r in rows
        ]

    async def _notices(self, workshop_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
        if not workshop_ids:
            return {}
        marks = ", ".join("?" for _ in workshop_ids)
        rows = await self._db.fetchall(
            "SELECT ref_id, room_id, event_id FROM posts"  # noqa: S608 - placeholders only
            f" WHERE ref_type = 'workshop' AND kind = 'workshop-notice' AND status = 'sent'"
            # By ref_id: the posts_ref index; by id alone SQLite would scan every sent post.
            f" AND ref_id IN ({marks}) ORDER BY ref_id, id",
            tuple(workshop_ids),
        )
        found: dict[int, list[tuple[str, str]]] = {}
        for r in rows:
            found.setdefault(int(r["ref_id"]), []).append((str(r["room_id"]), str(r["event_id"])))
        return found

    # --- the weeks ---------------------------------------------------------------------

    async def week_outcome(self, week: str) -> Outcome | None:
        row = await self._db.fetchone("SELECT outcome FROM digest_weeks WHERE week = ?", (week,))
        return row["outcome"] if row else None

    async def decide_week(self, week: str, outcome: Outcome, now: datetime, rooms: int) -> None:
        """Record the week's letter; `!lettre envoyer` may turn any outcome into 'sent'."""
        await self._db.execute(
            "INSERT INTO digest_weeks (week, outcome, decided_at, rooms) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (week) DO UPDATE SET outcome = excluded.outcome,"
            " decided_at = excluded.decided_at, rooms = excluded.rooms",
            (week, outcome, stored(now), rooms),
        )

    async def last_sent_at(self) -> datetime | None:
        row = await self._db.fetchone(
            "SELECT MAX(decided_at) AS at FROM digest_weeks WHERE outcome = 'sent'"
        )
        return loaded_or_none(row["at"]) if row else None

    # --- « Le mot du RUPN » ------------------------------------------------------------

    async def add_word(self, body: str, added_by: str, now: datetime) -> int:
        new_id = await self._db.execute(
            "INSERT INTO digest_words (body, added_by, added_at) VALUES (?, ?, ?)",
            (body, added_by, stored(now)),
        )
        return int(new_id or 0)

    async def words(self) -> list[Word]:
        rows = await self._db.fetchall(
            "SELECT id, body, added_by, added_at FROM digest_words ORDER BY id"
        )
        return [
            Word(int(r["id"]), str(r["body"]), str(r["added_by"]), loaded(r["added_at"]))
            for r in rows
        ]

    async def remove_word(self, word_id: int) -> bool:
        row = await self._db.execute_returning(
            "DELETE FROM digest_words WHERE id = ? RETURNING id", (word_id,)
        )
        return row is not None

    async def remove_words(self, word_ids: Sequence[int]) -> None:
        await self._db.executemany(
            "DELETE FROM digest_words WHERE id = ?", [(i,) for i in word_ids]
        )
