"""The flood limit against normal use and against floods (printed by bench.fairness).

Each scenario is one teacher's commands, each dated as its homeserver dates it (the
moment it was typed, or a forged moment) and handled in a sync batch at its own
instant, by the real `EventProcessor` over a migrated SQLite database on virtual
time. Goals: normal use is never limited; a flood (20 or more commands in 30 s),
however it is dated, gets « Doucement » once, after COMMANDS_ALLOWED answers.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.sim_info import SimInfo
from bot.context import Repositories, Settings
from bot.domain import IncomingMessage, SyncBatch
from bot.limiter import COMMANDS_ALLOWED, SLOW_DOWN_TEXT
from bot.processor import EventProcessor
from bot.router import CommandRegistry
from bot.storage.database import Database
from bot.storage.state import StateRepository
from handlers import ROUTERS

START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
TEACHER = "@prof.martin:college.example"
ROOM = "!salle-des-profs:college.example"
HELP_TOPICS = (
    *("annonces", "ateliers", "inscription", "desinscription", "mesdonnees"),
    *("annonce", "sondage", "atelier", "cafe", "veille"),
)


@dataclass(frozen=True)
class Typed:
    """A command typed (as its homeserver claims) at `sent_s`, handled at `handled_s`."""

    body: str
    sent_s: float
    handled_s: float


@dataclass(frozen=True)
class Scenario:
    label: str
    commands: tuple[Typed, ...]
    flood: bool  # goal: COMMANDS_ALLOWED answers then one notice; otherwise every one answered


@dataclass(frozen=True)
class Result:
    scenario: Scenario
    answered: int
    notices: int

    @property
    def goal(self) -> str:
        if self.scenario.flood:
            return f"{COMMANDS_ALLOWED} then 1 notice"
        return f"{len(self.scenario.commands)}, no notice"

    @property
    def passed(self) -> bool:
        if self.scenario.flood:
            return self.answered == COMMANDS_ALLOWED and self.notices == 1
        return self.answered == len(self.scenario.commands) and self.notices == 0


def every(bodies: Sequence[str], gap_s: float, *, forged: float = 0.0) -> tuple[Typed, ...]:
    """Commands `gap_s` apart, each handled as it comes; `forged`: claimed that far off."""
    return tuple(Typed(b, i * gap_s + i * forged, i * gap_s) for i, b in enumerate(bodies))


def exploring(*more: str, topics: int = len(HELP_TOPICS)) -> list[str]:
    """`!aide`, then `!aide <commande>` for `topics` commands, then `more`."""
    return ["!aide", *(f"!aide {t}" for t in HELP_TOPICS[:topics]), *more]


FLOOD = ["!aide"] * 20
SCENARIOS = (
    Scenario("!aide, 5 × !aide <cmd>, !desinscription",
             every(exploring("!desinscription 1", topics=5), 2.0), False),
    Scenario("!aide puis 10 × !aide <cmd> en 30 s", every(exploring(), 3.0), False),
    Scenario("!aide, 10 × !aide <cmd> en 10 s", every(exploring(), 1.0), False),
    Scenario("aide, ateliers, inscription, désinscription", every(exploring(
        "!ateliers", "!inscription 1", "!desinscription 1"), 4.0), False),
    Scenario("20 commandes tapées pendant 1 h d’arrêt", tuple(
        Typed("!aide", 180.0 * i + 60, 3600.0) for i in range(20)), False),
    Scenario("flood : 20 × !aide en 30 s", every(FLOOD, 1.5), True),
    Scenario("flood : 40 × !aide en 1,4 s", every(FLOOD * 2, 0.035), True),
    Scenario("flood daté dans le futur (+1 h chacune)", every(FLOOD, 0.5, forged=3600), True),
    Scenario("flood daté dans le passé (-1 h chacune)", every(FLOOD, 0.5, forged=-3600), True),
    Scenario("flood après un arrêt, daté d’avant l’arrêt", tuple(
        Typed("!aide", -300.0 * (40 - i), 600.0) for i in range(40)), True),
)  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


async def play(scenario: Scenario) -> Result:
    """The scenario through the real processor; a batch was handled at START before it."""
    clock = Clock()
    ids = itertools.count(1)
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp) / "flood.db")
        try:
            processor = EventProcessor(
                db,
                Repositories.open(db),
                StateRepository(db),
                CommandRegistry(ROUTERS),
                Settings(admins=frozenset({"@rupn:college.example"}), tz=ZoneInfo("Europe/Paris")),
                clock,
                SimInfo([ROOM], START),
            )
            await processor.process(SyncBatch("s0", (), (), False))
            by_batch = itertools.groupby(scenario.commands, key=lambda c: c.handled_s)
            for handled_s, typed in by_batch:
                clock.now = START + timedelta(seconds=handled_s)
                events = tuple(
                    IncomingMessage(
                        ROOM, f"$c{next(ids)}", TEACHER, c.body,
                        START + timedelta(seconds=c.sent_s),
                    )
                    for c in typed
                )  # fmt: skip
                await processor.process(SyncBatch(f"s{next(ids)}", events, (), False))
            rows = await db.fetchall("SELECT content FROM posts WHERE kind = 'reply'")
        finally:
            await db.close()
    notices = sum(1 for r in rows if SLOW_DOWN_TEXT in r["content"])
    return Result(scenario, len(rows) - notices, notices)


async def run() -> list[Result]:
    return [await play(s) for s in SCENARIOS]


def report(results: Sequence[Result]) -> bool:
    """Print the table; True when every scenario meets its goal."""
    print(
        f"flood limit: {COMMANDS_ALLOWED} commands per 30 s, counted when sent; "
        "goal: normal use never limited, a flood stopped once"
    )
    print(f"  {'scenario':<46}{'cmds':>5}{'answered':>10}{'notices':>9}  {'goal':<20}verdict")
    for r in results:
        print(
            f"  {r.scenario.label:<46}{len(r.scenario.commands):>5}{r.answered:>10}"
            f"{r.notices:>9}  {r.goal:<20}{'PASS' if r.passed else 'FAIL'}"
        )
    return all(r.passed for r in results)
