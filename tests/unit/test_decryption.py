"""Undecryptable events kept until their key arrives; withheld keys told to the RUPN once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.context import Repositories, Settings
from bot.domain import (
    IncomingMessage,
    KeyWithheld,
    RoomEvent,
    SyncBatch,
    UndecryptableEvent,
)
from bot.errors import HomeserverUnreachable
from bot.processor import EventProcessor
from bot.router import CommandRegistry
from bot.storage.database import Database
from bot.storage.state import StateRepository
from bot.sync import SyncLoop
from handlers import ROUTERS
from handlers.decryption import alert_text
from tests.unit.fakes import FakeBotInfo
from tests.unit.harness import process_events

ROOM = "!salle:example.org"
CURATION = "!tri:example.org"
ADMIN = "@rupn:example.org"
PROF = "@prof:example.org"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/Paris")
SETTINGS = Settings(admins=frozenset({ADMIN}), tz=TZ, bot_user_id="@bot:example.org")
INFO = FakeBotInfo(rooms=[ROOM], names={ROOM: "Salle des professeurs"})


def undecryptable(event_id: str, session: str = "sess1") -> UndecryptableEvent:
    return UndecryptableEvent(ROOM, event_id, PROF, session, NOW, {"event_id": event_id})


def command(event_id: str, body: str) -> IncomingMessage:
    return IncomingMessage(ROOM, event_id, PROF, body, NOW)


class KeySource:
    """A sync source whose batches are scripted, and whose keys "arrive" on demand."""

    def __init__(self, batches: list[SyncBatch], stop: asyncio.Event) -> None:
        self.batches = batches
        self.stop = stop
        self.decryptable: dict[str, RoomEvent | None] = {}

    async def sync(self, since: str | None, *, full_state: bool, timeout_ms: int) -> SyncBatch:
        if not self.batches:
            self.stop.set()
            raise HomeserverUnreachable("end of script")
        return self.batches.pop(0)

    async def join(self, room_id: str) -> None: ...

    async def leave(self, room_id: str, reason: str | None = None) -> None: ...

    def shares_a_room_with(self, user_id: str) -> bool:
        return False

    async def relogin(self) -> None: ...

    def decrypt_again(
        self, pending: Iterable[UndecryptableEvent]
    ) -> list[tuple[UndecryptableEvent, RoomEvent | None]]:
        return [
            (p, self.decryptable[p.event_id]) for p in pending if p.event_id in self.decryptable
        ]


async def _replies(db: Database) -> list[tuple[str, str]]:
    rows = await db.fetchall("SELECT room_id, content FROM posts ORDER BY id")
    return [(str(r[0]), str(r[1])) for r in rows]


async def _run(db: Database, source: KeySource) -> None:
    processor = EventProcessor(
        db, Repositories.open(db), StateRepository(db), CommandRegistry(ROUTERS), SETTINGS,
        lambda: NOW, INFO,
    )  # fmt: skip
    stop = asyncio.Event()
    source.stop = stop

    async def no_sleep(_: float) -> None:
        return

    loop = SyncLoop(
        source, processor, StateRepository(db), SETTINGS.admins,
        on_posts_queued=lambda: None, sleep=no_sleep,
    )  # fmt: skip
    await loop.run(stop)


async def test_a_command_whose_key_arrives_late_is_answered_once(db: Database) -> None:
    source = KeySource(
        [
            SyncBatch("t1", (), (), True),
            SyncBatch("t2", (undecryptable("$cmd"),), (), False),
            SyncBatch("t3", (), (), False),  # no key yet: nothing happens
        ],
        asyncio.Event(),
    )
    await _run(db, source)
    assert await _replies(db) == []
    async with db.transaction():
        assert [e.event_id for e in await Repositories.open(db).undecrypted.pending()] == ["$cmd"]

    # The key arrives: the command is decrypted and answered, once.
    source.decryptable["$cmd"] = command("$cmd", "!aide")
    source.batches = [
        SyncBatch("t4", (), (), False, room_keys_arrived=True),
        SyncBatch("t5", (), (), False, room_keys_arrived=True),
    ]
    await _run(db, source)
    replies = await _replies(db)
    assert len(replies) == 1
    assert '"m.in_reply_to": {"event_id": "$cmd"}' in replies[0][1]
    assert "!inscription" in replies[0][1]  # the help text a teacher sees
    async with db.transaction():
        assert await Repositories.open(db).undecrypted.pending() == []

    # After a restart the key is still there, but the event was handled: nothing more.
    source.batches = [SyncBatch("t6", (), (), False, room_keys_arrived=True)]
    await _run(db, source)
    assert len(await _replies(db)) == 1


async def test_an_event_decrypted_to_nothing_of_interest_is_forgotten(db: Database) -> None:
    source = KeySource([SyncBatch("t1", (undecryptable("$x"),), (), False)], asyncio.Event())
    await _run(db, source)
    source.decryptable["$x"] = None
    source.batches = [SyncBatch("t2", (), (), False, room_keys_arrived=True)]
    await _run(db, source)
    async with db.transaction():
        assert await Repositories.open(db).undecrypted.pending() == []
    assert await _replies(db) == []


async def test_events_whose_key_never_comes_are_dropped_after_a_week(db: Database) -> None:
    old = UndecryptableEvent(ROOM, "$old", PROF, "s", NOW, {})
    repos = Repositories.open(db)
    async with db.transaction():
        await repos.undecrypted.keep(old, NOW - timedelta(days=8))
        await repos.undecrypted.keep(undecryptable("$new"), NOW - timedelta(days=1))
    processor = EventProcessor(
        db, repos, StateRepository(db), CommandRegistry(ROUTERS), SETTINGS, lambda: NOW, INFO
    )
    assert [e.event_id for e in await processor.undecrypted()] == ["$new"]


def withheld(session: str, when: datetime = NOW, code: str = "m.unverified") -> KeyWithheld:
    return KeyWithheld(ROOM, PROF, session, code, "The sender disabled encrypting", when)


async def test_withheld_keys_alert_the_rupn_once_per_sender_and_day(db: Database) -> None:
    events = [withheld("s1"), withheld("s2"), withheld("s3", NOW + timedelta(hours=3))]
    await process_events(db, SETTINGS, lambda: NOW, INFO, events)
    posts = await _replies(db)
    assert len(posts) == 1
    room, content = posts[0]
    assert room == ROOM  # no curation room: the room where it happened
    expected = alert_text(withheld("s1"), "Salle des professeurs", (ADMIN,))
    assert expected in content
    assert '"msgtype": "m.text"' in content  # it asks the RUPN to act: it can notify
    assert ADMIN in content and "m.mentions" in content

    tomorrow = NOW + timedelta(days=1)
    await process_events(db, SETTINGS, lambda: tomorrow, INFO, [withheld("s4", tomorrow)])
    assert len(await _replies(db)) == 2


async def test_withheld_alert_goes_to_the_curation_room_in_french(db: Database) -> None:
    settings = Settings(admins=frozenset({ADMIN}), tz=TZ, curation_rooms=(CURATION,))
    await process_events(db, settings, lambda: NOW, INFO, [withheld("s1")])
    posts = await _replies(db)
    assert [room for room, _ in posts] == [CURATION]
    assert alert_text(withheld("s1"), "Salle des professeurs", (ADMIN,)) == (
        "@rupn:example.org : je ne peux pas lire les messages chiffrés de @prof:example.org "
        "dans « Salle des professeurs » : son application ne partage ses clés qu’avec les "
        "sessions vérifiées, et elle ne considère pas la mienne comme vérifiée. Je n’ai donc "
        "pas vu ce qui a été écrit (commandes comprises), et je ne peux pas y répondre. Tapez "
        "!statut : si la session du bot y est « NON signée », voyez la section Dépannage du "
        "guide. Sinon, demandez à cette personne de mettre à jour son application, puis de "
        "renvoyer sa commande."
    )
