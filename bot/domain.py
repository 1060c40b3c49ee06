"""Small frozen types that the Matrix adapter hands to the rest of the bot.

They carry only what handlers need, so that nothing outside `bot/matrix.py`
depends on nio's classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A text message (m.text) sent by someone in a room the bot is in."""

    room_id: str
    event_id: str
    sender: str
    body: str
    timestamp: datetime
    msgtype: str = "m.text"
    reply_to: str | None = None
    thread_root: str | None = None  # the thread it was sent in, if any


@dataclass(frozen=True, slots=True)
class IncomingReaction:
    """An m.annotation reaction (`key`, e.g. 👍) to `target_event_id`."""

    room_id: str
    event_id: str
    sender: str
    target_event_id: str
    key: str
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class IncomingPollResponse:
    """An MSC3381 poll response, in its unstable or stable shape."""

    room_id: str
    event_id: str
    sender: str
    poll_event_id: str
    answer_ids: tuple[str, ...]
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class IncomingRedaction:
    """Someone redacted `redacted_event_id` (e.g. took back a reaction)."""

    room_id: str
    event_id: str
    sender: str
    redacted_event_id: str
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class IncomingReceipt:
    """A public read receipt: `user_id` has read up to `event_id`."""

    room_id: str
    event_id: str
    user_id: str
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    """Any other room event the bot may care about later (kept raw)."""

    room_id: str
    event_id: str
    sender: str
    event_type: str
    content: dict[str, Any] = field(hash=False)
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class UndecryptableEvent:
    """An encrypted event whose room key the bot does not have (yet).

    The processor keeps it, raw, until the key arrives (a late or forwarded
    key): it is then decrypted and handled once, like any other event.
    """

    room_id: str
    event_id: str
    sender: str
    session_id: str
    timestamp: datetime
    source: dict[str, Any] = field(hash=False)


@dataclass(frozen=True, slots=True)
class KeyWithheld:
    """A sender's device refused the bot a room key (`m.room_key.withheld`).

    `code` is the spec's reason code (`m.unverified`, `m.blacklisted`…);
    `event_id` is empty: the notice is about a key, not about one event.
    """

    room_id: str
    sender: str
    session_id: str
    code: str
    reason: str
    timestamp: datetime
    event_id: str = ""


RoomEvent = (
    IncomingMessage
    | IncomingReaction
    | IncomingPollResponse
    | IncomingRedaction
    | IncomingReceipt
    | IncomingEvent
    | UndecryptableEvent
    | KeyWithheld
)


@dataclass(frozen=True, slots=True)
class Invite:
    """The bot was invited to `room_id` by `inviter`."""

    room_id: str
    inviter: str
    is_direct: bool = False  # a one-to-one conversation the inviter opened with the bot


@dataclass(frozen=True, slots=True)
class SyncBatch:
    """What one /sync brought, in timeline order, ready to be handled.

    `events` excludes the bot's own events and anything that happened in a
    room before the bot joined it. `next_batch` must be saved only after the
    events are handled and committed.
    """

    next_batch: str
    events: tuple[RoomEvent, ...]
    invites: tuple[Invite, ...]
    initial: bool
    room_keys_arrived: bool = False  # worth trying the undecryptable events again
