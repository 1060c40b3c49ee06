"""The counters of /metrics, moved by the real processor, sender and mail sender."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest

from bot.config import EmailSettings
from bot.context import Context, Repositories, Settings
from bot.domain import IncomingMessage, SyncBatch
from bot.errors import MatrixError
from bot.mailer import MailSender
from bot.messenger import Outbox
from bot.metrics.health import Thresholds
from bot.metrics.registry import Registry
from bot.metrics.server import Supervision
from bot.processor import EventProcessor
from bot.router import CommandRegistry, Router, no_arguments
from bot.schools import IMPLICIT_KEY, School
from bot.sender import Pacer, Sender
from bot.storage.database import Database
from bot.storage.digests import LETTER_KIND, MAIL_KIND
from bot.storage.posts import PostsRepository
from bot.storage.state import StateRepository
from bot.storage.supervision import SupervisionRepository
from devtools.smtp import MailCatcher, free_port
from handlers import ROUTERS
from tests.unit.fakes import START, FakeBotInfo, FakeClock, FakeTransport, VirtualTime

ROOM = "!salle-des-profs:example.org"
PROF = "@prof.martin:example.org"
ADMIN = "@rupn:example.org"
SCHOOL = School(key=IMPLICIT_KEY, name="", admins=frozenset({ADMIN}), zone=None)
THRESHOLDS = Thresholds(sync_stuck=START - START, outbox_stuck=START - START)
TIMEOUT_S = 5.0
_ids = itertools.count(1)


def series(supervision: Supervision) -> set[str]:
    """The exposition's sample lines (`name{labels} value`)."""
    text = supervision.registry.exposition().decode()
    return {line for line in text.splitlines() if line and not line.startswith("#")}


def rupn_series(supervision: Supervision) -> set[str]:
    """The bot's own counters (no process series), zero ones left out."""
    return {
        line
        for line in series(supervision)
        if line.startswith("rupn_") and "_total{" in line and not line.endswith(" 0.0")
    }


@pytest.fixture
def supervision(db: Database) -> Supervision:
    clock = FakeClock()
    return Supervision(Registry(clock), SupervisionRepository(db), clock, SCHOOL, THRESHOLDS, START)


def message(body: str, sender: str = PROF) -> IncomingMessage:
    return IncomingMessage(ROOM, f"$m{next(_ids)}", sender, body, START)


def failing_router() -> Router:
    router = Router("tests")

    async def boum(ctx: Context, _: None) -> None:
        raise RuntimeError("boum")

    router.command("boum", summary="échoue", parse=no_arguments)(boum)
    return router


# --- commands ------------------------------------------------------------------------------


async def test_commands_are_counted_by_name_and_outcome_never_by_person(
    db: Database, supervision: Supervision
) -> None:
    processor = EventProcessor(
        db, Repositories.open(db), StateRepository(db),
        CommandRegistry([*ROUTERS, failing_router()]),
        Settings(admins=frozenset({ADMIN}), tz=ZoneInfo("Europe/Paris")), FakeClock(),
        FakeBotInfo(rooms=[ROOM]), metrics=supervision.school_metrics,
    )  # fmt: skip
    events = [
        message("!aide"),
        message("!aide statut"),
        message("!xyz"),  # what was typed is not kept: « inconnue »
        message("!meteo demain"),
        message("!statut"),  # a teacher: refused
        message("!statut", ADMIN),
        message("!inscription abc"),  # not a number
        message("!inscription 99"),  # no such workshop
        message("!boum"),
        message("bonjour à tous"),  # not a command: not counted
    ]
    await processor.process(SyncBatch("s1", tuple(events), (), False))
    assert rupn_series(supervision) == {
        'rupn_commandes_total{commande="aide",etablissement="",resultat="ok"} 2.0',
        'rupn_commandes_total{commande="inconnue",etablissement="",resultat="inconnue"} 2.0',
        'rupn_commandes_total{commande="statut",etablissement="",resultat="reservee"} 1.0',
        'rupn_commandes_total{commande="statut",etablissement="",resultat="ok"} 1.0',
        'rupn_commandes_total{commande="inscription",etablissement="",'
        'resultat="erreur_utilisateur"} 2.0',
        'rupn_commandes_total{commande="boum",etablissement="",resultat="erreur_interne"} 1.0',
    }
    assert not any(PROF in line or ADMIN in line for line in series(supervision))


async def test_a_flood_is_counted_as_limited(db: Database, supervision: Supervision) -> None:
    processor = EventProcessor(
        db, Repositories.open(db), StateRepository(db), CommandRegistry(ROUTERS),
        Settings(admins=frozenset({ADMIN}), tz=ZoneInfo("Europe/Paris")), FakeClock(),
        FakeBotInfo(rooms=[ROOM]), metrics=supervision.school_metrics,
    )  # fmt: skip
    burst = tuple(message("!aide") for _ in range(17))  # 15 allowed in 30 s
    await processor.process(SyncBatch("s1", burst, (), False))
    assert rupn_series(supervision) == {
        'rupn_commandes_total{commande="aide",etablissement="",resultat="ok"} 15.0',
        'rupn_commandes_total{commande="aide",etablissement="",resultat="limitee"} 2.0',
    }


