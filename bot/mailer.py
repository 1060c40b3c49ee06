"""The mail sender: delivers queued e-mails (posts with action 'mail') by SMTP.

Exactly once, as far as SMTP allows. A mail is stored in the transaction that
decided it (`Outbox.send_mail`), so it is neither lost nor decided twice; the
worker marks it sent, with its Message-ID, only once the SMTP server has
accepted it. A crash, or a reply lost on the network, between the server's
acceptance and that mark leaves the post pending: it is sent once more at the
next attempt. That duplicate carries the same Message-ID and Date (both come
from the stored post, never from the moment of sending), which lets mail
clients and servers that deduplicate by Message-ID drop it; SMTP itself offers
nothing better.

A separate worker, not a second transport of `bot.sender.Sender`: a mail server
that is down or slow (30 s timeouts, backoff up to 10 minutes) must never delay
a Matrix post, and the Matrix sender's pacing and 429 handling mean nothing to
SMTP. The two share only the outbox table; `PostsRepository.next_pending` never
returns a mail, `next_pending_mail` returns nothing else.

One mail at a time, oldest first. A refusal that retrying cannot cure (bad
credentials, a 5xx answer, a server without what the configuration asks for)
fails the post at once; an outage (connection refused, timeout, 4xx) is retried
with exponential backoff, up to `MAX_MAIL_ATTEMPTS`. Either way the settled
hook runs once the post is sent or has failed for good, so the RUPN hears of it.

aiosmtplib is imported by `_send`, at the first mail: a bot without [email], or
that has not sent a letter yet, never pays for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from bot.clock import Clock
from bot.config import EmailSettings
from bot.messenger import ENVELOPE_KEY, MailEnvelope
from bot.metrics import NO_METRICS, SchoolMetrics
from bot.sender import Sleep, first_of
from bot.storage.database import Database
from bot.storage.posts import RESENDS_KEY, Post, PostsRepository, partial_error

log = logging.getLogger(__name__)

MAX_MAIL_ATTEMPTS = 10
BACKOFF_BASE_S = 5.0
MAX_BACKOFF_S = 600.0
SMTP_TIMEOUT_S = 30.0

FROM_NAME = "rupn-bot"
LIST_NAME = "La lettre numérique"
UNSUBSCRIBE_SUBJECT = "D%C3%A9sinscription"  # « Désinscription », percent-encoded (RFC 6068)

# posts.error of a mail that failed for good.
SMTP_AUTH = "SMTP_AUTH"  # the server refused the username or password
SMTP_REFUSED = "SMTP_REFUSED"  # a permanent (5xx) refusal: sender, recipients or content
SMTP_NO_STARTTLS = "SMTP_NO_STARTTLS"  # [email] starttls, but the relay does not offer it
SMTP_NO_AUTH = "SMTP_NO_AUTH"  # [email] username, but the relay offers no AUTH
SMTP_UNSUPPORTED = "SMTP_UNSUPPORTED"  # another extension the message needs (SMTPUTF8)
SMTP_UNREACHABLE = "SMTP_UNREACHABLE"  # still failing after MAX_MAIL_ATTEMPTS attempts
SMTP_UNEXPECTED = "SMTP_UNEXPECTED"  # a bug, logged with its traceback
SMTP_NO_SETTINGS = "SMTP_NO_SETTINGS"  # the post's school has no [email] (any more)

MailSettingsOf = Callable[[str], "EmailSettings | None"]
"""The ``[email]`` of a school, by key: each school's letter goes to its own recipients."""


class _NotSent(Exception):
    """The server did not take the mail: `code` if for good, None if worth retrying."""

    def __init__(self, code: str | None, cause: Exception) -> None:
        super().__init__(str(cause) or type(cause).__name__)
        self.code = code


def _domain(address: str) -> str:
    return address.rpartition("@")[2]


def message_id(post: Post, settings: EmailSettings) -> str:
    """The post's Message-ID: the same at every attempt, unique like its txn_id; a mail
    sent again (`!lettre courriel`) keeps the Message-ID of the one it replaces."""
    txn_id = post.content.get(RESENDS_KEY) or post.txn_id
    return f"<{txn_id}@{_domain(settings.sender)}>"


def recipients(post: Post, settings: EmailSettings) -> list[str]:
    """Who gets the post: its envelope's To and Cc (a ticket), else ``[email] to``."""
    if ENVELOPE_KEY in post.content:
        envelope = MailEnvelope.loaded(post.content[ENVELOPE_KEY])
        return list(dict.fromkeys((*envelope.to, *envelope.cc)))
    return list(settings.to)


