"""The mailbox reader against a real IMAP server (Dovecot on loopback).

The sink here records what it is handed (the real one, the assistance requests, records
the reply and queues its chat messages): what is proven is the reader's side of the
seam — each mail handed over, and moved to the handled folder only after `accept`
returned; IDLE; polling without it; a server that goes away; a sink that fails.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from pathlib import Path

import pytest

from bot.clock import system_clock
from bot.config.assistance import AssistanceSettings
from bot.mailbox.folders import HANDLED_FOLDER
from bot.mailbox.model import DeskReply
from bot.mailbox.reader import MailboxReader
from bot.mailbox.settings import MailboxSettings, mailbox_settings
from devtools.imap import ThrowawayDovecot
from tests.e2e.helpers import eventually

pytestmark = pytest.mark.e2e

TICKET = "panne-clg-jean-moulin-12@college.example"


@dataclass
class RecordingSink:
    """Records each reply; fails the first `failures` calls as an internal error would."""

    accepted: list[DeskReply] = field(default_factory=list)
    failures: int = 0
    calls: int = 0

    async def accept(self, reply: DeskReply) -> None:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("database is locked")
        self.accepted.append(reply)

    def ids(self) -> list[str]:
        return [reply.message_id for reply in self.accepted]


def desk_answer(number: int, text: str, *, message_id: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Plateforme d'assistance <assistance@ac-exemple.fr>"
    message["To"] = "rupn-bot@college.example"
    message["Subject"] = f"[GLPI #{number:07d}] Nouveau suivi"
    message["Message-ID"] = message_id or f"<glpi-{number}-{time.monotonic_ns()}@ac-exemple.fr>"
    message["In-Reply-To"] = f"<{TICKET}>"
    message.set_content(
        f"{text}\n\nCordialement,\nLa plateforme\n\n"
        "Le 7 déc. 2026, rupn-bot a écrit :\n> Salle : B12\n"
    )
    return message


def settings_for(server: ThrowawayDovecot, **changes: object) -> MailboxSettings:
    """The reader's settings as a bot configured for `server` gets them, made quick."""
    section = AssistanceSettings.model_validate(
        {"to": "assistance@ac-exemple.fr", **server.assistance_keys()}
    )
    settings = mailbox_settings(section, server.environment)
    assert settings is not None
    quick = {"poll_seconds": 60, "timeout_seconds": 3, "backoff_seconds": (0.1, 0.5)}
    return replace(settings, **{**quick, **changes})  # type: ignore[arg-type]


@asynccontextmanager
async def reading(settings: MailboxSettings, sink: RecordingSink) -> AsyncIterator[MailboxReader]:
    reader = MailboxReader(settings, sink, system_clock)
    stop = asyncio.Event()
    task = asyncio.create_task(reader.run(stop))
    try:
        yield reader
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def handled(server: ThrowawayDovecot, *ids: str) -> None:
    """Until INBOX is empty and the handled folder holds exactly `ids`."""

    async def done() -> bool:
        inbox = await server.message_ids("INBOX")
        moved = await server.message_ids(HANDLED_FOLDER)
        assert (inbox, sorted(moved)) == ([], sorted(ids)), (inbox, moved)
        return True

    await eventually(done, timeout=10, what="mails moved to the handled folder")


async def test_a_desk_answer_is_handed_over_once_then_moved_and_idle_wakes_the_reader(
    dovecot: ThrowawayDovecot,
) -> None:
    sink = RecordingSink()
    await dovecot.deliver(desk_answer(123, "Le technicien passe jeudi.", message_id="<a1@desk>"))
    async with reading(settings_for(dovecot), sink):
        await handled(dovecot, "a1@desk")
        [reply] = sink.accepted
        assert reply.refers_to == (TICKET,)
        assert reply.subject == "[GLPI #0000123] Nouveau suivi"
        assert reply.new_text == "Le technicien passe jeudi."
        # Now idling (polling would take 60 s): a new mail is handed over within a second.
        await dovecot.deliver(desk_answer(123, "C'est réparé.", message_id="<a2@desk>"))
        started = time.monotonic()
        await eventually(lambda: sink.ids() == ["a1@desk", "a2@desk"], timeout=1, interval=0.02)
        woke_in = time.monotonic() - started
        await handled(dovecot, "a1@desk", "a2@desk")
    assert woke_in < 1
    assert sink.calls == 2


async def test_idle_is_reissued_before_the_servers_limit(
    dovecot: ThrowawayDovecot, caplog: pytest.LogCaptureFixture
) -> None:
    """IDLE is ended and started again every `idle_seconds` (25 minutes in service, under
    the 29 minutes after which servers drop it); a mail still wakes the reader at once."""
    caplog.set_level(logging.DEBUG, logger="aioimaplib")
    sink = RecordingSink()
    async with reading(settings_for(dovecot, idle_seconds=0.1), sink):
        await eventually(lambda: caplog.text.count(" IDLE\\r\\n") >= 3, timeout=10)
        await dovecot.deliver(desk_answer(2, "Toujours là.", message_id="<i1@desk>"))
        await handled(dovecot, "i1@desk")
    assert sink.ids() == ["i1@desk"]


