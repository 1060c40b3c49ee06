"""The weekly letter's queries read one school's rows, never every school's.

A shared bot runs the letter job once per établissement (1,000 in the largest académies):
a query that walks the posts of every school to keep one school's costs 1,000 times what
it should, and the Friday job of an académie grows with the square of its schools. Each
query `collect` runs is checked with SQLite's own plan: no table is scanned whole, and
the posts table is searched through an index constrained by the school or the room (or
by a unique id), never by kind alone.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.context import Repositories, Settings
from bot.schools import School
from bot.storage.database import Database, Params
from bot.storage.polls import Answer
from digests.collect import collect
from digests.model import Source
from digests.rooms import letter_rooms
from tests.unit.fakes import START

SCHOOL = "0860001J"
ROOMS = ("!salle-a:ac.example", "!salle-b:ac.example")
POSTS_INDEX = "INDEX posts_"  # the unique ids' (txn_id, event_id) are sqlite_autoindex_posts_*
T = TypeVar("T")
Statements = list[tuple[str, Params]]
PER_SCHOOL = re.compile(r"SEARCH \w+ USING (COVERING )?INDEX \w+ \([^)]*\b(school|room_id)=\?")


async def _recorded(db: Database, reading: Awaitable[T]) -> tuple[Statements, T]:
    """The statements `reading` runs, and what it returns."""
    statements: Statements = []
    fetchall, fetchone = db.fetchall, db.fetchone

    async def record_all(sql: str, params: Params = ()) -> Any:
        statements.append((sql, params))
        return await fetchall(sql, params)

    async def record_one(sql: str, params: Params = ()) -> Any:
        statements.append((sql, params))
        return await fetchone(sql, params)

    db.fetchall, db.fetchone = record_all, record_one  # type: ignore[method-assign]
    try:
        result = await reading
    finally:
        db.fetchall, db.fetchone = fetchall, fetchone  # type: ignore[method-assign]
    return statements, result


async def _statements(db: Database) -> tuple[Statements, Source]:
    """The statements `collect` runs for one school, and what it collected."""
    repos = Repositories.open(db, SCHOOL)
    return await _recorded(db, collect(repos, START + timedelta(days=7), ROOMS))


async def _searches(db: Database, statements: Statements) -> list[tuple[str, list[str]]]:
    """Each statement with its plan's searches and scans."""
    plans = []
    for sql, params in statements:
        rows = await db.fetchall(f"EXPLAIN QUERY PLAN {sql}", params)
        steps = [str(r["detail"]) for r in rows]
        plans.append((sql, [s for s in steps if s.startswith(("SEARCH", "SCAN"))]))
    return plans


async def _plans(db: Database) -> list[tuple[str, list[str]]]:
    """The statements `collect` runs for one school, each with its plan's searches."""
    statements, _ = await _statements(db)
    return await _searches(db, statements)


async def test_every_read_of_posts_starts_at_the_school_or_its_rooms(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.db")
    try:
        plans = await _plans(db)
    finally:
        await db.close()
    on_posts = [(sql, step) for sql, steps in plans for step in steps if POSTS_INDEX in step]
    assert len(on_posts) >= 2, "the letters' windows and what was delivered read posts"
    for sql, step in on_posts:
        assert PER_SCHOOL.match(step), f"{step}\n  in: {sql}"
    for sql, steps in plans:
        assert not [s for s in steps if s.startswith("SCAN")], f"{steps}\n  in: {sql}"


async def test_open_polls_cost_the_same_statements_however_many(tmp_path: Path) -> None:
    """A school's letter reads its open polls and their voters in one query, not a poll
    lookup and a responses query per poll (1,000 schools × 5 open polls on a Friday)."""
    db = await Database.open(tmp_path / "bot.db")
    try:
        without_polls, _ = await _statements(db)
        polls = Repositories.open(db, SCHOOL).polls
        answers = (Answer("a1", "oui"), Answer("a2", "non"))
        for n in range(5):
            poll = await polls.create(
                room_id=ROOMS[n % 2], creator="@rupn:ac.example", question=f"Question {n} ?",
                answers=answers, max_selections=1, anonymous=False,
                deadline=START + timedelta(days=30 - n), reminder_at=None, template=None,
                now=START,
            )  # fmt: skip
            for v in range(n):  # voter 0 changes her mind: still one voter
                for choice in ("a2", "a1") if v == 0 else ("a1",):
                    await polls.add_response(
                        poll.id, f"@prof{v}:ac.example", f"$r{n}.{v}.{choice}", (choice,),
                        START, START,
                    )  # fmt: skip
        with_polls, source = await _statements(db)
    finally:
        await db.close()
    assert len(with_polls) == len(without_polls)
    assert [(p.question, p.room_id, p.voters) for p in source.polls] == [
        (f"Question {n} ?", ROOMS[n % 2], n) for n in reversed(range(5))
    ]


async def test_a_schools_letter_rooms_are_read_without_scanning_every_schools(
    tmp_path: Path,
) -> None:
    """The diffusion rooms of one school, on each school's Friday: by its index, not a
    scan of the académie's 3,000 rooms 1,000 times."""
    db = await Database.open(tmp_path / "bot.db")
    try:
        repos = Repositories.open(db, SCHOOL)
        async with db.transaction():
            for room in ROOMS:
                await repos.broadcast.add(room, "@rupn:ac.example", START)
        school = School(SCHOOL, "Collège Jean Moulin", frozenset({"@rupn:ac.example"}), "A")
        settings = Settings(admins=frozenset(), tz=ZoneInfo("Europe/Paris")).for_school(school)
        statements, rooms = await _recorded(db, letter_rooms(repos, settings))
        plans = await _searches(db, statements)
    finally:
        await db.close()
    assert sorted(rooms) == sorted(ROOMS)
    for sql, steps in plans:
        assert not [s for s in steps if s.startswith("SCAN")], f"{steps}\n  in: {sql}"
