"""The SQLite database: connection settings, transactions and migrations.

One aiosqlite connection is shared by the whole bot. Every unit of work runs
inside `Database.transaction()`, which holds a lock, so that the sync
processor and the sender never interleave statements in one transaction.

Rows are `sqlite3.Row`: repositories read columns by name (`row["starts_at"]`),
so that adding or reordering a column cannot silently shift a mapping.
Datetimes are written with `stored` and read back with `loaded`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.errors import StorageError
from bot.storage.migrations import MIGRATIONS, Migration

log = logging.getLogger(__name__)

DATABASE_FILE = "rupn-bot.db"
"""The bot's database, in data_dir."""
BUSY_TIMEOUT_MS = 5000
WAL_LIMIT_BYTES = 1024 * 1024
"""The write-ahead log is checkpointed at about this size and truncated back to it."""
WAL_CHECKPOINT_PAGES = 256  # 1 MiB of 4 KiB pages (SQLite's default is 1000, ~4 MB)
Params = Sequence[Any] | Mapping[str, Any]
"""A statement's parameters: `?` in order, or `:name` by name. Never numbered ones
(`?NNN`): with a sequence, Python 3.12 warns and 3.14 refuses them."""
QueryError = sqlite3.Error
"""What a query may raise: code outside bot/storage/ catches this, never imports sqlite3."""
T = TypeVar("T")


class Database:
    """A migrated SQLite database with explicit, serialised transactions."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._savepoint_pending = False
        self._savepoint_open = False

    @classmethod
    async def open(cls, path: Path, migrations: Sequence[Migration] = MIGRATIONS) -> Database:
        """Open (creating if needed) and migrate the database at `path`.

        Only a missing file starts afresh: an empty file, or a database that is not
        rupn-bot's, is refused rather than silently replaced (it may be a damaged
        copy of every poll, atelier and sign-up).
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        if await asyncio.to_thread(_is_empty_file, path):
            raise StorageError(
                f"Le fichier {path} est vide : la base du bot (sondages, ateliers, inscriptions) "
                "a été perdue ou tronquée. Restaurez-le depuis une sauvegarde ; pour repartir "
                "de zéro en connaissance de cause, supprimez-le."
            )
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        try:
            await conn.execute("PRAGMA schema_version")
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StorageError(
                f"Le fichier {path} n’est pas une base de données rupn-bot lisible ({exc}). "
                "Restaurez-le depuis une sauvegarde."
            ) from exc
        try:
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}")
            await conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
            await _refuse_foreign(conn, path)
            db = cls(conn)
            migrated = await db._migrate(migrations)
        except BaseException:
            await conn.close()
            raise
        if migrated:
            # Serve on a fresh connection: sqlite3 keeps a connection's last 128 prepared
            # statements, and SQLite its memory for each schema on the way, for as long as
            # the connection lives (0.7 MiB after a first start; issue 20, memory).
            await db.close()
            return await cls.open(path, migrations)
        return db

    @classmethod
    async def open_read_only(
        cls, path: Path, migrations: Sequence[Migration] = MIGRATIONS
    ) -> Database:
        """The bot's database through a read-only connection, for the offline commands
        (`rupn-bot lettre --apercu`, `rupn-bot bilan`): never created nor migrated, no
        data_dir lock, and usable while the bot runs (WAL lets a reader in). The schema
        must be exactly the code's; `StorageError` (French, with what to do) otherwise."""
        uri = await asyncio.to_thread(_read_only_uri, path)
        if uri is None:
            raise StorageError(
                f"Aucune base de données dans {path.parent} : le bot n’a jamais été lancé avec "
                "ce dossier de données (storage.data_dir). Vérifiez la configuration, ou "
                "lancez d’abord le bot (rupn-bot run)."
            )
        try:
            conn = await aiosqlite.connect(uri, uri=True, isolation_level=None)
        except sqlite3.Error as exc:
            raise StorageError(f"Impossible d’ouvrir la base de données {path} ({exc}).") from None
        conn.row_factory = aiosqlite.Row
        db = cls(conn)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _check_read_only_version(path, await db.schema_version(), len(migrations))
        except sqlite3.Error as exc:
            await db.close()
            raise StorageError(
                f"Le fichier {path} n’est pas une base de données rupn-bot lisible ({exc})."
            ) from None
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        await self._conn.close()

    async def checkpoint(self) -> None:
        """Fold the write-ahead log into the database and truncate it (periodic job)."""
        async with self._lock:
            await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def schema_version(self) -> int:
        async with self._conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row["user_version"]) if row else 0

    async def _migrate(self, migrations: Sequence[Migration]) -> bool:
        """Apply the migrations the database lacks; whether there were any."""
        current = await self.schema_version()
        latest = len(migrations)
        if current > latest:
            raise StorageError(
                f"La base de données est en version {current}, plus récente que ce "
                f"programme (version {latest}). Mettez rupn-bot à jour ; "
                "ne supprimez pas la base."
            )
        for version, migration in enumerate(migrations[current:], start=current + 1):
            log.info("Applying database migration %d: %s", version, migration.description)
            if migration.rebuilds_tables:  # a no-op inside a transaction: set it before
                await self._conn.execute("PRAGMA foreign_keys = OFF")
            try:
                async with self.transaction():
                    for statement in migration.statements:
                        await self._conn.execute(statement)
                    if migration.rebuilds_tables:
                        await self._check_foreign_keys(version)
                    # PRAGMA takes no parameters; version is an int we computed.
                    await self._conn.execute(f"PRAGMA user_version = {version}")
            finally:
                await self._conn.execute("PRAGMA foreign_keys = ON")
        return current < latest

    async def _check_foreign_keys(self, version: int) -> None:
        async with self._conn.execute("PRAGMA foreign_key_check") as cur:
            broken = list(await cur.fetchall())
        if broken:
            raise StorageError(
                f"La migration {version} de la base laisserait {len(broken)} référence(s) "
                "cassée(s) ; elle n’a pas été appliquée. Restaurez une sauvegarde."
            )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Run the block in one transaction, committed on success."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Undo the block's writes if it raises; must run inside `transaction()`.

        The SAVEPOINT statement is only issued before the block's first
        write, so a handler that writes nothing costs no database round trip.
        """
        self._savepoint_pending = True
        self._savepoint_open = False
        try:
            yield
        except BaseException:
            if self._savepoint_open:
                await self._conn.execute("ROLLBACK TO handler")
                await self._conn.execute("RELEASE handler")
            raise
        else:
            if self._savepoint_open:
                await self._conn.execute("RELEASE handler")
        finally:
            self._savepoint_pending = False
            self._savepoint_open = False

    async def _before_write(self) -> None:
        if self._savepoint_pending and not self._savepoint_open:
            await self._conn.execute("SAVEPOINT handler")
            self._savepoint_open = True

    async def execute(self, sql: str, params: Params = ()) -> int | None:
        """Run a write statement; returns the last inserted row id."""
        await self._before_write()
        row = await self._conn.execute_insert(sql, params)
        # aiosqlite's own `SELECT last_insert_rowid()`: one unnamed column.
        return int(row[0]) if row and row[0] is not None else None

    async def changes(self, sql: str, params: Params = ()) -> int:
        """Run an UPDATE or DELETE; returns how many rows it changed (one round trip)."""
        await self._before_write()
        async with self._conn.execute(sql, params) as cursor:
            return max(cursor.rowcount, 0)

    async def execute_returning(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        """Run a write statement with a RETURNING clause; None if it wrote nothing."""
        await self._before_write()
        rows = await self._conn.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._before_write()
        await self._conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        rows = await self._conn.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        return list(await self._conn.execute_fetchall(sql, params))


def _read_only_uri(path: Path) -> str | None:
    """``file:///…?mode=ro`` for the database file; None when there is no such file."""
    if not path.is_file():
        return None
    return f"{path.resolve().as_uri()}?mode=ro"


