"""Dispatch throughput in a shared deployment: one bot for 1,000 établissements.

bench.dispatch's realistic mix, on the same three staff rooms, through the same real
processor, registry and database, once as today's single-school bot and once with
1,000 schools served and 3,000 rooms claimed (the bench's rooms belong to the RUPN's
school): every event's school is found from its room. Runs alternate between the two
so that a busy machine slows both alike. Goal: ≥ 0.9× the single-school figure.

    python -m bench.dispatch_schools [--runs 5] [--batch-size 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.academie import ROOMS_PER_SCHOOL, SCHOOLS
from bench.dispatch import (
    ADMIN,
    FIXED_NOW,
    MIXES,
    ROOMS,
    StubInfo,
    _seed_bot_posts,
    fixed_clock,
    make_batches,
)
from bot.context import Repositories, Settings
from bot.domain import SyncBatch
from bot.processor import EventProcessor
from bot.router import CommandRegistry
from bot.schools import School
from bot.storage.database import Database
from bot.storage.rooms import RoomsRepository
from bot.storage.state import StateRepository
from bot.tenancy import Tenancy
from handlers import ROUTERS

GOAL_RATIO = 0.9


def _academie() -> list[School]:
    schools = [School("0000000A", "Collège du banc d’essai", frozenset({ADMIN}), "A")]
    schools += [
        School(f"{i:07d}X", f"Établissement {i}", frozenset({f"@rupn{i}:ac.example"}), "B")
        for i in range(1, SCHOOLS)
    ]
    return schools


async def _claim_rooms(db: Database, schools: list[School]) -> Tenancy:
    tenancy = Tenancy(schools, RoomsRepository(db))
    async with db.transaction():
        for room in ROOMS:
            await tenancy.claim_for(room, schools[0], FIXED_NOW)
        for i, school in enumerate(schools[1:], start=1):
            for r in range(ROOMS_PER_SCHOOL):
                await tenancy.claim_for(f"!salle{i}-{r}:ac.example", school, FIXED_NOW)
    return tenancy


async def run_once(batches: list[SyncBatch], academie: bool) -> float:
    """Events per second over the batches, on a fresh database."""
    with tempfile.TemporaryDirectory(prefix="rupn-bench-") as tmp:
        db = await Database.open(Path(tmp) / "bench.db")
        try:
            repos = Repositories.open(db)
            await _seed_bot_posts(db, repos)
            tenancy = await _claim_rooms(db, _academie()) if academie else None
            await db.checkpoint()  # the claims' write-ahead log is not the dispatch's cost
            processor = EventProcessor(
                db, repos, StateRepository(db), CommandRegistry(ROUTERS),
                Settings(admins=frozenset({ADMIN}), tz=ZoneInfo("Europe/Paris")),
                fixed_clock, StubInfo(started_at=FIXED_NOW - timedelta(days=3)),
                tenancy=tenancy,
            )  # fmt: skip
            await processor.process(SyncBatch("s0_warmup", batches[0].events[:5], (), False))
            started = time.perf_counter()
            for batch in batches:
                await processor.process(batch)
            elapsed = time.perf_counter() - started
        finally:
            await db.close()
    return sum(len(b.events) for b in batches) / elapsed


async def main_async(runs: int, batch_size: int) -> bool:
    batches = list(make_batches(MIXES[0], batch_size))
    single: list[float] = []
    shared: list[float] = []
    for _ in range(runs):
        single.append(await run_once(batches, academie=False))
        shared.append(await run_once(batches, academie=True))
    one, many = statistics.median(single), statistics.median(shared)
    ratio = many / one
    print(f"realistic mix, {batch_size} events per batch, median of {runs} alternated runs")
    print(f"  one school (today's bot)              {one:>10,.0f} events/s")
    print(
        f"  {SCHOOLS:,} schools, {SCHOOLS * ROOMS_PER_SCHOOL:,} rooms claimed"
        f"      {many:>10,.0f} events/s"
    )
    verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
    print(f"  ratio {ratio:.2f} — goal ≥ {GOAL_RATIO:g}: {verdict}")
    return ratio >= GOAL_RATIO


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args()
    if not asyncio.run(main_async(args.runs, args.batch_size)):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
