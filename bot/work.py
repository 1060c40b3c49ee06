"""Units of work for code that is not a reply to a message: jobs, sender hooks.

A unit is one database transaction with an `Outbox`: the posts it decides are
stored with its writes, then the sender is woken. Work that needs the
network (fetching a feed) does it before opening a unit, never inside one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from bot.clock import Clock
from bot.context import BotInfo, JobContext, Repositories, Settings
from bot.direct import DirectRooms
from bot.messenger import Outbox
from bot.pseudonyms import Pseudonyms
from bot.storage.database import Database


class Units:
    def __init__(
        self,
        db: Database,
        repos: Repositories,
        settings: Settings,
        info: BotInfo,
        clock: Clock,
        wake_sender: Callable[[], None],
        *,
        direct_rooms: DirectRooms | None = None,
        pseudonyms: Pseudonyms | None = None,
    ) -> None:
        self._db = db
        self.repos = repos
        self.settings = settings
        self.info = info
        self.clock = clock
        self._wake_sender = wake_sender
        self.direct_rooms = direct_rooms
        """Opens direct rooms (network): call before a unit, never inside one."""
        self.pseudonyms = pseudonyms if pseudonyms is not None else Pseudonyms(None)
        """Readers' keys; in memory only when none is given (tests, previews)."""

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[JobContext]:
        outbox = Outbox()
        now = self.clock()
        async with self._db.transaction():
            yield JobContext(now, outbox, self.repos, self.settings, self.info, self.pseudonyms)
            posts = outbox.drain()
            await self.repos.posts.queue(posts, now)
        if posts:
            self._wake_sender()
