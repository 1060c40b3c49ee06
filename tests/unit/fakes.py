"""Test doubles for unit tests: a recording messenger, bot info, a scriptable
transport for the sender, and clocks that run on virtual time."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.messenger import MAIL_ROOM, MailEnvelope, Ref
from bot.router import ParseEnv

START = datetime(2026, 11, 22, 18, 42, tzinfo=UTC)
PARSE_ENV = ParseEnv(START, ZoneInfo("Europe/Paris"))
"""What argument parsers know in unit tests: the moment of the command and Paris time."""
"""A fixed instant (dimanche 22 novembre 2026, 19h42 à Paris)."""


# --- Messenger ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SentMessage:
    """A `Messenger.send` call."""

    room: str
    text: str
    html: str | None
    markdown: bool
    mentions: tuple[str, ...]
    reply_to: str | None
    kind: str
    ref: Ref | None
    txn_id: str


@dataclass(frozen=True)
class SentFile:
    """A `Messenger.send_file` call."""

    room: str
    filename: str
    data: bytes
    mimetype: str
    kind: str
    ref: Ref | None
    txn_id: str


@dataclass(frozen=True)
class SentEvent:
    """A `Messenger.send_event` call."""

    room: str
    event_type: str
    content: dict[str, Any] = field(hash=False)
    kind: str = "message"
    ref: Ref | None = None
    txn_id: str = ""
    relates_to_txn: str | None = None


@dataclass(frozen=True)
class SentReaction:
    """A `Messenger.react` call."""

    room: str
    event_id: str
    key: str
    kind: str
    txn_id: str


@dataclass(frozen=True)
class SentRedaction:
    """A `Messenger.redact` call."""

    room: str
    event_id: str | None
    target_txn_id: str | None
    reason: str | None
    kind: str
    txn_id: str


@dataclass(frozen=True)
class SentMail:
    """A `Messenger.send_mail` call (`room` is always MAIL_ROOM: a mail goes to no room)."""

    room: str
    subject: str
    text: str
    html: str
    kind: str
    ref: Ref | None
    txn_id: str
    envelope: MailEnvelope | None = None


MessengerCall = SentMessage | SentEvent | SentReaction | SentRedaction | SentFile | SentMail


class FakeMessenger:
    """A `bot.messenger.Messenger` that records every call and returns fake txn ids."""

    def __init__(self) -> None:
        self.calls: list[MessengerCall] = []
        self._ids = itertools.count(1)

    def _txn(self) -> str:
        return f"faketxn{next(self._ids)}"

    @property
    def messages(self) -> list[SentMessage]:
        return [c for c in self.calls if isinstance(c, SentMessage)]

    @property
    def mails(self) -> list[SentMail]:
        return [c for c in self.calls if isinstance(c, SentMail)]

    def send(
        self,
        room_id: str,
        text: str,
        *,
        html: str | None = None,
        markdown: bool = False,
        mentions: Sequence[str] = (),
        reply_to: str | None = None,
        thread_root: str | None = None,
        kind: str = "message",
        ref: Ref | None = None,
    ) -> str:
        txn_id = self._txn()
        self.calls.append(
            SentMessage(room_id, text, html, markdown, tuple(mentions), reply_to, kind, ref, txn_id)
        )
        return txn_id

    def send_event(
        self,
        room_id: str,
        event_type: str,
        content: dict[str, Any],
        *,
        kind: str,
        ref: Ref | None = None,
        relates_to_txn: str | None = None,
    ) -> str:
        txn_id = self._txn()
        self.calls.append(
            SentEvent(room_id, event_type, dict(content), kind, ref, txn_id, relates_to_txn)
        )
        return txn_id

    def react(self, room_id: str, event_id: str, key: str, *, kind: str = "reaction") -> str:
        txn_id = self._txn()
        self.calls.append(SentReaction(room_id, event_id, key, kind, txn_id))
        return txn_id

    def send_file(
        self,
        room_id: str,
        filename: str,
        data: bytes,
        mimetype: str,
        *,
        kind: str,
        ref: Ref | None = None,
    ) -> str:
        txn_id = self._txn()
        self.calls.append(SentFile(room_id, filename, data, mimetype, kind, ref, txn_id))
        return txn_id

    def redact(
        self,
        room_id: str,
        *,
        event_id: str | None = None,
        txn_id: str | None = None,
        reason: str | None = None,
        kind: str = "redaction",
    ) -> str:
        own = self._txn()
        self.calls.append(SentRedaction(room_id, event_id, txn_id, reason, kind, own))
        return own

    def send_mail(
        self,
        subject: str,
        text: str,
        html: str,
        *,
        kind: str,
        ref: Ref | None = None,
        resends: str | None = None,
        envelope: MailEnvelope | None = None,
    ) -> str:
        txn_id = self._txn()
        self.calls.append(SentMail(MAIL_ROOM, subject, text, html, kind, ref, txn_id, envelope))
        return txn_id


# --- Bot info ----------------------------------------------------------------------------


@dataclass
class FakeBotInfo:
    """A `bot.context.BotInfo` with fixed facts."""

    started_at: datetime = START
    rooms: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    identity: str = "session du bot signée par son compte (signature croisée)"

    def member_ids(self, room_id: str) -> list[str]:
        return list(self.members.get(room_id, []))

    def joined_rooms(self) -> list[str]:
        return list(self.rooms)

    def room_name(self, room_id: str) -> str:
        return self.names.get(room_id, room_id)

    def find_room(self, reference: str) -> str | None:
        if reference in self.rooms:
            return reference
        return self.aliases.get(reference)

    def identity_summary(self) -> str:
        return self.identity


# --- Time --------------------------------------------------------------------------------


class FakeClock:
    """A `bot.clock.Clock` that stands still until told to move."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def fixed_clock(now: datetime = START) -> FakeClock:
    """A clock stopped at `now`."""
    return FakeClock(now)