def build_message(post: Post, settings: EmailSettings, now: datetime) -> EmailMessage:
    """The e-mail of a queued post: text and HTML alternatives, headers stable across retries.

    `now` only dates a post that was never stored (posts read back carry `created_at`).
    """
    if ENVELOPE_KEY in post.content:
        return _threaded_message(post, settings, now)
    message = EmailMessage(policy=SMTP)
    message["From"] = Address(FROM_NAME, addr_spec=settings.sender)
    message["To"] = ", ".join(settings.to)
    message["Subject"] = post.content["subject"]
    message["Date"] = format_datetime(post.created_at or now)
    message["Message-ID"] = message_id(post, settings)
    message["List-Id"] = f"{LIST_NAME} <lettre.{_domain(settings.sender)}>"
    message["List-Unsubscribe"] = f"<mailto:{settings.sender}?subject={UNSUBSCRIBE_SUBJECT}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(post.content["text"])
    message.add_alternative(post.content["html"], subtype="html")
    return message


def _threaded_message(post: Post, settings: EmailSettings, now: datetime) -> EmailMessage:
    """A mail with its own recipients and thread (a ticket): plain text unless HTML is given."""
    envelope = MailEnvelope.loaded(post.content[ENVELOPE_KEY])
    message = EmailMessage(policy=SMTP)
    message["From"] = Address(FROM_NAME, addr_spec=settings.sender)
    message["To"] = ", ".join(envelope.to)
    if envelope.cc:
        message["Cc"] = ", ".join(envelope.cc)
    if envelope.reply_to:
        message["Reply-To"] = envelope.reply_to
    message["Subject"] = post.content["subject"]
    message["Date"] = format_datetime(post.created_at or now)
    message["Message-ID"] = f"<{envelope.message_id}>"
    if envelope.in_reply_to:
        message["In-Reply-To"] = f"<{envelope.in_reply_to}>"
    if envelope.references:
        message["References"] = " ".join(f"<{r}>" for r in envelope.references)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(post.content["text"])
    if post.content.get("html"):
        message.add_alternative(post.content["html"], subtype="html")
    return message


