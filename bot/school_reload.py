"""A reload of the établissements' directory, carried into the running engine.

`SchoolDirectory` (bot/schools.py) only re-reads the CSV file. Here a successful reload
also records the new schools in the database (their rooms and rows reference them), then
hands the new list to whoever serves schools (the processor, the jobs' units, the
supervision): from then on, their RUPN are obeyed and their jobs run. A reload with errors
changes nothing. SIGHUP and ``!etablissements recharger`` both come here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from bot.clock import Clock
from bot.schools import School, SchoolDirectory, SchoolsReload
from bot.storage.database import Database
from bot.storage.rooms import RoomsRepository

log = logging.getLogger(__name__)

Serve = Callable[[tuple[School, ...]], None]


async def register_schools(db: Database, schools: Sequence[School], now: datetime) -> None:
    """The served schools, recorded (their rows reference them), names kept up to date."""
    async with db.transaction():
        await _record(db, schools, now)


async def _record(db: Database, schools: Sequence[School], now: datetime) -> None:
    rooms = RoomsRepository(db)
    for school in schools:
        await rooms.register_school(school.key, school.name, now)


class EngineSchools:
    """The running bot's directory: what `!etablissements` reads, what a reload replaces."""

    def __init__(
        self, directory: SchoolDirectory, db: Database, clock: Clock, admins: frozenset[str]
    ) -> None:
        self._directory = directory
        self._db = db
        self._clock = clock
        self.admins = admins
        self._serves: list[Serve] = []
        self._lock = asyncio.Lock()  # one reload at a time (a SIGHUP during a command's)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def schools(self) -> tuple[School, ...]:
        return self._directory.schools

    def follow(self, serve: Serve) -> None:
        """`serve` gets each new list of schools, after they are recorded."""
        self._serves.append(serve)

    async def reload(self) -> SchoolsReload:
        """Within the caller's transaction (a command's batch, or `reload_and_log`'s)."""
        async with self._lock:
            outcome = self._directory.reload()
            if outcome.schools is not None:
                await _record(self._db, outcome.schools, self._clock())
                for serve in self._serves:
                    serve(outcome.schools)
            return outcome

    async def reload_and_log(self) -> None:
        try:
            async with self._db.transaction():
                outcome = await self.reload()
        except Exception:
            log.exception("Reloading the directory of établissements failed")
            return
        if outcome.errors:
            log.error("%s", outcome.message)
        else:
            log.info("%s", outcome.message)

    def request_reload(self) -> None:
        """What SIGHUP does (a signal handler cannot wait): reload soon, and log it."""
        task = asyncio.get_running_loop().create_task(self.reload_and_log())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
