"""Waiting on signals, and seeding the bot's database, for the end-to-end tests.

`eventually()` is the one way these tests wait: on something a client (or, failing
that, the bot's log) can see, never on the clock. A negative check waits on a positive
signal instead: a later command and its reply prove that an earlier event produced
nothing, because the bot handles events in order and sends each person's posts in
order. Posts caused by different people (or by jobs) are sent fairly, not first come
first served: to know that nothing else is on its way, wait for `outbox_drained()`,
then for one more reply in the same room.

Time-dependent features (deadlines, reminders, throttles) are tested by *seeding* the
moment in the bot's database while it is stopped, then starting it: every job runs once
at start-up, so what is due happens at once. Where a test is about the running bot, the
moment is seeded while it runs, and the job's next tick (a few seconds) does the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, overload

from bot.storage.database import stored

T = TypeVar("T")

DATABASE = Path("botdata") / "rupn-bot.db"  # under a staff room's workdir


@overload
async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    timeout: float = ...,
    interval: float = ...,
    what: str | None = ...,
) -> T: ...


@overload
async def eventually(
    probe: Callable[[], T],
    *,
    timeout: float = ...,
    interval: float = ...,
    what: str | None = ...,
) -> T: ...


async def eventually(
    probe: Callable[[], Any],
    *,
    timeout: float = 30,
    interval: float = 0.2,
    what: str | None = None,
) -> Any:
    """Call `probe` (plain or async) until it returns a truthy value, and return that value.

    An `AssertionError` raised by the probe counts as "not yet", so a probe may assert
    with a useful message; the last one is re-raised at the timeout. Otherwise the
    timeout raises `TimeoutError` quoting the last value seen.
    """
    deadline = time.monotonic() + timeout
    while True:
        failure: AssertionError | None = None
        try:
            value = probe()
            if inspect.isawaitable(value):
                value = await value
        except AssertionError as exc:
            failure = exc
        else:
            if value:
                return value
        if time.monotonic() >= deadline:
            label = what or getattr(probe, "__name__", "probe")
            if failure is not None:
                raise AssertionError(f"{label}: still failing after {timeout} s: {failure}")
            raise TimeoutError(f"{label}: still {value!r} after {timeout} s")
        await asyncio.sleep(interval)


def _execute(path: Path, sql: str, params: Sequence[Any]) -> int:
    # The bot may be running: its writes take BEGIN IMMEDIATE and a busy timeout; this one
    # waits for its transaction to end (sqlite3's timeout) and is one short transaction.
    with contextlib.closing(sqlite3.connect(path, timeout=15)) as db, db:
        return db.execute(sql, params).rowcount


async def seed(workdir: Path, sql: str, *params: Any) -> int:
    """Run one UPDATE on the bot's database; returns the number of rows changed."""
    return await asyncio.to_thread(_execute, workdir / DATABASE, sql, params)


def _fetch(path: Path, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=15)) as db:
        return db.execute(sql, params).fetchall()


async def query(workdir: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows from the bot's database (read only; fine while it runs, in WAL mode)."""
    return await asyncio.to_thread(_fetch, workdir / DATABASE, sql, params)


def at(moment: datetime) -> str:
    """A moment as the bot stores it (UTC ISO 8601), for seeding."""
    return stored(moment)


async def outbox_drained(workdir: Path) -> None:
    """Until the bot has sent everything it queued (posts are queued with what caused them)."""

    async def drained() -> bool:
        [(pending,)] = await query(workdir, "SELECT COUNT(*) FROM posts WHERE status = 'pending'")
        return bool(pending == 0)

    await eventually(drained, what="the bot's outbox drained")


def cells_containing(path: Path, needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) of every stored value that contains one of `needles`."""
    found = []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for column in [r[1] for r in db.execute(f"PRAGMA table_info({table})")]:
                sql = f'SELECT 1 FROM "{table}" WHERE instr(CAST("{column}" AS TEXT), ?) > 0'  # noqa: S608 - names from sqlite_master
                found += [(table, column, n) for n in needles if db.execute(sql, (n,)).fetchone()]
    return found
