"""What the weekly letter reads and writes (tables `digest_weeks`, `digest_words`).

The letter reads across features (announcements, feed entries, polls, ateliers and
the posts that showed them); those queries live here, next to the letter's own
tables, and return plain rows for `digests/collect.py`. Every query reads all rooms
at once: the letters of 200 rooms cost a handful of statements, not 200 times more.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.schools import IMPLICIT_KEY
from bot.storage.database import Database, loaded, loaded_or_none, required, stored
from bot.storage.posts import RESENDS_KEY
from bot.tally import Response

Outcome = Literal["sent", "empty", "skipped"]
LETTER_KIND = "digest"
"""The kind of a room's letter post."""
MAIL_KIND = "digest-mail"
"""The kind of a letter's e-mail."""


@dataclass(frozen=True, slots=True)
class Week:
    """A row of `digest_weeks`: how the week's letter was decided."""

    outcome: Outcome
    decided_at: datetime
    rooms: int
    extra_letters: int


@dataclass(frozen=True, slots=True)
class WeekState:
    outcome: Outcome | None  # None: the week's letter is not decided yet
    paused: bool  # the school's letter is paused (`!lettre pause`)


@dataclass(frozen=True, slots=True)
class LetterMail:
    """A letter's e-mail, as queued in the outbox."""

    txn_id: str
    status: Literal["pending", "sent", "failed"]
    subject: str
    text: str
    html: str
    resends: str | None  # the txn_id of the first mail of this letter, when sent again
    week_ref: int  # its posts' ref_id (`digests.send.week_ref`)
    queued_at: datetime
    sent_at: datetime | None
    error: str | None


@dataclass(frozen=True, slots=True)
class LastLetters:
    sent_at: datetime | None  # the school's latest week whose letter was sent
    by_room: dict[str, datetime]  # when each room's latest letter was queued


