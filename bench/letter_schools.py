"""Every school's weekly letter on a Friday, in an académie of 1,000 établissements.

A synthetic académie (bench/academie.py): 1,000 schools of three rooms each (3,000
rooms), 100 teachers per school in each of its rooms (100,000 members), and a school year
of every school's activity, seeded with bench/letter.py's builders at a school's pace
(`SCHOOL_VOLUME`: a few announcements a week, polls, ateliers and cafés, a letter every
Friday, « Le mot du RUPN »). Timed at Friday 16:30, Europe/Paris: the real `lettre-hebdo`
job once per school, as the scheduler runs it (`Units.each_school`, `Settings.for_school`):
collect, build and render each room's letter, queue the posts in the outbox and mark the
week, school after school. Two figures per run: what the goal names (issue 18: every
school's letter built and rendered, i.e. the job's time in `compose` and `render_letter`,
timed inside the job), and the whole job with its queuing and one commit per school.
Every run starts from a fresh copy of the seeded database, on disk before the clock
starts; the first run of the process is cold (jinja2 compiles, babel loads). Every letter
is checked to be queued once, in its school's rooms, and to fit on a phone screen.

    python -m bench.letter_schools [--schools 1000] [--runs 3] [--profile] [--seeded FILE]

`--seeded FILE` keeps the seeded database in FILE (seeding takes minutes): a later run
with the same FILE and `--schools` copies it instead of seeding again.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import digests.send as send_module
import handlers.letter.weekly as weekly_module
from bench.academie import ROOMS_PER_SCHOOL, SCHOOLS, ZONES, synthetic_school
from bench.letter import (
    BOT,
    NOW,
    PARIS,
    SERVER,
    Ids,
    Seed,
    Volume,
    insert_seed,
    non_empty_lines,
    prepare_for_seeding,
    profile_report,
    room_ids,
    row_counts,
    seed_feeds,
    seed_file,
    seed_rooms,
)
from bench.sim_info import SimInfo
from bot.config import DigestSettings
from bot.context import BotInfo, Repositories, Settings
from bot.schools import School
from bot.storage.database import Database, stored
from bot.storage.digests import LETTER_KIND
from bot.work import Units
from digests.build import MAX_LINES
from handlers.letter.weekly import weekly

GOAL_S = 10.0
TEACHERS_PER_SCHOOL = 100
SCHOOL_VOLUME = Volume(
    announcements_per_week=2, other_entries_per_feed_week=1, polls=12, workshops=8
)
"""A school's year: 2 announcements a week in its three rooms, 12 polls, 8 ateliers."""
SEED_CHUNK = 50
"""Schools seeded per transaction (their rows are built in memory first)."""


@dataclass(frozen=True)
class Academie:
    schools: tuple[School, ...]
    rooms: dict[str, list[str]]  # school key → its rooms

    @property
    def room_count(self) -> int:
        return sum(len(r) for r in self.rooms.values())


def build_academie(rng: random.Random, count: int) -> Academie:
    schools = tuple(
        synthetic_school(
            n, rng, frozenset({f"@rupn{n}-ac-poitiers.fr:{SERVER}"}), rng.choice(ZONES)
        )
        for n in range(count)
    )
    return Academie(schools, {s.key: room_ids(ROOMS_PER_SCHOOL, rng) for s in schools})


def members_of(academie: Academie) -> dict[str, list[str]]:
    """Each school's teachers in each of its rooms, with the bot: 100,000 people in all."""
    members: dict[str, list[str]] = {}
    for n, school in enumerate(academie.schools):
        teachers = [f"@prof{n}.{t}-ac-poitiers.fr:{SERVER}" for t in range(TEACHERS_PER_SCHOOL)]
        for room in academie.rooms[school.key]:
            members[room] = [*teachers, BOT]
    return members