class MailSender:
    """The worker that hands queued mails to the SMTP server, one at a time."""

    def __init__(
        self,
        db: Database,
        posts: PostsRepository,
        settings: EmailSettings | MailSettingsOf,
        clock: Clock,
        *,
        sleep: Sleep = asyncio.sleep,
        backoff_base_s: float = BACKOFF_BASE_S,
        timeout_s: float = SMTP_TIMEOUT_S,
        on_settled: Callable[[Post], Awaitable[None]] | None = None,
        metrics: SchoolMetrics = NO_METRICS,
        relay: EmailSettings | None = None,
    ) -> None:
        self._db = db
        # The bot's [email]: it sends a school's tickets when the school has no [email] of
        # its own (a ticket's recipients are its own: no other school's list is involved).
        self._relay = relay
        self._posts = posts
        self._settings_of: MailSettingsOf = (
            settings if callable(settings) else lambda _school: settings
        )
        self._metrics = metrics
        self._clock = clock
        self._sleep = sleep
        self._backoff_base_s = backoff_base_s
        self._timeout_s = timeout_s
        self._on_settled = on_settled
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()

    def when_settled(self, hook: Callable[[Post], Awaitable[None]]) -> None:
        """Call `hook` after each mail is sent or has failed for good."""
        self._on_settled = hook

    def wake(self) -> None:
        """New posts were committed (perhaps a mail)."""
        self._wake.set()

    async def wait_idle(self) -> None:
        """Until no mail is pending (used at shutdown and by tests)."""
        self._wake.set()
        self._idle.clear()
        await self._idle.wait()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()  # before looking: a mail queued meanwhile wakes us again
            async with self._db.transaction():
                post = await self._posts.next_pending_mail()
            if post is None:
                self._idle.set()
                await first_of(self._wake.wait(), stop.wait())
                continue
            backoff = await self._deliver(post)
            if backoff is not None:
                # Not cut short by wake(), which every Matrix post calls too; stop does.
                await first_of(self._sleep(backoff), stop.wait())

    async def _deliver(self, post: Post) -> float | None:
        """Send `post` and record the outcome; returns the pause before a retry, if any."""
        settings = self._settings_of(post.school)
        if settings is None and ENVELOPE_KEY in post.content:
            settings = self._relay
        if settings is None:
            await self._failed(post, SMTP_NO_SETTINGS, f"no [email] for school {post.school!r}")
            return None
        try:
            message = build_message(post, settings, self._clock())
            refused = await self._send(message, settings, recipients(post, settings))
        except _NotSent as exc:
            if exc.code is None:
                return await self._not_now(post, str(exc))
            await self._failed(post, exc.code, str(exc))
            return None
        except Exception:
            log.exception("Unexpected failure sending mail %d", post.id)
            await self._failed(post, SMTP_UNEXPECTED, "see the traceback above")
            return None
        mid = str(message["Message-ID"])
        error = partial_error(refused) if refused else None
        async with self._db.transaction():
            await self._posts.mark_sent(post.id, mid, self._clock(), error=error)
        log.info("Mail %d sent as %s", post.id, mid)
        self._metrics.of(post.school).post_sent(post)
        await self._settled(post)
        return None

    async def _send(self, message: EmailMessage, s: EmailSettings, to: list[str]) -> list[str]:
        """Hand `message` to the SMTP server, or raise `_NotSent`; returns the recipients
        refused while the others accepted it."""
        import aiosmtplib  # on first use: see the module's docstring

        try:
            refused, _ = await aiosmtplib.send(
                message,
                sender=s.sender,
                recipients=to,
                hostname=s.smtp_host,
                port=s.smtp_port,
                use_tls=s.implicit_tls,
                start_tls=s.starttls and not s.implicit_tls,
                username=s.username,
                password=s.password_value() if s.username else None,
                timeout=self._timeout_s,
            )
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise _NotSent(_permanent(exc.code, SMTP_AUTH), exc) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # Every recipient refused; retry if any of them only said "not now".
            worst = min(r.code for r in exc.recipients)
            raise _NotSent(_permanent(worst, SMTP_REFUSED), exc) from exc
        except aiosmtplib.SMTPResponseException as exc:  # sender, data, greeting, HELO
            raise _NotSent(_permanent(exc.code, SMTP_REFUSED), exc) from exc
        except (OSError, aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPServerDisconnected) as exc:
            raise _NotSent(None, exc) from exc  # refused, unreachable, timed out, cut, TLS…
        except aiosmtplib.SMTPNotSupported as exc:  # SMTPUTF8
            raise _NotSent(SMTP_UNSUPPORTED, exc) from exc
        except aiosmtplib.SMTPException as exc:
            # No STARTTLS, no AUTH: only the configuration can fix it. aiosmtplib says
            # which in its message only.
            raise _NotSent(_missing_extension(str(exc)), exc) from exc
        if refused:
            # The others have it: sending again would give them a second copy.
            log.warning("Mail accepted, except for %s", ", ".join(sorted(refused)))
        return sorted(refused)

    async def _not_now(self, post: Post, reason: str) -> float | None:
        attempt = post.attempts + 1
        if attempt >= MAX_MAIL_ATTEMPTS:
            await self._failed(post, SMTP_UNREACHABLE, reason)
            return None
        async with self._db.transaction():
            await self._posts.count_attempt(post.id)
        backoff = min(MAX_BACKOFF_S, self._backoff_base_s * 2.0**post.attempts)
        log.warning(
            "Cannot send mail %d now (%s); attempt %d of %d, retrying in %g s",
            post.id, reason, attempt, MAX_MAIL_ATTEMPTS, backoff,
        )  # fmt: skip
        return backoff

    async def _failed(self, post: Post, code: str, reason: str) -> None:
        async with self._db.transaction():
            await self._posts.mark_failed(post.id, code)
        log.error("Mail %d failed for good: %s (%s)", post.id, code, reason)
        self._metrics.of(post.school).post_failed(post)
        await self._settled(post)

    async def _settled(self, post: Post) -> None:
        if self._on_settled is None:
            return
        try:
            await self._on_settled(post)
        except Exception:
            log.exception("Hook after mail %d failed", post.id)


def _missing_extension(reason: str) -> str:
    if "AUTH extension" in reason:  # « … not supported. Try connecting via TLS (or STARTTLS) »
        return SMTP_NO_AUTH
    if "STARTTLS extension" in reason:
        return SMTP_NO_STARTTLS
    return SMTP_UNSUPPORTED


def _permanent(smtp_code: int, code: str) -> str | None:
    """`code` for a 5xx answer; None (retry) for a 4xx one."""
    return code if smtp_code >= 500 else None
