"""/metrics and /sante served on a loopback port, under an injected clock."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.config import MetricsSettings
from bot.messenger import Outbox
from bot.metrics.health import french_duration
from bot.metrics.registry import Registry
from bot.metrics.server import (
    Supervision,
    SupervisionServer,
    serve,
    start_supervision,
    thresholds_of,
)
from bot.schools import IMPLICIT_KEY, School
from bot.storage.database import Database
from bot.storage.posts import Post, PostsRepository
from bot.storage.state import StateRepository
from bot.storage.supervision import SupervisionRepository
from tests.unit.fakes import START, FakeClock

ROOM = "!salle-des-profs:example.org"
SCHOOL = School(key=IMPLICIT_KEY, name="", admins=frozenset({"@rupn:example.org"}), zone=None)
MINUTE = 60.0


async def get(port: int, path: str) -> tuple[int, str, str]:
    """Status, content type and text of a real GET on the loopback `port`."""
    url = f"http://127.0.0.1:{port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


@dataclass
class Served:
    db: Database
    clock: FakeClock
    supervision: Supervision
    server: SupervisionServer

    async def get(self, path: str) -> tuple[int, str, str]:
        return await get(self.server.port, path)

    async def series(self) -> set[str]:
        status, _, text = await self.get("/metrics")
        assert status == 200
        return {line for line in text.splitlines() if line and not line.startswith("#")}

    async def synced(self, at: datetime) -> None:
        async with self.db.transaction():
            await StateRepository(self.db).save_batch_handled_at(at)

    async def queue(self, at: datetime, *, mails: int = 0, posts: int = 0) -> None:
        outbox = Outbox()
        for i in range(posts):
            outbox.send(ROOM, f"message {i}")
        for i in range(mails):
            outbox.send_mail(f"objet {i}", "texte", "<p>texte</p>", kind="digest-mail")
        async with self.db.transaction():
            await PostsRepository(self.db).queue(outbox.drain(), at)

    def at(self, minutes: float) -> datetime:
        return START + timedelta(minutes=minutes)

    def now(self, minutes: float) -> None:
        """Move the bot's clock to START + `minutes`."""
        self.clock.now = self.at(minutes)


@pytest.fixture
async def served(db: Database) -> AsyncIterator[Served]:
    clock = FakeClock()
    thresholds = thresholds_of(MetricsSettings(sync_stuck_minutes=10, outbox_stuck_minutes=15))
    supervision = Supervision(
        Registry(clock), SupervisionRepository(db), clock, SCHOOL, thresholds, started_at=START
    )
    server = await serve(supervision, "127.0.0.1", 0)  # any free port
    try:
        yield Served(db, clock, supervision, server)
    finally:
        await server.close()


def sent_post() -> Post:
    return Post(1, ROOM, "send", "m.room.message", {}, "reply", "t1", "sent", "$e", 1, None,
                None, None, None)  # fmt: skip


async def test_healthy_bot_its_backlog_and_sync_lag(served: Served) -> None:
    await served.synced(served.at(0.5))
    await served.queue(served.at(1), posts=2)
    await served.queue(served.at(1.5), mails=1)
    served.now(2)
    assert await served.get("/sante") == (200, "text/plain; charset=utf-8", "ok")
    status, content_type, _ = await served.get("/metrics")
    assert (status, content_type) == (200, "text/plain; version=0.0.4; charset=utf-8")
    lines = await served.series()
    assert {line for line in lines if line.startswith("rupn_") and "_total" not in line} == {
        'rupn_file_attente{canal="matrix",etablissement=""} 2.0',
        'rupn_file_attente{canal="courriel",etablissement=""} 1.0',
        'rupn_file_attente_plus_ancien_secondes{canal="matrix",etablissement=""} 60.0',
        'rupn_file_attente_plus_ancien_secondes{canal="courriel",etablissement=""} 30.0',
        "rupn_synchronisation_retard_secondes 90.0",
        "rupn_sante 1.0",
    }
    assert any(line.startswith("process_resident_memory_bytes ") for line in lines)


async def test_an_empty_outbox_reads_zero(served: Served) -> None:
    await served.synced(served.at(0))
    lines = await served.series()
    assert 'rupn_file_attente{canal="matrix",etablissement=""} 0.0' in lines
    assert 'rupn_file_attente_plus_ancien_secondes{canal="matrix",etablissement=""} 0.0' in lines
    assert "rupn_synchronisation_retard_secondes 0.0" in lines


