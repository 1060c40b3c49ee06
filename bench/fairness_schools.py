"""Fairness of the outbox between établissements: the Friday letter wave.

At 16h30 on Friday every school's weekly letter is queued at once (`--schools` × `--rooms`
posts, 600 by default: 200 schools × 3 rooms); a few seconds later, one school's RUPN
types `!annonce` for its `--rooms` diffusion rooms. The real processor (the RUPN's
school found from their room), the real outbox, the real `Sender` at 1 send/s on
virtual time (bench.fairness's simulation); only the homeserver is fake.

Measured: the RUPN's announcement (goal: in all its rooms within 5 s of the command), and how the
letters are spread: when the last school has its first room reached (with the
round-robin between schools, after one round of the schools; before it, after every
room of the schools queued before it).

    python -m bench.fairness_schools [--schools 200] [--rooms 3] [--rate 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.fairness import START, SimTime, SimTransport
from bench.sim_info import SimInfo
from bot.context import Repositories, Settings
from bot.domain import IncomingMessage
from bot.processor import EventProcessor
from bot.router import CommandRegistry
from bot.schools import School
from bot.sender import Pacer, Sender
from bot.storage.database import Database
from bot.storage.posts import OutgoingPost, PostsRepository
from bot.storage.rooms import RoomsRepository
from bot.storage.state import StateRepository
from bot.tenancy import Tenancy
from bot.work import Units
from handlers import ROUTERS

GOAL_S = 5.0
ANNOUNCE_AT_S = 20.0  # the RUPN's command, 20 s into the wave
LETTER_KIND = "digest"


class NoInterleaving(PostsRepository):
    """The outbox before the round-robin between schools: the jobs' posts in queue order
    (every post in round 0, so taken by id)."""

    async def queue(self, posts: Sequence[OutgoingPost], now: datetime) -> None:
        for post in posts:  # one at a time: no round is counted on from the batch's
            await super().queue([post], now)

    async def _last_positions(
        self, priority: int, requester: str | None, school: str
    ) -> tuple[int, int]:
        turn, _ = await super()._last_positions(priority, requester, school)
        return turn, -1


@dataclass(frozen=True)
class WaveOutcome:
    label: str
    announcement_s: float  # from the command to its delivery in the last of its rooms
    last_first_room_s: float  # when the last school had its first letter room reached
    wave_s: float  # when the last letter went

    @property
    def passed(self) -> bool:
        return self.announcement_s <= GOAL_S


def _school(i: int) -> School:
    return School(f"{i:07d}X", f"Établissement {i}", frozenset({f"@rupn{i}:ac.example"}), "A")


def _rooms(i: int, rooms: int) -> list[str]:
    return [f"!salle{i}-{r}:ac.example" for r in range(rooms)]


async def simulate_wave(
    *, schools: int = 200, rooms: int = 3, rate: float = 1.0, interleave: bool = True
) -> WaveOutcome:
    served = [_school(i) for i in range(schools)]
    announcer = served[-1]  # the school whose letter was queued last: the worst case
    announcer_rooms = _rooms(schools - 1, rooms)  # its announcement goes to all of them
    staff_room = announcer_rooms[0]
    time = SimTime()
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp) / "wave.db")
        try:
            repos = Repositories.open(db)
            if not interleave:
                repos = Repositories(**{**repos.__dict__, "posts": NoInterleaving(db)})
            settings = Settings(admins=frozenset(), tz=ZoneInfo("Europe/Paris"))
            all_rooms = [r for i in range(schools) for r in _rooms(i, rooms)]
            info = SimInfo(all_rooms, START)
            tenancy = Tenancy(served, RoomsRepository(db))
            transport = SimTransport(time)
            pacer = Pacer(rate, monotonic=time.monotonic, sleep=time.sleep)
            sender = Sender(db, repos.posts, transport, time.clock, pacer, sleep=time.sleep)
            units = Units(db, repos, settings, info, time.clock, sender.wake, schools=served)
            async with db.transaction():
                for i, school in enumerate(served):
                    for room in _rooms(i, rooms):
                        await tenancy.claim_for(room, school, time.clock())
                for room in announcer_rooms:
                    await Repositories.open(db, announcer.key).broadcast.add(
                        room, next(iter(announcer.admins)), time.clock()
                    )
            for i, school in enumerate(served):  # the letter job, school after school
                async with units.for_school(school).unit() as scope:
                    for room in _rooms(i, rooms):
                        scope.messenger.send(room, f"Lettre de la semaine {i}", kind=LETTER_KIND)
            time.processor = EventProcessor(
                db, repos, StateRepository(db), CommandRegistry(ROUTERS), settings,
                time.clock, info, tenancy=tenancy,
            )  # fmt: skip
            time.wake = sender.wake
            command = IncomingMessage(
                staff_room, "$annonce", next(iter(announcer.admins)),
                "!annonce Réunion ENT à 17h, salle 204", time.clock(),
            )  # fmt: skip
            time.at(ANNOUNCE_AT_S, command)
            stop = asyncio.Event()
            task = asyncio.create_task(sender.run(stop))
            try:
                while time.pending:
                    await sender.wait_idle()  # its pauses handle the command on time
                    await time.next_due()
                await sender.wait_idle()
            finally:
                stop.set()
                await task
            rows = await db.fetchall("SELECT txn_id, kind, school FROM posts")
        finally:
            await db.close()
    sent = {(r["kind"], r["school"], r["txn_id"]): transport.sent_at[r["txn_id"]] for r in rows}
    announced = max(at for (kind, _, _), at in sent.items() if kind == "announcement")
    firsts: dict[str, float] = {}
    for (kind, school, _), at in sent.items():
        if kind == LETTER_KIND:
            firsts[school] = min(at, firsts.get(school, at))
    letters = [at for (kind, _, _), at in sent.items() if kind == LETTER_KIND]
    return WaveOutcome(
        label="entre établissements (tour de rôle)" if interleave else "avant (file des tâches)",
        announcement_s=announced - ANNOUNCE_AT_S,
        last_first_room_s=max(firsts.values()),
        wave_s=max(letters),
    )


def judged(label: str, passed: bool) -> tuple[str, bool]:
    """A scenario's verdict, and whether it meets the goal or is only a reference (the
    code before: « avant … »), so that the bench passes."""
    reference = label.startswith("avant")
    return ("PASS" if passed else "FAIL") + (" (reference)" if reference else ""), (
        passed or reference
    )


def report(outcomes: list[WaveOutcome], schools: int, rooms: int, rate: float) -> bool:
    """Print the table; True when every judged scenario meets its goal."""
    print(
        f"Friday wave: {schools} schools × {rooms} rooms = {schools * rooms} letters at "
        f"{rate:g} send/s; a RUPN's !annonce {ANNOUNCE_AT_S:g} s in (goal: out within "
        f"{GOAL_S:g} s)"
    )
    print(f"  {'scenario':<40}{'announce':>10}{'last school 1st room':>22}{'wave':>9}  verdict")
    ok = True
    for o in outcomes:
        verdict, fine = judged(o.label, o.passed)
        ok = ok and fine
        print(
            f"  {o.label:<40}{o.announcement_s:>8.1f} s{o.last_first_room_s:>20.0f} s"
            f"{o.wave_s:>7.0f} s  {verdict}"
        )
    return ok


async def run(schools: int, rooms: int, rate: float) -> list[WaveOutcome]:
    return [
        await simulate_wave(schools=schools, rooms=rooms, rate=rate),
        await simulate_wave(schools=schools, rooms=rooms, rate=rate, interleave=False),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=200)
    parser.add_argument("--rooms", type=int, default=3)
    parser.add_argument("--rate", type=float, default=1.0)
    args = parser.parse_args()
    outcomes = asyncio.run(run(args.schools, args.rooms, args.rate))
    if not report(outcomes, args.schools, args.rooms, args.rate):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
