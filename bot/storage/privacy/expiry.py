"""Retention: personal data older than `[privacy] retention_months`, anonymised.

Every personal column of columns.py is rewritten for the rows dated before the cutoff,
by its own date column: user ids become a token of this run (one per person, so that
distinct counts stay right), user ids inside free text too, the ids of people's events
go (NULL, or the token and the row id for unique keys), rows that only make sense with
the person are deleted, and the content of the bot's old posts is pruned to a minimal
JSON without any text. Read markers of the school year under way are kept until it
ends: deleting them would count their readers again on the year's posts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.anonymise import ERASED_PREFIX, MAYBE_USER_ID_LIKE, Tokens, anonymise_text, new_token
from bot.storage.database import Database, stored
from bot.storage.privacy.columns import DELETED_TABLES, PersonalColumn, columns_of

PRUNED_KEY = "rupn.pruned"
"""Marks a post whose content was pruned after the retention."""

_NULLABLE_EVENTS = frozenset({"request_event", "reaction_event_id", "report_event", "thread_root"})
_ANONYMOUS_LIKE = ERASED_PREFIX + "%"


class Expiry:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def expire(self, before: datetime, *, year_start: datetime) -> dict[str, int]:
        """Anonymise personal rows older than `before`; rows changed per table.

        Read markers, and who caused the bot's posts, go when older than both `before` and
        `year_start` (the start of the school year under way).
        """
        cutoff = stored(before)
        tokens = Tokens()
        changed: dict[str, int] = {}

        def add(table: str, n: int) -> None:
            if n:
                changed[table] = changed.get(table, 0) + n

        # Neither the markers nor the authors of the school year under way: the year's
        # readers would be counted again, and authors as readers of their own posts.
        this_year = min(cutoff, stored(year_start))
        for c in (*columns_of("user"), *columns_of("reader_key")):
            until = this_year if c.table == "posts" else cutoff
            add(c.table, await self._anonymise_people(c, until, tokens))
        run = new_token()
        for c in columns_of("event"):
            value = "NULL" if c.column in _NULLABLE_EVENTS else "? || ':' || rowid"
            add(
                c.table,
                await self._db.changes(
                    f"UPDATE {c.table} SET {c.column} = {value}"  # noqa: S608 - constant names
                    f" WHERE ({c.dated_by}) < ? AND {c.column} IS NOT NULL"
                    f" AND {c.column} NOT LIKE ?",
                    (*(() if value == "NULL" else (run,)), cutoff, _ANONYMOUS_LIKE),
                ),
            )
        texts: dict[tuple[str, str], list[str]] = {}
        for c in columns_of("text"):
            if c.table != "posts":  # pruned whole below
                texts.setdefault((c.table, c.dated_by), []).append(c.column)
        for (table, dated_by), columns in texts.items():
            add(table, await self._anonymise_texts(table, columns, dated_by, cutoff, tokens))
        add("posts", await self._prune_posts(cutoff))
        for table, (_, date_column) in DELETED_TABLES.items():
            moment = cutoff
            if table == "decryption_alerts":
                moment = before.date().isoformat()
            elif table == "read_markers":
                moment = this_year
            add(
                table,
                await self._db.changes(
                    f"DELETE FROM {table} WHERE {date_column} < ?",  # noqa: S608 - constant names
                    (moment,),
                ),
            )
        return changed

    async def _anonymise_people(self, c: PersonalColumn, cutoff: str, tokens: Tokens) -> int:
        where = f"({c.dated_by}) < ? AND {c.column} IS NOT NULL AND {c.column} NOT LIKE ?"
        rows = await self._db.fetchall(
            f"SELECT DISTINCT {c.column} AS who FROM {c.table} WHERE {where}",  # noqa: S608
            (cutoff, _ANONYMOUS_LIKE),
        )
        changed = 0
        for row in rows:
            person = str(row["who"])
            changed += await self._db.changes(
                f"UPDATE {c.table} SET {c.column} = ? WHERE {c.column} = ? AND ({c.dated_by}) < ?",  # noqa: S608
                (tokens(person), person, cutoff),
            )
        return changed

    async def _anonymise_texts(
        self, table: str, columns: Sequence[str], dated_by: str, cutoff: str, tokens: Tokens
    ) -> int:
        """User ids found in old free text, replaced one row at a time (in Python)."""
        rows = await self._db.fetchall(
            f"SELECT rowid AS row_id, {', '.join(columns)} FROM {table}"  # noqa: S608
            f" WHERE ({dated_by}) < ? AND ({' OR '.join(f'{c} LIKE ?' for c in columns)})",
            (cutoff, *[MAYBE_USER_ID_LIKE] * len(columns)),
        )
        updates = []
        for row in rows:
            values = [row[c] for c in columns]
            new = [anonymise_text(v, tokens) if v is not None else None for v in values]
            if new != values:
                updates.append((*new, row["row_id"]))
        if updates:
            await self._db.executemany(
                f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in columns)}"  # noqa: S608
                " WHERE rowid = ?",
                updates,
            )
        return len(updates)

    async def _prune_posts(self, cutoff: str) -> int:
        # Only the msgtype is kept (an edit keeps its original's); every text goes.
        return await self._db.changes(
            "UPDATE posts SET content = CASE"
            " WHEN (CASE WHEN json_valid(content) THEN json_type(content, '$.msgtype') END)"
            "  = 'text'"
            " THEN json_object('msgtype', json_extract(content, '$.msgtype'), ?, json('true'))"
            " ELSE json_object(?, json('true')) END"
            " WHERE status != 'pending' AND coalesce(sent_at, created_at) < ?"
            " AND (CASE WHEN json_valid(content) THEN json_type(content, ?) END) IS NULL",
            (PRUNED_KEY, PRUNED_KEY, cutoff, f'$."{PRUNED_KEY}"'),
        )