@dataclass(frozen=True, slots=True)
class PublishedRow:
    """An announcement (or a published news entry) as posted in one room."""

    announcement_id: int
    room_id: str
    event_id: str
    published_at: datetime
    delivered_at: datetime  # when the post reached that room
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
    answer_ids: tuple[str, ...]
    max_selections: int
    responses: tuple[Response, ...]  # in no particular order (`order`: arrival)


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
    """One établissement's letter: its weeks, its words and what it shows."""

    def __init__(self, db: Database, school: str = IMPLICIT_KEY) -> None:
        self._db = db
        self._school = school

    # --- what the letter shows ----------------------------------------------------------

    async def last_letters(self, rooms: Sequence[str]) -> LastLetters:
        """When the school's latest letter was sent, and when the latest letter of each of
        `rooms` was queued (its window ends there), in one query.

        Room by room: the letters of the other schools' rooms are never read."""
        named = {f"room{n}": room for n, room in enumerate(rooms)}
        marks = ", ".join(f":{name}" for name in named)
        rows = await self._db.fetchall(
            "SELECT NULL AS room_id, MAX(decided_at) AS at FROM digest_weeks"  # noqa: S608 - placeholders only
            " WHERE outcome = 'sent' AND school = :school"
            " UNION ALL SELECT room_id, MAX(created_at) AS at FROM posts"
            f" WHERE kind = :kind AND room_id IN ({marks}) AND school = :school GROUP BY room_id",
            {"school": self._school, "kind": LETTER_KIND, **named},
        )
        by_room = {str(r["room_id"]): loaded(r["at"]) for r in rows if r["room_id"] is not None}
        sent = next((r["at"] for r in rows if r["room_id"] is None), None)
        return LastLetters(loaded_or_none(sent), by_room)

    async def delivered_between(self, since: datetime, until: datetime) -> list[PublishedRow]:
        """Announcements delivered in a room in (since, until], newest first, one row per room.

        On delivery (`posts.sent_at`), not on decision: an announcement still queued when a
        letter is built goes in the next one. The sender stamps `sent_at` inside its
        transaction, so once a letter has read up to `until`, nothing later commits a post
        delivered before it.
        """
        rows = await self._db.fetchall(
            "SELECT a.id, a.body, a.published_at, p.room_id, p.event_id, p.sent_at,"
            " e.title AS entry_title, e.link AS entry_link, f.name AS feed_name"
            " FROM posts AS p INDEXED BY posts_school_sent"
            " JOIN announcements AS a ON a.id = p.ref_id"
            " LEFT JOIN feed_entries AS e ON e.id = a.entry_id"
            " LEFT JOIN feeds AS f ON f.id = e.feed_id"
            " WHERE p.school = ? AND p.kind = 'announcement' AND p.status = 'sent'"
            " AND p.ref_type = 'announcement' AND p.sent_at > ? AND p.sent_at <= ?"
            " AND a.status = 'sent' AND a.school = ?"
            " ORDER BY a.published_at DESC, a.id DESC",
            (self._school, stored(since), stored(until), self._school),
        )
        return [
            PublishedRow(
                announcement_id=int(r["id"]),
                room_id=str(r["room_id"]),
                event_id=str(r["event_id"]),
                published_at=loaded(r["published_at"]),
                delivered_at=loaded(r["sent_at"]),
                body=str(r["body"]),
                entry_title=r["entry_title"],
                entry_link=r["entry_link"],
                feed_name=r["feed_name"],
            )
            for r in rows
        ]

    async def open_polls(self, now: datetime) -> list[OpenPollRow]:
        """Polls still open at `now` (one past its deadline is about to be closed), with
        their responses: one query for them all, not two per poll, and one row per poll
        (its responses as one JSON array, not a row each: 1,000 schools' letters read
        80,000 responses on a Friday)."""
        rows = await self._db.fetchall(
            "SELECT p.id, p.room_id, p.question, p.deadline, p.answers AS choices,"
            " p.max_selections, s.event_id,"
            " (SELECT json_group_array(json_array(r.voter, json(r.answers), r.sent_at, r.id))"
            "  FROM poll_responses AS r WHERE r.poll_id = p.id) AS responses"
            " FROM polls AS p LEFT JOIN posts AS s ON s.txn_id = p.start_txn AND s.status = 'sent'"
            " WHERE p.status = 'open' AND (p.deadline IS NULL OR p.deadline > ?) AND p.school = ?"
            " ORDER BY p.deadline IS NULL, p.deadline, p.id",
            (stored(now), self._school),
        )
        return [
            OpenPollRow(
                poll_id=int(r["id"]),
                room_id=str(r["room_id"]),
                question=str(r["question"]),
                deadline=loaded_or_none(r["deadline"]),
                event_id=r["event_id"],
                answer_ids=tuple(str(a["id"]) for a in json.loads(r["choices"])),
                max_selections=int(r["max_selections"]),
                responses=tuple(
                    Response(str(voter), tuple(answers), loaded(sent_at), int(order))
                    for voter, answers, sent_at, order in json.loads(r["responses"])
                ),
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
            " WHERE w.status = 'planned' AND w.starts_at > ? AND w.starts_at <= ? AND w.school = ?"
            " ORDER BY w.starts_at, w.id",
            (stored(start), stored(end), self._school),
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

    async def week(self, week: str) -> Week | None:
        row = await self._db.fetchone(
            "SELECT outcome, decided_at, rooms,"
            " (SELECT COUNT(*) FROM digest_extra_letters AS x"
            "  WHERE x.week = w.week AND x.school = w.school) AS extra"
            " FROM digest_weeks AS w WHERE week = ? AND school = ?",
            (week, self._school),
        )
        if row is None:
            return None
        return Week(row["outcome"], loaded(row["decided_at"]), int(row["rooms"]), int(row["extra"]))

    async def week_outcome(self, week: str) -> Outcome | None:
        return (await self.week_state(week)).outcome

    async def week_state(self, week: str) -> WeekState:
        """How the week's letter was decided, if it was, and whether the school's letter is
        paused, in one statement (the Friday job reads both for 1,000 schools)."""
        row = required(
            await self._db.fetchone(
                "SELECT (SELECT outcome FROM digest_weeks WHERE week = :week AND school = :school)"
                " AS outcome, (SELECT letter_paused FROM schools WHERE key = :school) AS paused",
                {"week": week, "school": self._school},
            ),
            "the week's state",  # a SELECT without FROM returns one row
        )
        return WeekState(row["outcome"], bool(row["paused"]))

    async def paused(self) -> bool:
        """Whether the school's RUPN paused its weekly letter (`!lettre pause`)."""
        row = await self._db.fetchone(
            "SELECT letter_paused FROM schools WHERE key = ?", (self._school,)
        )
        return bool(row and row["letter_paused"])

    async def set_paused(self, paused: bool, now: datetime) -> None:
        await self._db.execute(
            "INSERT INTO schools (key, added_at, letter_paused) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET letter_paused = excluded.letter_paused",
            (self._school, stored(now), int(paused)),
        )

    async def decide_week(self, week: str, outcome: Outcome, now: datetime, rooms: int) -> None:
        """Record the week's letter. A week whose letter went out ('sent') keeps that mark:
        `!lettre envoyer` may turn 'empty' or 'skipped' into 'sent', never the reverse."""
        await self._db.execute(
            "INSERT INTO digest_weeks (week, outcome, decided_at, rooms, school)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (school, week) DO UPDATE SET outcome = excluded.outcome,"
            " decided_at = excluded.decided_at, rooms = excluded.rooms"
            " WHERE digest_weeks.outcome != 'sent'",
            (week, outcome, stored(now), rooms, self._school),
        )

    async def add_extra_letter(self, week: str, now: datetime, rooms: int) -> None:
        """One more letter in a week whose letter already went out (`quand-même`)."""
        await self._db.execute(
            "INSERT INTO digest_extra_letters (week, sent_at, rooms, school) VALUES (?, ?, ?, ?)",
            (week, stored(now), rooms, self._school),
        )

    async def last_mail(self) -> LetterMail | None:
        """The latest e-mail of a letter, as queued (None if none, or its text was pruned)."""
        row = await self._db.fetchone(
            "SELECT txn_id, status, content, created_at, sent_at, error, ref_id FROM posts"
            " WHERE action = 'mail' AND kind = ? AND school = ? ORDER BY id DESC LIMIT 1",
            (MAIL_KIND, self._school),
        )
        if row is None:
            return None
        content = json.loads(row["content"])
        if not all(isinstance(content.get(k), str) for k in ("subject", "text", "html")):
            return None  # anonymised by the retention: nothing left to send again
        return LetterMail(
            txn_id=str(row["txn_id"]),
            status=row["status"],
            subject=content["subject"],
            text=content["text"],
            html=content["html"],
            resends=content.get(RESENDS_KEY),
            week_ref=int(row["ref_id"] or 0),
            queued_at=loaded(row["created_at"]),
            sent_at=loaded_or_none(row["sent_at"]),
            error=row["error"],
        )

    # --- « Le mot du RUPN » ------------------------------------------------------------

    # A word's `id` is its number in the school (what the RUPN sees and types).

    async def add_word(self, body: str, added_by: str, now: datetime) -> int:
        new_id = await self._db.execute(
            "INSERT INTO digest_words (body, added_by, added_at, school) VALUES (?, ?, ?, ?)",
            (body, added_by, stored(now), self._school),
        )
        row = await self._db.fetchone(
            "SELECT number FROM digest_words WHERE id = ?", (int(new_id or 0),)
        )
        return int(row["number"]) if row else 0

    async def words(self) -> list[Word]:
        rows = await self._db.fetchall(
            "SELECT number AS id, body, added_by, added_at FROM digest_words WHERE school = ?"
            " ORDER BY id",
            (self._school,),
        )
        return [
            Word(int(r["id"]), str(r["body"]), str(r["added_by"]), loaded(r["added_at"]))
            for r in rows
        ]

    async def remove_word(self, word_id: int) -> bool:
        row = await self._db.execute_returning(
            "DELETE FROM digest_words WHERE number = ? AND school = ? RETURNING id",
            (word_id, self._school),
        )
        return row is not None

    async def remove_words(self, word_ids: Sequence[int]) -> None:
        if not word_ids:  # most weeks: no statement (a round trip to the database thread)
            return
        await self._db.executemany(
            "DELETE FROM digest_words WHERE number = ? AND school = ?",
            [(i, self._school) for i in word_ids],
        )