async def test_a_stuck_sync_turns_sante_to_503_until_a_sync_succeeds(served: Served) -> None:
    await served.synced(served.at(0))
    served.now(10)
    assert await served.get("/sante") == (200, "text/plain; charset=utf-8", "ok")
    served.now(11)
    assert await served.get("/sante") == (
        503,
        "text/plain; charset=utf-8",
        "synchronisation bloquée : aucune synchronisation réussie depuis 11 min (seuil : 10 min)",
    )
    lines = await served.series()
    assert "rupn_sante 0.0" in lines
    assert "rupn_synchronisation_retard_secondes 660.0" in lines
    await served.synced(served.at(11))
    assert (await served.get("/sante"))[0] == 200


async def test_a_blocked_outbox_turns_sante_to_503_while_the_homeserver_answers(
    served: Served,
) -> None:
    def blocked(waiting: str, still: str) -> tuple[int, str, str]:
        return (
            503,
            "text/plain; charset=utf-8",
            f"file d’envoi bloquée : un message attend depuis {waiting} et aucun n’est parti "
            f"depuis {still} (seuil : 15 min)",
        )

    await served.queue(served.at(0), posts=1)
    served.now(16)
    await served.synced(served.at(15.5))
    assert await served.get("/sante") == blocked("16 min", "16 min")
    served.supervision.school_metrics.post_sent(sent_post())  # the queue moves again
    assert (await served.get("/sante"))[0] == 200
    served.now(32)
    await served.synced(served.at(31.5))
    assert await served.get("/sante") == blocked("32 min", "16 min")


async def test_a_long_queue_that_moves_is_healthy(served: Served) -> None:
    """The Friday letter of hundreds of rooms, one post a second: old, but moving."""
    await served.queue(served.at(0), posts=3)
    served.now(40)
    await served.synced(served.at(39.9))
    served.supervision.school_metrics.post_sent(sent_post())
    assert await served.get("/sante") == (200, "text/plain; charset=utf-8", "ok")
    assert (
        'rupn_file_attente_plus_ancien_secondes{canal="matrix",etablissement=""} 2400.0'
        in await served.series()
    )


async def test_without_homeserver_an_old_post_is_a_sync_problem(served: Served) -> None:
    await served.synced(served.at(0))
    await served.queue(served.at(0), posts=1)
    served.now(20)
    status, _, text = await served.get("/sante")
    assert (status, text) == (
        503,
        "synchronisation bloquée : aucune synchronisation réussie depuis 20 min (seuil : 10 min)",
    )


async def test_a_waiting_mail_never_blocks_the_matrix_outbox(served: Served) -> None:
    await served.queue(served.at(0), mails=1)
    served.now(60)
    await served.synced(served.at(59.5))
    assert (await served.get("/sante"))[0] == 200


async def test_after_a_restart_time_counts_from_the_start(served: Served) -> None:
    """The bot was stopped for a day: neither its last sync nor its backlog is « stuck »."""
    await served.synced(START - timedelta(days=1))
    await served.queue(START - timedelta(days=1), posts=1)
    served.now(5)
    assert await served.get("/sante") == (200, "text/plain; charset=utf-8", "ok")
    assert "rupn_synchronisation_retard_secondes 300.0" in await served.series()


async def test_other_paths_are_not_found(served: Served) -> None:
    assert (await served.get("/"))[0] == 404
    assert (await served.get("/metrics/../config.toml"))[0] == 404


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (59.9, "59 s"),
        (60, "1 min"),
        (59 * MINUTE + 59, "59 min"),
        (60 * MINUTE, "1 h 00"),
        (3 * 3600 + 5 * MINUTE, "3 h 05"),
        (2 * 86400 + 4 * 3600 + 59, "2 j 4 h"),
    ],
)
def test_french_duration(seconds: float, text: str) -> None:
    assert french_duration(timedelta(seconds=seconds)) == text


async def test_every_series_is_explained_in_the_readme(served: Served) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Supervision", 1)[1].split("\n### ", 1)[0]
    names = {
        line.split(" ")[2]
        for line in (await served.get("/metrics"))[2].splitlines()
        if line.startswith("# HELP rupn_")
    }
    assert len(names) == 10
    assert {name for name in names if f"`{name}" not in section} == set()


async def test_started_from_the_configuration_and_a_busy_port_only_logged(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        settings = MetricsSettings(enabled=True, listen=f"127.0.0.1:{port}")
        with caplog.at_level(logging.ERROR, logger="bot.metrics.server"):
            assert await start_supervision(settings, db, FakeClock(), SCHOOL) is None
    assert caplog.messages == [
        f"Supervision disabled: cannot listen on 127.0.0.1:{port} (Address already in use); "
        "change metrics.listen or free the port"
    ]
    server = await start_supervision(settings, db, FakeClock(), SCHOOL)  # free again
    assert server is not None
    try:
        assert await get(port, "/sante") == (200, "text/plain; charset=utf-8", "ok")
    finally:
        await server.close()
