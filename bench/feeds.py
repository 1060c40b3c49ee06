"""Bytes moved by the second pass over many unchanged feeds, vs the first.

`devtools.feedserver.FeedServer` serves N distinct feeds (the SPIP sample with a
distinct title per feed, so that every ETag differs); they are registered as
config feeds in a migrated database, and `handlers.news.polling.poll_due_feeds` reads
them twice through a `Units`, with a clock moved past the poll interval between
the two passes. The second pass should be conditional GETs answered 304.

Bytes are counted two ways: the bodies FeedServer sent (its `bytes_sent`), and
every byte on the TCP connections (request and response lines, headers and
bodies), through a counting proxy between the bot and the server.

    python -m bench.feeds [--feeds 300] [--items 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.context import Repositories, Settings
from bot.storage.database import Database
from bot.work import Units
from devtools.feedserver import FeedServer
from handlers.news.polling import poll_due_feeds

GOAL_RATIO = 0.05
SAMPLE = (
    Path(__file__).resolve().parent.parent
    / "tests/fixtures/feeds/spip/SYNTHETIC-spip-backend-utf8.xml"
)
START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
CURATION_ROOM = "!curation:college.example"


class Clock:
    """A clock that stands still until moved."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass(frozen=True)
class Info:
    """The `BotInfo` the units hand to jobs."""

    started_at: datetime

    def joined_rooms(self) -> list[str]:
        return [CURATION_ROOM]

    def room_name(self, room_id: str) -> str:
        return room_id

    def find_room(self, reference: str) -> str | None:
        return None

    def member_ids(self, room_id: str) -> list[str]:
        return []

    def identity_summary(self) -> str:
        return "session du bot signée par son compte (signature croisée)"


class CountingProxy:
    """A TCP relay to `target_port` that counts the bytes each way."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.upstream = 0  # client → server: request lines and headers
        self.downstream = 0  # server → client: status lines, headers, bodies
        self.connections = 0
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def reset(self) -> None:
        self.upstream = self.downstream = self.connections = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pipe(
            source: asyncio.StreamReader, sink: asyncio.StreamWriter, upstream: bool
        ) -> None:
            try:
                while data := await source.read(65536):
                    if upstream:
                        self.upstream += len(data)
                    else:
                        self.downstream += len(data)
                    sink.write(data)
                    await sink.drain()
            except ConnectionError:
                pass
            finally:
                with contextlib.suppress(Exception):
                    sink.close()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))


def feed_body(sample: bytes, index: int, items: int) -> bytes:
    """The sample with a distinct channel title; `items` copies of its item."""
    text = sample.decode("utf-8")
    text = text.replace(
        "<title>SYNTHETIQUE - SRANE exemple</title>",
        f"<title>SYNTHETIQUE - SRANE exemple n° {index}</title>",
        1,
    )
    match = re.search(r"\s*<item\b.*?</item>", text, flags=re.DOTALL)
    if match is not None and items > 1:
        item = match.group(0)
        copies = [
            item.replace("article1125", f"article{1125 + k}").replace(
                "<title>", f"<title>[{k}] ", 1
            )
            for k in range(items)
        ]
        text = text[: match.start()] + "".join(copies) + text[match.end() :]
    return text.encode("utf-8")


@dataclass
class Pass:
    seconds: float
    body_bytes: int
    upstream: int
    downstream: int
    connections: int
    statuses: Counter[int]

    @property
    def wire(self) -> int:
        return self.upstream + self.downstream


async def one_pass(units: Units, server: FeedServer, proxy: CountingProxy) -> Pass:
    server.statuses.clear()
    server.bytes_sent = 0
    proxy.reset()
    started = time.perf_counter()
    await poll_due_feeds(units)
    elapsed = time.perf_counter() - started
    # Let the proxy count the last bytes of closing connections.
    await asyncio.sleep(0.2)
    return Pass(
        elapsed,
        server.bytes_sent,
        proxy.upstream,
        proxy.downstream,
        proxy.connections,
        Counter(server.statuses),
    )


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f} %" if whole else "n/a"


async def main_async(feed_count: int, items: int) -> None:
    sample = SAMPLE.read_bytes()
    server = FeedServer()
    await server.start()
    port = int(server.base_url.rsplit(":", 1)[1])
    proxy = CountingProxy(port)
    await proxy.start()
    try:
        with tempfile.TemporaryDirectory(prefix="rupn-feeds-") as tmp:
            db = await Database.open(Path(tmp) / "bench.db")
            try:
                repos = Repositories.open(db)
                clock = Clock(START)
                settings = Settings(
                    admins=frozenset({"@rupn:college.example"}),
                    tz=ZoneInfo("Europe/Paris"),
                    curation_rooms=(CURATION_ROOM,),
                )
                async with db.transaction():
                    for i in range(feed_count):
                        server.publish(f"feed{i}.xml", feed_body(sample, i, items))
                        await repos.feeds.upsert(
                            name=f"SRANE {i}",
                            url=f"http://127.0.0.1:{proxy.port}/feed{i}.xml",
                            origin="config",
                            added_by=None,
                            now=clock(),
                        )
                units = Units(db, repos, settings, Info(START), clock, lambda: None)
                sizes = sorted(len(f.body) for f in server.feeds.values())
                print(
                    f"rupn-bot feeds benchmark — {feed_count} distinct local feeds "
                    f"(SPIP sample, {items} item(s) each, {sizes[0]}–{sizes[-1]} bytes), "
                    f"poll_due_feeds twice, clock moved "
                    f"{settings.feed_poll_minutes + 1:g} min between passes\n"
                )
                first = await one_pass(units, server, proxy)
                clock.advance((settings.feed_poll_minutes + 1) * 60)
                second = await one_pass(units, server, proxy)
                queued = await db.fetchone("SELECT COUNT(*) FROM posts")
            finally:
                await db.close()
    finally:
        await proxy.stop()
        await server.stop()

    for name, p in (("first pass", first), ("second pass", second)):
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(p.statuses.items()))
        print(
            f"  {name:<12} {p.seconds:6.2f} s  statuses {{{statuses}}}  bodies "
            f"{p.body_bytes:>9,} B  on the wire {p.wire:>9,} B "
            f"(requests {p.upstream:,} B, responses {p.downstream:,} B, "
            f"{p.connections} TCP connections)"
        )
    body_ratio = second.body_bytes / first.body_bytes if first.body_bytes else 0.0
    wire_ratio = second.wire / first.wire if first.wire else 0.0

    def verdict(ratio: float) -> str:
        return "met" if ratio <= GOAL_RATIO else "NOT met"

    print(
        f"\n  second / first, bodies only:           {_pct(second.body_bytes, first.body_bytes)}"
        f" — goal ≤ {GOAL_RATIO:.0%}: {verdict(body_ratio)}"
    )
    print(
        f"  second / first, all bytes on the wire: {_pct(second.wire, first.wire)}"
        f" — goal ≤ {GOAL_RATIO:.0%}: {verdict(wire_ratio)}"
    )
    print(
        f"  per feed, second pass: {second.upstream / feed_count:.0f} B of request, "
        f"{second.downstream / feed_count:.0f} B of response"
    )
    count = queued[0] if queued is not None else "?"
    print(f"  posts queued for the curation room (not sent: no homeserver): {count}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Bytes of the second pass over unchanged feeds.")
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument(
        "--items", type=int, default=1, help="items per feed (the SPIP sample has 1)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(main_async(args.feeds, args.items))


if __name__ == "__main__":
    main()
