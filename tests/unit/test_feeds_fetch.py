"""Feed fetching against a real local HTTP server: conditional GET, errors, limits."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot import __version__
from bot.feeds.fetch import FeedFetchError, fetch_feed, next_retry_delay
from bot.feeds.parse import parse_feed

SPIP_UTF8 = (
    Path(__file__).resolve().parent.parent
    / "fixtures"
    / "feeds"
    / "spip"
    / "SYNTHETIC-spip-backend-utf8.xml"
)
ETAG = '"spip-1125"'
LAST_MODIFIED = "Wed, 12 Mar 2025 09:30:00 GMT"


@dataclass
class FeedServer:
    base_url: str
    requests: list[dict[str, str]] = field(default_factory=list)


async def _serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    body = SPIP_UTF8.read_bytes()
    state = FeedServer(base_url="")

    async def feed(request: web.Request) -> web.StreamResponse:
        state.requests.append(dict(request.headers))
        if request.headers.get("If-None-Match") == ETAG:
            return web.Response(status=304, headers={"ETag": ETAG})
        return web.Response(
            body=body,
            content_type="application/rss+xml",
            charset="utf-8",
            headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED},
        )

    async def broken(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text="boom")

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.Response(body=body)

    async def huge(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"x" * 200_000, content_type="application/rss+xml")

    async def huge_chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(50):
            await response.write(b"y" * 10_000)
        await response.write_eof()
        return response

    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/spip/backend.php")

    app = web.Application()
    app.router.add_get("/spip/backend.php", feed)
    app.router.add_get("/broken", broken)
    app.router.add_get("/slow", slow)
    app.router.add_get("/huge", huge)
    app.router.add_get("/huge-chunked", huge_chunked)
    app.router.add_get("/moved", redirect)
    async for base_url in _serve(app):
        state.base_url = base_url
        yield state


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def test_first_fetch_then_conditional_304(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    url = f"{server.base_url}/spip/backend.php"
    first = await fetch_feed(session, url, etag=None, last_modified=None)
    assert first.status == 200
    assert first.body == SPIP_UTF8.read_bytes()
    assert first.bytes_received == len(first.body)
    assert first.etag == ETAG
    assert first.last_modified == LAST_MODIFIED
    assert first.final_url == url
    assert first.content_type is not None
    assert first.content_type.startswith("application/rss+xml")
    parsed = parse_feed(first.body, first.final_url, content_type=first.content_type)
    assert not parsed.bozo
    assert len(parsed.entries) == 1

    second = await fetch_feed(session, url, etag=first.etag, last_modified=first.last_modified)
    assert second.status == 304
    assert second.body is None
    assert second.bytes_received == 0
    assert second.etag == ETAG
    assert second.last_modified == LAST_MODIFIED

    assert "If-None-Match" not in server.requests[0]
    assert server.requests[1]["If-None-Match"] == ETAG
    assert server.requests[1]["If-Modified-Since"] == LAST_MODIFIED
    user_agent = server.requests[0]["User-Agent"]
    assert user_agent == f"rupn-bot/{__version__} (+https://github.com/rupn-bot)"


async def test_redirect_reports_final_url(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    result = await fetch_feed(session, f"{server.base_url}/moved", etag=None, last_modified=None)
    assert result.status == 200
    assert result.final_url == f"{server.base_url}/spip/backend.php"


async def test_http_500_raises(server: FeedServer, session: aiohttp.ClientSession) -> None:
    with pytest.raises(FeedFetchError, match="HTTP 500"):
        await fetch_feed(session, f"{server.base_url}/broken", etag=None, last_modified=None)


async def test_timeout_raises(server: FeedServer, session: aiohttp.ClientSession) -> None:
    with pytest.raises(FeedFetchError, match="timeout"):
        await fetch_feed(
            session, f"{server.base_url}/slow", etag=None, last_modified=None, timeout_s=0.2
        )


@pytest.mark.parametrize("path", ["/huge", "/huge-chunked"])
async def test_oversized_body_refused(
    server: FeedServer, session: aiohttp.ClientSession, path: str
) -> None:
    with pytest.raises(FeedFetchError, match="too large"):
        await fetch_feed(
            session, f"{server.base_url}{path}", etag=None, last_modified=None, max_bytes=100_000
        )


async def test_connection_refused_raises(session: aiohttp.ClientSession) -> None:
    async for base_url in _serve(web.Application()):
        closed_url = base_url  # the port is free again once the server stops
    with pytest.raises(FeedFetchError, match="network error"):
        await fetch_feed(session, f"{closed_url}/feed", etag=None, last_modified=None)


def test_next_retry_delay_grows_and_caps() -> None:
    assert next_retry_delay(0) == 0
    delays = [next_retry_delay(n) for n in range(1, 12)]
    assert delays[:4] == [60, 120, 240, 480]
    assert all(later >= earlier for earlier, later in itertools.pairwise(delays))
    assert max(delays) == 6 * 3600
    assert next_retry_delay(10_000) == 6 * 3600
    assert next_retry_delay(3, base_s=1, cap_s=3) == 3
