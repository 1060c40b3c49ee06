"""Fairness of the outbox: the RUPN's `!annonce` while a teacher floods the bot.

The real `EventProcessor` (command limiter included), the real outbox in a migrated
SQLite database and the real `Sender` with its `Pacer` at 1 send/s, the real
announcement hooks (the confirmation to the RUPN); only the homeserver is fake (it
answers every send at once) and time is virtual: the sender's pacing pauses advance
it, and the scripted incoming messages are handled at their own virtual instant,
while the sender waits, as a sync would deliver them. A run takes milliseconds.

The delay is measured from the RUPN's command to the moment the announcement has
reached its last diffusion room. Goal: within 2 s + the pacing floor (one post per
room at the pace, (rooms - 1) / rate), whatever a teacher floods. The "before" row
replays the flood with the outbox in plain queue order (as before priorities).

It then prints bench.flood_limit's table: the flood limit against normal use
(never limited) and against floods, however dated (stopped once), and
bench.fairness_schools's: the Friday letter wave of 200 schools × 3 rooms and one
school's RUPN announcing during it (goal: within 5 s).

    python -m bench.fairness [--rooms 5] [--flood 40] [--rate 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench import flood_limit
from bench.sim_info import SimInfo
from bot.context import Repositories, Settings
from bot.domain import IncomingMessage, RoomEvent, SyncBatch
from bot.processor import EventProcessor
from bot.router import CommandRegistry
from bot.sender import Pacer, Sender
from bot.storage.database import Database
from bot.storage.posts import OutgoingPost, Post, PostsRepository
from bot.storage.state import StateRepository
from bot.work import Units
from handlers import ROUTERS

GOAL_MARGIN_S = 2.0
START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ADMIN = "@rupn:college.example"
TEACHERS = tuple(f"@prof{i}:college.example" for i in range(3))
STAFF_ROOM = "!salle-des-profs:college.example"
ANNOUNCE_AT_S = 1.5  # the RUPN's command, just after the flood (40 commands in 1.4 s)
FLOOD_SPAN_S = 1.4


@dataclass
class SimTime:
    """Virtual time: the sender's sleeps advance it; incoming batches are handled on time."""

    now: float = 0.0
    _script: list[tuple[float, int, RoomEvent]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)
    processor: EventProcessor | None = None
    wake: Any = None

    def clock(self) -> datetime:
        return START + timedelta(seconds=self.now)

    def monotonic(self) -> float:
        return self.now

    def at(self, seconds: float, event: RoomEvent) -> None:
        heapq.heappush(self._script, (seconds, next(self._seq), event))

    @property
    def pending(self) -> bool:
        return bool(self._script)

    async def advance_to(self, target: float) -> None:
        """Handle the scripted messages due by `target`, each batch at its instant."""
        while self._script and self._script[0][0] <= target:
            due = self._script[0][0]
            self.now = max(self.now, due)
            events = []
            while self._script and self._script[0][0] == due:
                events.append(heapq.heappop(self._script)[2])
            assert self.processor is not None
            await self.processor.process(SyncBatch(f"s{next(self._seq)}", tuple(events), (), False))
            self.wake()
        self.now = max(self.now, target)

    async def next_due(self) -> None:
        if self._script:
            await self.advance_to(self._script[0][0])

    async def sleep(self, seconds: float) -> None:
        await self.advance_to(self.now + max(0.0, seconds))
        await asyncio.sleep(0)