async def seed_academie(db: Database, academie: Academie, rng: random.Random) -> None:
    """The schools, their rooms' claims, and a year of each school's activity."""
    await prepare_for_seeding(db)
    claimed = stored(NOW.replace(year=NOW.year - 2))
    async with db.transaction():
        await db.executemany(
            "INSERT INTO schools (key, name, added_at) VALUES (?, ?, ?)",
            [(s.key, s.name, claimed) for s in academie.schools],
        )
        await db.executemany(
            "INSERT INTO rooms (room_id, school, claimed_at) VALUES (?, ?, ?)",
            [(r, key, claimed) for key, rooms in academie.rooms.items() for r in rooms],
        )
    ids = Ids()
    shared = Seed()
    feed_ids = seed_feeds(shared, ids)  # the académie's sources, every school's
    await insert_seed(db, shared)
    for first in range(0, len(academie.schools), SEED_CHUNK):
        seed = Seed()
        for school in academie.schools[first : first + SEED_CHUNK]:
            seed.school = school.key
            seed_rooms(seed, ids, academie.rooms[school.key], rng, SCHOOL_VOLUME, feed_ids)
        await insert_seed(db, seed)


@dataclass(frozen=True)
class Run:
    per_school_s: tuple[float, ...]  # each school's whole job
    total_s: float  # every school's job, one after the other
    built_s: float  # of which collecting, building and rendering the letters (the goal's)


