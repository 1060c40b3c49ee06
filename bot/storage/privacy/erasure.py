"""Erasure (`!mesdonnees effacer`): every trace of one person anonymised or deleted.

The person's user id becomes a token drawn for this erasure (bot/anonymise.py), the
same in every row it rewrites, so that counts and tallies stay right; inside free text
(message copies, bodies, JSON) it is replaced raw and percent-encoded (pills). The ids
of the events the person sent (votes, 👍, the commands the bot answered) go too: the
nullable ones become NULL, the others (unique keys) the token and the row id, so that a
later redaction of the old event matches nothing and nobody can fetch the event to read
its sender. Rows that only make sense with the person are deleted (see columns.py).

What still counts as the person's live choice is withdrawn by the caller first: their
votes in open polls (`withdraw_open_votes`) and their sign-ups to workshops to come (the
workshops feature, which promotes from the waiting list).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.anonymise import encoded, new_token
from bot.storage.database import Database, stored
from bot.storage.direct_rooms import DirectRoomsRepository
from bot.storage.privacy.columns import DELETED_TABLES, columns_of

_NOT_NULL_EVENT_COLUMNS = frozenset(
    {("poll_responses", "event_id"), ("post_reactions", "event_id")}
)
"""Unique keys: a distinct value per row instead of NULL."""

_EVENT_IDS_OF = (
    "SELECT event_id AS e FROM poll_responses WHERE voter = :user"
    " UNION SELECT reaction_event_id FROM workshop_signups"
    "  WHERE user_id = :user AND reaction_event_id IS NOT NULL"
    " UNION SELECT request_event FROM announcements"
    "  WHERE author = :user AND request_event IS NOT NULL"
    " UNION SELECT event_id FROM undecrypted_events WHERE sender = :user"
    " UNION SELECT report_event FROM assistance_requests"
    "  WHERE reporter = :user AND report_event IS NOT NULL"
    " UNION SELECT thread_root FROM assistance_followers"
    "  WHERE user_id = :user AND thread_root IS NOT NULL"
    # The bot's answers to the person's commands quote them (m.in_reply_to).
    ' UNION SELECT json_extract(content, \'$."m.relates_to"."m.in_reply_to".event_id\')'
    "  FROM posts WHERE requester = :user AND json_valid(content)"
    '  AND json_extract(content, \'$."m.relates_to"."m.in_reply_to".event_id\') IS NOT NULL'
)


@dataclass
class Erasure:
    """What an erasure changed: rows per table (logged, never with a user id)."""

    token: str
    changed: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, n: int) -> None:
        if n:
            self.changed[table] = self.changed.get(table, 0) + n


class PersonErasure:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def withdraw_open_votes(self, user_id: str) -> int:
        """The person's responses to polls still open: withdrawn, as an empty vote would."""
        return await self._db.changes(
            "DELETE FROM poll_responses WHERE voter = ?"
            " AND poll_id IN (SELECT id FROM polls WHERE status = 'open')",
            (user_id,),
        )

    async def coming_signups(self, user_id: str, now: datetime) -> dict[str, list[int]]:
        """The planned workshops to come the person is signed up to (or waiting for), by
        school: each school's own waiting lists move up."""
        rows = await self._db.fetchall(
            "SELECT w.school, w.id FROM workshop_signups AS s"
            " JOIN workshops AS w ON w.id = s.workshop_id"
            " WHERE s.user_id = ? AND s.status != 'cancelled' AND w.status = 'planned'"
            " AND w.starts_at > ? ORDER BY w.starts_at, w.id",
            (user_id, stored(now)),
        )
        found: dict[str, list[int]] = {}
        for row in rows:
            found.setdefault(str(row["school"]), []).append(int(row["id"]))
        return found

    async def event_ids_of(self, user_id: str) -> list[str]:
        """The ids of the events the person sent that the database holds."""
        rows = await self._db.fetchall(_EVENT_IDS_OF, {"user": user_id})
        return sorted({str(r["e"]) for r in rows if r["e"]})

    async def erase(
        self,
        user_id: str,
        reader_keys: Iterable[str],
        events: Iterable[str] = (),
        *,
        keep_direct_room: bool = False,
    ) -> Erasure:
        """Replace or delete every trace of `user_id`, and the event ids in `events` (from
        `event_ids_of`, taken before any withdrawal) with those found now.

        `keep_direct_room`: the direct room with the person stays known, so that the
        erasure can be confirmed there (`close_erasure` forgets it afterwards).
        """
        erasure = Erasure(new_token())
        token = erasure.token
        keys = list(reader_keys)
        found = set(events) | set(await self.event_ids_of(user_id))
        found |= set(await self._event_ids_by_key(keys))
        await self._forget_events(sorted(found), erasure)
        if keys:
            marks = ", ".join("?" for _ in keys)
            for c in columns_of("reader_key"):
                erasure.add(
                    c.table,
                    await self._db.changes(
                        f"UPDATE {c.table} SET {c.column} = ?"  # noqa: S608 - constant names
                        f" WHERE {c.column} IN ({marks})",
                        (token, *keys),
                    ),
                )
        for c in columns_of("user"):
            erasure.add(
                c.table,
                await self._db.changes(
                    f"UPDATE {c.table} SET {c.column} = ? WHERE {c.column} = ?",  # noqa: S608 - constant names
                    (token, user_id),
                ),
            )
        for c in columns_of("text"):
            erasure.add(
                c.table,
                await self._db.changes(
                    f"UPDATE {c.table}"  # noqa: S608 - constant names
                    f" SET {c.column} ="
                    f" replace(replace({c.column}, :user, :token), :encoded, :token)"
                    f" WHERE instr({c.column}, :user) > 0 OR instr({c.column}, :encoded) > 0",
                    {"user": user_id, "encoded": encoded(user_id), "token": token},
                ),
            )
        for table, (column, _) in DELETED_TABLES.items():
            if table != "read_markers":
                erasure.add(
                    table,
                    await self._db.changes(
                        f"DELETE FROM {table} WHERE {column} = ?",  # noqa: S608 - constant names
                        (user_id,),
                    ),
                )
        if keys:
            erasure.add(
                "read_markers",
                await self._db.changes(
                    f"DELETE FROM read_markers WHERE reader_key IN ({marks})",  # noqa: S608
                    keys,
                ),
            )
        if not keep_direct_room:
            erasure.add("bot_state", await DirectRoomsRepository(self._db).forget(user_id))
        return erasure

    async def _event_ids_by_key(self, keys: Sequence[str]) -> list[str]:
        """The event ids kept beside one of the person's pseudonymous keys (their reactions)."""
        if not keys:
            return []
        marks = ", ".join("?" for _ in keys)
        found: list[str] = []
        for key in columns_of("reader_key"):
            for event in (c for c in columns_of("event") if c.table == key.table):
                rows = await self._db.fetchall(
                    f"SELECT {event.column} AS e FROM {key.table}"  # noqa: S608 - constant names
                    f" WHERE {key.column} IN ({marks}) AND {event.column} IS NOT NULL",
                    keys,
                )
                found += [str(r["e"]) for r in rows]
        return found

    async def _forget_events(self, events: Sequence[str], erasure: Erasure) -> None:
        """The person's event ids: out of every event column and of the bot's copies."""
        if not events:
            return
        marks = ", ".join("?" for _ in events)
        for c in columns_of("event"):
            value: str = "NULL"
            params: tuple[Any, ...] = tuple(events)
            if (c.table, c.column) in _NOT_NULL_EVENT_COLUMNS:
                value = "? || ':' || rowid"
                params = (erasure.token, *events)
            erasure.add(
                c.table,
                await self._db.changes(
                    f"UPDATE {c.table} SET {c.column} = {value}"  # noqa: S608 - constant names
                    f" WHERE {c.column} IN ({marks})",
                    params,
                ),
            )
        for event in events:
            erasure.add(
                "posts",
                await self._db.changes(
                    "UPDATE posts SET content = replace(content, :event, :token)"
                    " WHERE instr(content, :event) > 0",
                    {"event": event, "token": erasure.token},
                ),
            )

    async def close_erasure(
        self, user_id: str, requested_at: datetime, posts_until: datetime, kind: str
    ) -> int:
        """Once the erasure is confirmed (a post of `kind`): the requests up to it and who
        caused the posts queued up to `posts_until` (and the confirmation) are forgotten.
        What the person did afterwards is theirs."""
        changed = await self._db.changes(
            "DELETE FROM privacy_requests WHERE user_id = ? AND requested_at <= ?",
            (user_id, stored(requested_at)),
        )
        changed += await self._db.changes(
            "UPDATE posts SET requester = NULL WHERE requester = ?"
            " AND (created_at <= ? OR kind = ?)",
            (user_id, stored(posts_until), kind),
        )
        return changed