class SimTransport:
    """A homeserver that accepts everything at once; it notes when each post went out."""

    def __init__(self, time: SimTime) -> None:
        self._time = time
        self._ids = itertools.count(1)
        self.sent_at: dict[str, float] = {}

    async def send_event(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str:
        self.sent_at[txn_id] = self._time.now
        return f"$ev{next(self._ids)}"

    async def redact(self, room_id: str, event_id: str, txn_id: str, reason: str | None) -> str:
        self.sent_at[txn_id] = self._time.now
        return f"$ev{next(self._ids)}"

    async def upload_file(
        self, room_id: str, data: bytes, mimetype: str, filename: str
    ) -> dict[str, Any]:
        return {"url": "mxc://college.example/fichier"}


class FifoPosts(PostsRepository):
    """The outbox in plain queue order, as before priorities: one requester, one priority."""

    async def queue(self, posts: Sequence[OutgoingPost], now: datetime) -> None:
        await super().queue([replace(p, priority=0, requester=None) for p in posts], now)


@dataclass(frozen=True)
class Delivery:
    kind: str
    requester: str | None
    room_id: str
    at: float


@dataclass(frozen=True)
class Outcome:
    label: str
    announcement_s: float  # from the command to the last diffusion room
    confirmation_s: float | None
    floor_s: float
    replies_first: int  # replies to the flood sent before the announcement's last room
    deliveries: tuple[Delivery, ...]

    @property
    def goal_s(self) -> float:
        return GOAL_MARGIN_S + self.floor_s

    @property
    def passed(self) -> bool:
        return self.announcement_s <= self.goal_s


async def simulate(
    *,
    label: str = "",
    flooders: Sequence[str] = (),
    flood: int = 40,
    rooms: int = 5,
    rate: float = 1.0,
    fifo: bool = False,
) -> Outcome:
    """Each of `flooders` sends `flood` × `!aide` over FLOOD_SPAN_S, then the RUPN announces."""
    diffusion = [f"!diffusion{i}:college.example" for i in range(rooms)]
    time = SimTime()
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp) / "fairness.db")
        try:
            repos = Repositories.open(db)
            if fifo:
                repos = Repositories(**{**repos.__dict__, "posts": FifoPosts(db)})
            settings = Settings(
                admins=frozenset({ADMIN}),
                tz=ZoneInfo("Europe/Paris"),
                broadcast_rooms=tuple(diffusion),
            )
            info = SimInfo([STAFF_ROOM, *diffusion], START)
            registry = CommandRegistry(ROUTERS)
            transport = SimTransport(time)
            pacer = Pacer(rate, monotonic=time.monotonic, sleep=time.sleep)
            sender = Sender(db, repos.posts, transport, time.clock, pacer, sleep=time.sleep)
            units = Units(db, repos, settings, info, time.clock, sender.wake)

            async def settled(post: Post) -> None:
                for hook in registry.settled_hooks:
                    await hook(units, post)

            sender.when_settled(settled)
            time.processor = EventProcessor(
                db, repos, StateRepository(db), registry, settings, time.clock, info
            )
            time.wake = sender.wake
            ids = itertools.count(1)
            for teacher in flooders:
                for i in range(flood):
                    at = FLOOD_SPAN_S * i / max(1, flood - 1)
                    time.at(at, _message(teacher, "!aide", at, next(ids)))
            time.at(
                ANNOUNCE_AT_S,
                _message(ADMIN, "!annonce Réunion ENT à 17h, salle 204", ANNOUNCE_AT_S, 0),
            )
            stop = asyncio.Event()
            task = asyncio.create_task(sender.run(stop))
            try:
                while time.pending:
                    await sender.wait_idle()
                    await time.next_due()
                await sender.wait_idle()
            finally:
                stop.set()
                await task
            deliveries = await _deliveries(db, transport)
        finally:
            await db.close()
    announced = [d.at for d in deliveries if d.kind == "announcement"]
    assert len(announced) == rooms, f"{len(announced)} of {rooms} rooms reached"
    confirmations = [d.at for d in deliveries if d.kind == "announcement-confirmation"]
    return Outcome(
        label=label,
        announcement_s=max(announced) - ANNOUNCE_AT_S,
        confirmation_s=confirmations[0] - ANNOUNCE_AT_S if confirmations else None,
        floor_s=(rooms - 1) / rate,
        replies_first=sum(1 for d in deliveries if d.kind == "reply" and d.at < max(announced)),
        deliveries=tuple(deliveries),
    )


def _message(sender: str, body: str, at: float, n: int) -> IncomingMessage:
    return IncomingMessage(
        STAFF_ROOM, f"$m{n}-{sender}", sender, body, START + timedelta(seconds=at)
    )


async def _deliveries(db: Database, transport: SimTransport) -> list[Delivery]:
    rows = await db.fetchall("SELECT txn_id, kind, requester, room_id FROM posts")
    found = [
        Delivery(r["kind"], r["requester"], r["room_id"], transport.sent_at[r["txn_id"]])
        for r in rows
        if r["txn_id"] in transport.sent_at
    ]
    return sorted(found, key=lambda d: d.at)


async def run(rooms: int, flood: int, rate: float) -> list[Outcome]:
    return [
        await simulate(label="sans flood", rooms=rooms, rate=rate),
        await simulate(
            label=f"flood : 1 enseignant, {flood} × !aide", flooders=TEACHERS[:1],
            flood=flood, rooms=rooms, rate=rate,
        ),
        await simulate(
            label=f"flood : 3 enseignants, {flood} × !aide chacun", flooders=TEACHERS,
            flood=flood, rooms=rooms, rate=rate,
        ),
        await simulate(
            label=f"avant (file FIFO) : 3 enseignants, {flood} × !aide", flooders=TEACHERS,
            flood=flood, rooms=rooms, rate=rate, fifo=True,
        ),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=5)
    parser.add_argument("--flood", type=int, default=40)
    parser.add_argument("--rate", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the limiter's warnings are expected here
    outcomes = asyncio.run(run(args.rooms, args.flood, args.rate))
    print(
        f"!annonce to {args.rooms} diffusion rooms at {args.rate:g} send/s, "
        f"{ANNOUNCE_AT_S:g} s after a flood starts ({args.flood} commands in {FLOOD_SPAN_S:g} s)"
    )
    print(
        f"goal: last room reached within {GOAL_MARGIN_S:g} s + pacing floor "
        f"({(args.rooms - 1) / args.rate:g} s) = {GOAL_MARGIN_S + (args.rooms - 1) / args.rate:g} s"
    )
    print(f"  {'scenario':<46}{'last room':>10}{'confirm.':>10}{'replies first':>15}  verdict")
    failed = False
    for o in outcomes:
        confirmation = f"{o.confirmation_s:.1f} s" if o.confirmation_s is not None else "—"
        before = o.label.startswith("avant")
        verdict = ("PASS" if o.passed else "FAIL") + (" (reference, not judged)" if before else "")
        failed = failed or (not o.passed and not before)
        print(
            f"  {o.label:<46}{o.announcement_s:>8.1f} s{confirmation:>10}"
            f"{o.replies_first:>15}  {verdict}"
        )
    limited_right = flood_limit.report(asyncio.run(flood_limit.run()))
    failed = failed or not limited_right
    # Imported here: bench.fairness_schools builds on this module's simulation.
    from bench import fairness_schools

    waves = asyncio.run(fairness_schools.run(200, 3, args.rate))
    failed = failed or not fairness_schools.report(waves, 200, 3, args.rate)
    print("PASS" if not failed else "FAIL")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
