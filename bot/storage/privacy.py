"""Personal data: what is held about a person, erasure, and expiry after the retention.

Every table is classified below (`PERSONAL_TABLES`, `IMPERSONAL_TABLES`); a unit
test fails when a migration adds a table that is in neither, so that a new place
holding user ids cannot escape erasure.

Erasure (`erase`) replaces the person's user id by their pseudonym (`anonyme:…`,
the same for one person everywhere, so distinct counts survive) in identity
columns, and inside free text (message copies, bodies, JSON) where it appears
raw or percent-encoded (pills); rows that only make sense with the person
(their read markers, undecrypted messages, decryption alerts, privacy requests,
state keyed by them) are deleted. Expiry (`expire`) does the same for rows older
than the retention, person by person, and prunes the content of the bot's old
posts to a minimal JSON without any text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from bot.pseudonyms import ERASED_PREFIX
from bot.storage.database import Database, loaded, loaded_or_none, stored

Action = Literal["show", "erase"]

DIRECT_ROOM_KEY = "direct_room:"
"""+ user id: the `bot_state` key where bot/direct.py remembers a direct room."""

PRUNED_KEY = "rupn.pruned"
"""Marks a post whose content was pruned after the retention."""

IDENTITY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("posts", "requester"),
    ("broadcast_rooms", "added_by"),
    ("feeds", "added_by"),
    ("feed_entries", "decided_by"),
    ("announcements", "author"),
    ("polls", "creator"),
    ("polls", "closed_by"),
    ("poll_responses", "voter"),
    ("workshops", "organiser"),
    ("digest_words", "added_by"),
)
"""Columns holding one user id, replaced by the pseudonym on erasure
(`workshop_signups.user_id` too, handled apart because of its UNIQUE constraint)."""

TEXT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("posts", "content"),
    ("announcements", "body"),
    ("announcements", "html"),
    ("polls", "question"),
    ("polls", "answers"),
    ("polls", "final_results"),
    ("workshops", "theme"),
    ("workshops", "place"),
    ("digest_words", "body"),
    ("feeds", "name"),
    ("feed_entries", "title"),
    ("feed_entries", "summary_html"),
    ("feed_entries", "summary_text"),
    ("undecrypted_events", "source"),
)
"""Free text where a user id may appear (mentions, pills, JSON): replaced on erasure."""

DELETED_BY: tuple[tuple[str, str], ...] = (
    ("undecrypted_events", "sender"),
    ("decryption_alerts", "sender"),
    ("privacy_requests", "user_id"),
)
"""Rows that only make sense with the person: deleted on erasure."""

PERSONAL_TABLES = frozenset(
    {t for t, _ in IDENTITY_COLUMNS + TEXT_COLUMNS + DELETED_BY}
    | {"workshop_signups", "read_markers", "bot_state"}
)
IMPERSONAL_TABLES = frozenset(
    {
        "digest_weeks",  # a week and its outcome
        "digest_extra_letters",  # a week's extra letter: when, to how many rooms
        "post_stats",  # per post: audience and reader counts
        "post_reactions",  # per post and emoji, no reactor
        "sqlite_sequence",  # SQLite's AUTOINCREMENT counters
    }
)

_MATRIX_ID = re.compile(r"@[A-Za-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(?::\d+)?")
_ANONYMOUS_LIKE = ERASED_PREFIX + "%"


@dataclass(frozen=True, slots=True)
class PrivacyRequest:
    """`!mesdonnees [effacer]` to answer in a direct room with the person."""

    id: int
    user_id: str
    action: Action
    requested_at: datetime


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
class PersonalData:
    """What the database holds about one person."""

    signups: tuple[HeldSignup, ...]
    votes: tuple[HeldVote, ...]
    decisions: int  # news proposals sorted (✅/❌ or command)
    read_markers: int  # rooms where their reading position is kept
    authored: dict[str, int]  # announcements, polls, workshops… they created (RUPN)
    posts: int  # the bot's posts they caused or that name them
    waiting: int  # their encrypted messages waiting for a key

    @property
    def empty(self) -> bool:
        counts = (self.decisions, self.read_markers, self.posts, self.waiting)
        return not (self.signups or self.votes or any(counts) or any(self.authored.values()))


_AUTHORED = (
    ("announcements", "SELECT COUNT(*) AS n FROM announcements WHERE author = ?"),
    ("polls", "SELECT COUNT(*) AS n FROM polls WHERE creator = ? OR closed_by = ?"),
    ("workshops", "SELECT COUNT(*) AS n FROM workshops WHERE organiser = ?"),
    ("broadcast_rooms", "SELECT COUNT(*) AS n FROM broadcast_rooms WHERE added_by = ?"),
    ("feeds", "SELECT COUNT(*) AS n FROM feeds WHERE added_by = ?"),
    ("digest_words", "SELECT COUNT(*) AS n FROM digest_words WHERE added_by = ?"),
)


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def anonymise_text(text: str, pseudonym: Callable[[str], str]) -> str:
    """Every Matrix user id in `text` (raw or percent-encoded) replaced by its pseudonym."""
    text = _MATRIX_ID.sub(lambda m: pseudonym(m.group(0)), text)
    return re.sub(
        r"%40[A-Za-z0-9._=\-/+]+%3A[A-Za-z0-9.\-]+",
        lambda m: pseudonym(m.group(0).replace("%40", "@").replace("%3A", ":")),
        text,
    )


class PrivacyRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- requests ---------------------------------------------------------------------

    async def request(self, user_id: str, action: Action, now: datetime) -> bool:
        """Record a request to answer in a direct room; False if the same one is pending."""
        row = await self._db.fetchone(
            "SELECT 1 FROM privacy_requests WHERE user_id = ? AND action = ?", (user_id, action)
        )
        if row is not None:
            return False
        await self._db.execute(
            "INSERT INTO privacy_requests (user_id, action, requested_at) VALUES (?, ?, ?)",
            (user_id, action, stored(now)),
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
    ) -> bool:
        """Whether a post of `kind` caused by the person was queued in one of `rooms`
        since `since` (the command confirmed the erasure itself)."""
        if not rooms:
            return False
        row = await self._db.fetchone(
            f"SELECT 1 FROM posts WHERE room_id IN ({_placeholders(rooms)})"  # noqa: S608
            " AND kind = ? AND requester = ? AND created_at >= ? LIMIT 1",
            (*rooms, kind, user_id, stored(since)),
        )
        return row is not None

    # --- what is held -----------------------------------------------------------------

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
            " WHERE s.user_id = ? ORDER BY w.starts_at, w.id",
            (user_id,),
        )
        votes = await self._db.fetchall(
            "SELECT p.question, p.answers AS choices, p.anonymous, r.answers, r.sent_at"
            " FROM poll_responses AS r JOIN polls AS p ON p.id = r.poll_id"
            " WHERE r.voter = ? AND r.id = (SELECT r2.id FROM poll_responses AS r2"
            "  WHERE r2.poll_id = r.poll_id AND r2.voter = r.voter"
            "  ORDER BY r2.sent_at DESC, r2.id DESC LIMIT 1)"
            " ORDER BY r.sent_at, r.id",
            (user_id,),
        )
        authored = {
            name: await self._count(sql, (user_id,) * sql.count("?")) for name, sql in _AUTHORED
        }
        markers = 0
        if reader_keys:
            keys = _placeholders(reader_keys)
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
                "SELECT COUNT(*) AS n FROM posts WHERE requester = ? OR instr(content, ?) > 0",
                (user_id, user_id),
            ),
            waiting=await self._count(
                "SELECT COUNT(*) AS n FROM undecrypted_events WHERE sender = ?", (user_id,)
            ),
        )

    # --- erasure ----------------------------------------------------------------------

    async def erase(
        self,
        user_id: str,
        pseudonym: str,
        reader_keys: Iterable[str],
        *,
        keep_direct_room: bool = False,
    ) -> dict[str, int]:
        """Replace or delete every trace of `user_id`; rows changed per table.

        `keep_direct_room`: the direct room with the person stays known, so that the
        erasure can be confirmed there (`close_erasure` forgets it afterwards).
        """
        changed: dict[str, int] = {}

        async def count(table: str, sql: str, params: Sequence[Any]) -> None:
            changed[table] = changed.get(table, 0) + await self._changes(sql, params)

        encoded = quote(user_id, safe="")
        await count(
            "workshop_signups",
            # OR REPLACE: a second erasure of the same person merges into their earlier row.
            "UPDATE OR REPLACE workshop_signups SET user_id = ? WHERE user_id = ?",
            (pseudonym, user_id),
        )
        for table, column in IDENTITY_COLUMNS:
            await count(
                table,
                f"UPDATE {table} SET {column} = ? WHERE {column} = ?",  # noqa: S608 - constant names
                (pseudonym, user_id),
            )
        for table, column in TEXT_COLUMNS:
            await count(
                table,
                f"UPDATE {table} SET {column} = replace(replace({column}, ?, ?), ?, ?)"  # noqa: S608
                f" WHERE instr({column}, ?) > 0 OR instr({column}, ?) > 0",
                (user_id, pseudonym, encoded, pseudonym, user_id, encoded),
            )
        for table, column in DELETED_BY:
            await count(
                table,
                f"DELETE FROM {table} WHERE {column} = ?",  # noqa: S608 - constant names
                (user_id,),
            )
        keys = list(reader_keys)
        if keys:
            await count(
                "read_markers",
                f"DELETE FROM read_markers WHERE reader_key IN ({_placeholders(keys)})",  # noqa: S608
                keys,
            )
        kept = DIRECT_ROOM_KEY + user_id if keep_direct_room else ""
        await count(
            "bot_state",
            "DELETE FROM bot_state WHERE (instr(key, ?) > 0 OR instr(value, ?) > 0) AND key != ?",
            (user_id, user_id, kept),
        )
        return {table: n for table, n in changed.items() if n}

    async def close_erasure(self, user_id: str, pseudonym: str) -> int:
        """Once the erasure is confirmed: the requests, the direct room and who caused the
        confirmation are forgotten. What the person did since is left alone."""
        changed = await self._changes("DELETE FROM privacy_requests WHERE user_id = ?", (user_id,))
        changed += await self._changes(
            "UPDATE posts SET requester = ? WHERE requester = ?", (pseudonym, user_id)
        )
        changed += await self._changes(
            "DELETE FROM bot_state WHERE instr(key, ?) > 0 OR instr(value, ?) > 0",
            (user_id, user_id),
        )
        return changed

    # --- expiry -----------------------------------------------------------------------

    async def expire(self, before: datetime, pseudonym: Callable[[str], str]) -> dict[str, int]:
        """Anonymise personal rows older than `before`; rows changed per table.

        A row's age is that of what it belongs to: a sign-up that of its workshop's
        start, a vote that of its poll's creation (a poll's votes go together, so its
        tally stays right), a post that of its sending.
        """
        cutoff = stored(before)
        changed: dict[str, int] = {}
        old_workshops = "workshop_id IN (SELECT id FROM workshops WHERE starts_at < ?)"
        old_polls = "poll_id IN (SELECT id FROM polls WHERE created_at < ?)"
        people: tuple[tuple[str, str, str], ...] = (
            ("workshop_signups", "user_id", old_workshops),
            ("workshops", "organiser", "starts_at < ?"),
            ("poll_responses", "voter", old_polls),
            ("polls", "creator", "created_at < ?"),
            ("polls", "closed_by", "created_at < ?"),
            ("announcements", "author", "created_at < ?"),
            ("broadcast_rooms", "added_by", "added_at < ?"),
            ("feeds", "added_by", "added_at < ?"),
            ("feed_entries", "decided_by", "decided_at < ?"),
            ("digest_words", "added_by", "added_at < ?"),
            ("posts", "requester", "coalesce(sent_at, created_at) < ? AND status != 'pending'"),
        )
        for table, column, where in people:
            changed[table] = changed.get(table, 0) + await self._pseudonymise(
                table, column, where, cutoff, pseudonym
            )
        # The reactions of past workshops are of no use any more.
        changed["workshop_signups"] += await self._changes(
            f"UPDATE workshop_signups SET reaction_event_id = NULL"  # noqa: S608 - constant
            f" WHERE reaction_event_id IS NOT NULL AND {old_workshops}",
            (cutoff,),
        )
        changed["announcements"] += await self._anonymise_texts(
            "announcements", ("body", "html"), "created_at < ?", cutoff, pseudonym
        )
        changed["posts"] += await self._changes(
            # Only the msgtype is kept (an edit keeps its original's); every text goes.
            "UPDATE posts SET content = CASE"
            " WHEN (CASE WHEN json_valid(content) THEN json_type(content, '$.msgtype') END)"
            "  = 'text'"
            " THEN json_object('msgtype', json_extract(content, '$.msgtype'), ?, json('true'))"
            " ELSE json_object(?, json('true')) END"
            " WHERE status != 'pending' AND coalesce(sent_at, created_at) < ?"
            " AND (CASE WHEN json_valid(content) THEN json_type(content, ?) END) IS NULL",
            (PRUNED_KEY, PRUNED_KEY, cutoff, f'$."{PRUNED_KEY}"'),
        )
        for table, where in (
            ("read_markers", "updated_at < ?"),
            ("undecrypted_events", "received_at < ?"),
            ("decryption_alerts", "day < ?"),
            ("privacy_requests", "requested_at < ?"),
        ):
            moment = before.date().isoformat() if table == "decryption_alerts" else cutoff
            changed[table] = await self._changes(
                f"DELETE FROM {table} WHERE {where}",  # noqa: S608 - constant names
                (moment,),
            )
        return {table: n for table, n in changed.items() if n}

    async def _pseudonymise(
        self,
        table: str,
        column: str,
        where: str,
        cutoff: str,
        pseudonym: Callable[[str], str],
    ) -> int:
        condition = f"{where} AND {column} IS NOT NULL AND {column} NOT LIKE ?"
        rows = await self._db.fetchall(
            f"SELECT DISTINCT {column} AS who FROM {table} WHERE {condition}",  # noqa: S608
            (cutoff, _ANONYMOUS_LIKE),
        )
        people = [str(r["who"]) for r in rows]
        if not people:
            return 0
        verb = "UPDATE OR REPLACE" if table == "workshop_signups" else "UPDATE"
        before = await self._total_changes()
        await self._db.executemany(
            f"{verb} {table} SET {column} = ? WHERE {column} = ? AND {where}",
            [(pseudonym(person), person, cutoff) for person in people],
        )
        return await self._total_changes() - before

    async def _anonymise_texts(
        self,
        table: str,
        columns: Sequence[str],
        where: str,
        cutoff: str,
        pseudonym: Callable[[str], str],
    ) -> int:
        """Matrix ids found in old free text, replaced one row at a time (in Python)."""
        rows = await self._db.fetchall(
            f"SELECT id, {', '.join(columns)} FROM {table} WHERE {where}"  # noqa: S608
            f" AND ({' OR '.join(f'{c} LIKE ?' for c in columns)})",
            (cutoff, *["%@%:%"] * len(columns)),
        )
        updates = []
        for row in rows:
            values = [row[c] for c in columns]
            new = [anonymise_text(v, pseudonym) if v is not None else None for v in values]
            if new != values:
                updates.append((*new, row["id"]))
        if updates:
            await self._db.executemany(
                f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in columns)}"  # noqa: S608
                " WHERE id = ?",
                updates,
            )
        return len(updates)

    # --- counting ---------------------------------------------------------------------

    async def _count(self, sql: str, params: Sequence[Any]) -> int:
        row = await self._db.fetchone(sql, params)
        return int(row["n"]) if row else 0

    async def _changes(self, sql: str, params: Sequence[Any]) -> int:
        before = await self._total_changes()
        await self._db.execute(sql, params)
        return await self._total_changes() - before

    async def _total_changes(self) -> int:
        row = await self._db.fetchone("SELECT total_changes() AS n")
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
