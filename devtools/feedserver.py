"""A local HTTP server for RSS/Atom feeds, for tests, benchmarks and the demo.

It answers conditional GETs (ETag / If-Modified-Since → 304) and counts what
it sent, so a test can see the second read of an unchanged feed cost nothing.
Binds 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate

from aiohttp import web


@dataclass
class ServedFeed:
    body: bytes
    content_type: str = "application/rss+xml; charset=utf-8"
    fail_with: int | None = None  # answer this HTTP status instead
    delay_s: float = 0.0
    last_modified: str = field(default_factory=lambda: formatdate(usegmt=True))

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


class FeedServer:
    def __init__(self) -> None:
        self.feeds: dict[str, ServedFeed] = {}
        self.statuses: Counter[int] = Counter()
        self.bytes_sent = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def publish(self, path: str, body: bytes, **options: object) -> str:
        """Serve (or replace) `body` at `path`; returns its URL."""
        self.feeds[path] = ServedFeed(body, **options)  # type: ignore[arg-type]
        return self.url(path)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        feed = self.feeds.get(request.path.lstrip("/"))
        if feed is None:
            self.statuses[404] += 1
            return web.Response(status=404)
        if feed.delay_s:
            await asyncio.sleep(feed.delay_s)
        if feed.fail_with is not None:
            self.statuses[feed.fail_with] += 1
            return web.Response(status=feed.fail_with, text="erreur simulée")
        headers = {"ETag": feed.etag, "Last-Modified": feed.last_modified}
        if request.headers.get("If-None-Match") == feed.etag:
            self.statuses[304] += 1
            return web.Response(status=304, headers=headers)
        self.statuses[200] += 1
        self.bytes_sent += len(feed.body)
        return web.Response(body=feed.body, headers={**headers, "Content-Type": feed.content_type})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
