"""Driving the real bot in unit tests: the processor, jobs and delivered posts.

Each feature's tests keep their own small `Bot` helper with the texts they
need; the plumbing they share lives here.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from bot.context import BotInfo, Repositories, Settings
from bot.direct import DirectRooms
from bot.domain import RoomEvent, SyncBatch
from bot.mailer import MailSender
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


async def queued_posts(db: Database, *kinds: str) -> list[dict[str, Any]]:
    """The outbox, oldest first (of these kinds only, when given), as plain dicts."""
    rows = await db.fetchall(
        "SELECT kind, content, room_id, txn_id, status, action FROM posts ORDER BY id"
    )
    found = [
        {"kind": r[0], "content": json.loads(r[1]), "room": r[2], "txn": r[3],
         "status": r[4], "action": r[5]}
        for r in rows
    ]  # fmt: skip
    return [p for p in found if not kinds or p["kind"] in kinds]


async def mail_until_idle(mailer: MailSender, timeout_s: float = 10.0) -> None:
    """Run the real mail worker until no mail is pending, then stop it."""
    stop = asyncio.Event()
    task = asyncio.create_task(mailer.run(stop))
    try:
        async with asyncio.timeout(timeout_s):
            await mailer.wait_idle()
    finally:
        stop.set()
        await task
