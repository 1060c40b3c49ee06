"""What the database holds about one person (`!mesdonnees`): a lookup, no writes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.storage.database import Database, loaded, loaded_or_none


@dataclass(frozen=True, slots=True)
class HeldSignup:
    kind: str  # "atelier" or "cafe"
    theme: str
    starts_at: datetime
    status: str  # confirmed, waiting, cancelled
    by_reaction: bool
    attended: bool | None


@dataclass(frozen=True, slots=True)
class HeldVote:
    """The person's latest response to one poll."""

    question: str
    answers: tuple[str, ...]  # the texts of the answers chosen
    anonymous: bool  # an anonymous poll, still open: deleted when it closes
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class HeldRequest:
    """A breakdown the person reported, or follows (`!panne`)."""

    number: int
    title: str  # « B12 — vidéoprojecteur »
    reported: bool  # False: they reported the same breakdown after someone else
    open: bool
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class PersonalData:
    """What the database holds about one person."""

    signups: tuple[HeldSignup, ...]
    votes: tuple[HeldVote, ...]
    decisions: int  # news proposals sorted (✅/❌ or command)
    read_markers: int  # rooms where their reading position is kept
    authored: dict[str, int]  # announcements, polls, workshops… they created (RUPN)
    posts: int  # the bot's posts they caused or that name them
    waiting: int  # their encrypted messages waiting for a key
    requests: tuple[HeldRequest, ...] = ()  # breakdowns reported or followed

    @property
    def empty(self) -> bool:
        counts = (self.decisions, self.read_markers, self.posts, self.waiting)
        lists = self.signups or self.votes or self.requests
        return not (lists or any(counts) or any(self.authored.values()))


# The person's rows, counted per school (a source of the config file, a room owned by no
# school: the bot's own, IMPLICIT_KEY). Each takes the user id as every parameter.
_AUTHORED = (
    ("announcements", "SELECT school, COUNT(*) AS n FROM announcements WHERE author = ?"),
    ("polls", "SELECT school, COUNT(*) AS n FROM polls WHERE creator = ? OR closed_by = ?"),
    ("workshops", "SELECT school, COUNT(*) AS n FROM workshops WHERE organiser = ?"),
    ("broadcast_rooms", "SELECT school, COUNT(*) AS n FROM broadcast_rooms WHERE added_by = ?"),
    ("feeds", "SELECT coalesce(school, '') AS school, COUNT(*) AS n FROM feeds WHERE added_by = ?"),
    ("digest_words", "SELECT school, COUNT(*) AS n FROM digest_words WHERE added_by = ?"),
)
# An entry is its school's (an académie's source has no school, each school its entries).
_DECISIONS = "SELECT school, COUNT(*) AS n FROM feed_entries WHERE decided_by = ?"
_POSTS = "SELECT school, COUNT(*) AS n FROM posts WHERE requester = ? OR instr(content, ?) > 0"
_WAITING = (
    "SELECT coalesce(r.school, '') AS school, COUNT(*) AS n FROM undecrypted_events AS u"
    " LEFT JOIN rooms AS r ON r.room_id = u.room_id WHERE u.sender = ?"
)