async def test_a_batch_that_is_not_committed_counts_nothing(
    db: Database, supervision: Supervision
) -> None:
    """Its events come again in the next sync: counting them now would count them twice."""

    class BrokenState(StateRepository):
        async def save_sync_token(self, token: str) -> None:
            raise OSError("disque plein")

    processor = EventProcessor(
        db, Repositories.open(db), BrokenState(db), CommandRegistry(ROUTERS),
        Settings(admins=frozenset({ADMIN}), tz=ZoneInfo("Europe/Paris")), FakeClock(),
        FakeBotInfo(rooms=[ROOM]), metrics=supervision.school_metrics,
    )  # fmt: skip
    with pytest.raises(OSError, match="disque plein"):
        await processor.process(SyncBatch("s1", (message("!aide"),), (), False))
    assert rupn_series(supervision) == set()


# --- posts and letters ---------------------------------------------------------------------


async def queue(db: Database, outbox: Outbox) -> None:
    async with db.transaction():
        await PostsRepository(db).queue(outbox.drain(), START)


async def run_until_idle(worker: Sender | MailSender) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await worker.wait_idle()
    finally:
        stop.set()
        async with asyncio.timeout(TIMEOUT_S):
            await task


async def test_posts_sent_and_failed_by_kind_and_the_letters(
    db: Database, supervision: Supervision
) -> None:
    outbox = Outbox()
    outbox.send(ROOM, "Réponse", kind="reply")
    outbox.send(ROOM, "Réponse", kind="reply")
    outbox.send(ROOM, "Annonce refusée", kind="announcement")
    outbox.send(ROOM, "La lettre", kind=LETTER_KIND)
    await queue(db, outbox)
    time = VirtualTime()
    refusal = MatrixError("M_FORBIDDEN", "not allowed")
    sender = Sender(
        db, PostsRepository(db), FakeTransport(time, ["$1", "$2", refusal, "$3"]), time.clock,
        Pacer(10.0, monotonic=time.monotonic, sleep=time.sleep), sleep=time.sleep,
        metrics=supervision.school_metrics,
    )  # fmt: skip
    await run_until_idle(sender)
    assert rupn_series(supervision) == {
        'rupn_messages_envoyes_total{etablissement="",type="reply"} 2.0',
        'rupn_messages_envoyes_total{etablissement="",type="digest"} 1.0',
        'rupn_messages_echoues_total{etablissement="",type="announcement"} 1.0',
        'rupn_lettres_envoyees_total{canal="salon",etablissement=""} 1.0',
    }
    assert supervision.registry.last_delivery == START  # the queue moved (registry's clock)


@pytest.fixture
async def smtp() -> AsyncIterator[MailCatcher]:
    catcher = MailCatcher()
    catcher.start()
    yield catcher
    catcher.stop()


def mail_settings(port: int) -> EmailSettings:
    return EmailSettings.model_validate(
        {
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "starttls": False,
            "from": "rupn@clg-exemple.fr",
            "to": ["equipe@clg-exemple.fr"],
        }
    )


async def test_mails_sent_and_failed_and_the_mailed_letter(
    db: Database, supervision: Supervision, smtp: MailCatcher
) -> None:
    outbox = Outbox()
    outbox.send_mail("La lettre", "texte", "<p>texte</p>", kind=MAIL_KIND)
    await queue(db, outbox)

    async def no_wait(_: float) -> None:
        await asyncio.sleep(0)

    mailer = MailSender(
        db, PostsRepository(db), mail_settings(smtp.port), FakeClock(), sleep=no_wait,
        metrics=supervision.school_metrics,
    )  # fmt: skip
    await run_until_idle(mailer)
    assert len(smtp.received) == 1
    outbox.send_mail("Autre", "texte", "<p>texte</p>", kind="mail")
    await queue(db, outbox)
    nobody = MailSender(  # nothing listens there: retried, then failed for good
        db, PostsRepository(db), mail_settings(free_port()), FakeClock(), sleep=no_wait,
        backoff_base_s=0.0, metrics=supervision.school_metrics,
    )  # fmt: skip
    await run_until_idle(nobody)
    assert rupn_series(supervision) == {
        'rupn_courriels_envoyes_total{etablissement=""} 1.0',
        'rupn_courriels_echoues_total{etablissement=""} 1.0',
        'rupn_lettres_envoyees_total{canal="courriel",etablissement=""} 1.0',
    }
    assert supervision.registry.last_delivery is None  # mails are not the Matrix outbox


def test_each_school_has_its_own_series_labelled_by_its_key() -> None:
    """A shared deployment's engine passes each event's School: its UAI labels the series."""
    registry = Registry(FakeClock())
    jean_moulin = School("0860001J", "Collège Jean Moulin", frozenset({ADMIN}), "A")
    other = School("0170001A", "Lycée de la Mer", frozenset({PROF}), "A")
    registry.school(jean_moulin).command("annonce", "ok")
    registry.school(jean_moulin).command("annonce", "ok")
    registry.school(other).command("annonce", "ok")
    assert registry.school(jean_moulin) is registry.school(jean_moulin)
    lines = registry.exposition().decode().splitlines()
    assert {line for line in lines if line.startswith("rupn_commandes_total")} == {
        'rupn_commandes_total{commande="annonce",etablissement="0860001J",resultat="ok"} 2.0',
        'rupn_commandes_total{commande="annonce",etablissement="0170001A",resultat="ok"} 1.0',
    }
    assert 'rupn_lettres_envoyees_total{canal="salon",etablissement="0170001A"} 0.0' in lines
