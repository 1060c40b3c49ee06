"""The engagement log (tables `read_markers`, `post_stats`, `post_reactions`).

What the bilan reads, and what the erasure code clears:

- `post_stats`, one row per counted post (`COUNTED_KINDS`) once sent. `seq` is the send
  order (a room's timeline order: post ids are queue order, which the fair outbox may
  reorder); `post_id` the `posts` row; `room_id`, `kind`, `ref_type`, `ref_id`, `sent_at`
  copied from it; `members` the room's joined members when it was sent, the bot excluded;
  `author_member` 1 if the person who caused the post (`posts.requester`, None for a job's
  post) was one of them; `readers` the distinct readers so far, the author never among
  them. The read rate is `readers / (members - author_member)`; it can exceed 1 when
  someone who joined after the post scrolled back over it (their first receipt covers the
  school year's posts). No personal data.
- `read_markers`, per (`room_id`, `reader_key`): `post_id` of the latest counted post the
  reader's public receipts cover, `updated_at` when it last moved. `reader_key` is
  `Pseudonyms.reader_key(user_id, school year label)`, the year of the receipt's handling.
- `post_reactions`, one row per reaction event on a counted post: `event_id` (the
  reaction's, so that its redaction deletes it), `post_id`, `reaction_key` (normalised:
  👍🏽 is 👍), `reacted_at` (the event's timestamp), `reactor_key`: the reactor as
  `Pseudonyms.reader_key(user_id, label of the school year of the post's sent_at)` (NULL
  for rows kept before it existed), and `counted`: 1 on one row per (post, key,
  reactor), the one every count takes (a person's 👍 and 👍🏽 are one 👍); when the
  counted row is redacted, an equivalent row left takes its place. `reactor_key` is
  personal (pseudonymous) data: an erasure should set it to NULL on the rows of the
  person's keys of every school year (`counted` keeps the bilan's figures unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.database import Database, loaded, stored

COUNTED_KINDS = frozenset({"announcement", "digest", "workshop-notice", "poll-start"})
"""The kinds of post whose readers and reactions the bilan counts."""

_NO_LIMIT = 2**63 - 1


@dataclass(frozen=True, slots=True)
class PostStats:
    post_id: int
    room_id: str
    kind: str
    sent_at: datetime
    members: int
    author_member: bool
    readers: int


class EngagementRepository:
    """Most receipts and reactions change nothing: a reaction on a colleague's message, a
    receipt from someone who has already read the room's latest counted post. A
    process-local index spares them a database round trip: the counted posts (event id →
    room, and each room's latest), loaded on first use and again after each post is
    recorded, and how far each reader's marker is known to have reached. It only
    filters: what it lets through is decided in SQL. A post recorded through another
    instance is only seen once this one reloads: the bot has one instance, shared by the
    processor and the sender's hooks (bot/app.py). If a batch's transaction is rolled
    back without the process ending, a reader whose marker it moved is taken to have
    read the room's latest post until the next one: their receipts then count from the
    marker in the database, so nothing is lost but time."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._counted: dict[str, str] | None = None
        self._latest: dict[str, int] = {}  # room → seq of its latest counted post
        self._reached: dict[tuple[str, str], int] = {}  # (room, reader key) → seq

    async def _index(self) -> dict[str, str]:
        if self._counted is None:
            rows = await self._db.fetchall(
                "SELECT p.event_id, s.room_id, s.seq FROM post_stats AS s"
                " JOIN posts AS p ON p.id = s.post_id"
            )
            self._counted = {str(r[0]): str(r[1]) for r in rows}
            self._latest = {}
            for r in rows:
                self._latest[str(r[1])] = max(int(r[2]), self._latest.get(str(r[1]), 0))
        return self._counted

    async def record_sent(self, txn_id: str, *, members: int, author_member: bool) -> bool:
        """The post_stats row of the post with this txn id, if it was sent; False if it was
        not sent (failed) or already recorded."""
        row = await self._db.execute_returning(
            "INSERT INTO post_stats (post_id, room_id, kind, ref_type, ref_id, sent_at, members,"
            " author_member, school)"
            " SELECT id, room_id, kind, ref_type, ref_id, sent_at, ?, ?, school FROM posts"
            " WHERE txn_id = ? AND status = 'sent' AND action = 'send' AND sent_at IS NOT NULL"
            " ON CONFLICT (post_id) DO NOTHING RETURNING seq",
            (members, int(author_member), txn_id),
        )
        self._counted = None  # reloaded when next needed, from what is committed by then
        return row is not None

    async def read_up_to(
        self,
        room_id: str,
        reader: str,
        reader_key: str,
        event_id: str,
        at: datetime,
        *,
        year_start: datetime,
    ) -> bool:
        """A public receipt of `reader` (user id: never stored; `reader_key` is) on
        `event_id` at `at`; True if it moved their marker.

        The bound is the latest counted post the receipt covers: the receipt's event itself
        if it is one; if it is another of the bot's posts, the latest counted post sent at or
        before it; otherwise the latest sent at or before `at` (the receipt's timestamp: a
        receipt on someone's message is taken to cover what the bot had sent when it was
        read). Every counted post of the room after the reader's marker up to the bound,
        sent since `year_start` and not caused by this reader (`posts.requester`), gains a
        reader.
        """
        await self._index()
        latest = self._latest.get(room_id)
        if latest is None or self._reached.get((room_id, reader_key), 0) >= latest:
            return False
        row = await self._db.fetchone(
            "WITH target AS (SELECT p.sent_at AS sent_at, s.seq AS seq FROM posts AS p"
            "  LEFT JOIN post_stats AS s ON s.post_id = p.id"
            "  WHERE p.event_id = ? AND p.room_id = ?)"
            " SELECT b.seq AS bound, b.post_id AS post_id,"
            "  (SELECT s.seq FROM read_markers AS m JOIN post_stats AS s ON s.post_id = m.post_id"
            "   WHERE m.room_id = ? AND m.reader_key = ?) AS marker"
            " FROM post_stats AS b WHERE b.room_id = ?"
            "  AND b.seq <= COALESCE((SELECT seq FROM target), ?)"
            "  AND b.sent_at <= COALESCE((SELECT sent_at FROM target), ?)"
            " ORDER BY b.seq DESC LIMIT 1",
            (event_id, room_id, room_id, reader_key, room_id, _NO_LIMIT, stored(at)),
        )
        if row is None:
            return False
        marker = int(row["marker"] or 0)
        if row["bound"] <= marker:
            self._reached[room_id, reader_key] = marker
            return False
        await self._db.execute(
            "UPDATE post_stats SET readers = readers + 1 WHERE room_id = ? AND seq > ?"
            " AND seq <= ? AND sent_at >= ?"
            " AND (SELECT requester FROM posts WHERE id = post_stats.post_id) IS NOT ?",
            (room_id, marker, row["bound"], stored(year_start), reader),
        )
        await self._db.execute(
            "INSERT INTO read_markers (room_id, reader_key, post_id, updated_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (room_id, reader_key)"
            " DO UPDATE SET post_id = excluded.post_id, updated_at = excluded.updated_at",
            (room_id, reader_key, row["post_id"], stored(at)),
        )
        self._reached[room_id, reader_key] = int(row["bound"])
        return True

    async def counted_sent_at(self, room_id: str, target_event_id: str) -> datetime | None:
        """When the counted post `target_event_id` of this room was sent; None if the event
        is not one (most reactions: the index answers without a query)."""
        if (await self._index()).get(target_event_id) != room_id:
            return None
        row = await self._db.fetchone(
            "SELECT s.sent_at FROM posts AS p JOIN post_stats AS s ON s.post_id = p.id"
            " WHERE p.event_id = ? AND s.room_id = ?",
            (target_event_id, room_id),
        )
        return loaded(row["sent_at"]) if row is not None else None

    async def add_reaction(
        self,
        room_id: str,
        target_event_id: str,
        event_id: str,
        key: str,
        at: datetime,
        *,
        reactor_key: str,
    ) -> bool:
        """A reaction on a counted post of this room; False if it is on anything else.

        Every reaction event is kept; it is counted unless the same reactor already has a
        counted one of this key on the post.
        """
        if (await self._index()).get(target_event_id) != room_id:
            return False
        await self._db.execute(
            "INSERT INTO post_reactions"
            " (event_id, post_id, reaction_key, reacted_at, reactor_key, counted)"
            " SELECT ?, s.post_id, ?, ?, ?, NOT EXISTS (SELECT 1 FROM post_reactions AS e"
            "  WHERE e.post_id = s.post_id AND e.reaction_key = ? AND e.reactor_key = ?"
            "  AND e.counted = 1)"
            " FROM posts AS p JOIN post_stats AS s ON s.post_id = p.id"
            " WHERE p.event_id = ? AND s.room_id = ? ON CONFLICT (event_id) DO NOTHING",
            (event_id, key, stored(at), reactor_key, key, reactor_key, target_event_id, room_id),
        )
        return True

    async def remove_reaction(self, event_id: str) -> None:
        """The reaction event was redacted (nothing happens if it was not kept). If it was
        the counted one, an equivalent reaction of the same person left is counted."""
        row = await self._db.execute_returning(
            "DELETE FROM post_reactions WHERE event_id = ?"
            " RETURNING post_id, reaction_key, reactor_key, counted",
            (event_id,),
        )
        if row is None or not row["counted"] or row["reactor_key"] is None:
            return
        await self._db.execute(
            "UPDATE post_reactions SET counted = 1 WHERE rowid = (SELECT rowid"
            " FROM post_reactions WHERE post_id = ? AND reaction_key = ? AND reactor_key = ?"
            " ORDER BY reacted_at, event_id LIMIT 1)",
            (row["post_id"], row["reaction_key"], row["reactor_key"]),
        )

    async def stats(self, post_id: int) -> PostStats | None:
        row = await self._db.fetchone(
            "SELECT post_id, room_id, kind, sent_at, members, author_member, readers"
            " FROM post_stats WHERE post_id = ?",
            (post_id,),
        )
        if row is None:
            return None
        return PostStats(
            post_id=int(row["post_id"]),
            room_id=str(row["room_id"]),
            kind=str(row["kind"]),
            sent_at=loaded(row["sent_at"]),
            members=int(row["members"]),
            author_member=bool(row["author_member"]),
            readers=int(row["readers"]),
        )

    async def reactions(self, post_id: int) -> dict[str, int]:
        """How many people reacted with each key (a reaction kept without its reactor
        counts alone)."""
        rows = await self._db.fetchall(
            "SELECT reaction_key, COUNT(*) AS n FROM post_reactions"
            " WHERE post_id = ? AND counted = 1 GROUP BY reaction_key",
            (post_id,),
        )
        return {str(r["reaction_key"]): int(r["n"]) for r in rows}

    async def marker(self, room_id: str, reader_key: str) -> int | None:
        """The post id the reader's marker is at in this room."""
        row = await self._db.fetchone(
            "SELECT post_id FROM read_markers WHERE room_id = ? AND reader_key = ?",
            (room_id, reader_key),
        )
        return int(row["post_id"]) if row is not None else None
