"""The mailbox reader: every mail in INBOX becomes a `DeskReply` handed to the sink, and is
moved to the handled folder only once the sink has returned (its chat messages are then
committed). A crash in between leaves the mail in INBOX: it is read again, and the sink's
idempotence on the Message-ID keeps it from being posted twice.

Then it waits for news: IDLE where the server offers it (re-issued every `idle_seconds`,
under the servers' 29-minute limit), else a poll every `poll_seconds`. When the server is
down it retries with a growing delay; the bot keeps serving chat meanwhile (this runs as
a background task). Logs name the server and the user, never the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

import aioimaplib

from bot.clock import Clock
from bot.mailbox.connection import ImapSession, MailboxUnavailable
from bot.mailbox.model import ReplySink
from bot.mailbox.parse import parse_reply
from bot.mailbox.settings import MailboxSettings

log = logging.getLogger(__name__)

# What a dropped or refused connection raises on the way (aioimaplib's own, sockets, TLS).
CONNECTION_ERRORS = (OSError, TimeoutError, aioimaplib.AioImapException, MailboxUnavailable)


async def _first(stop: asyncio.Event, *waits: Awaitable[object]) -> None:
    """Until `stop` is set or one of `waits` finishes; the others are cancelled."""
    tasks = [asyncio.ensure_future(w) for w in (stop.wait(), *waits)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class MailboxReader:
    def __init__(self, settings: MailboxSettings, sink: ReplySink, clock: Clock) -> None:
        self._settings = settings
        self._sink = sink
        self._clock = clock
        self.connected = asyncio.Event()  # for `!statut` and the tests: a session is open

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: connect, read, wait for news; reconnect after a failure."""
        if not self._settings.password_protected:
            # The password would cross the network in clear: never, whatever the config says.
            log.error("Mailbox %s: imap_security = \"aucune\" is for a server on this machine "
                      "only, not %s; the mailbox is not read", self._settings.user,
                      self._settings.host)  # fmt: skip
            await stop.wait()
            return
        first, longest = self._settings.backoff_seconds
        delay = first
        while not stop.is_set():
            session = ImapSession(self._settings)
            try:
                await session.open()
                await session.ensure_folder(self._settings.handled_folder)
                log.info("Mailbox %s on %s:%d is open", self._settings.user,
                         self._settings.host, self._settings.imap_port)  # fmt: skip
                self.connected.set()
                delay = first
                await self._serve(session, stop)
            except CONNECTION_ERRORS as exc:
                log.warning("Mailbox %s on %s:%d unavailable (%s: %s); retrying in %.1f s",
                            self._settings.user, self._settings.host, self._settings.imap_port,
                            type(exc).__name__, exc, delay)  # fmt: skip
            finally:
                self.connected.clear()
                await session.close()
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, longest)

    async def _serve(self, session: ImapSession, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if session.lost.is_set():
                raise MailboxUnavailable("connection lost")
            session.news.clear()  # what arrives from now on is announced again
            all_handled = await self.read_all(session)
            if session.news.is_set():
                continue  # a mail arrived while reading: read again at once
            # A mail the sink refused is tried again after a poll period, even under IDLE.
            if session.has("IDLE"):
                seconds = (
                    self._settings.idle_seconds if all_handled else self._settings.poll_seconds
                )
                await self._idle(session, stop, min(seconds, self._settings.idle_seconds))
            else:
                waits = (session.lost.wait(), asyncio.sleep(self._settings.poll_seconds))
                await _first(stop, *waits)

    async def read_all(self, session: ImapSession) -> bool:
        """Hand every mail of INBOX to the sink, moving each once accepted. False when one
        was refused (it stays in INBOX for the next round)."""
        all_handled = True
        for uid in await session.unhandled_uids():
            raw = await session.fetch(uid)
            if raw is None:
                continue  # expunged meanwhile (another client): nothing to hand over
            try:
                reply = parse_reply(raw, received_at=self._clock())
                await self._sink.accept(reply)
            except Exception:
                # The sink's internal error (or an unreadable mail): logged, left unhandled.
                log.exception("Mail UID %s of the mailbox was not handled; tried again later", uid)
                all_handled = False
                continue
            await session.move([uid], self._settings.handled_folder)
            log.info("Mail %s handled and moved to %s", reply.message_id,
                     self._settings.handled_folder)  # fmt: skip
        return all_handled

    async def _idle(self, session: ImapSession, stop: asyncio.Event, seconds: float) -> None:
        """IDLE until the server announces a new mail, `seconds` pass, or `stop`."""
        client = session.client
        idle = await client.idle_start(timeout=seconds + 60)  # we end it ourselves, below
        try:
            await _first(stop, session.news.wait(), session.lost.wait(), asyncio.sleep(seconds))
        finally:
            if not session.lost.is_set() and client.has_pending_idle():
                client.idle_done()
                await asyncio.wait_for(idle, self._settings.timeout_seconds)
