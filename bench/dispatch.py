"""In-process dispatch throughput: parse + route + handlers + storage, no network.

Synthetic sync batches go through the real `EventProcessor` (one database
transaction per batch), the real `CommandRegistry(handlers.ROUTERS)` and a
real, migrated SQLite database in a temporary directory, with a fixed clock.
Each mix is run several times on a fresh database; the median is reported.

    python -m bench.dispatch [--runs 5] [--batch-size 50] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import itertools
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite

from bot.context import Repositories, Settings
from bot.dates import format_when
from bot.domain import IncomingMessage, IncomingReaction, IncomingReceipt, RoomEvent, SyncBatch
from bot.formatting import markdown_to_html, sanitize_html
from bot.metrics import NO_METRICS, SchoolMetrics
from bot.processor import EventProcessor
from bot.router import CommandRegistry, parse_call
from bot.storage.database import Database
from bot.storage.posts import OutgoingPost, PostsRepository
from bot.storage.state import StateRepository
from handlers import ROUTERS
from handlers import help as help_handler

GOAL_EVENTS_PER_S = 10_000
FIXED_NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ADMIN = "@rupn:college.example"
TEACHERS = tuple(f"@prof{i}:college.example" for i in range(12))
ROOMS = tuple(f"!staffroom{i}:college.example" for i in range(3))
CHAT_LINES = (
    "Bonjour à tous, la réunion de demain est décalée à 17h.",
    "Quelqu’un a une clé de la salle 204 ?",
    "Merci !",
    "Le vidéoprojecteur du CDI ne s’allume plus, je préviens la vie scolaire.",
    "> citation d’un message précédent\n\nJe suis d’accord avec ça.",
    "ok 👍",
    "Les bulletins sont à saisir avant vendredi midi, pensez-y.",
    "Est-ce que le conseil de classe des 3e B est maintenu ?",
)


def fixed_clock() -> datetime:
    return FIXED_NOW


@dataclass(frozen=True)
class StubInfo:
    """The `BotInfo` that `!statut` reads."""

    started_at: datetime

    def joined_rooms(self) -> list[str]:
        return list(ROOMS)

    def room_name(self, room_id: str) -> str:
        return room_id

    def find_room(self, reference: str) -> str | None:
        return reference if reference in ROOMS else None

    def member_ids(self, room_id: str) -> list[str]:
        return []

    def identity_summary(self) -> str:
        return "session du bot signée par son compte (signature croisée)"


EventFactory = Callable[[random.Random, int], RoomEvent]


def _message(sender: str | None, body: str | None) -> EventFactory:
    def make(rng: random.Random, n: int) -> RoomEvent:
        return IncomingMessage(
            room_id=rng.choice(ROOMS),
            event_id=f"$msg{n}",
            sender=sender if sender is not None else rng.choice(TEACHERS),
            body=body if body is not None else rng.choice(CHAT_LINES),
            timestamp=FIXED_NOW - timedelta(seconds=1),
        )

    return make


def _reaction(rng: random.Random, n: int) -> RoomEvent:
    return IncomingReaction(
        room_id=rng.choice(ROOMS),
        event_id=f"$react{n}",
        sender=rng.choice(TEACHERS),
        target_event_id=f"$msg{max(0, n - rng.randint(1, 20))}",
        key=rng.choice(("👍", "❤️", "😂", "✅")),
        timestamp=FIXED_NOW,
    )


def _receipt(rng: random.Random, n: int) -> RoomEvent:
    """A public receipt on a colleague's message: it covers the bot's posts sent before
    (see `_seed_bot_posts`), so each reader's first one in a room moves their marker."""
    return IncomingReceipt(
        room_id=rng.choice(ROOMS),
        event_id=f"$msg{max(0, n - 1)}",
        user_id=rng.choice(TEACHERS),
        timestamp=FIXED_NOW,
    )


@dataclass(frozen=True)
class Mix:
    name: str
    description: str
    parts: tuple[tuple[int, EventFactory], ...]
    batches: int


