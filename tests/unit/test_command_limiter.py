"""The flood limit through the real processor: normal use is never limited, a flood is.

Commands are dated as a homeserver dates them (origin_server_ts); the processor's
clock is when the bot handles them.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from bot.domain import IncomingMessage, SyncBatch
from bot.limiter import COMMANDS_ALLOWED, Arrival, CommandLimiter, Verdict
from bot.storage.database import Database
from tests.unit.fakes import START, FakeClock
from tests.unit.test_processor import (
    ADMIN,
    PROF,
    ROOM,
    TEACHER_OVERVIEW,
    bodies,
    limited_processor,
    read_token,
)

SLOW_DOWN = (
    "Doucement : vous avez envoyé beaucoup de commandes en peu de temps. "
    "Je reprends dans une minute."
)
HELP_TOPICS = (
    "annonces",
    "ateliers",
    "inscription",
    "desinscription",
    "mesdonnees",
    "annonce",
    "sondage",
    "atelier",
    "cafe",
    "veille",
)
NOT_FOUND = "Aucun atelier ni café numérique n° 1. Tapez !ateliers pour voir les prochains."

_ids = itertools.count(1)
_tokens = itertools.count(3)


def typed(body: str, sent: datetime, sender: str = PROF) -> IncomingMessage:
    """A command as it comes from a sync: dated by its homeserver at `sent`."""
    return IncomingMessage(ROOM, f"$cmd{next(_ids)}", sender, body, sent)


def batch(*events: IncomingMessage) -> SyncBatch:
    return SyncBatch(f"s{next(_tokens)}", events, (), False)


async def test_exploring_help_then_a_withdrawal_is_never_limited(db: Database) -> None:
    """`!aide`, ten `!aide <commande>` and a `!desinscription`, two seconds apart."""
    clock = FakeClock()
    processor = limited_processor(db, clock)
    commands = ["!aide", *(f"!aide {t}" for t in HELP_TOPICS), "!desinscription 1"]
    for body in commands:
        await processor.process(batch(typed(body, clock())))
        clock.advance(2.0)
    replies = await bodies(db)
    assert SLOW_DOWN not in replies
    assert replies[0] == TEACHER_OVERVIEW
    assert [r.split("**")[1].split()[0] for r in replies[1:-1]] == [f"!{t}" for t in HELP_TOPICS]
    assert replies[-1] == NOT_FOUND


async def test_commands_typed_while_the_bot_was_stopped_count_when_they_were_typed(
    db: Database,
) -> None:
    """Twenty commands over the hour the bot was stopped arrive in one batch: all answered."""
    clock = FakeClock()
    await limited_processor(db, clock).process(batch())  # the last batch before the stop
    stopped_at = clock()
    clock.advance(3600.0)
    restarted = limited_processor(db, clock)
    typed_while_stopped = [
        typed("!aide", stopped_at + timedelta(minutes=3 * i + 1)) for i in range(20)
    ]
    await restarted.process(batch(*typed_while_stopped))
    assert await bodies(db) == [TEACHER_OVERVIEW] * 20


async def test_a_flood_of_twenty_commands_in_30_s_is_stopped_after_fifteen(db: Database) -> None:
    clock = FakeClock()
    processor = limited_processor(db, clock)
    for _ in range(20):  # one every 1.5 s, each in its own sync
        await processor.process(batch(typed("!aide", clock())))
        clock.advance(1.5)
    assert await bodies(db) == [TEACHER_OVERVIEW] * 15 + [SLOW_DOWN]


async def test_after_the_notice_commands_are_ignored_for_a_minute(db: Database) -> None:
    clock = FakeClock()
    processor = limited_processor(db, clock)
    for _ in range(40):  # 40 !aide in 1.4 s, in several syncs
        await processor.process(batch(typed("!aide", clock())))
        clock.advance(0.035)
    assert await bodies(db) == [TEACHER_OVERVIEW] * 15 + [SLOW_DOWN]
    assert await read_token(db) is not None  # the ignored commands are covered by a token
    notice_at = clock() - timedelta(seconds=0.035 * 25)
    clock.now = notice_at + timedelta(seconds=59.5)
    await processor.process(batch(typed("!aide", clock())))
    assert len(await bodies(db)) == 16
    clock.advance(1.0)  # 60.5 s after the notice: accepted again
    await processor.process(batch(typed("!aide", clock())))
    assert (await bodies(db))[16:] == [TEACHER_OVERVIEW]


async def test_a_flood_dated_in_the_future_is_stopped(db: Database) -> None:
    clock = FakeClock()
    processor = limited_processor(db, clock)
    for i in range(20):  # claimed one hour apart, in the future: counted when received
        await processor.process(batch(typed("!aide", clock() + timedelta(hours=i + 1))))
        clock.advance(0.5)
    assert await bodies(db) == [TEACHER_OVERVIEW] * 15 + [SLOW_DOWN]


async def test_a_flood_dated_in_the_past_is_stopped(db: Database) -> None:
    clock = FakeClock()
    processor = limited_processor(db, clock)
    for i in range(20):  # claimed one hour apart, days ago
        await processor.process(batch(typed("!aide", clock() - timedelta(days=3, hours=-i))))
        clock.advance(0.5)
    assert await bodies(db) == [TEACHER_OVERVIEW] * 15 + [SLOW_DOWN]


async def test_a_flood_in_one_batch_after_a_restart_cannot_date_itself_apart(
    db: Database,
) -> None:
    """Claimed minutes apart, before the bot last handled a batch: counted as sent together."""
    clock = FakeClock()
    await limited_processor(db, clock).process(batch())
    stopped_at = clock()
    clock.advance(600.0)
    forged = [typed("!aide", stopped_at - timedelta(minutes=5 * (20 - i))) for i in range(20)]
    await limited_processor(db, clock).process(batch(*forged))
    assert await bodies(db) == [TEACHER_OVERVIEW] * 15 + [SLOW_DOWN]


async def test_the_limit_is_per_person(db: Database) -> None:
    clock = FakeClock()
    processor = limited_processor(db, clock)
    await processor.process(batch(*(typed("!aide", clock()) for _ in range(17))))
    await processor.process(batch(typed("!aide", clock(), sender="@prof.durand:example.org")))
    assert await bodies(db) == [TEACHER_OVERVIEW] * 15 + [SLOW_DOWN, TEACHER_OVERVIEW]


async def test_admins_are_never_limited(db: Database) -> None:
    clock = FakeClock()
    processor = limited_processor(db, clock)
    await processor.process(batch(*(typed("!aide", clock(), ADMIN) for _ in range(40))))
    assert len(await bodies(db)) == 40
    assert SLOW_DOWN not in await bodies(db)


def test_a_claimed_moment_is_believed_within_what_the_bot_saw() -> None:
    now = START
    arrival = Arrival.after(now - timedelta(seconds=20), now)
    assert arrival.sent_at(now - timedelta(seconds=12)) == now - timedelta(seconds=12)
    assert arrival.sent_at(now + timedelta(days=1)) == now  # not after it was received
    assert arrival.sent_at(now - timedelta(days=1)) == now - timedelta(seconds=30)
    assert Arrival.after(None, now).sent_at(now - timedelta(days=1)) == now
    kept = Arrival.kept(now - timedelta(hours=2))  # kept undecryptable two hours ago
    assert kept.sent_at(now - timedelta(days=1)) == now - timedelta(hours=2, seconds=10)


def test_a_person_s_commands_count_in_the_order_they_came() -> None:
    limiter = CommandLimiter()
    for i in range(COMMANDS_ALLOWED):  # claimed ever earlier, one minute apart
        assert limiter.check(PROF, START - timedelta(minutes=i)) is Verdict.RUN
    assert limiter.check(PROF, START - timedelta(hours=1)) is Verdict.SLOW_DOWN
    assert limiter.check(PROF, START + timedelta(seconds=59)) is Verdict.IGNORE
    assert limiter.check(PROF, START + timedelta(seconds=60)) is Verdict.RUN
