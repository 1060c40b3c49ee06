"""A shared deployment's /metrics: each school's series move apart, under its UAI."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.app import _start_supervision
from bot.config import load_config
from bot.messenger import Outbox
from bot.metrics.health import Thresholds
from bot.metrics.registry import Registry
from bot.metrics.server import Supervision
from bot.sender import Pacer, Sender
from bot.storage.database import Database
from bot.storage.posts import OutgoingPost, PostsRepository
from bot.storage.supervision import SupervisionRepository
from devtools.smtp import free_port
from tests.unit.academie_files import write_academie
from tests.unit.fakes import START, FakeClock, FakeTransport, VirtualTime
from tests.unit.test_metrics import run_until_idle, rupn_series, series
from tests.unit.two_schools import A, B, TwoSchools

THRESHOLDS = Thresholds(sync_stuck=START - START, outbox_stuck=START - START)


def supervision_of(db: Database) -> Supervision:
    clock = FakeClock()
    return Supervision(
        Registry(clock), SupervisionRepository(db), clock, (A.school, B.school), THRESHOLDS, START
    )


async def queue_for(db: Database, school: str, outbox: Outbox) -> None:
    posts: list[OutgoingPost] = [replace(p, school=school) for p in outbox.drain()]
    async with db.transaction():
        await PostsRepository(db).queue(posts, START)


async def test_each_school_counts_its_own_commands(db: Database) -> None:
    supervision = supervision_of(db)
    bot = TwoSchools(db, metrics=supervision.school_metrics)
    await bot.invite(A)
    await bot.invite(B)
    await bot.say(A, "!aide", "!aide", "!xyz")
    await bot.say(B, "!statut")
    assert rupn_series(supervision) == {
        'rupn_commandes_total{commande="aide",etablissement="0860001J",resultat="ok"} 2.0',
        'rupn_commandes_total{commande="inconnue",etablissement="0860001J",resultat="inconnue"} '
        "1.0",
        'rupn_commandes_total{commande="statut",etablissement="0170002K",resultat="ok"} 1.0',
    }


async def test_each_school_counts_its_own_posts_and_backlog(db: Database) -> None:
    supervision = supervision_of(db)
    for school, count in ((A.school.key, 2), (B.school.key, 1)):
        outbox = Outbox()
        for i in range(count):
            outbox.send(A.room if school == A.school.key else B.room, f"Réponse {i}")
        await queue_for(db, school, outbox)
    mail = Outbox()
    mail.send_mail("La lettre", "texte", "<p>texte</p>", kind="digest-mail")
    await queue_for(db, B.school.key, mail)
    await supervision.exposition()
    gauges = {line for line in series(supervision) if line.startswith("rupn_file_attente{")}
    assert gauges == {
        'rupn_file_attente{canal="matrix",etablissement="0860001J"} 2.0',
        'rupn_file_attente{canal="courriel",etablissement="0860001J"} 0.0',
        'rupn_file_attente{canal="matrix",etablissement="0170002K"} 1.0',
        'rupn_file_attente{canal="courriel",etablissement="0170002K"} 1.0',
    }
    time = VirtualTime()
    sender = Sender(
        db, PostsRepository(db), FakeTransport(time, ["$1", "$2", "$3"]), time.clock,
        Pacer(10.0, monotonic=time.monotonic, sleep=time.sleep), sleep=time.sleep,
        metrics=supervision.school_metrics,
    )  # fmt: skip
    await run_until_idle(sender)
    assert rupn_series(supervision) == {
        'rupn_messages_envoyes_total{etablissement="0860001J",type="message"} 2.0',
        'rupn_messages_envoyes_total{etablissement="0170002K",type="message"} 1.0',
    }
    await supervision.exposition()
    assert 'rupn_file_attente{canal="matrix",etablissement="0860001J"} 0.0' in series(supervision)


async def test_a_shared_configuration_with_metrics_starts(db: Database, tmp_path: Path) -> None:
    path = write_academie(tmp_path)
    listen = f"127.0.0.1:{free_port()}"
    text = path.read_text("utf-8") + f'\n[metrics]\nenabled = true\nlisten = "{listen}"\n'
    path.write_text(text, "utf-8")
    config = load_config(path, environ={})
    server = await _start_supervision(config, db, FakeClock())
    assert server is not None
    try:
        lines = series(server.supervision)
        assert {line for line in lines if line.startswith("rupn_commandes_total")} == set()
        assert {line for line in lines if line.startswith("rupn_courriels_envoyes_total")} == {
            'rupn_courriels_envoyes_total{etablissement="0860001J"} 0.0',
            'rupn_courriels_envoyes_total{etablissement="0860034V"} 0.0',
            'rupn_courriels_envoyes_total{etablissement="0750654D"} 0.0',
        }
    finally:
        await server.close()
