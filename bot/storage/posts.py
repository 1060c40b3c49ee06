"""The bot's outbox and post registry (table `posts`).

A post is queued in the transaction that decided it, then sent by the
sender with its own `txn_id`; the homeserver deduplicates a resent
transaction id, so a crash between sending and recording sends nothing twice.

Which pending post goes next (`next_pending`), so that one flooding teacher
delays nobody else:

1. by `priority`: PRIORITY_FIRST (the RUPN's commands, broadcasts, jobs and
   hooks) before PRIORITY_REPLIES (what anybody else caused);
2. within a priority, round-robin between requesters (the people who caused
   the posts; NULL for jobs): each post gets a `turn` when it is queued, one
   more than its requester's last pending post, or the turn being served now
   when the requester has nothing pending (start-time fair queuing). A
   requester's posts keep their order, so their per-room order too;
2b. the jobs' posts are one requester, whose turns go round-robin between
   établissements: each job's post gets, when queued, its round in its school's
   queue (`school_round`: one more than its school's last pending post, or the round
   being served when the school has nothing pending), and when the jobs' turn comes
   the sender takes their post of the lowest round (`_next_job_post`). On a Friday,
   200 schools' letters take one turn per round together, so a RUPN's announcement
   waits for a send or two, and each school's first room is reached in the first
   round, not after every room of the schools before it. Queuing writes its own rows
   only, whatever the path (a job's round over the schools, the académie's feed read
   offering to every school): no queue renumbers the others;
3. a post that refers to another by transaction id (an edit, a redaction, a
   file's relation) is never picked while that post is still pending, whatever
   their priorities: the sender would refuse it (M_TARGET_NOT_SENT).

E-mails (action 'mail') share the table, and so the deciding transaction, but
not the queue: `next_pending` never picks them and they take no turn, so a mail
server that is down never delays a Matrix post. The mail sender takes them
oldest first (`next_pending_mail`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import aiosqlite

from bot.schools import IMPLICIT_KEY
from bot.storage.database import Database, loaded, stored

Action = Literal["send", "redact", "mail"]

PRIORITY_FIRST = 0
"""The RUPN's commands, broadcasts, jobs and hooks (the default: what is not a reply)."""
PRIORITY_REPLIES = 1
"""What other people's commands and events caused: served after PRIORITY_FIRST."""
RESENDS_KEY = "resends"
"""In a mail's content: the txn_id of the mail it sends again (it keeps that Message-ID)."""
MAIL_PARTIAL = "SMTP_PARTIAL"
"""posts.error of a mail sent, but not to everyone: "SMTP_PARTIAL:a@x,b@y"."""


def partial_error(refused: Iterable[str]) -> str:
    return f"{MAIL_PARTIAL}:{','.join(sorted(refused))}"


def refused_addresses(error: str | None) -> tuple[str, ...]:
    """The recipients a sent mail did not reach (see `partial_error`); () if none."""
    code, _, addresses = (error or "").partition(":")
    return tuple(a for a in addresses.split(",") if a) if code == MAIL_PARTIAL else ()


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
    priority: int = PRIORITY_FIRST
    requester: str | None = None  # who caused it (None: a job or a hook)
    school: str = IMPLICIT_KEY  # the établissement it is for


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
    priority: int = PRIORITY_FIRST
    requester: str | None = None
    created_at: datetime | None = None  # when it was queued (always set when read back)
    school: str = IMPLICIT_KEY


_WAITS_FOR_NOTHING = (
    "(p.target_txn_id IS NULL OR NOT EXISTS (SELECT 1 FROM posts AS t"
    " WHERE t.txn_id = p.target_txn_id AND t.status = 'pending'))"
)
"""A post that refers to another (an edit, a redaction) waits for that one to be sent."""

_COLUMNS = (
    "id, room_id, action, event_type, content, kind, txn_id, status, event_id, attempts, "
    "ref_type, ref_id, target_txn_id, target_event_id, error, priority, requester, created_at, "
    "school"
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
        priority=row["priority"],
        requester=row["requester"],
        created_at=loaded(row["created_at"]),
        school=row["school"],
    )


class PostsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def queue(self, posts: Sequence[OutgoingPost], now: datetime) -> None:
        if not posts:
            return
        rows = []
        last_turns: dict[tuple[int, str | None], int] = {}
        last_rounds: dict[tuple[int, str], int] = {}
        for p in posts:
            turn = school_round = 0  # a mail is not in the Matrix queue: it takes no turn
            if p.action != "mail":
                key, school = (p.priority, p.requester), (p.priority, p.school)
                if key not in last_turns or (p.requester is None and school not in last_rounds):
                    # Read once per batch: the batch's own rows are counted on from there.
                    found = await self._last_positions(p.priority, p.requester, p.school)
                    last_turns.setdefault(key, found[0])
                    if p.requester is None:  # (a requester's post has no school round)
                        last_rounds.setdefault(school, found[1])
                last_turns[key] += 1
                turn = last_turns[key]
                if p.requester is None:
                    last_rounds[school] += 1
                    school_round = last_rounds[school]
            rows.append(
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
                    p.priority,
                    p.requester,
                    turn,
                    p.school,
                    school_round,
                )
            )
        await self._db.executemany(
            "INSERT INTO posts (room_id, action, event_type, content, kind, txn_id, ref_type,"
            " ref_id, target_txn_id, target_event_id, created_at, priority, requester, turn,"
            " school, school_round) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    async def _last_positions(
        self, priority: int, requester: str | None, school: str
    ) -> tuple[int, int]:
        """The turn before the requester's next post, and for a job's post (no requester)
        the round before its school's next one, in one statement (see the module's
        docstring): the last pending post's, or, when there is none, the one before the
        turn (the round) being served: they come right after it (they join it)."""
        # ORDER BY … LIMIT 1 rather than MAX/MIN: the index is walked in turn order and
        # the walk stops at the first post that is not a mail.
        row = await self._db.fetchone(
            "SELECT COALESCE((SELECT turn FROM posts WHERE status = 'pending'"
            "  AND requester IS :requester AND priority = :priority AND action != 'mail'"
            "  ORDER BY turn DESC LIMIT 1),"
            " (SELECT turn - 1 FROM posts WHERE status = 'pending' AND priority = :priority"
            "  AND action != 'mail' ORDER BY turn LIMIT 1), 0) AS turn,"
            " CASE WHEN :requester IS NULL THEN COALESCE((SELECT school_round FROM posts"
            "  INDEXED BY posts_pending_school_rounds WHERE status = 'pending'"
            "  AND requester IS NULL AND action != 'mail' AND school = :school"
            "  AND priority = :priority ORDER BY school_round DESC LIMIT 1),"
            " (SELECT school_round - 1 FROM posts INDEXED BY posts_pending_rounds"
            "  WHERE status = 'pending' AND requester IS NULL AND action != 'mail'"
            "  AND priority = :priority ORDER BY school_round LIMIT 1), 0) ELSE 0 END"
            " AS school_round",
            {"requester": requester, "priority": priority, "school": school},
        )
        return (int(row["turn"]), int(row["school_round"])) if row is not None else (0, 0)

    async def next_pending(self) -> Post | None:
        """The next Matrix post to send: by priority, round-robin between requesters (and
        between schools for the jobs), never before the post it refers to, never a mail
        (see the module's docstring)."""
        # The partial index is read in order, and the scan stops at the first post
        # that waits for nothing: no sort, however long the queue.
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM posts AS p INDEXED BY posts_pending_fair"  # noqa: S608 - constant columns
            f" WHERE p.status = 'pending' AND p.action != 'mail' AND {_WAITS_FOR_NOTHING}"
            " ORDER BY p.priority, p.turn, p.id LIMIT 1"
        )
        if row is None:
            return None
        if row["requester"] is not None:
            return _to_post(row)
        return await self._next_job_post(int(row["priority"]))

    async def _next_job_post(self, priority: int) -> Post | None:
        """The jobs' turn: their post of the lowest round between schools."""
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM posts AS p INDEXED BY posts_pending_rounds"  # noqa: S608 - constant columns
            " WHERE p.status = 'pending' AND p.requester IS NULL AND p.action != 'mail'"
            f" AND p.priority = ? AND {_WAITS_FOR_NOTHING}"
            " ORDER BY p.school_round, p.id LIMIT 1",
            (priority,),
        )
        return _to_post(row) if row else None

    async def _pass_turn(self, post_id: int) -> None:
        """A job's post leaves the queue (sent, or failed for good) in the jobs' turn being
        served, whichever turn it was given when queued: the pending job post that holds
        that turn takes this post's own, so that the jobs' pending turns stay the ones
        still to serve (round-robin between schools, one turn per send between requesters)."""
        row = await self._db.fetchone(
            "SELECT priority, turn FROM posts WHERE id = ? AND requester IS NULL"
            " AND action != 'mail'",
            (post_id,),
        )
        if row is None:
            return  # a requester's post is served in its own turn; a mail takes none
        await self._db.execute(
            "UPDATE posts SET turn = :turn WHERE id = (SELECT id FROM posts"
            " INDEXED BY posts_pending_requester WHERE status = 'pending' AND requester IS NULL"
            " AND priority = :priority AND action != 'mail' ORDER BY turn LIMIT 1)"
            " AND turn < :turn",
            {"priority": row["priority"], "turn": row["turn"]},
        )

    async def next_pending_mail(self) -> Post | None:
        """The oldest pending e-mail: mails go one at a time, in the order decided."""
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM posts INDEXED BY posts_pending"  # noqa: S608 - constant columns
            " WHERE status = 'pending' AND action = 'mail' ORDER BY id LIMIT 1"
        )
        return _to_post(row) if row else None

    async def mark_sent(
        self,
        post_id: int,
        event_id: str,
        now: datetime,
        *,
        error: str | None = None,
        content: dict[str, Any] | None = None,
    ) -> None:
        """`error`: what went wrong although it went (a mail some recipients refused);
        `content`: what was sent instead of what was queued (an uploaded file's location
        instead of its payload)."""
        await self._pass_turn(post_id)
        await self._db.execute(
            "UPDATE posts SET status = 'sent', event_id = ?, sent_at = ?, error = ?,"
            " attempts = attempts + 1, content = coalesce(?, content) WHERE id = ?",
            (
                event_id,
                stored(now),
                error,
                json.dumps(content, ensure_ascii=False) if content is not None else None,
                post_id,
            ),
        )

    async def mark_failed(self, post_id: int, error: str) -> None:
        await self._pass_turn(post_id)
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

    async def count_by_status(self, school: str | None = None) -> dict[str, int]:
        """How many posts are sent, pending, failed: the bot's, or one school's."""
        rows = await self._db.fetchall(
            "SELECT status, COUNT(*) AS n FROM posts WHERE :school IS NULL OR school = :school"
            " GROUP BY status",
            {"school": school},
        )
        return {str(r["status"]): int(r["n"]) for r in rows}
