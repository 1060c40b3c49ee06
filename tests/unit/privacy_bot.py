"""A bot over the real processor, jobs and settled hooks, for the privacy tests."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import Repositories, Settings
from bot.direct import DirectRooms
from bot.domain import (
    IncomingMessage,
    RoomEvent,
)
from bot.pseudonyms import Pseudonyms
from bot.router import CommandRegistry
from bot.storage.database import Database
from bot.storage.posts import Post, PostsRepository
from handlers import ROUTERS
from handlers.privacy.jobs import answer_requests
from tests.unit.fakes import FakeBotInfo, FakeClock
from tests.unit.harness import deliver, make_units, process_events

ADMIN = "@rupn:example.org"
BOT = "@bot:example.org"
A = "@alice:example.org"
B = "@bruno:example.org"
STAFF = "!staff:example.org"
BUREAU = "!bureau:example.org"
DM_A = "!dm-alice:example.org"
PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=PARIS)
_ids = itertools.count(1)


def settings(*admins: str) -> Settings:
    return Settings(
        admins=frozenset({ADMIN, *admins}),
        tz=PARIS,
        bot_user_id=BOT,
        broadcast_rooms=(STAFF,),
    )


@dataclass
class Bot:
    db: Database
    settings: Settings = field(default_factory=settings)
    clock: FakeClock = field(default_factory=lambda: FakeClock(MONDAY.astimezone(UTC)))
    info: FakeBotInfo = field(
        default_factory=lambda: FakeBotInfo(
            rooms=[STAFF, BUREAU, DM_A],
            members={STAFF: [BOT, ADMIN, A, B], BUREAU: [BOT, ADMIN, A], DM_A: [BOT]},
        )
    )
    opened: list[str] = field(default_factory=list)
    sent_by: dict[str, list[str]] = field(default_factory=dict)  # sender → event ids
    pseudonyms: Pseudonyms = field(default_factory=lambda: Pseudonyms(None))

    @property
    def repos(self) -> Repositories:
        return Repositories.open(self.db)

    async def process(self, *events: RoomEvent) -> None:
        await process_events(
            self.db, self.settings, self.clock, self.info, events, pseudonyms=self.pseudonyms
        )

    async def posts(self) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT kind, content, room_id, txn_id FROM posts WHERE action = 'send' ORDER BY id"
        )
        return [
            {"kind": r[0], "content": json.loads(r[1]), "room": r[2], "txn": r[3]} for r in rows
        ]

    async def say(self, body: str, sender: str = A, room: str = STAFF) -> list[dict[str, Any]]:
        before = len(await self.posts())
        event_id = f"$m{next(_ids)}"
        self.sent_by.setdefault(sender, []).append(event_id)
        await self.process(IncomingMessage(room, event_id, sender, body, self.clock()))
        return (await self.posts())[before:]

    async def settle_all(self) -> dict[str, str]:
        """Every pending post sent, with the settled hooks; event id by kind (the last)."""
        sent: dict[str, str] = {}
        posts = PostsRepository(self.db)
        units = make_units(
            self.db, self.settings, self.info, self.clock, pseudonyms=self.pseudonyms
        )
        hooks = CommandRegistry(ROUTERS).settled_hooks
        while rows := await self.db.fetchall(
            "SELECT txn_id, kind FROM posts WHERE status = 'pending' AND action != 'mail'"
        ):
            for txn, kind in rows:
                event_id = f"$ev{next(_ids)}"
                await deliver(self.db, txn, event_id, self.clock())
                post = await posts.by_event_id(event_id)
                assert isinstance(post, Post)
                for hook in hooks:
                    await hook(units, post)
                sent[kind] = event_id
        self.clock.advance(60)
        return sent

    def direct_rooms(self) -> DirectRooms:
        async def create(user: str, name: str) -> str:
            self.opened.append(user)
            return DM_A

        return DirectRooms(self.db, create)

    async def tick(self) -> list[dict[str, Any]]:
        """The requests job once; the new posts."""
        before = len(await self.posts())
        units = make_units(
            self.db, self.settings, self.info, self.clock,
            direct_rooms=self.direct_rooms(), pseudonyms=self.pseudonyms,
        )  # fmt: skip
        await answer_requests(units)
        return (await self.posts())[before:]

    def join(self, user: str = A, room: str = DM_A) -> None:
        self.info.members[room] = [*self.info.members.get(room, []), user]


async def holding(db: Database, value: str) -> list[str]:
    """Every `table.column` of the database where some value contains `value`."""
    found: list[str] = []
    tables = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    for (table,) in tables:
        columns = await db.fetchall("SELECT name FROM pragma_table_info(?)", (table,))
        for column in columns:
            sql = f'SELECT COUNT(*) FROM "{table}" WHERE instr(CAST("{column[0]}" AS TEXT), ?) > 0'  # noqa: S608 - names from sqlite_master
            row = await db.fetchone(sql, (value,))
            if row is not None and row[0]:
                found.append(f"{table}.{column[0]}")
    return found
