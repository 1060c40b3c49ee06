"""Polls and their responses (tables `polls`, `poll_responses`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import aiosqlite

from bot.schools import IMPLICIT_KEY
from bot.storage.database import Database, loaded, loaded_or_none, required, stored, stored_or_none
from bot.tally import Response


@dataclass(frozen=True, slots=True)
class Answer:
    id: str
    text: str


@dataclass(frozen=True, slots=True)
class Poll:
    id: int
    room_id: str
    creator: str
    question: str
    answers: tuple[Answer, ...]
    max_selections: int
    anonymous: bool
    template: str | None
    deadline: datetime | None
    reminder_at: datetime | None
    reminded: bool
    status: Literal["open", "closed"]
    created_at: datetime
    closed_at: datetime | None
    start_txn: str | None
    final_results: dict[str, Any] | None
    number: int  # what the RUPN sees and types, counted per school

    @property
    def answer_ids(self) -> list[str]:
        return [a.id for a in self.answers]


_COLUMNS = (
    "id, room_id, creator, question, answers, max_selections, anonymous, template, deadline, "
    "reminder_at, reminded, status, created_at, closed_at, start_txn, final_results, number"
)


def _to_poll(row: aiosqlite.Row) -> Poll:
    return Poll(
        id=row["id"],
        room_id=row["room_id"],
        creator=row["creator"],
        question=row["question"],
        answers=tuple(Answer(a["id"], a["text"]) for a in json.loads(row["answers"])),
        max_selections=row["max_selections"],
        anonymous=bool(row["anonymous"]),
        template=row["template"],
        deadline=loaded_or_none(row["deadline"]),
        reminder_at=loaded_or_none(row["reminder_at"]),
        reminded=bool(row["reminded"]),
        status=row["status"],
        created_at=loaded(row["created_at"]),
        closed_at=loaded_or_none(row["closed_at"]),
        start_txn=row["start_txn"],
        final_results=json.loads(row["final_results"]) if row["final_results"] else None,
        number=row["number"],
    )


def response_of(row: aiosqlite.Row) -> Response:
    """A row's response: columns voter, answers, sent_at and id."""
    return Response(
        voter=str(row["voter"]),
        answers=tuple(json.loads(row["answers"])),
        sent_at=loaded(row["sent_at"]),
        order=int(row["id"]),
    )


class PollsRepository:
    """One établissement's polls (and, through them, their responses)."""

    def __init__(self, db: Database, school: str = IMPLICIT_KEY) -> None:
        self._db = db
        self._school = school

    async def create(
        self,
        *,
        room_id: str,
        creator: str,
        question: str,
        answers: Sequence[Answer],
        max_selections: int,
        anonymous: bool,
        deadline: datetime | None,
        reminder_at: datetime | None,
        template: str | None,
        now: datetime,
    ) -> Poll:
        new_id = await self._db.execute(
            "INSERT INTO polls (room_id, creator, question, answers, max_selections, anonymous,"
            " template, deadline, reminder_at, status, created_at, school)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
            (
                room_id,
                creator,
                question,
                json.dumps([{"id": a.id, "text": a.text} for a in answers], ensure_ascii=False),
                max_selections,
                int(anonymous),
                template,
                stored_or_none(deadline),
                stored_or_none(reminder_at),
                stored(now),
                self._school,
            ),
        )
        return required(await self.get(int(new_id or 0)), "new poll")

    async def set_start_txn(self, poll_id: int, txn_id: str) -> None:
        await self._db.execute("UPDATE polls SET start_txn = ? WHERE id = ?", (txn_id, poll_id))

    async def get(self, poll_id: int) -> Poll | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM polls WHERE id = ? AND school = ?",  # noqa: S608
            (poll_id, self._school),
        )
        return _to_poll(row) if row else None

    async def get_number(self, number: int) -> Poll | None:
        """The poll a RUPN names by its number (n° 3), in this school only."""
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM polls WHERE number = ? AND school = ?",  # noqa: S608
            (number, self._school),
        )
        return _to_poll(row) if row else None

    async def latest_in_room(self, room_id: str) -> Poll | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM polls WHERE room_id = ? AND school = ?"  # noqa: S608
            " ORDER BY id DESC LIMIT 1",
            (room_id, self._school),
        )
        return _to_poll(row) if row else None

    async def due_for_closing(self, now: datetime) -> list[Poll]:
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM polls WHERE status = 'open'"  # noqa: S608 - constant columns
            " AND deadline IS NOT NULL AND deadline <= ? AND school = ? ORDER BY id",
            (stored(now), self._school),
        )
        return [_to_poll(r) for r in rows]

    async def due_for_reminder(self, now: datetime) -> list[Poll]:
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM polls WHERE status = 'open' AND reminded = 0"  # noqa: S608
            " AND reminder_at IS NOT NULL AND reminder_at <= ? AND school = ? ORDER BY id",
            (stored(now), self._school),
        )
        return [_to_poll(r) for r in rows]

    async def mark_reminded(self, poll_id: int) -> None:
        await self._db.execute("UPDATE polls SET reminded = 1 WHERE id = ?", (poll_id,))

    async def add_response(
        self,
        poll_id: int,
        voter: str,
        event_id: str,
        answers: Sequence[str],
        sent_at: datetime,
        now: datetime,
    ) -> bool:
        """Store a response; False if this event was already stored."""
        row = await self._db.execute_returning(
            "INSERT INTO poll_responses (poll_id, voter, event_id, answers, sent_at, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING RETURNING id",
            (poll_id, voter, event_id, json.dumps(list(answers)), stored(sent_at), stored(now)),
        )
        return row is not None

    async def delete_response_by_event(self, event_id: str) -> None:
        """The response event was redacted: that vote is withdrawn (nothing if not kept)."""
        await self._db.execute("DELETE FROM poll_responses WHERE event_id = ?", (event_id,))

    async def responses(self, poll_id: int) -> list[Response]:
        rows = await self._db.fetchall(
            "SELECT voter, answers, sent_at, id FROM poll_responses WHERE poll_id = ? ORDER BY id",
            (poll_id,),
        )
        return [response_of(r) for r in rows]

    async def close(
        self,
        poll_id: int,
        *,
        results: dict[str, Any],
        closed_by: str | None,
        now: datetime,
        forget_voters: bool,
    ) -> None:
        """Freeze the results; for an anonymous poll, delete who answered what."""
        await self._db.execute(
            "UPDATE polls SET status = 'closed', closed_at = ?, closed_by = ?, final_results = ?"
            " WHERE id = ?",
            (stored(now), closed_by, json.dumps(results, ensure_ascii=False), poll_id),
        )
        if forget_voters:
            await self._db.execute("DELETE FROM poll_responses WHERE poll_id = ?", (poll_id,))
