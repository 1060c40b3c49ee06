"""Tests of bot.mailer: a real SMTP server (aiosmtpd) on loopback, the real migrated database."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from bot.config import EmailSettings
from bot.mailer import MAX_MAIL_ATTEMPTS, MailSender
from bot.messenger import Outbox
from bot.sender import Pacer, Sender
from bot.storage.database import Database
from bot.storage.posts import Post, PostsRepository, refused_addresses
from tests.unit.fakes import START, FakeTransport, VirtualTime

SENDER = "rupn@ac-exemple.fr"
TO = ("prof.une@ac-exemple.fr", "prof.deux@ac-exemple.fr")
SUBJECT = "La lettre numérique — semaine du 30 novembre"
TEXT = "Bonjour à toutes et à tous,\n« Café numérique » : ça reprend — voilà.\n"
HTML = "<p>Bonjour à toutes et à tous,</p>\n<p>« Café numérique » : ça reprend — voilà.</p>\n"
LOGIN = "rupn"
PASSWORD = "mot-de-passe-très-secret"
ROOM = "!salle:example.org"
LATER = START + timedelta(hours=1)  # the mailer's clock: a Date header of START is the queue's
TIMEOUT_S = 5.0  # real seconds; only reached if the mailer hangs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    authenticated: bool

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class Recorder:
    """The server's handler: keeps what it accepts, answers RCPT as scripted."""

    received: list[Received] = field(default_factory=list)
    rcpt_answers: list[str] = field(default_factory=list)  # consumed one RCPT at a time

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.rcpt_answers:
            answer = self.rcpt_answers.pop(0)
            if not answer.startswith("250"):
                return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content,
                     bool(session.authenticated))
        )  # fmt: skip
        return "250 Message accepted for delivery"


@dataclass
class Authenticator:
    """Accepts LOGIN / PASSWORD only; counts the attempts."""

    attempts: int = 0

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.attempts += 1
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            LOGIN.encode(),
            PASSWORD.encode(),
        )
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535


