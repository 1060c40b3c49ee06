"""apscheduler wiring only: features declare jobs, this module runs them.

Jobs run every few seconds and look in the database for what is due, so
anything that fell due while the bot was down runs at the first tick after
start-up, and nothing depends on the scheduler's own memory.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.router import JobSpec
from bot.work import Units

log = logging.getLogger(__name__)


def _logged(spec: JobSpec, units: Units) -> Callable[[], Awaitable[None]]:
    """The job, logging one DEBUG line per run and its failures (never raising)."""

    async def run() -> None:
        log.debug("Job %s runs", spec.name)
        for scoped in units.each_school() if spec.per_school else [units]:
            try:
                await spec.run(scoped)
            except Exception:
                log.exception(
                    "Job %s failed for school %r; it will run again at its next tick",
                    spec.name,
                    scoped.settings.school.key,
                )

    run.__qualname__ = run.__name__ = f"job:{spec.name}"
    return run


def start_scheduler(specs: Sequence[JobSpec], units: Units, now: datetime) -> AsyncIOScheduler:
    """Start every job now, then at its interval; returns the running scheduler."""
    scheduler = AsyncIOScheduler(timezone=units.settings.tz)
    for spec in specs:
        scheduler.add_job(
            _logged(spec, units),
            IntervalTrigger(seconds=spec.every_seconds(units.settings), timezone=units.settings.tz),
            id=spec.name,
            name=spec.name,
            max_instances=1,
            coalesce=True,
            next_run_time=now,
        )
    scheduler.start()
    return scheduler