def _check_read_only_version(path: Path, version: int, latest: int) -> None:
    if version == 0:
        raise StorageError(
            f"Le fichier {path} n’est pas une base de données rupn-bot : vérifiez storage.data_dir."
        )
    if version < latest:
        raise StorageError(
            f"La base de données est en version {version}, plus ancienne que ce programme "
            f"(version {latest}) : relancez le bot (rupn-bot run), qui la mettra à jour, "
            "puis recommencez."
        )
    if version > latest:
        raise StorageError(
            f"La base de données est en version {version}, plus récente que ce programme "
            f"(version {latest}) : mettez rupn-bot à jour."
        )


def _is_empty_file(path: Path) -> bool:
    return path.exists() and path.stat().st_size == 0


async def _refuse_foreign(conn: aiosqlite.Connection, path: Path) -> None:
    """A database with tables but no rupn-bot version is someone else's: never migrate it."""
    async with conn.execute("PRAGMA user_version") as cur:
        version_row = await cur.fetchone()
    version = int(version_row[0]) if version_row else 0
    async with conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ) as cur:
        tables_row = await cur.fetchone()
    tables = int(tables_row[0]) if tables_row else 0
    if version == 0 and tables:
        raise StorageError(
            f"Le fichier {path} est une base SQLite qui n’est pas celle de rupn-bot : le bot ne "
            "la modifie pas. Vérifiez storage.data_dir, ou restaurez la base depuis une "
            "sauvegarde."
        )


def required(value: T | None, what: str) -> T:
    """A row that must exist (just written, or NOT NULL): fail loudly if not."""
    if value is None:
        raise StorageError(f"missing {what}")
    return value


def stored(moment: datetime) -> str:
    """How datetimes are written: UTC ISO 8601, so that text order is time order."""
    if moment.tzinfo is None:
        raise StorageError("naive datetimes are not stored")
    return moment.astimezone(UTC).isoformat()


def stored_or_none(moment: datetime | None) -> str | None:
    return stored(moment) if moment is not None else None


def loaded(value: str) -> datetime:
    """The reverse of `stored`: the one place stored datetimes are parsed."""
    return datetime.fromisoformat(value)


def loaded_or_none(value: str | None) -> datetime | None:
    """The reverse of `stored_or_none`."""
    return loaded(value) if value else None
