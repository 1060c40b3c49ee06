"""The académie's feed read, offered to each of its 1,000 établissements.

One académie-wide source (a config file's [[feeds]], every school's), served by
devtools.feedserver with `--items` new entries, is read once by the real `veille` job
(`handlers.news.polling.poll_due_feeds` over the académie's `Units`): each school, in its
own unit of work, stores its entries and queues its proposals in its curation room
(`!veille ici`), 3 per school on a first read, so 3,000 posts for 1,000 schools, while
the outbox keeps every school's posts in round-robin order.

Measured: the read's duration (goal: under `GOAL_S`), and the rows written per post
queued (SQLite's total_changes: each queue writes its own rows and its entries', never
the other schools' pending posts). `--renumbering` adds the outbox as it was before,
when every queue renumbered every pending post of the jobs (a reference; quadratic in
the schools: minutes for 1,000, try `--schools 200`).

    python -m bench.feeds_schools [--schools 1000] [--items 5] [--renumbering]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.academie import SCHOOLS, synthetic_school
from bench.fairness_schools import judged
from bench.feeds import SAMPLE, Clock, feed_body
from bench.sim_info import SimInfo
from bot.context import Repositories, Settings
from bot.storage.database import Database
from bot.storage.posts import OutgoingPost, PostsRepository
from bot.work import Units
from devtools.feedserver import FeedServer
from handlers.news.polling import poll_due_feeds

GOAL_S = 30.0
START = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
SERVER = "ac-poitiers.fr"


class Renumbering(PostsRepository):
    """The outbox before each post took its round when queued: every queue renumbered
    the jobs' pending posts to alternate between schools (the SQL it ran)."""

    async def queue(self, posts: Sequence[OutgoingPost], now: datetime) -> None:
        await super().queue(posts, now)
        for priority in sorted({p.priority for p in posts if p.requester is None}):
            await self._db.execute(
                "WITH jobs AS (SELECT id, turn, school FROM posts"
                "  INDEXED BY posts_pending_requester WHERE status = 'pending'"
                "  AND requester IS NULL AND priority = ? AND action != 'mail'),"
                " ranked AS (SELECT id, MIN(turn) OVER () AS base,"
                "  ROW_NUMBER() OVER (PARTITION BY school ORDER BY turn, id) AS round,"
                "  MIN(id) OVER (PARTITION BY school) AS first FROM jobs),"
                " ordered AS (SELECT id, base + ROW_NUMBER() OVER (ORDER BY round, first) - 1"
                "  AS turn FROM ranked)"
                " UPDATE posts SET turn = ordered.turn FROM ordered WHERE posts.id = ordered.id",
                (priority,),
            )


@dataclass(frozen=True)
class Read:
    label: str
    seconds: float
    posts: int
    rows_written: int

    @property
    def passed(self) -> bool:
        return self.seconds < GOAL_S


async def read_once(schools: int, items: int, *, renumbering: bool = False) -> Read:
    rng = random.Random(2026)  # noqa: S311 - reproducible synthetic data, not security
    served = [synthetic_school(n, rng, frozenset({f"@rupn{n}:{SERVER}"})) for n in range(schools)]
    curation = {s.key: f"!veille{n}:{SERVER}" for n, s in enumerate(served)}
    server = FeedServer()
    await server.start()
    try:
        server.publish("academie.xml", feed_body(SAMPLE.read_bytes(), 0, items))
        with tempfile.TemporaryDirectory(prefix="rupn-bench-feeds-") as tmp:
            db = await Database.open(Path(tmp) / "bench.db")
            try:
                clock = Clock(START)
                repos = Repositories.open(db)
                if renumbering:
                    repos = Repositories(**{**repos.__dict__, "posts": Renumbering(db)})
                async with db.transaction():
                    await repos.feeds.upsert(
                        name="SRANE de l’académie", url=server.url("academie.xml"),
                        origin="config", added_by=None, now=clock(),
                    )  # fmt: skip
                    for school in served:
                        await repos.rooms.register_school(school.key, school.name, clock())
                        await repos.for_school(school.key).curation_rooms.set(
                            curation[school.key], clock()
                        )
                settings = Settings(admins=frozenset(), tz=ZoneInfo("Europe/Paris"))
                info = SimInfo(list(curation.values()), START)
                units = Units(db, repos, settings, info, clock, lambda: None, schools=served)
                before = await db.fetchone("SELECT total_changes() AS n")
                started = time.perf_counter()
                await poll_due_feeds(units)
                seconds = time.perf_counter() - started
                after = await db.fetchone("SELECT total_changes() AS n")
                queued = await db.fetchone("SELECT COUNT(*) AS n FROM posts")
            finally:
                await db.close()
    finally:
        await server.stop()
    assert before is not None and after is not None and queued is not None
    label = "avant (renumérotation)" if renumbering else "tour attribué à la file"
    return Read(label, seconds, int(queued["n"]), int(after["n"]) - int(before["n"]))


def report(reads: Sequence[Read], schools: int, items: int) -> bool:
    print(
        f"The académie's feed read: one source of {items} new entries, offered to "
        f"{schools:,} schools (3 proposals each in its curation room); goal < {GOAL_S:g} s"
    )
    print(f"  {'outbox':<28}{'read':>10}{'posts':>8}{'rows written':>14}{'per post':>10}  verdict")
    ok = True
    for r in reads:
        verdict, fine = judged(r.label, r.passed)
        ok = ok and fine
        print(
            f"  {r.label:<28}{r.seconds:>8.1f} s{r.posts:>8,}{r.rows_written:>14,}"
            f"{r.rows_written / max(r.posts, 1):>10.1f}  {verdict}"
        )
    return ok


async def run(schools: int, items: int, renumbering: bool) -> list[Read]:
    reads = [await read_once(schools, items)]
    if renumbering:
        reads.append(await read_once(schools, items, renumbering=True))
    return reads


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=SCHOOLS)
    parser.add_argument("--items", type=int, default=5)
    parser.add_argument("--renumbering", action="store_true", help="the outbox before, too")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    reads = asyncio.run(run(args.schools, args.items, args.renumbering))
    if not report(reads, args.schools, args.items):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
