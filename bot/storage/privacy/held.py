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


# The person's rows of one school: the school is the last parameter of each.
_AUTHORED = (
    ("announcements", "SELECT COUNT(*) AS n FROM announcements WHERE author = ? AND school = ?"),
    (
        "polls",
        "SELECT COUNT(*) AS n FROM polls WHERE (creator = ? OR closed_by = ?) AND school = ?",
    ),
    ("workshops", "SELECT COUNT(*) AS n FROM workshops WHERE organiser = ? AND school = ?"),
    (
        "broadcast_rooms",
        "SELECT COUNT(*) AS n FROM broadcast_rooms WHERE added_by = ? AND school = ?",
    ),
    ("feeds", "SELECT COUNT(*) AS n FROM feeds WHERE added_by = ? AND school IS ?"),
    ("digest_words", "SELECT COUNT(*) AS n FROM digest_words WHERE added_by = ? AND school = ?"),
)


class HeldData:
    """What one school holds about a person (`_school`: set by the repository)."""

    _school: str

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

    async def held(self, user_id: str, reader_keys: Sequence[str]) -> PersonalData:
        signups = await self._db.fetchall(
            "SELECT w.kind, w.theme, w.starts_at, s.status, s.via, s.attended"
            " FROM workshop_signups AS s JOIN workshops AS w ON w.id = s.workshop_id"
            " WHERE s.user_id = ? AND w.school = ? ORDER BY w.starts_at, w.id",
            (user_id, self._school),
        )
        votes = await self._db.fetchall(
            "SELECT p.question, p.answers AS choices, p.anonymous, r.answers, r.sent_at"
            " FROM poll_responses AS r JOIN polls AS p ON p.id = r.poll_id"
            " WHERE r.voter = ? AND p.school = ? AND r.id = (SELECT r2.id FROM poll_responses AS r2"
            "  WHERE r2.poll_id = r.poll_id AND r2.voter = r.voter"
            "  ORDER BY r2.sent_at DESC, r2.id DESC LIMIT 1)"
            " ORDER BY r.sent_at, r.id",
            (user_id, self._school),
        )
        authored = {
            name: await self._count(sql, ((user_id,) * (sql.count("?") - 1)) + (self._school,))
            for name, sql in _AUTHORED
        }
        requests = await self._db.fetchall(
            "SELECT r.number, r.location, r.equipment, r.reporter = f.user_id AS reported,"
            " r.status, r.opened_at FROM assistance_followers AS f"
            " JOIN assistance_requests AS r ON r.id = f.request_id"
            " WHERE f.user_id = ? AND r.school = ? ORDER BY r.number",
            (user_id, self._school),
        )
        markers = 0
        if reader_keys:
            keys = ", ".join("?" for _ in reader_keys)
            sql = f"SELECT COUNT(*) AS n FROM read_markers WHERE reader_key IN ({keys})"  # noqa: S608
            markers = await self._count(sql, tuple(reader_keys))
        return PersonalData(
            signups=tuple(
                HeldSignup(
                    kind=str(r["kind"]),
                    theme=str(r["theme"]),
                    starts_at=loaded(r["starts_at"]),
                    status=str(r["status"]),
                    by_reaction=r["via"] == "reaction",
                    attended=None if r["attended"] is None else bool(r["attended"]),
                )
                for r in signups
            ),
            votes=tuple(_held_vote(r) for r in votes),
            decisions=await self._count(
                "SELECT COUNT(*) AS n FROM feed_entries WHERE decided_by = ?", (user_id,)
            ),
            read_markers=markers,
            authored=authored,
            posts=await self._count(
                "SELECT COUNT(*) AS n FROM posts"
                " WHERE (requester = ? OR instr(content, ?) > 0) AND school = ?",
                (user_id, user_id, self._school),
            ),
            waiting=await self._count(
                "SELECT COUNT(*) AS n FROM undecrypted_events WHERE sender = ?", (user_id,)
            ),
            requests=tuple(
                HeldRequest(
                    number=int(r["number"]),
                    title=f"{r['location']} — {r['equipment']}",
                    reported=bool(r["reported"]),
                    open=r["status"] == "open",
                    opened_at=loaded(r["opened_at"]),
                )
                for r in requests
            ),
        )

    async def _count(self, sql: str, params: Sequence[Any]) -> int:
        row = await self._db.fetchone(sql, params)
        return int(row["n"]) if row else 0


def _held_vote(row: Any) -> HeldVote:
    texts = {a["id"]: a["text"] for a in json.loads(row["choices"])}
    chosen = tuple(texts.get(answer, answer) for answer in json.loads(row["answers"]))
    return HeldVote(
        question=str(row["question"]),
        answers=chosen,
        anonymous=bool(row["anonymous"]),
        sent_at=loaded(row["sent_at"]),
    )