@dataclass
class SmtpServer:
    port: int
    recorder: Recorder
    authenticator: Authenticator
    controller: Controller
    running: bool = False

    def start(self) -> None:
        if not self.running:
            self.controller.start()
            self.running = True

    def close(self) -> None:
        if self.running:
            self.controller.stop()
            self.running = False
        self.controller.loop.close()  # the controller's own loop, made in its constructor


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A loopback SMTP server that offers AUTH (without TLS), not yet started."""
    recorder, authenticator, port = Recorder(), Authenticator(), free_port()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=port,
        authenticator=authenticator, auth_require_tls=False,
    )  # fmt: skip
    server = SmtpServer(port, recorder, authenticator, controller)
    try:
        yield server
    finally:
        server.close()


def settings(
    port: int, *, username: str | None = None, password: str | None = None
) -> EmailSettings:
    return EmailSettings(
        smtp_host="127.0.0.1", smtp_port=port, starttls=False, username=username,
        password=SecretStr(password) if password is not None else None, sender=SENDER, to=TO,
    )  # fmt: skip


@dataclass
class Harness:
    db: Database
    posts: PostsRepository
    mailer: MailSender
    sleeps: list[float]
    settled: list[Post]

    async def queue_mail(self, subject: str = SUBJECT) -> str:
        outbox = Outbox()
        txn_id = outbox.send_mail(subject, TEXT, HTML, kind="digest", ref=("digest", 49))
        async with self.db.transaction():
            await self.posts.queue(outbox.drain(), START)
        self.mailer.wake()
        return txn_id

    async def deliver_all(self) -> None:
        """Run the mailer until no mail is pending, then stop it."""
        stop = asyncio.Event()
        task = asyncio.create_task(self.mailer.run(stop))
        try:
            async with asyncio.timeout(TIMEOUT_S):
                await self.mailer.wait_idle()
        finally:
            stop.set()
            async with asyncio.timeout(TIMEOUT_S):
                await task

    async def row(self, txn_id: str) -> dict[str, Any]:
        row = await self.db.fetchone(
            "SELECT status, event_id, error, attempts FROM posts WHERE txn_id = ?", (txn_id,)
        )
        assert row is not None
        return dict(row)


@pytest.fixture
async def make(db: Database) -> AsyncIterator[Any]:
    def build(
        email_settings: EmailSettings,
        *,
        backoff_base_s: float = 0.001,
        on_sleep: Callable[[], None] | None = None,
    ) -> Harness:
        sleeps: list[float] = []
        settled: list[Post] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            if on_sleep is not None:
                on_sleep()
            await asyncio.sleep(0)

        async def hook(post: Post) -> None:
            settled.append(post)

        posts = PostsRepository(db)
        mailer = MailSender(
            db, posts, email_settings, lambda: LATER, sleep=sleep, backoff_base_s=backoff_base_s,
            timeout_s=2.0, on_settled=hook,
        )  # fmt: skip
        return Harness(db, posts, mailer, sleeps, settled)

    yield build


# --- delivery ------------------------------------------------------------------------------


async def test_a_queued_mail_is_delivered_once_with_its_headers(
    make: Any, smtp: SmtpServer
) -> None:
    smtp.start()
    h: Harness = make(settings(smtp.port))
    txn_id = await h.queue_mail()
    await h.deliver_all()

    [received] = smtp.recorder.received
    assert (received.mail_from, received.rcpt_tos) == (SENDER, list(TO))
    message = received.parsed()
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content().replace("\r\n", "\n") == TEXT
    assert html.get_content().replace("\r\n", "\n") == HTML
    assert str(message["Subject"]) == SUBJECT
    assert message["Date"].datetime == START
    assert str(message["Message-ID"]) == f"<{txn_id}@ac-exemple.fr>"
    assert str(message["List-Id"]) == "La lettre numérique <lettre.ac-exemple.fr>"
    assert str(message["List-Unsubscribe"]) == (
        "<mailto:rupn@ac-exemple.fr?subject=D%C3%A9sinscription>"
    )
    assert str(message["Auto-Submitted"]) == "auto-generated"
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("rupn-bot", SENDER)
    assert [a.addr_spec for a in message["To"].addresses] == list(TO)
    # The headers travel 7-bit clean: accents are encoded, never raw bytes.
    headers = received.data.split(b"\r\n\r\n", 1)[0]
    assert headers.isascii()

    assert await h.row(txn_id) == {
        "status": "sent", "event_id": f"<{txn_id}@ac-exemple.fr>", "error": None, "attempts": 1,
    }  # fmt: skip
    assert [p.txn_id for p in h.settled] == [txn_id]
    row = await h.db.fetchone("SELECT sent_at FROM posts WHERE txn_id = ?", (txn_id,))
    assert row is not None and row["sent_at"] == LATER.isoformat()
    assert h.sleeps == []


async def test_without_a_username_the_mailer_does_not_authenticate(
    make: Any, smtp: SmtpServer
) -> None:
    smtp.start()
    h: Harness = make(settings(smtp.port, password=PASSWORD))
    await h.queue_mail()
    await h.deliver_all()
    [received] = smtp.recorder.received
    assert not received.authenticated
    assert smtp.authenticator.attempts == 0


async def test_with_a_username_the_mailer_authenticates(make: Any, smtp: SmtpServer) -> None:
    smtp.start()
    h: Harness = make(settings(smtp.port, username=LOGIN, password=PASSWORD))
    txn_id = await h.queue_mail()
    await h.deliver_all()
    [received] = smtp.recorder.received
    assert received.authenticated
    assert (await h.row(txn_id))["status"] == "sent"


async def test_the_same_message_id_when_a_post_is_sent_again(make: Any, smtp: SmtpServer) -> None:
    """A crash between the server's acceptance and the mark leaves the post pending: the
    copy sent at restart is the same message, with the same Message-ID and Date."""
    smtp.start()
    h: Harness = make(settings(smtp.port))
    txn_id = await h.queue_mail()
    await h.deliver_all()
    async with h.db.transaction():  # as if the bot had died before marking it sent
        await h.db.execute(
            "UPDATE posts SET status = 'pending', event_id = NULL, sent_at = NULL, attempts = 0"
            " WHERE txn_id = ?",
            (txn_id,),
        )
    await h.deliver_all()
    first, second = (r.parsed() for r in smtp.recorder.received)
    assert str(first["Message-ID"]) == str(second["Message-ID"]) == f"<{txn_id}@ac-exemple.fr>"
    assert str(first["Date"]) == str(second["Date"])
    assert (await h.row(txn_id))["status"] == "sent"


# --- failures ------------------------------------------------------------------------------


async def test_a_wrong_password_fails_the_mail_at_once(
    make: Any, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    smtp.start()
    h: Harness = make(settings(smtp.port, username=LOGIN, password="pas le bon"))
    txn_id = await h.queue_mail()
    await h.deliver_all()
    assert smtp.recorder.received == []
    assert await h.row(txn_id) == {
        "status": "failed", "event_id": None, "error": "SMTP_AUTH", "attempts": 1,
    }  # fmt: skip
    assert [p.txn_id for p in h.settled] == [txn_id]
    assert h.sleeps == []
    assert "SMTP_AUTH" in caplog.text
    assert "pas le bon" not in caplog.text


async def test_refused_recipients_fail_the_mail_at_once(make: Any, smtp: SmtpServer) -> None:
    smtp.recorder.rcpt_answers = ["550 5.1.1 Unknown user", "550 5.1.1 Unknown user"]
    smtp.start()
    h: Harness = make(settings(smtp.port))
    txn_id = await h.queue_mail()
    await h.deliver_all()
    assert smtp.recorder.received == []
    assert (await h.row(txn_id))["error"] == "SMTP_REFUSED"
    assert len(h.settled) == 1
    assert h.sleeps == []


async def test_one_recipient_refused_of_two_is_sent_and_names_the_refused_one(
    make: Any, smtp: SmtpServer
) -> None:
    smtp.recorder.rcpt_answers = ["550 5.1.1 Unknown user", "250 OK"]
    smtp.start()
    h: Harness = make(settings(smtp.port))
    txn_id = await h.queue_mail()
    await h.deliver_all()
    [received] = smtp.recorder.received
    assert received.rcpt_tos == [TO[1]]
    assert await h.row(txn_id) == {
        "status": "sent", "event_id": f"<{txn_id}@ac-exemple.fr>",
        "error": f"SMTP_PARTIAL:{TO[0]}", "attempts": 1,
    }  # fmt: skip
    assert refused_addresses((await h.row(txn_id))["error"]) == (TO[0],)
    assert len(h.settled) == 1
    assert h.sleeps == []


async def test_starttls_not_offered_is_named(make: Any, smtp: SmtpServer) -> None:
    smtp.start()  # a relay without STARTTLS, while the configuration asks for it
    h: Harness = make(settings(smtp.port).model_copy(update={"starttls": True}))
    txn_id = await h.queue_mail()
    await h.deliver_all()
    assert smtp.recorder.received == []
    assert (await h.row(txn_id))["error"] == "SMTP_NO_STARTTLS"
    assert len(h.settled) == 1
    assert h.sleeps == []


async def test_auth_not_offered_is_named(make: Any) -> None:
    port = free_port()
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)  # no AUTH without TLS
    server = SmtpServer(port, recorder, Authenticator(), controller)
    server.start()
    try:
        h: Harness = make(settings(port, username=LOGIN, password=PASSWORD))
        txn_id = await h.queue_mail()
        await h.deliver_all()
    finally:
        server.close()
    assert recorder.received == []
    assert (await h.row(txn_id))["error"] == "SMTP_NO_AUTH"
    assert h.sleeps == []


async def test_a_mail_sent_again_keeps_the_message_id_of_the_first(
    make: Any, smtp: SmtpServer
) -> None:
    smtp.start()
    h: Harness = make(settings(smtp.port))
    outbox = Outbox()
    txn_id = outbox.send_mail(SUBJECT, TEXT, HTML, kind="digest", resends="rupnfirst")
    async with h.db.transaction():
        await h.posts.queue(outbox.drain(), START)
    await h.deliver_all()
    [received] = smtp.recorder.received
    assert str(received.parsed()["Message-ID"]) == "<rupnfirst@ac-exemple.fr>"
    assert (await h.row(txn_id))["event_id"] == "<rupnfirst@ac-exemple.fr>"


async def test_a_temporary_refusal_is_retried(make: Any, smtp: SmtpServer) -> None:
    smtp.recorder.rcpt_answers = ["451 4.7.1 Greylisted", "451 4.7.1 Greylisted"]
    smtp.start()
    h: Harness = make(settings(smtp.port), backoff_base_s=0.25)
    txn_id = await h.queue_mail()
    await h.deliver_all()
    [received] = smtp.recorder.received
    assert received.rcpt_tos == list(TO)
    assert (await h.row(txn_id))["attempts"] == 2
    assert h.sleeps == [0.25]


async def test_a_server_down_then_up_gets_exactly_one_message(make: Any, smtp: SmtpServer) -> None:
    # The port is closed: connection refused. The server starts during the first backoff.
    h: Harness = make(settings(smtp.port), backoff_base_s=0.01, on_sleep=smtp.start)
    txn_id = await h.queue_mail()
    await h.deliver_all()
    assert len(smtp.recorder.received) == 1
    assert await h.row(txn_id) == {
        "status": "sent", "event_id": f"<{txn_id}@ac-exemple.fr>", "error": None, "attempts": 2,
    }  # fmt: skip
    assert h.sleeps == [0.01]
    assert len(h.settled) == 1


async def test_a_server_down_for_good_fails_the_mail_after_the_last_attempt(
    make: Any, smtp: SmtpServer
) -> None:
    h: Harness = make(settings(smtp.port), backoff_base_s=5.0)  # the sleeps are not waited
    txn_id = await h.queue_mail()
    await h.deliver_all()
    assert await h.row(txn_id) == {
        "status": "failed", "event_id": None, "error": "SMTP_UNREACHABLE",
        "attempts": MAX_MAIL_ATTEMPTS,
    }  # fmt: skip
    assert h.sleeps == [5, 10, 20, 40, 80, 160, 320, 600, 600]
    assert len(h.settled) == 1


async def test_stop_cuts_a_backoff_short(db: Database, smtp: SmtpServer) -> None:
    posts = PostsRepository(db)
    backing_off = asyncio.Event()

    async def sleep(seconds: float) -> None:  # a real sleep: 600 s
        backing_off.set()
        await asyncio.sleep(seconds)

    mailer = MailSender(
        db, posts, settings(smtp.port), lambda: START, sleep=sleep, backoff_base_s=600.0
    )
    outbox = Outbox()
    outbox.send_mail(SUBJECT, TEXT, HTML, kind="digest")
    async with db.transaction():
        await posts.queue(outbox.drain(), START)
    stop = asyncio.Event()
    task = asyncio.create_task(mailer.run(stop))
    async with asyncio.timeout(TIMEOUT_S):
        await backing_off.wait()
    stop.set()  # the mailer now waits 600 s; shutting down must not
    async with asyncio.timeout(1.0):
        await task


# --- mail and Matrix -----------------------------------------------------------------------


async def test_mails_are_never_picked_by_the_matrix_queue(db: Database) -> None:
    posts = PostsRepository(db)
    outbox = Outbox()
    outbox.send_mail(SUBJECT, TEXT, HTML, kind="digest")
    outbox.send(ROOM, "La lettre de la semaine", kind="digest")
    mail, message = outbox.drain()
    async with db.transaction():
        await posts.queue([mail, message], START)
        first = await posts.next_pending()
        pending_mail = await posts.next_pending_mail()
        assert first is not None and pending_mail is not None
        await posts.mark_sent(first.id, "$ev", START)
        after = await posts.next_pending()
    assert first.txn_id == message.txn_id
    assert pending_mail.txn_id == mail.txn_id
    assert pending_mail.created_at == START
    assert after is None


async def test_a_mail_that_cannot_go_never_delays_the_matrix_letter(
    db: Database, smtp: SmtpServer
) -> None:
    posts = PostsRepository(db)
    backing_off = asyncio.Event()

    async def stuck(seconds: float) -> None:  # a long backoff, as when the server is down
        backing_off.set()
        await asyncio.Event().wait()

    mailer = MailSender(db, posts, settings(smtp.port), lambda: START, sleep=stuck)
    time = VirtualTime()
    transport = FakeTransport(time)
    sender = Sender(db, posts, transport, time.clock, Pacer(1.0, monotonic=time.monotonic,
                                                            sleep=time.sleep))  # fmt: skip
    outbox = Outbox()
    outbox.send_mail(SUBJECT, TEXT, HTML, kind="digest")
    outbox.send(ROOM, "La lettre de la semaine", kind="digest")
    async with db.transaction():
        await posts.queue(outbox.drain(), START)

    stop = asyncio.Event()
    tasks = [asyncio.create_task(mailer.run(stop)), asyncio.create_task(sender.run(stop))]
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await backing_off.wait()
            await sender.wait_idle()
    finally:
        stop.set()
        async with asyncio.timeout(TIMEOUT_S):
            await asyncio.gather(*tasks)
    assert [c.room_id for c in transport.calls] == [ROOM]
    statuses = await db.fetchall("SELECT action, status, attempts FROM posts ORDER BY id")
    assert [tuple(r) for r in statuses] == [("mail", "pending", 1), ("send", "sent", 1)]
