"""The /metrics and /sante endpoints, served by aiohttp in the bot's own event loop.

Imported by bot/app.py only when `[metrics] enabled`: a bot without supervision never
loads prometheus-client nor aiohttp's server. No thread: both endpoints read the
database through the bot's own connection, between two of its transactions.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from bot.clock import Clock
from bot.config import MetricsSettings
from bot.metrics import SchoolMetrics
from bot.metrics.health import HealthFacts, Thresholds, problem
from bot.metrics.registry import AllSchools, Registry
from bot.schools import School
from bot.storage.database import Database
from bot.storage.supervision import MATRIX, Backlog, SupervisionRepository, every_channel

log = logging.getLogger(__name__)

HEALTHY_TEXT = "ok"
EXPOSITION_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""Prometheus's classic text format, which every Prometheus server reads (what
`generate_latest` writes for these ASCII names)."""


class Supervision:
    """What the endpoints answer: the series, and whether the bot is in service."""

    def __init__(
        self,
        registry: Registry,
        repository: SupervisionRepository,
        clock: Clock,
        schools: School | Sequence[School],
        thresholds: Thresholds,
        started_at: datetime,
    ) -> None:
        self.registry = registry
        self._repository = repository
        self._clock = clock
        self._thresholds = thresholds
        self._started_at = started_at
        self.schools: tuple[School, ...] = ()
        self.school_metrics: SchoolMetrics
        """What the processor, the sender and the mail sender record into: for one School,
        its recorder; for the served schools (the running bot's, which a reload changes),
        each school's, found by the key of the command's or the post's school."""
        if isinstance(schools, School):
            self.serve((schools,))
            self.school_metrics = registry.school(schools)
        else:
            self.serve(schools)
            self.school_metrics = AllSchools(registry)

    def serve(self, schools: Sequence[School]) -> None:
        """The served schools (a reload of the directory changes them): each has its
        series, zero until something happens there."""
        self.schools = tuple(schools)
        for school in self.schools:
            self.registry.school(school)

    async def _facts(self) -> tuple[HealthFacts, dict[str, dict[str, Backlog]]]:
        found = await self._repository.backlog()
        # Every served school's queues, and those of a school no longer served, if any.
        backlogs = {s.key: every_channel({}) for s in self.schools} | found
        oldest = [b[MATRIX].oldest for b in backlogs.values()]
        facts = HealthFacts(
            now=self._clock(),
            started_at=self._started_at,
            last_sync=await self._repository.last_sync(),
            oldest_pending=min((t for t in oldest if t is not None), default=None),
            last_delivery=self.registry.last_delivery,
        )
        return facts, backlogs

    async def health(self) -> str | None:
        """Why the bot is out of service (French), or None."""
        facts, _ = await self._facts()
        return problem(facts, self._thresholds)

    async def exposition(self) -> bytes:
        """The series as Prometheus scrapes them, gauges read now."""
        facts, backlogs = await self._facts()
        self.registry.observe(
            backlogs,
            facts.now,
            facts.sync_lag.total_seconds(),
            healthy=problem(facts, self._thresholds) is None,
        )
        return self.registry.exposition()


def thresholds_of(settings: MetricsSettings) -> Thresholds:
    return Thresholds(
        sync_stuck=timedelta(minutes=settings.sync_stuck_minutes),
        outbox_stuck=timedelta(minutes=settings.outbox_stuck_minutes),
    )


def web_app(supervision: Supervision) -> web.Application:
    async def metrics(_: web.Request) -> web.Response:
        body = await supervision.exposition()
        return web.Response(body=body, headers={"Content-Type": EXPOSITION_TYPE})

    async def sante(_: web.Request) -> web.Response:
        try:
            reason = await supervision.health()
        except Exception:
            log.exception("The health check failed")
            reason = "vérification impossible : erreur interne, voir le journal du bot"
        if reason is None:
            return web.Response(text=HEALTHY_TEXT)
        return web.Response(status=503, text=reason)

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/sante", sante)
    return app


@dataclass
class SupervisionServer:
    supervision: Supervision
    runner: web.AppRunner
    port: int  # the one bound (the configured one, or the system's choice for port 0)

    async def close(self) -> None:
        await self.runner.cleanup()


async def serve(supervision: Supervision, host: str, port: int) -> SupervisionServer:
    """Listen on `host`:`port` (0: any free port); raises OSError if it cannot."""
    runner = web.AppRunner(web_app(supervision), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = int(runner.addresses[0][1])
    return SupervisionServer(supervision, runner, bound)


async def start_supervision(
    settings: MetricsSettings, db: Database, clock: Clock, schools: School | Sequence[School]
) -> SupervisionServer | None:
    """The endpoints of `[metrics]`; None, logged, when the address cannot be listened on
    (the bot serves the schools all the same: Prometheus sees the target down)."""
    supervision = Supervision(
        Registry(clock), SupervisionRepository(db), clock, schools, thresholds_of(settings),
        clock(),
    )  # fmt: skip
    try:
        server = await serve(supervision, settings.host, settings.port)
    except OSError as exc:
        log.error(
            "Supervision disabled: cannot listen on %s (%s); change metrics.listen or free "
            "the port",
            settings.listen,
            os.strerror(exc.errno) if exc.errno else exc,
        )
        return None
    log.info("Supervision on http://%s/metrics and /sante", settings.listen)
    return server
