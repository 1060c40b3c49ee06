"""The sender: delivers queued posts one at a time, at a steady pace.

One worker, one post at a time, so there is never a thundering herd of retries:
a 429 pauses the whole queue for the `retry_after_ms` the homeserver asked;
an outage pauses it with exponential backoff; a permanent refusal marks the
post failed and moves on. Which post goes next (priority, round-robin between
the people who caused them, never before the post one refers to) is decided by
`PostsRepository.next_pending`, after the pacing pause. Each post keeps its
transaction id across retries and restarts, so the homeserver never stores it twice.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bot.clock import Clock
from bot.errors import HomeserverUnreachable, MatrixError, RateLimited, SessionRejected
from bot.messenger import UPLOAD_KEY
from bot.metrics import NO_METRICS, SchoolMetrics
from bot.storage.database import Database
from bot.storage.posts import Post, PostsRepository

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0
MAX_TRANSIENT_ATTEMPTS = 8
# errcodes worth retrying: the homeserver or the bot's room state may recover.
TRANSIENT_ERRCODES = frozenset({"M_UNKNOWN", "M_LOCAL", "M_UNKNOWN_ROOM"})

Sleep = Callable[[float], Awaitable[None]]


class Transport(Protocol):
    async def send_event(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str: ...

    async def redact(self, room_id: str, event_id: str, txn_id: str, reason: str | None) -> str: ...

    async def upload_file(
        self, room_id: str, data: bytes, mimetype: str, filename: str
    ) -> dict[str, Any]: ...


class Pacer:
    """At most `rate` calls per second, and none before a 429's retry time."""

    def __init__(
        self,
        rate: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self._monotonic = monotonic
        self._sleep = sleep
        self._next = 0.0

    async def wait(self) -> None:
        delay = self._next - self._monotonic()
        if delay > 0:
            await self._sleep(delay)
        self._next = self._monotonic() + self._interval

    def hold(self, seconds: float) -> None:
        """Nothing goes out for `seconds` (the homeserver's retry_after)."""
        self._next = max(self._next, self._monotonic() + seconds)


class Sender:
    def __init__(
        self,
        db: Database,
        posts: PostsRepository,
        transport: Transport,
        clock: Clock,
        pacer: Pacer,
        *,
        sleep: Sleep = asyncio.sleep,
        on_settled: Callable[[Post], Awaitable[None]] | None = None,
        metrics: SchoolMetrics = NO_METRICS,
    ) -> None:
        self._db = db
        self._posts = posts
        self._transport = transport
        self._metrics = metrics
        self._clock = clock
        self._pacer = pacer
        self._sleep = sleep
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._backoff = 0.0
        self._on_settled = on_settled
        self.rate_limited = 0

    def when_settled(self, hook: Callable[[Post], Awaitable[None]]) -> None:
        """Call `hook` after each post is sent or has failed for good."""
        self._on_settled = hook

    def wake(self) -> None:
        """New posts were committed."""
        self._wake.set()

    async def wait_idle(self) -> None:
        """Until the queue is empty (used at shutdown and by tests)."""
        self._wake.set()
        self._idle.clear()
        await self._idle.wait()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if await self._next() is None:
                self._idle.set()
                self._wake.clear()
                await first_of(self._wake.wait(), stop.wait())
                continue
            await self._pacer.wait()
            # Chosen after the pause: what was queued meanwhile may come first (the
            # RUPN's announcement during a flood of replies, see PostsRepository).
            post = await self._next()
            if post is not None:
                await self._deliver(post)

    async def _next(self) -> Post | None:
        async with self._db.transaction():
            return await self._posts.next_pending()

    async def _deliver(self, post: Post) -> None:
        try:
            event_id, uploaded = await self._send(post)
        except RateLimited as exc:
            self.rate_limited += 1
            log.info("Rate limited; pausing the queue for %d ms", exc.retry_after_ms)
            self._pacer.hold(exc.retry_after_ms / 1000)
            return
        except (HomeserverUnreachable, SessionRejected) as exc:
            # An outage, or a token the sync loop is replacing: the post waits, it is not lost.
            self._backoff = min(MAX_BACKOFF_S, max(1.0, self._backoff * 2))
            log.warning("Cannot send now (%s); retrying in %.0f s", exc, self._backoff)
            await self._sleep(self._backoff)
            return
        except MatrixError as exc:
            await self._refused(post, exc.errcode)
            return
        except Exception:
            log.exception("Unexpected failure sending post %d", post.id)
            await self._refused(post, "M_UNEXPECTED")
            return
        self._backoff = 0.0
        async with self._db.transaction():
            # A file is kept as its location once sent, never as the payload it carried.
            await self._posts.mark_sent(post.id, event_id, self._clock(), content=uploaded)
        self._metrics.of(post.school).post_sent(post)
        await self._settled(post)

    async def _settled(self, post: Post) -> None:
        if self._on_settled is None:
            return
        try:
            await self._on_settled(post)
        except Exception:
            log.exception("Hook after post %d failed", post.id)

    async def _refused(self, post: Post, errcode: str) -> None:
        transient = errcode in TRANSIENT_ERRCODES or errcode == "M_UNEXPECTED"
        async with self._db.transaction():
            if transient and post.attempts + 1 < MAX_TRANSIENT_ATTEMPTS:
                await self._posts.count_attempt(post.id)
                retry = True
            else:
                await self._posts.mark_failed(post.id, errcode)
                retry = False
        if retry:
            log.warning("Post %d refused (%s); will retry", post.id, errcode)
            await self._sleep(min(MAX_BACKOFF_S, 2.0 ** (post.attempts + 1)))
        else:
            log.error("Post %d to %s failed for good: %s", post.id, post.room_id, errcode)
            self._metrics.of(post.school).post_failed(post)
            await self._settled(post)

    async def _upload(self, room_id: str, content: dict[str, Any]) -> dict[str, Any]:
        """Upload the file the post carries; the post's content gets its (mxc) location."""
        upload = content[UPLOAD_KEY]
        data = base64.b64decode(upload["data"])
        location = await self._transport.upload_file(
            room_id, data, upload["mimetype"], str(content.get("body", "fichier"))
        )
        return {**{k: v for k, v in content.items() if k != UPLOAD_KEY}, **location}

    async def _send(self, post: Post) -> tuple[str, dict[str, Any] | None]:
        """The event id; and the content as sent when a file was uploaded for it."""
        target = post.target_event_id
        if post.target_txn_id is not None:
            async with self._db.transaction():
                target = await self._posts.event_id_for_txn(post.target_txn_id)
            if target is None:
                raise MatrixError("M_TARGET_NOT_SENT", "the post this one refers to was not sent")
        if post.action == "redact":
            if target is None:
                raise MatrixError("M_NO_TARGET", "a redaction needs a target event")
            redaction = await self._transport.redact(
                post.room_id, target, post.txn_id, post.content.get("reason")
            )
            return redaction, None
        content = post.content
        uploaded = None
        if UPLOAD_KEY in content:
            content = uploaded = await self._upload(post.room_id, content)
        if target is not None and post.target_txn_id is not None:
            content = {
                **content,
                "m.relates_to": {**content.get("m.relates_to", {}), "event_id": target},
            }
        event_id = await self._transport.send_event(
            post.room_id, post.event_type, content, post.txn_id
        )
        return event_id, uploaded


async def first_of(*awaitables: Awaitable[Any]) -> None:
    """Wait until the first of `awaitables` finishes; cancel the others."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