class HeldData:
    """What the database holds about a person, in every school: their own data, which
    the right of access gives them wherever it is (never anyone else's)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def marker_span(self) -> tuple[datetime, datetime] | None:
        """The oldest and newest read markers: which school years' keys to look for."""
        row = await self._db.fetchone(
            "SELECT MIN(updated_at) AS first, MAX(updated_at) AS last FROM read_markers"
        )
        first = loaded_or_none(row["first"]) if row else None
        last = loaded_or_none(row["last"]) if row else None
        return (first, last) if first is not None and last is not None else None

    async def held(self, user_id: str, reader_keys: Sequence[str]) -> dict[str, PersonalData]:
        """What each school holds about the person (by school key; those holding nothing
        are left out)."""
        signups = await self._db.fetchall(
            "SELECT w.school, w.kind, w.theme, w.starts_at, s.status, s.via, s.attended"
            " FROM workshop_signups AS s JOIN workshops AS w ON w.id = s.workshop_id"
            " WHERE s.user_id = ? ORDER BY w.starts_at, w.id",
            (user_id,),
        )
        votes = await self._db.fetchall(
            "SELECT p.school, p.question, p.answers AS choices, p.anonymous, r.answers,"
            " r.sent_at FROM poll_responses AS r JOIN polls AS p ON p.id = r.poll_id"
            " WHERE r.voter = ? AND r.id = (SELECT r2.id FROM poll_responses AS r2"
            "  WHERE r2.poll_id = r.poll_id AND r2.voter = r.voter"
            "  ORDER BY r2.sent_at DESC, r2.id DESC LIMIT 1)"
            " ORDER BY r.sent_at, r.id",
            (user_id,),
        )
        authored = {name: await self._per_school(sql, user_id) for name, sql in _AUTHORED}
        requests = await self._db.fetchall(
            "SELECT r.school, r.number, r.location, r.equipment,"
            " r.reporter = f.user_id AS reported, r.status, r.opened_at"
            " FROM assistance_followers AS f"
            " JOIN assistance_requests AS r ON r.id = f.request_id"
            " WHERE f.user_id = ? ORDER BY r.school, r.number",
            (user_id,),
        )
        markers: dict[str, int] = {}
        if reader_keys:
            keys = ", ".join("?" for _ in reader_keys)
            sql = (
                "SELECT coalesce(r.school, '') AS school, COUNT(*) AS n"  # noqa: S608
                " FROM read_markers AS m"
                " LEFT JOIN rooms AS r ON r.room_id = m.room_id"
                f" WHERE m.reader_key IN ({keys})"
            )
            markers = await self._per_school(sql, *reader_keys)
        decisions = await self._per_school(_DECISIONS, user_id)
        posts = await self._per_school(_POSTS, user_id)
        waiting = await self._per_school(_WAITING, user_id)
        counted = (*authored.values(), markers, decisions, posts, waiting)
        schools = dict.fromkeys(
            [str(r["school"]) for r in (*signups, *votes, *requests)]
            + [k for c in counted for k in c]
        )
        found = {
            key: PersonalData(
                signups=tuple(_held_signup(r) for r in signups if r["school"] == key),
                votes=tuple(_held_vote(r) for r in votes if r["school"] == key),
                decisions=decisions.get(key, 0),
                read_markers=markers.get(key, 0),
                authored={name: counts.get(key, 0) for name, counts in authored.items()},
                posts=posts.get(key, 0),
                waiting=waiting.get(key, 0),
                requests=tuple(_held_request(r) for r in requests if r["school"] == key),
            )
            for key in schools
        }
        return {key: data for key, data in found.items() if not data.empty}

    async def _per_school(self, sql: str, *params: Any) -> dict[str, int]:
        """`sql` (school, n), grouped by school; the user id fills every `?` if one param."""
        values = params * sql.count("?") if len(params) == 1 else params
        rows = await self._db.fetchall(f"{sql} GROUP BY 1", values)
        return {str(r["school"]): int(r["n"]) for r in rows if r["n"]}


def _held_signup(row: Any) -> HeldSignup:
    return HeldSignup(
        kind=str(row["kind"]),
        theme=str(row["theme"]),
        starts_at=loaded(row["starts_at"]),
        status=str(row["status"]),
        by_reaction=row["via"] == "reaction",
        attended=None if row["attended"] is None else bool(row["attended"]),
    )


def _held_request(row: Any) -> HeldRequest:
    return HeldRequest(
        number=int(row["number"]),
        title=f"{row['location']} — {row['equipment']}",
        reported=bool(row["reported"]),
        open=row["status"] == "open",
        opened_at=loaded(row["opened_at"]),
    )


def _held_vote(row: Any) -> HeldVote:
    texts = {a["id"]: a["text"] for a in json.loads(row["choices"])}
    chosen = tuple(texts.get(answer, answer) for answer in json.loads(row["answers"]))
    return HeldVote(
        question=str(row["question"]),
        answers=chosen,
        anonymous=bool(row["anonymous"]),
        sent_at=loaded(row["sent_at"]),
    )