async def test_without_idle_nor_move_the_reader_polls_and_copies(tmp_path: Path) -> None:
    server = ThrowawayDovecot(tmp_path / "poor", capabilities="IMAP4rev1 LITERAL+ UIDPLUS")
    try:
        await server.start()
        sink = RecordingSink()
        async with reading(settings_for(server, poll_seconds=0.2), sink):
            await server.deliver(desk_answer(7, "Bonjour, c'est noté.", message_id="<p1@desk>"))
            await handled(server, "p1@desk")
        assert sink.ids() == ["p1@desk"]
    finally:
        await server.close()


async def test_imap_down_then_up_nothing_lost_nor_doubled(dovecot: ThrowawayDovecot) -> None:
    sink = RecordingSink()
    await dovecot.stop()  # down when the bot starts: it keeps trying
    async with reading(settings_for(dovecot), sink) as reader:
        await dovecot.start()
        await dovecot.deliver(desk_answer(1, "Première réponse.", message_id="<d1@desk>"))
        await handled(dovecot, "d1@desk")
        await dovecot.stop()
        await eventually(lambda: not reader.connected.is_set(), timeout=10, what="reader saw it")
        await dovecot.start()
        await dovecot.deliver(desk_answer(1, "Deuxième réponse.", message_id="<d2@desk>"))
        await handled(dovecot, "d1@desk", "d2@desk")
    assert sink.ids() == ["d1@desk", "d2@desk"]


async def test_a_mail_the_sink_refuses_stays_in_inbox_and_is_tried_again(
    dovecot: ThrowawayDovecot, caplog: pytest.LogCaptureFixture
) -> None:
    sink = RecordingSink(failures=2)
    await dovecot.deliver(desk_answer(5, "Réponse.", message_id="<r1@desk>"))
    async with reading(settings_for(dovecot, poll_seconds=0.2), sink):
        await eventually(lambda: sink.calls >= 1, timeout=10, what="first try")
        assert await dovecot.message_ids("INBOX") == ["r1@desk"]  # refused: not moved
        await handled(dovecot, "r1@desk")
    assert sink.ids() == ["r1@desk"]
    assert sink.calls == 3
    assert "not handled; tried again later" in caplog.text


async def test_a_reader_killed_while_the_sink_works_leaves_the_mail_for_the_next_one(
    dovecot: ThrowawayDovecot,
) -> None:
    """The bot killed while the reply is being recorded: the mail was not moved, so the next
    reader hands it over again (and the sink, idempotent, posts it once)."""

    class HangingSink(RecordingSink):
        async def accept(self, reply: DeskReply) -> None:
            self.accepted.append(reply)
            await asyncio.Event().wait()  # never returns: the bot dies meanwhile

    hanging = HangingSink()
    await dovecot.deliver(desk_answer(4, "Réponse.", message_id="<k1@desk>"))
    reader = MailboxReader(settings_for(dovecot), hanging, system_clock)
    task = asyncio.create_task(reader.run(asyncio.Event()))
    await eventually(lambda: hanging.ids() == ["k1@desk"], timeout=10, what="handed over")
    task.cancel()  # the bot dies before the sink returned
    await asyncio.gather(task, return_exceptions=True)
    assert await dovecot.message_ids("INBOX") == ["k1@desk"]

    sink = RecordingSink()
    async with reading(settings_for(dovecot), sink):
        await handled(dovecot, "k1@desk")
    assert sink.ids() == ["k1@desk"]


async def test_two_mails_with_one_message_id_both_reach_the_idempotent_sink(
    dovecot: ThrowawayDovecot,
) -> None:
    """The reader does not deduplicate: a mail delivered twice (a desk resending, or the
    same mail read again after a crash) is handed over each time, and `ReplySink.accept`
    is idempotent on the Message-ID (its contract): both copies are moved out of INBOX."""
    sink = RecordingSink()
    for _ in range(2):
        await dovecot.deliver(desk_answer(9, "Doublon.", message_id="<same@desk>"))
    async with reading(settings_for(dovecot), sink):
        await handled(dovecot, "same@desk", "same@desk")
    assert sink.ids() == ["same@desk", "same@desk"]


async def test_a_refused_login_is_logged_without_the_password(
    dovecot: ThrowawayDovecot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sink = RecordingSink()
    settings = settings_for(dovecot, password="mauvais-mot-de-passe")
    async with reading(settings, sink):
        # Dovecot slows down a second wrong try by seconds: one is enough to look at.
        await eventually(lambda: "unavailable" in caplog.text, timeout=10)
    assert "LOGIN: NO" in caplog.text
    assert "mauvais-mot-de-passe" not in caplog.text
    assert sink.calls == 0


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_tls_and_starttls_with_the_server_certificate(tmp_path: Path, security: str) -> None:
    server = ThrowawayDovecot(tmp_path / "tls", tls=True)
    try:
        await server.start()
        sink = RecordingSink()
        port = server.tls_port if security == "tls" else server.port
        settings = settings_for(server, security=security, port=port, ca_file=server.ca_file)
        await server.deliver(desk_answer(3, "Chiffré.", message_id="<t1@desk>"))
        async with reading(settings, sink):
            await handled(server, "t1@desk")
        assert sink.ids() == ["t1@desk"]
    finally:
        await server.close()
