"""The scheduler wiring: real job names, one DEBUG line per run, failures logged, not raised."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.context import Settings
from bot.router import CommandRegistry, JobSpec
from bot.scheduler import start_scheduler
from bot.storage.database import Database
from handlers import ROUTERS
from tests.unit.fakes import START, FakeBotInfo
from tests.unit.harness import make_units


async def test_jobs_run_at_start_with_their_names_and_one_debug_line(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    ran = asyncio.Event()

    async def works(_: object) -> None:
        ran.set()

    async def fails(_: object) -> None:
        raise RuntimeError("boum")

    settings = Settings(admins=frozenset(), tz=ZoneInfo("Europe/Paris"))
    units = make_units(db, settings, FakeBotInfo(), lambda: START)
    specs = [
        JobSpec("rappels", works, lambda s: 3600.0),
        JobSpec("veille", fails, lambda s: 3600.0),
    ]
    with caplog.at_level(logging.DEBUG, logger="bot.scheduler"):
        scheduler = start_scheduler(specs, units, datetime.now(UTC))
        try:
            await asyncio.wait_for(ran.wait(), 5)
            for _ in range(50):
                if any("Job veille failed" in r.getMessage() for r in caplog.records):
                    break
                await asyncio.sleep(0.02)
            assert [job.name for job in scheduler.get_jobs()] == ["rappels", "veille"]
        finally:
            scheduler.shutdown(wait=False)
    runs = [r for r in caplog.records if r.getMessage().startswith("Job rappels runs")]
    assert [r.levelno for r in runs] == [logging.DEBUG]
    failures = [r for r in caplog.records if "Job veille failed" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is not None


async def test_poll_deadlines_are_checked_at_the_configured_tick(db: Database) -> None:
    registry = CommandRegistry(ROUTERS)
    for settings, tick in (
        (Settings(admins=frozenset(), tz=ZoneInfo("Europe/Paris")), 5.0),
        (Settings(admins=frozenset(), tz=ZoneInfo("Europe/Paris"), poll_check_seconds=1.5), 1.5),
    ):
        units = make_units(db, settings, FakeBotInfo(), lambda: START)
        later = datetime.now(UTC) + timedelta(hours=1)  # nothing runs during the test
        scheduler = start_scheduler(registry.jobs, units, later)
        try:
            job = scheduler.get_job("sondages")
            assert job is not None
            assert job.trigger.interval == timedelta(seconds=tick)
        finally:
            scheduler.shutdown(wait=False)
