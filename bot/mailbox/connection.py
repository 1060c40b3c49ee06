"""One IMAP session with the bot's mailbox, over aioimaplib: connect (TLS, STARTTLS or
plain on loopback), log in, select INBOX, and the few commands the reader needs.

aioimaplib answers with (result, lines) tuples: every non-OK result becomes a
`MailboxUnavailable` here, so the reader handles one exception type.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Sequence

import aioimaplib

from bot.mailbox.folders import quoted_mailbox
from bot.mailbox.settings import MailboxSettings

_LIST_SEPARATOR = re.compile(rb'\(.*?\) (?:"((?:[^"\\]|\\.)*)"|NIL)')


_EXISTS = re.compile(rb"^\* \d+ EXISTS")
# A desk's answer is text: its first megabytes hold it. Attachments beyond are not fetched
# (a technician's photos must not fill the bot's memory); the MIME parser is lenient with
# the cut.
MAX_FETCH_BYTES = 4 * 1024 * 1024


class MailboxUnavailable(Exception):
    """The server is unreachable, refused a command, or the connection dropped."""


class _Protocol(aioimaplib.IMAP4ClientProtocol):  # type: ignore[misc]  # untyped library
    """aioimaplib's protocol, telling when the server announces a new mail (`* n EXISTS`).

    aioimaplib drops such an announcement when it comes with another command's answer
    (a mail arriving while the reader fetches or moves): it is caught here, whatever
    command it came with, IDLE included."""

    def __init__(self, loop: asyncio.AbstractEventLoop, lost: asyncio.Event) -> None:
        super().__init__(loop, lambda _exc: lost.set())
        self.news = asyncio.Event()

    def _untagged_response(self, line: bytes) -> aioimaplib.Command:
        if _EXISTS.match(line):
            self.news.set()
        return super()._untagged_response(line)


class _Client(aioimaplib.IMAP4):  # type: ignore[misc]  # untyped library
    def __init__(self, settings: MailboxSettings, lost: asyncio.Event) -> None:
        self._lost = lost
        super().__init__(
            host=settings.host, port=settings.imap_port, timeout=settings.timeout_seconds,
            ssl_context=_tls_context(settings) if settings.security == "tls" else None,
        )  # fmt: skip

    def create_client(
        self, host: str, port: int, loop: asyncio.AbstractEventLoop | None,
        conn_lost_cb: object = None, ssl_context: ssl.SSLContext | None = None,
    ) -> None:  # fmt: skip
        """As aioimaplib's, with our protocol."""
        running = loop if loop is not None else asyncio.get_running_loop()
        self.protocol = _Protocol(running, self._lost)
        self._client_task = running.create_task(
            running.create_connection(lambda: self.protocol, host, port, ssl=ssl_context)
        )


def _tls_context(settings: MailboxSettings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.ca_file is not None:
        context.load_verify_locations(cafile=str(settings.ca_file))
    return context


def _check(response: aioimaplib.Response, what: str) -> aioimaplib.Response:
    if response.result != "OK":
        detail = b" ".join(bytes(line) for line in response.lines[-1:]).decode("utf-8", "replace")
        raise MailboxUnavailable(f"{what}: {response.result} {detail}")
    return response


class ImapSession:
    """A logged-in session with INBOX selected; `lost` is set when the connection drops."""

    def __init__(self, settings: MailboxSettings) -> None:
        self._settings = settings
        self.lost = asyncio.Event()
        self._client: _Client | None = None
        self.separator = "/"

    @property
    def news(self) -> asyncio.Event:
        """Set when the server announced a new mail; the reader clears it before reading."""
        protocol = self.client.protocol
        if not isinstance(protocol, _Protocol):  # pragma: no cover - _Client makes one
            raise TypeError("not our protocol")
        return protocol.news

    @property
    def client(self) -> _Client:
        if self._client is None:
            raise MailboxUnavailable("not connected")
        return self._client

    def has(self, capability: str) -> bool:
        return bool(self.client.has_capability(capability))

    async def open(self) -> None:
        s = self._settings
        self._client = _Client(s, self.lost)
        await self.client.wait_hello_from_server()
        if s.security == "starttls":
            await self._starttls()
        _check(await self.client.login(aioimaplib.quoted(s.user), s.password), "LOGIN")
        if not self.client.protocol.capabilities - {"IMAP4rev1", "IMAP4REV1"}:
            await self.client.protocol.capability()  # not sent with LOGIN's answer
        self.separator = await self._separator()
        _check(await self.client.select("INBOX"), "SELECT INBOX")

    async def _starttls(self) -> None:
        """RFC 3501's STARTTLS, then the capabilities again (aioimaplib has no such call)."""
        protocol = self.client.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise MailboxUnavailable("the server does not offer STARTTLS")
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        _check(await protocol.execute(command), "STARTTLS")
        loop = asyncio.get_running_loop()
        protocol.transport = await loop.start_tls(
            protocol.transport, protocol, _tls_context(self._settings),
            server_hostname=self._settings.host,
        )  # fmt: skip
        await protocol.capability()

    async def _separator(self) -> str:
        response = _check(await self.client.list('""', '""'), "LIST")
        for line in response.lines:
            found = _LIST_SEPARATOR.search(bytes(line))
            if found and found.group(1):
                return found.group(1).decode().replace("\\\\", "\\")
        return "/"

    async def ensure_folder(self, folder: str) -> None:
        """Create `folder` (and its parents) unless it exists."""
        response = await self.client.create(quoted_mailbox(folder, self.separator))
        text = b" ".join(bytes(line) for line in response.lines).upper()
        if response.result != "OK" and b"ALREADYEXISTS" not in text and b"EXISTS" not in text:
            _check(response, f"CREATE {folder}")

    async def unhandled_uids(self) -> list[str]:
        """Every mail still in INBOX (handled ones are moved out), oldest first."""
        response = _check(await self.client.uid_search("UNDELETED", charset=None), "SEARCH")
        for line in response.lines:
            words = bytes(line).split()
            if words and all(word.isdigit() for word in words):
                return sorted((w.decode() for w in words), key=int)
        return []

    async def fetch(self, uid: str) -> bytes | None:
        """The raw mail (its first MAX_FETCH_BYTES), without setting \\Seen; None if it
        vanished meanwhile."""
        part = f"(BODY.PEEK[]<0.{MAX_FETCH_BYTES}>)"
        response = _check(await self.client.uid("fetch", uid, part), "FETCH")
        for line in response.lines:
            if isinstance(line, bytearray):
                return bytes(line)
        return None

    async def move(self, uids: Sequence[str], folder: str) -> None:
        """MOVE when the server has it, else COPY, flag \\Deleted and expunge."""
        uid_set = ",".join(uids)
        target = quoted_mailbox(folder, self.separator)
        if self.has("MOVE"):
            _check(await self.client.uid("move", uid_set, target), "MOVE")
            return
        _check(await self.client.uid("copy", uid_set, target), "COPY")
        _check(await self.client.uid("store", uid_set, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
        if self.has("UIDPLUS"):
            _check(await self.client.uid("expunge", uid_set), "UID EXPUNGE")
        else:
            _check(await self.client.expunge(), "EXPUNGE")

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if not self.lost.is_set():
                await asyncio.wait_for(client.logout(), 2)
        except (OSError, TimeoutError, aioimaplib.AioImapException):
            pass  # a server going away while we leave: nothing to do
        finally:
            transport = client.protocol.transport
            if transport is not None:
                transport.close()