class VirtualTime:
    """A `sleep` / `monotonic` pair on virtual time: sleeping advances it at once.

    `sleep` still yields to the event loop, so other tasks run as they would.
    `clock` gives the matching wall-clock datetime, starting at `START`.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def clock(self) -> datetime:
        return START + timedelta(seconds=self.now)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


# --- Transport ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TransportCall:
    """One request the sender made, at virtual time `at`."""

    method: str  # "send_event" or "redact"
    room_id: str
    txn_id: str
    at: float
    event_type: str | None = None
    content: dict[str, Any] | None = field(default=None, hash=False)
    target: str | None = None
    reason: str | None = None


Outcome = str | BaseException
"""What one transport call does: return this event id, or raise this exception."""


class FakeTransport:
    """A `bot.sender.Transport` whose answers are scripted call by call.

    Each call takes the next scripted outcome; once the script is exhausted, calls
    succeed with a fresh event id `$evN`.
    """

    def __init__(self, time: VirtualTime, script: Iterable[Outcome] = ()) -> None:
        self._time = time
        self._script: deque[Outcome] = deque(script)
        self._ids = itertools.count(1)
        self.calls: list[TransportCall] = []
        self.uploads: list[tuple[str, bytes, str, str]] = []
        self.called = asyncio.Event()
        """Set at the first call."""
        self.event_ids: list[str | None] = []
        """Per call: the event id returned, or None when the call raised."""

    def script(self, *outcomes: Outcome) -> None:
        self._script.extend(outcomes)

    @property
    def txn_ids(self) -> list[str]:
        return [c.txn_id for c in self.calls]

    @property
    def times(self) -> list[float]:
        return [c.at for c in self.calls]

    def _answer(self) -> str:
        self.called.set()
        outcome = self._script.popleft() if self._script else f"$ev{next(self._ids)}"
        if isinstance(outcome, BaseException):
            self.event_ids.append(None)
            raise outcome
        self.event_ids.append(outcome)
        return outcome

    async def send_event(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str:
        self.calls.append(
            TransportCall(
                "send_event", room_id, txn_id, self._time.now, event_type=event_type,
                content=content,
            )
        )  # fmt: skip
        await asyncio.sleep(0)
        return self._answer()

    async def redact(self, room_id: str, event_id: str, txn_id: str, reason: str | None) -> str:
        self.calls.append(
            TransportCall("redact", room_id, txn_id, self._time.now, target=event_id, reason=reason)
        )
        await asyncio.sleep(0)
        return self._answer()

    async def upload_file(
        self, room_id: str, data: bytes, mimetype: str, filename: str
    ) -> dict[str, Any]:
        self.uploads.append((room_id, data, mimetype, filename))
        await asyncio.sleep(0)
        return {"url": f"mxc://test/{len(self.uploads)}"}
