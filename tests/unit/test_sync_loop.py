"""SyncLoop against a scripted sync source: invites, outages, token rejection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.context import Repositories, Settings
from bot.domain import Invite, RoomEvent, SyncBatch, UndecryptableEvent
from bot.errors import AccountExpired, HomeserverUnreachable, SessionRejected, SessionRevoked
from bot.processor import EventProcessor
from bot.router import CommandRegistry
from bot.schools import School
from bot.storage.database import Database
from bot.storage.rooms import RoomsRepository
from bot.storage.state import StateRepository
from bot.sync import DECLINE_REASON, SyncLoop
from bot.tenancy import ROOM_OF_ANOTHER_SCHOOL_TEXT, Tenancy
from tests.unit.fakes import START, FakeBotInfo, fixed_clock

ADMIN = "@rupn:test"


class ScriptedSource:
    """Answers each /sync with the next scripted batch or exception."""

    def __init__(self, script: list[SyncBatch | Exception], stop: asyncio.Event) -> None:
        self.script = script
        self.stop = stop
        self.since: list[str | None] = []
        self.full_state: list[bool] = []
        self.joined: list[str] = []
        self.left: list[str] = []
        self.relogins = 0
        self.reasons: list[str | None] = []
        self.colleagues: set[str] = set()
        self.decryptable: dict[str, RoomEvent] = {}

    async def sync(self, since: str | None, *, full_state: bool, timeout_ms: int) -> SyncBatch:
        self.since.append(since)
        self.full_state.append(full_state)
        if not self.script:
            self.stop.set()
            await asyncio.sleep(3600)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    async def join(self, room_id: str) -> None:
        self.joined.append(room_id)

    async def leave(self, room_id: str, reason: str | None = None) -> None:
        self.left.append(room_id)
        self.reasons.append(reason)

    def shares_a_room_with(self, user_id: str) -> bool:
        return user_id in self.colleagues

    async def relogin(self) -> None:
        self.relogins += 1

    def decrypt_again(
        self, pending: Iterable[UndecryptableEvent]
    ) -> list[tuple[UndecryptableEvent, RoomEvent | None]]:
        """Events whose key "arrived": those listed in `self.decryptable`."""
        return [
            (p, self.decryptable[p.event_id]) for p in pending if p.event_id in self.decryptable
        ]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "bot.db")
    yield database
    await database.close()


def _loop(
    db: Database,
    source: ScriptedSource,
    sleeps: list[float],
    on_direct_joined: Callable[[str, str], Awaitable[None]] | None = None,
    on_relogin: Callable[[], Awaitable[None]] | None = None,
    *,
    admins: frozenset[str] = frozenset({ADMIN}),
    claim: Callable[[str, str], Awaitable[str | None]] | None = None,
) -> SyncLoop:
    repos = Repositories.open(db)
    processor = EventProcessor(
        db,
        repos,
        StateRepository(db),
        CommandRegistry([]),
        Settings(admins=frozenset({ADMIN}), tz=ZoneInfo("Europe/Paris")),
        fixed_clock(),
        FakeBotInfo(),
    )

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return SyncLoop(
        source, processor, StateRepository(db), admins,
        on_posts_queued=lambda: None, sleep=fake_sleep, on_direct_joined=on_direct_joined,
        on_relogin=on_relogin, claim=claim,
    )  # fmt: skip


def _batch(token: str, *invites: Invite, initial: bool = False) -> SyncBatch:
    return SyncBatch(token, (), invites, initial)


async def test_invites_from_admins_only_and_token_saved(db: Database) -> None:
    stop = asyncio.Event()
    source = ScriptedSource(
        [
            _batch("t1", Invite("!staff:test", ADMIN), Invite("!other:test", "@prof:test"),
                   initial=True),
            _batch("t2"),
        ],
        stop,
    )  # fmt: skip
    await _loop(db, source, []).run(stop)
    assert source.joined == ["!staff:test"]
    assert source.left == ["!other:test"]
    assert source.since == [None, "t1", "t2"]
    assert await StateRepository(db).sync_token() == "t2"


async def test_a_colleague_direct_room_is_joined_and_a_stranger_declined(db: Database) -> None:
    stop = asyncio.Event()
    source = ScriptedSource(
        [
            _batch(
                "t1",
                Invite("!dm-collegue:test", "@collegue:test", is_direct=True),
                Invite("!dm-inconnu:test", "@inconnu:test", is_direct=True),
                Invite("!salon:test", "@collegue:test"),  # a room, not a conversation
                initial=True,
            ),
        ],
        stop,
    )
    source.colleagues = {"@collegue:test"}
    welcomed: list[tuple[str, str]] = []

    async def welcome(room_id: str, user_id: str) -> None:
        welcomed.append((room_id, user_id))

    await _loop(db, source, [], welcome).run(stop)
    assert source.joined == ["!dm-collegue:test"]
    assert welcomed == [("!dm-collegue:test", "@collegue:test")]
    assert source.left == ["!dm-inconnu:test", "!salon:test"]
    assert source.reasons == [DECLINE_REASON, DECLINE_REASON]
    assert DECLINE_REASON.startswith("rupn-bot rejoint les salons où l’invitent les référents")


async def test_restart_uses_saved_token_with_full_state(db: Database) -> None:
    async with db.transaction():
        await StateRepository(db).save_sync_token("saved")
    stop = asyncio.Event()
    source = ScriptedSource([_batch("t3")], stop)
    await _loop(db, source, []).run(stop)
    assert source.since[:2] == ["saved", "t3"]
    assert source.full_state[:2] == [True, False]


async def test_outage_backs_off_exponentially_then_resumes(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    stop = asyncio.Event()
    down = [HomeserverUnreachable("ClientConnectorError") for _ in range(7)]
    source = ScriptedSource([_batch("t1", initial=True), *down, _batch("t2")], stop)
    sleeps: list[float] = []
    with caplog.at_level(logging.INFO, logger="bot.sync"):
        await _loop(db, source, sleeps).run(stop)
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("Homeserver unavailable" in m for m in messages) == 1
    assert sum("Homeserver reachable again" in m for m in messages) == 1
    assert await StateRepository(db).sync_token() == "t2"


async def test_rejected_token_logs_in_again_once(db: Database) -> None:
    stop = asyncio.Event()
    source = ScriptedSource(
        [SessionRejected("M_UNKNOWN_TOKEN", "gone"), _batch("t1", initial=True)], stop
    )
    await _loop(db, source, []).run(stop)
    assert source.relogins == 1

    stop = asyncio.Event()
    twice: list[SyncBatch | Exception] = [
        SessionRejected("M_UNKNOWN_TOKEN", "gone"),
        SessionRejected("M_UNKNOWN_TOKEN", "x"),
    ]
    source = ScriptedSource(twice, stop)
    with pytest.raises(SessionRejected):
        await _loop(db, source, []).run(stop)


async def test_expired_account_ends_the_loop_without_logging_in(db: Database) -> None:
    """Logging in cannot renew an account: the operator must, so the bot stops (exit 77)."""
    stop = asyncio.Event()
    expired = AccountExpired("ORG_MATRIX_EXPIRED_ACCOUNT", "expired")
    source = ScriptedSource([expired, _batch("t1", initial=True)], stop)
    sleeps: list[float] = []
    with pytest.raises(AccountExpired):
        await _loop(db, source, sleeps).run(stop)
    assert source.relogins == 0
    assert sleeps == []


async def test_a_new_session_is_announced_once(db: Database) -> None:
    stop = asyncio.Event()
    source = ScriptedSource(
        [SessionRevoked("M_UNKNOWN_TOKEN", "device deleted"), _batch("t1", initial=True)], stop
    )
    announced: list[int] = []

    async def after_relogin() -> None:
        announced.append(source.relogins)

    await _loop(db, source, [], on_relogin=after_relogin).run(stop)
    assert announced == [1]


async def test_an_invite_into_a_room_of_another_school_is_declined_in_french(
    db: Database,
) -> None:
    """The room goes to the inviting RUPN's school; another school's RUPN cannot take it."""
    school_a = School("0860001J", "Collège A", frozenset({ADMIN}), "A")
    school_b = School("0170002K", "Lycée B", frozenset({"@rupn-b:test"}), "B")
    tenancy = Tenancy((school_a, school_b), RoomsRepository(db))

    async def claim(room_id: str, inviter: str) -> str | None:
        async with db.transaction():
            return await tenancy.claim(room_id, inviter, START)

    stop = asyncio.Event()
    source = ScriptedSource(
        [
            _batch("t1", Invite("!salle-a:test", ADMIN), initial=True),
            _batch("t2", Invite("!salle-a:test", "@rupn-b:test"), Invite("!salle-b:test",
                   "@rupn-b:test")),
        ],
        stop,
    )  # fmt: skip
    await _loop(db, source, [], admins=school_a.admins | school_b.admins, claim=claim).run(stop)
    assert source.joined == ["!salle-a:test", "!salle-b:test"]
    assert source.left == ["!salle-a:test"]
    assert source.reasons == [ROOM_OF_ANOTHER_SCHOOL_TEXT]
    assert await RoomsRepository(db).owned() == {
        "!salle-a:test": "0860001J",
        "!salle-b:test": "0170002K",
    }
