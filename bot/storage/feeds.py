"""News feeds and the entries seen in them (tables `feeds`, `feed_entries`).

A source belongs to one établissement (added in chat, or in its ``[[etablissements]]``
entry), or to the whole bot (``school`` NULL: the config file's ``[[feeds]]``): the
implicit school's in a single-school bot, every school's in an académie. A source is read
once for all the schools that see it; each school keeps its own rows of its entries
(proposed, published, ignored…) under its own numbers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import aiosqlite

from bot.schools import IMPLICIT_KEY
from bot.storage.database import Database, loaded_or_none, required, stored, stored_or_none

EntryStatus = Literal["seen", "filtered", "proposed", "published", "ignored"]


@dataclass(frozen=True, slots=True)
class Feed:
    id: int
    name: str
    url: str
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    auto_publish: bool
    origin: Literal["config", "chat"]
    active: bool
    etag: str | None
    last_modified: str | None
    failures: int
    failing_notified: bool
    last_error: str | None
    next_fetch_at: datetime | None
    last_success_at: datetime | None
    primed: bool
    added_by: str | None = None
    school: str | None = None  # None: a source of the config file's [[feeds]], the bot's


@dataclass(frozen=True, slots=True)
class StoredEntry:
    id: int
    feed_id: int
    entry_key: str
    title: str
    link: str | None
    published: datetime | None
    summary_html: str
    summary_text: str
    status: EntryStatus
    number: int = 0  # what the school's RUPN sees and types (« proposition n° 3 »)


@dataclass(frozen=True, slots=True)
class NewEntry:
    entry_key: str
    title: str
    link: str | None
    published: datetime | None
    summary_html: str
    summary_text: str


_FEED_COLUMNS = (
    "id, name, url, include_words, exclude_words, auto_publish, origin, active, etag, "
    "last_modified, failures, failing_notified, last_error, next_fetch_at, last_success_at, "
    "primed, added_by, school"
)
# The sources a school sees and decides on: its own, and those of the config file's
# [[feeds]] (a single-school bot's, or the académie's for each of its schools).
_MINE = "(school = ? OR school IS NULL)"
_ENTRY_COLUMNS = (
    "id, feed_id, entry_key, title, link, published, summary_html, summary_text, status, number"
)


def _to_feed(row: aiosqlite.Row) -> Feed:
    return Feed(
        id=row["id"],
        name=row["name"],
        url=row["url"],
        include=tuple(json.loads(row["include_words"])),
        exclude=tuple(json.loads(row["exclude_words"])),
        auto_publish=bool(row["auto_publish"]),
        origin=row["origin"],
        active=bool(row["active"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        failures=row["failures"],
        failing_notified=bool(row["failing_notified"]),
        last_error=row["last_error"],
        next_fetch_at=loaded_or_none(row["next_fetch_at"]),
        last_success_at=loaded_or_none(row["last_success_at"]),
        primed=bool(row["primed"]),
        added_by=row["added_by"],
        school=row["school"],
    )


def _to_entry(row: aiosqlite.Row) -> StoredEntry:
    return StoredEntry(
        id=row["id"],
        feed_id=row["feed_id"],
        entry_key=row["entry_key"],
        title=row["title"],
        link=row["link"],
        published=loaded_or_none(row["published"]),
        summary_html=row["summary_html"],
        summary_text=row["summary_text"],
        status=row["status"],
        number=row["number"],
    )


class FeedsRepository:
    """The news sources of one établissement (see `_MINE`) and its entries;
    `every_active` reads the sources of all schools (the reading job's)."""

    def __init__(self, db: Database, school: str = IMPLICIT_KEY) -> None:
        self._db = db
        self._school = school
        self._mine = (school,)

    def owns(self, feed: Feed) -> bool:
        return feed.school == self._school or feed.school is None

    async def upsert(
        self,
        *,
        name: str,
        url: str,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        auto_publish: bool = False,
        origin: Literal["config", "chat"],
        added_by: str | None,
        now: datetime,
        school: str | None = None,
    ) -> Feed:
        """Add a feed, or reactivate and update the one with this URL. A source added in
        chat is this repository's school's; one of the config file is `school`'s (a
        school's ``[[etablissements]] feeds``), or the bot's when None."""
        await self._db.execute(
            "INSERT INTO feeds (name, url, include_words, exclude_words, auto_publish, origin,"
            " added_by, added_at, school) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (url) DO UPDATE SET name = excluded.name,"
            " include_words = excluded.include_words, exclude_words = excluded.exclude_words,"
            " auto_publish = excluded.auto_publish, origin = excluded.origin, active = 1,"
            " school = excluded.school",
            (
                name,
                url,
                json.dumps(list(include), ensure_ascii=False),
                json.dumps(list(exclude), ensure_ascii=False),
                int(auto_publish),
                origin,
                added_by,
                stored(now),
                self._school if origin == "chat" else school,
            ),
        )
        return required(await self.by_url(url), "feed just written")

    async def by_url(self, url: str) -> Feed | None:
        row = await self._db.fetchone(
            f"SELECT {_FEED_COLUMNS} FROM feeds WHERE url = ?",  # noqa: S608 - constant columns
            (url,),
        )
        return _to_feed(row) if row else None

    async def get(self, feed_id: int) -> Feed | None:
        row = await self._db.fetchone(
            f"SELECT {_FEED_COLUMNS} FROM feeds WHERE id = ? AND {_MINE}",  # noqa: S608
            (feed_id, *self._mine),
        )
        return _to_feed(row) if row else None

    async def active(self) -> list[Feed]:
        rows = await self._db.fetchall(
            f"SELECT {_FEED_COLUMNS} FROM feeds WHERE active = 1 AND {_MINE}"  # noqa: S608
            " ORDER BY id",
            self._mine,
        )
        return [_to_feed(r) for r in rows]

    async def every_active(self) -> list[Feed]:
        """The active sources of every school and of the bot, each once (read once)."""
        rows = await self._db.fetchall(
            f"SELECT {_FEED_COLUMNS} FROM feeds WHERE active = 1 ORDER BY id"  # noqa: S608
        )
        return [_to_feed(r) for r in rows]

    async def restart(self, feed_id: int, added_by: str | None) -> None:
        """Read a re-added feed as if new: due now, not primed, no validators or failures."""
        await self._db.execute(
            "UPDATE feeds SET primed = 0, etag = NULL, last_modified = NULL, failures = 0,"
            " failing_notified = 0, last_error = NULL, next_fetch_at = NULL, added_by = ?"
            " WHERE id = ?",
            (added_by, feed_id),
        )

    async def deactivate(self, feed_id: int) -> None:
        await self._db.execute("UPDATE feeds SET active = 0 WHERE id = ?", (feed_id,))

    async def deactivate_config_feeds_except(self, urls: Sequence[str]) -> None:
        """Config feeds removed from the file stop being watched."""
        placeholders = ",".join("?" * len(urls)) or "NULL"
        await self._db.execute(
            "UPDATE feeds SET active = 0 WHERE origin = 'config'"  # noqa: S608 - placeholders only
            f" AND url NOT IN ({placeholders})",
            tuple(urls),
        )

    async def record_success(
        self,
        feed_id: int,
        *,
        etag: str | None,
        last_modified: str | None,
        next_fetch_at: datetime,
        now: datetime,
    ) -> None:
        await self._db.execute(
            "UPDATE feeds SET etag = ?, last_modified = ?, failures = 0, failing_notified = 0,"
            " last_error = NULL, next_fetch_at = ?, last_success_at = ?, primed = 1 WHERE id = ?",
            (etag, last_modified, stored(next_fetch_at), stored(now), feed_id),
        )

    async def record_failure(
        self, feed_id: int, *, error: str, next_fetch_at: datetime, notified: bool
    ) -> None:
        await self._db.execute(
            "UPDATE feeds SET failures = failures + 1, last_error = ?, next_fetch_at = ?,"
            " failing_notified = ? WHERE id = ?",
            (error, stored(next_fetch_at), int(notified), feed_id),
        )

    async def add_entries(
        self, feed_id: int, entries: Sequence[NewEntry], status: EntryStatus, now: datetime
    ) -> list[StoredEntry]:
        """Store this school's entries not seen before; returns only those (by key)."""
        added: list[StoredEntry] = []
        for entry in entries:
            row = await self._db.execute_returning(
                "INSERT INTO feed_entries (feed_id, entry_key, title, link, published,"
                " summary_html, summary_text, status, created_at, school)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (feed_id, school, entry_key) DO NOTHING RETURNING id",
                (
                    feed_id,
                    entry.entry_key,
                    entry.title,
                    entry.link,
                    stored_or_none(entry.published),
                    entry.summary_html,
                    entry.summary_text,
                    status,
                    stored(now),
                    self._school,
                ),
            )
            if row is not None:
                entry_row = await self.entry_by_id(int(row["id"]))
                if entry_row:
                    added.append(entry_row)
        return added

    async def known_keys(self, feed_id: int) -> set[str]:
        """The keys of the source's entries this school has seen."""
        rows = await self._db.fetchall(
            "SELECT entry_key FROM feed_entries WHERE feed_id = ? AND school = ?",
            (feed_id, self._school),
        )
        return {str(r["entry_key"]) for r in rows}

    async def entry(self, number: int) -> StoredEntry | None:
        """This school's entry n° `number` (never another school's)."""
        row = await self._db.fetchone(
            f"SELECT {_ENTRY_COLUMNS} FROM feed_entries"  # noqa: S608 - constant columns
            " WHERE school = ? AND number = ?",
            (self._school, number),
        )
        return _to_entry(row) if row else None

    async def entry_by_id(self, entry_id: int) -> StoredEntry | None:
        """This school's entry with this row id (a proposal post's reference)."""
        row = await self._db.fetchone(
            f"SELECT {_ENTRY_COLUMNS} FROM feed_entries"  # noqa: S608 - constant columns
            " WHERE school = ? AND id = ?",
            (self._school, entry_id),
        )
        return _to_entry(row) if row else None

    async def set_entry_status(
        self, entry_id: int, status: EntryStatus, decided_by: str | None, now: datetime
    ) -> None:
        """Decide on this school's entry with this row id."""
        await self._db.execute(
            "UPDATE feed_entries SET status = ?, decided_by = ?, decided_at = ?"
            " WHERE id = ? AND school = ?",
            (status, decided_by, stored(now), entry_id, self._school),
        )

    async def proposed(self, limit: int = 20) -> list[StoredEntry]:
        rows = await self._db.fetchall(
            f"SELECT {_ENTRY_COLUMNS} FROM feed_entries"  # noqa: S608 - constant columns
            " WHERE school = ? AND status = 'proposed' ORDER BY number LIMIT ?",
            (self._school, limit),
        )
        return [_to_entry(r) for r in rows]