CHAT = _message(None, None)
AIDE = _message(None, "!aide")
AIDE_DETAIL = _message(None, "!aide statut")
UNKNOWN = _message(None, "!meteo demain")
STATUT_ADMIN = _message(ADMIN, "!statut")
STATUT_REFUSED = _message(None, "!statut")

MIXES = (
    Mix(
        "realistic",
        "80% chat, 7% reactions, 4% receipts, 4% !aide, 1% !aide statut, "
        "2% unknown command, 1% !statut (admin), 1% !statut (refused)",
        (
            (80, CHAT),
            (7, _reaction),
            (4, _receipt),
            (4, AIDE),
            (1, AIDE_DETAIL),
            (2, UNKNOWN),
            (1, STATUT_ADMIN),
            (1, STATUT_REFUSED),
        ),
        batches=200,
    ),
    Mix(
        "commands only",
        "30% !aide, 10% !aide statut, 20% unknown, 20% !statut (admin), 20% !statut (refused)",
        (
            (30, AIDE),
            (10, AIDE_DETAIL),
            (20, UNKNOWN),
            (20, STATUT_ADMIN),
            (20, STATUT_REFUSED),
        ),
        batches=60,
    ),
)

KINDS = (
    ("chat message", CHAT),
    ("reaction", _reaction),
    ("read receipt", _receipt),
    ("!aide", AIDE),
    ("!aide statut", AIDE_DETAIL),
    ("unknown command", UNKNOWN),
    ("!statut (admin)", STATUT_ADMIN),
    ("!statut (refused)", STATUT_REFUSED),
)
"""Each kind of event alone, to see where a mix's time goes."""


def make_batches(mix: Mix, batch_size: int, seed: int = 1) -> list[SyncBatch]:
    rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data, not security
    weights = [w for w, _ in mix.parts]
    factories = [f for _, f in mix.parts]
    counter = itertools.count()
    batches = []
    for b in range(mix.batches):
        chosen = rng.choices(factories, weights, k=batch_size)
        events = tuple(make(rng, next(counter)) for make in chosen)
        batches.append(SyncBatch(f"s{b + 1}_token", events, (), initial=False))
    return batches


