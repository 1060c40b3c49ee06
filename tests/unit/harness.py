"""Driving the real bot in unit tests: the processor, jobs and delivered posts.

Each feature's tests keep their own small `Bot` helper with the texts they
need; the plumbing they share lives here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from datetime import datetime

from bot.context import BotInfo, Repositories, Settings
from bot.direct import DirectRooms
from bot.domain import RoomEvent, SyncBatch
from bot.processor import EventProcessor
from bot.pseudonyms import Pseudonyms
from bot.router import CommandRegistry
from bot.storage.database import Database
from bot.storage.posts import PostsRepository
from bot.storage.state import StateRepository
from bot.work import Units
from handlers import ROUTERS

_tokens = itertools.count(1)

PSEUDONYMS = Pseudonyms(None)
"""The readers' keys of every unit test (in memory): the same across batches and jobs."""


async def process_events(
    db: Database,
    settings: Settings,
    clock: Callable[[], datetime],
    info: BotInfo,
    events: Iterable[RoomEvent],
    *,
    pseudonyms: Pseudonyms = PSEUDONYMS,
) -> None:
    """One sync batch through the real processor and the real command registry."""
    processor = EventProcessor(
        db, Repositories.open(db), StateRepository(db), CommandRegistry(ROUTERS), settings,
        clock, info, pseudonyms=pseudonyms,
    )  # fmt: skip
    await processor.process(SyncBatch(f"s{next(_tokens)}", tuple(events), (), False))


def make_units(
    db: Database,
    settings: Settings,
    info: BotInfo,
    clock: Callable[[], datetime],
    *,
    direct_rooms: DirectRooms | None = None,
    pseudonyms: Pseudonyms = PSEUDONYMS,
) -> Units:
    """Units of work for jobs, with a sender that needs no waking."""
    return Units(
        db, Repositories.open(db), settings, info, clock, lambda: None,
        direct_rooms=direct_rooms, pseudonyms=pseudonyms,
    )  # fmt: skip


async def deliver(db: Database, txn_id: str, event_id: str, now: datetime) -> None:
    """Mark the queued post with this transaction id as sent, as the sender would."""
    async with db.transaction():
        row = await db.fetchone("SELECT id FROM posts WHERE txn_id = ?", (txn_id,))
        assert row is not None, f"no post with txn {txn_id}"
        await PostsRepository(db).mark_sent(int(row[0]), event_id, now)
