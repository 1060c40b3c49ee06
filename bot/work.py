"""Units of work for code that is not a reply to a message: jobs, sender hooks.

A unit is one database transaction with an `Outbox`: the posts it decides are
stored with its writes, then the sender is woken. Work that needs the
network (fetching a feed) does it before opening a unit, never inside one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from bot.clock import Clock
from bot.context import BotInfo, JobContext, Repositories, Settings
from bot.direct import DirectRooms
from bot.messenger import Outbox, stamped
from bot.pseudonyms import Pseudonyms
from bot.schools import School
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
        schools: Sequence[School] | None = None,
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
        self.schools = tuple(schools) if schools else (settings.school,)
        """The établissements served; these units are for `settings.school`."""

    def serve(self, schools: Sequence[School]) -> None:
        """The directory was reloaded: the per-school jobs run for these schools."""
        self.schools = tuple(schools)

    def for_school(self, school: School) -> Units:
        """Units of one établissement: its settings, repositories bound to it."""
        if school == self.settings.school:
            return self
        return Units(
            self._db,
            self.repos.for_school(school.key),
            self.settings.for_school(school),
            self.info,
            self.clock,
            self._wake_sender,
            direct_rooms=self.direct_rooms,
            pseudonyms=self.pseudonyms,
            schools=self.schools,
        )

    def each_school(self) -> list[Units]:
        """One Units per établissement, for the jobs that run per school."""
        return [self.for_school(s) for s in self.schools]

    def for_key(self, key: str) -> Units | None:
        """The units of the school with this key (a post's), if it is still served; these
        units for a post of their own (a direct room's welcome)."""
        if key == self.settings.school.key:
            return self
        school = next((s for s in self.schools if s.key == key), None)
        return self.for_school(school) if school is not None else None

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[JobContext]:
        outbox = Outbox()
        now = self.clock()
        async with self._db.transaction():
            yield JobContext(now, outbox, self.repos, self.settings, self.info, self.pseudonyms)
            school = self.settings.school.key
            posts = await stamped(outbox.drain(), self.repos.rooms, school)
            await self.repos.posts.queue(posts, now)
        if posts:
            self._wake_sender()
