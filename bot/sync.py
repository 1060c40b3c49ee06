"""The sync loop: fetch a batch, accept or refuse invites, handle, commit, repeat.

It survives homeserver outages (exponential backoff, one warning per
outage, one notice when it is back) and a revoked session (logs in again
once, with the password, then `on_relogin`). An expired account, or a
session that cannot be reopened, ends the loop with the exception: an
operator must act. On stop, an in-flight long poll is cancelled, but a batch
being handled is finished and committed first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol, TypeVar

from bot.domain import Invite, RoomEvent, SyncBatch, UndecryptableEvent
from bot.errors import (
    AccountExpired,
    HomeserverUnreachable,
    MatrixError,
    RateLimited,
    SessionRejected,
)
from bot.processor import EventProcessor
from bot.schools import School
from bot.storage.state import StateRepository

log = logging.getLogger(__name__)

T = TypeVar("T")
LONG_POLL_MS = 30_000
MAX_BACKOFF_S = 30.0


class SyncSource(Protocol):
    async def sync(self, since: str | None, *, full_state: bool, timeout_ms: int) -> SyncBatch: ...

    async def join(self, room_id: str) -> None: ...

    async def leave(self, room_id: str, reason: str | None = None) -> None: ...

    def shares_a_room_with(self, user_id: str) -> bool: ...

    async def relogin(self) -> None: ...

    def decrypt_again(
        self, pending: Iterable[UndecryptableEvent]
    ) -> list[tuple[UndecryptableEvent, RoomEvent | None]]: ...


class SyncLoop:
    def __init__(
        self,
        source: SyncSource,
        processor: EventProcessor,
        state: StateRepository,
        admins: frozenset[str],
        *,
        on_posts_queued: Callable[[], None],
        on_first_sync: Callable[[], None] = lambda: None,
        on_direct_joined: Callable[[str, str], Awaitable[None]] | None = None,
        on_relogin: Callable[[], Awaitable[None]] | None = None,
        claim: Callable[[str, str], Awaitable[str | None]] | None = None,
        long_poll_ms: int = LONG_POLL_MS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._source = source
        self._processor = processor
        self._state = state
        self._admins = admins
        self._on_posts_queued = on_posts_queued
        self._on_first_sync = on_first_sync
        self._on_direct_joined = on_direct_joined
        self._on_relogin = on_relogin
        self._claim = claim  # the room goes to the inviting admin's school; or why not
        self._long_poll_ms = long_poll_ms
        self._sleep = sleep
        self._handled_invites: set[str] = set()

    def serve(self, schools: Sequence[School]) -> None:
        """The directory was reloaded: invites from these schools' RUPN are accepted."""
        self._admins = frozenset().union(*(s.admins for s in schools))

    async def run(self, stop: asyncio.Event) -> None:
        since = await self._state.sync_token()
        # After a restart nio knows no room: the first sync must carry full state.
        full_state = since is not None
        first = True
        backoff = 0.0
        relogged = False
        while not stop.is_set():
            try:
                batch = await _unless_stopped(
                    self._source.sync(
                        since, full_state=full_state, timeout_ms=0 if first else self._long_poll_ms
                    ),
                    stop,
                )
            except (HomeserverUnreachable, RateLimited, MatrixError) as exc:
                if isinstance(exc, AccountExpired):
                    raise  # Tchap accounts expire after 13 months: logging in cannot help
                if isinstance(exc, SessionRejected) and relogged:
                    raise
                if isinstance(exc, SessionRejected):
                    log.warning("Session rejected (%s); opening a new one", exc.errcode)
                    await self._source.relogin()  # LoginRequired propagates: no password
                    relogged = True
                    if self._on_relogin is not None:
                        await self._on_relogin()
                    continue
                if backoff == 0:
                    log.warning("Homeserver unavailable (%s); retrying with backoff", exc)
                backoff = min(MAX_BACKOFF_S, max(1.0, backoff * 2))
                await _unless_stopped(self._sleep(backoff), stop)
                continue
            if batch is None:
                break
            if backoff:
                log.info("Homeserver reachable again")
                backoff = 0.0
            await self._invites(batch.invites)
            recovered = []
            if first or batch.room_keys_arrived:
                # Keys that came late (or while the bot was stopped) unlock kept events.
                recovered = self._source.decrypt_again(await self._processor.undecrypted())
            queued = await self._processor.process(batch, recovered)
            since, full_state = batch.next_batch, False
            if queued:
                self._on_posts_queued()
            if first:
                first = False
                self._on_first_sync()

    async def _invites(self, invites: tuple[Invite, ...]) -> None:
        """Admins' invitations are accepted; so is a colleague's direct conversation.

        A colleague is someone who shares a room with the bot: in a direct room they
        can use the commands open to everyone (`!ateliers`, `!inscription`…). Any
        other invitation is declined, with a French reason the inviter sees.
        """
        for invite in invites:
            if invite.room_id in self._handled_invites:
                continue
            try:
                if invite.inviter in self._admins:
                    refusal = (
                        await self._claim(invite.room_id, invite.inviter) if self._claim else None
                    )
                    if refusal is not None:
                        log.warning("Declining invite to %s from %s: room of another school",
                                    invite.room_id, invite.inviter)  # fmt: skip
                        await self._source.leave(invite.room_id, refusal)
                        self._handled_invites.add(invite.room_id)
                        continue
                    log.info("Joining %s (invited by %s)", invite.room_id, invite.inviter)
                    await self._source.join(invite.room_id)
                elif invite.is_direct and self._source.shares_a_room_with(invite.inviter):
                    log.info("Joining the direct room %s of %s", invite.room_id, invite.inviter)
                    await self._source.join(invite.room_id)
                    self._handled_invites.add(invite.room_id)
                    if self._on_direct_joined is not None:
                        await self._on_direct_joined(invite.room_id, invite.inviter)
                else:
                    log.warning(
                        "Declining invite to %s from %s: not an admin nor a colleague's "
                        "direct room",
                        invite.room_id,
                        invite.inviter,
                    )
                    await self._source.leave(invite.room_id, DECLINE_REASON)
            except HomeserverUnreachable as exc:
                log.warning("Could not answer invite to %s yet: %s", invite.room_id, exc)
            except MatrixError as exc:
                # Permanent (room gone, forbidden): do not try again at every sync.
                log.warning("Could not answer invite to %s: %s", invite.room_id, exc)
                self._handled_invites.add(invite.room_id)


DIRECT_WELCOME = (
    "Bonjour ! Ici, en privé, vous pouvez utiliser les commandes ouvertes à tous : "
    "!ateliers (les prochains ateliers et cafés numériques), !inscription <n°>, "
    "!desinscription <n°>, et !aide pour la liste complète. Les annonces et les sondages se "
    "font dans les salons de l’établissement."
)
"""Sent once in a colleague's direct room, when the bot joins it."""

DECLINE_REASON = (
    "rupn-bot rejoint les salons où l’invitent les référents numériques (RUPN) de "
    "l’établissement, et les conversations privées de leurs collègues. Demandez à votre RUPN "
    "de l’ajouter à un salon de l’établissement ; vous pourrez ensuite lui écrire en privé."
)


async def _unless_stopped(call: Awaitable[T], stop: asyncio.Event) -> T | None:
    """Await `call` unless `stop` is set first; then cancel it and return None."""
    task = asyncio.ensure_future(call)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None