class RoundTripCounter:
    """Counts aiosqlite round trips (each one is a hop to its thread and back)."""

    def __init__(self) -> None:
        self.count = 0
        self._original: Callable[..., Awaitable[Any]] | None = None

    def install(self) -> None:
        original: Callable[..., Awaitable[Any]] = aiosqlite.Connection._execute
        self._original = original

        async def counting(conn: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await original(conn, fn, *args, **kwargs)

        setattr(aiosqlite.Connection, "_execute", counting)  # noqa: B010 - bench-only patch

    def uninstall(self) -> None:
        if self._original is not None:
            setattr(aiosqlite.Connection, "_execute", self._original)  # noqa: B010
            self._original = None


ROUND_TRIPS = RoundTripCounter()


@dataclass(frozen=True)
class RunResult:
    events: int
    batches: int
    seconds: float
    posts: int
    round_trips: int

    @property
    def rate(self) -> float:
        return self.events / self.seconds


BOT_POSTS_PER_ROOM = 24
"""Counted posts (announcements) already sent in each room, one an hour over the last day."""


async def _seed_bot_posts(db: Database, repos: Repositories) -> None:
    """What receipts are about: the engagement log counts readers of these."""
    async with db.transaction():
        for room, hour in itertools.product(ROOMS, range(BOT_POSTS_PER_ROOM, 0, -1)):
            txn = f"seed-{room}-{hour}"
            content = {"msgtype": "m.text", "body": "Annonce"}
            post = OutgoingPost(
                room, "send", "m.room.message", content, "announcement", txn, requester=ADMIN
            )
            sent_at = FIXED_NOW - timedelta(hours=hour)
            await repos.posts.queue([post], sent_at)
            row = await db.fetchone("SELECT id FROM posts WHERE txn_id = ?", (txn,))
            assert row is not None
            await repos.posts.mark_sent(int(row["id"]), f"$bot-{txn}", sent_at)
            members = len(TEACHERS) + 1
            await repos.engagement.record_sent(txn, members=members, author_member=True)


async def _open(
    workdir: Path, metrics: SchoolMetrics = NO_METRICS
) -> tuple[Database, EventProcessor]:
    db = await Database.open(workdir / "bench.db")
    repos = Repositories.open(db)
    await _seed_bot_posts(db, repos)
    processor = EventProcessor(
        db,
        repos,
        StateRepository(db),
        CommandRegistry(ROUTERS),
        Settings(admins=frozenset({ADMIN}), tz=ZoneInfo("Europe/Paris")),
        fixed_clock,
        StubInfo(started_at=FIXED_NOW - timedelta(days=3)),
        metrics=metrics,
    )
    return db, processor


async def run_once(
    batches: Sequence[SyncBatch],
    profiler: cProfile.Profile | None = None,
    *,
    metrics: SchoolMetrics = NO_METRICS,
) -> RunResult:
    with tempfile.TemporaryDirectory(prefix="rupn-bench-") as tmp:
        db, processor = await _open(Path(tmp), metrics)
        try:
            # One untimed batch so that first-use costs (imports, caches) are not counted.
            await processor.process(SyncBatch("s0_warmup", batches[0].events[:5], (), False))
            posts = 0
            trips_before = ROUND_TRIPS.count
            if profiler is not None:
                profiler.enable()
            started = time.perf_counter()
            for batch in batches:
                posts += await processor.process(batch)
            elapsed = time.perf_counter() - started
            if profiler is not None:
                profiler.disable()
            trips = ROUND_TRIPS.count - trips_before
        finally:
            await db.close()
    return RunResult(sum(len(b.events) for b in batches), len(batches), elapsed, posts, trips)


async def measure(batches: Sequence[SyncBatch], runs: int) -> tuple[float, list[RunResult]]:
    results = [await run_once(batches) for _ in range(runs)]
    return statistics.median(r.rate for r in results), results


def _verdict(rate: float) -> str:
    return "met" if rate >= GOAL_EVENTS_PER_S else "NOT met"


async def report_mixes(runs: int, batch_size: int) -> dict[str, float]:
    medians: dict[str, float] = {}
    for mix in MIXES:
        median, results = await measure(make_batches(mix, batch_size), runs)
        medians[mix.name] = median
        rates = sorted(r.rate for r in results)
        first = results[0]
        print(f"{mix.name}: {mix.description}")
        print(
            f"  {first.events:,} events in {first.batches} batches per run; "
            f"{first.posts:,} posts queued per run; "
            f"{first.round_trips / first.batches:.1f} database round trips per batch"
        )
        print(
            f"  median {median:,.0f} events/s (min {rates[0]:,.0f}, max {rates[-1]:,.0f}); "
            f"{1e6 / median:.1f} µs/event, {1e3 * batch_size / median:.2f} ms/batch"
            f" — goal ≥ {GOAL_EVENTS_PER_S:,} events/s: {_verdict(median)}"
        )
        print()
    return medians


async def report_kinds(runs: int, batch_size: int) -> None:
    print(f"Per kind of event (each kind alone, {runs} runs, median):")
    print(f"  {'kind':<20}{'events/s':>10}{'µs/event':>10}{'DB trips/batch':>16}{'posts':>8}")
    for name, factory in KINDS:
        mix = Mix(name, name, ((1, factory),), batches=20)
        median, results = await measure(make_batches(mix, batch_size), runs)
        first = results[0]
        print(
            f"  {name:<20}{median:>10,.0f}{1e6 / median:>10.1f}"
            f"{first.round_trips / first.batches:>16.1f}{first.posts:>8,}"
        )
    print()


def _time_us(call: Callable[[], object], number: int) -> float:
    started = time.perf_counter()
    for _ in range(number):
        call()
    return (time.perf_counter() - started) / number * 1e6


async def _time_async_us(call: Callable[[], Awaitable[object]], number: int) -> float:
    started = time.perf_counter()
    for _ in range(number):
        await call()
    return (time.perf_counter() - started) / number * 1e6


async def report_components() -> None:
    """What the expensive kinds spend their time on, piece by piece."""
    registry = CommandRegistry(ROUTERS)
    text = help_handler.overview(list(registry.visible_to(True)))
    html = markdown_to_html(text)
    tz = ZoneInfo("Europe/Paris")
    print("Components (µs per call):")
    rows: list[tuple[str, float]] = [
        (
            "parse_call + registry lookup",
            _time_us(lambda: registry.lookup("statut"), 2000)
            + _time_us(lambda: parse_call("!aide statut"), 2000),
        ),
        ("markdown_to_html(!aide overview)", _time_us(lambda: markdown_to_html(text), 300)),
        (
            "sanitize_html(overview html) again in message_content",
            _time_us(lambda: sanitize_html(html), 1000),
        ),
        (
            "format_moment (babel) in !statut",
            _time_us(lambda: format_when(FIXED_NOW, tz, with_year=True), 1000),
        ),
    ]
    with tempfile.TemporaryDirectory(prefix="rupn-bench-") as tmp:
        db = await Database.open(Path(tmp) / "components.db")
        try:
            posts = PostsRepository(db)
            before = ROUND_TRIPS.count
            one_trip = await _time_async_us(lambda: db.fetchone("SELECT 1"), 300)
            trips = (ROUND_TRIPS.count - before) / 300
            rows.append(
                (f"Database.fetchone('SELECT 1') = {trips:.0f} aiosqlite round trips", one_trip)
            )
            rows.append(("  → one aiosqlite round trip (thread hop)", one_trip / trips))
            for size in (2_000, 100_000):
                await db.executemany(
                    "INSERT INTO posts (room_id, action, event_type, content, kind, txn_id,"
                    " status, created_at) VALUES ('!r', 'send', 'm.room.message', '{}',"
                    " 'reply', ?, 'sent', '2026-03-02')",
                    [(f"txn{size}_{i}",) for i in range(size - (0 if size == 2_000 else 2_000))],
                )
                rows.append(
                    (
                        f"count_by_status() with {size:,} posts in the table",
                        await _time_async_us(posts.count_by_status, 50),
                    )
                )
        finally:
            await db.close()
    for label, micros in rows:
        print(f"  {label:<62}{micros:>9.1f}")
    print()


def _profile_report(profiler: cProfile.Profile, limit: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(limit)
    text = out.getvalue()
    # Keep the table, drop pstats' preamble.
    start = text.find("   ncalls")
    return text[start:].rstrip() if start >= 0 else text


async def main_async(runs: int, batch_size: int, profile: bool) -> None:
    print(
        f"rupn-bot dispatch benchmark — Python {sys.version.split()[0]}, "
        f"{batch_size} events per sync batch, median of {runs} runs, fresh database per run"
    )
    print(f"goal ≥ {GOAL_EVENTS_PER_S:,} events/s\n")
    ROUND_TRIPS.install()
    try:
        medians = await report_mixes(runs, batch_size)
        if profile or medians["commands only"] < GOAL_EVENTS_PER_S:
            print("The command-only case misses the goal; where the time goes:\n")
            await report_kinds(3, batch_size)
            await report_components()
            print(
                "cProfile of one 'commands only' run, by own time ('poll' of select.epoll"
                " is the event loop idle, waiting for aiosqlite's thread):"
            )
            profiler = cProfile.Profile()
            await run_once(make_batches(MIXES[1], batch_size), profiler)
            print(_profile_report(profiler, 15))
    finally:
        ROUND_TRIPS.uninstall()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="In-process dispatch throughput of rupn-bot.")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="break down even if the goal is met")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args.runs, args.batch_size, args.profile))


if __name__ == "__main__":
    main()