class BuildTimer:
    """Times, inside the real job, what the goal names: collecting and building each
    room's letter (`compose`) and rendering it (`render_letter`). Bench-only wrappers
    of the two functions where the job looks them up, removed after the run."""

    WHERE = ((weekly_module, "compose"), (send_module, "render_letter"))

    def __init__(self) -> None:
        self.seconds = 0.0
        self._originals = [getattr(module, name) for module, name in self.WHERE]

    def __enter__(self) -> BuildTimer:
        compose, render = self._originals

        async def timed_compose(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await compose(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        def timed_render(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return render(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        for (module, name), timed in zip(self.WHERE, (timed_compose, timed_render), strict=True):
            setattr(module, name, timed)
        return self

    def __exit__(self, *exc: object) -> None:
        for (module, name), original in zip(self.WHERE, self._originals, strict=True):
            setattr(module, name, original)


def _academie_units(db: Database, academie: Academie, info: BotInfo) -> Units:
    bot = Settings(admins=frozenset(), tz=PARIS, bot_user_id=BOT, digest=DigestSettings())
    settings = bot.for_school(academie.schools[0])
    return Units(
        db, Repositories.open(db, settings.school.key), settings, info, lambda: NOW,
        lambda: None, schools=academie.schools,
    )  # fmt: skip


async def run_once(path: Path, academie: Academie, info: BotInfo) -> Run:
    """The Friday job for every school, timed school by school, on the database at `path`."""
    db = await Database.open(path)
    try:
        units = _academie_units(db, academie, info)
        timings: list[float] = []
        with BuildTimer() as built:
            round_started = time.perf_counter()
            for scoped in units.each_school():  # as the scheduler runs a per-school job
                started = time.perf_counter()
                await weekly(scoped)
                timings.append(time.perf_counter() - started)
            total = time.perf_counter() - round_started
        await check(db, academie)
    finally:
        await db.close()
    return Run(tuple(timings), total, built.seconds)


async def check(db: Database, academie: Academie) -> None:
    """One letter in every room of every school, queued for that school, phone-sized."""
    rows = await db.fetchall(
        "SELECT room_id, school, content FROM posts WHERE kind = ? AND created_at = ?",
        (LETTER_KIND, stored(NOW)),
    )
    school_of = {room: key for key, rooms in academie.rooms.items() for room in rooms}
    assert len(rows) == academie.room_count, f"{len(rows)} letters"
    assert {r["room_id"] for r in rows} == set(school_of), "one letter per room"
    for row in rows:
        assert row["school"] == school_of[row["room_id"]], "queued for the room's school"
        text = json.loads(row["content"])["body"]
        assert text.startswith("📬 La lettre numérique"), text
        assert non_empty_lines(text) <= MAX_LINES, text
    weeks = await db.fetchone(
        "SELECT COUNT(*) AS n FROM digest_weeks WHERE outcome = 'sent' AND decided_at = ?",
        (stored(NOW),),
    )
    assert weeks is not None and weeks["n"] == len(academie.schools), "every school's week"


def _p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.1f} ms"


def report(
    academie: Academie,
    runs: Sequence[Run],
    seeding_s: float,
    size_mb: float,
    counts: dict[str, int],
) -> bool:
    cold, warm = runs[0], runs[1:] or runs[:1]
    print(
        f"rupn-bot weekly letters of an académie — Python {sys.version.split()[0]}, "
        f"{len(academie.schools):,} schools, {academie.room_count:,} rooms, "
        f"{len(academie.schools) * TEACHERS_PER_SCHOOL:,} members, "
        f"now = {NOW:%A %d %B %Y %H:%M}"
    )
    print(
        f"goal (issue 18): every school's weekly letter built and rendered < {GOAL_S:g} s in "
        "all;\nthe whole job (the same, then queued in the outbox and committed, school by "
        "school) is shown beside it\n"
    )
    seeding = f"Seeded a school year in {seeding_s:.0f} s" if seeding_s else "Reused a seeded year"
    print(f"{seeding} ({size_mb:.0f} MB database):")
    for table, count in counts.items():
        print(f"  {table:<20}{count:>12,}")
    print(
        f"\n  {'run':<10}{'built+rendered':>16}{'whole job':>12}"
        f"{'job per school: median':>26}{'p95':>12}{'max':>12}"
    )
    for n, run in enumerate(runs):
        label = "cold" if n == 0 else f"warm {n}"
        print(
            f"  {label:<10}{run.built_s:>14.2f} s{run.total_s:>10.2f} s"
            f"{_ms(statistics.median(run.per_school_s)):>26}"
            f"{_ms(_p95(run.per_school_s)):>12}{_ms(max(run.per_school_s)):>12}"
        )
    built = statistics.median(r.built_s for r in warm)
    job = statistics.median(r.total_s for r in warm)
    met = cold.built_s < GOAL_S and built < GOAL_S
    print(
        f"\nbuilt and rendered: cold {cold.built_s:.2f} s, warm median {built:.2f} s — "
        f"goal < {GOAL_S:g} s: {'met' if met else 'NOT met'}\n"
        f"whole job: cold {cold.total_s:.2f} s, warm median {job:.2f} s "
        f"({'under' if max(cold.total_s, job) < GOAL_S else 'over'} {GOAL_S:g} s as well)"
    )
    return met


async def seeded_file(
    path: Path, academie: Academie, rng: random.Random
) -> tuple[dict[str, int], float]:
    """The seeded database at `path`, seeded now unless a previous run left it there
    (then its row counts, and no seeding time)."""
    if await asyncio.to_thread(path.exists):
        db = await Database.open(path)
        try:
            return await row_counts(db), 0.0
        finally:
            await db.close()
    return await seed_file(path, lambda db: seed_academie(db, academie, rng))


def fresh_copy(seeded: Path, copy: Path) -> None:
    """A copy of the seeded database, on disk before the clock starts: the first fsync of
    a run (a WAL checkpoint) would otherwise write the whole fresh copy (1 GB) first."""
    shutil.copyfile(seeded, copy)
    with copy.open("rb+") as file:
        os.fsync(file.fileno())


async def main_async(schools: int, runs: int, profile: bool, kept: Path | None = None) -> bool:
    rng = random.Random(2026)  # noqa: S311 - reproducible synthetic data, not security
    academie = build_academie(rng, schools)
    members = members_of(academie)
    info = SimInfo(list(members), NOW, members)
    with tempfile.TemporaryDirectory(prefix="rupn-bench-letters-") as tmp:
        seeded, copy = kept or Path(tmp) / "seeded.db", Path(tmp) / "run.db"
        counts, seeding_s = await seeded_file(seeded, academie, rng)
        results: list[Run] = []
        for _ in range(runs):
            fresh_copy(seeded, copy)  # the week not yet decided, for every run
            results.append(await run_once(copy, academie, info))
        met = report(academie, results, seeding_s, seeded.stat().st_size / 1e6, counts)
        if profile or not met:
            fresh_copy(seeded, copy)
            profiler = cProfile.Profile()
            profiler.enable()
            await run_once(copy, academie, info)
            profiler.disable()
            print("\ncProfile of one more run, by cumulative time:")
            print(profile_report(profiler, "cumulative", 30))
    return met


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Every school's weekly letter, 1,000 schools.")
    parser.add_argument("--schools", type=int, default=SCHOOLS)
    parser.add_argument("--runs", type=int, default=3, help="the first one is cold")
    parser.add_argument("--profile", action="store_true", help="profile even if the goal is met")
    parser.add_argument(
        "--seeded", type=Path, help="keep the seeded database in this file, reuse it if there"
    )
    args = parser.parse_args(argv)
    if not asyncio.run(main_async(args.schools, args.runs, args.profile, args.seeded)):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
