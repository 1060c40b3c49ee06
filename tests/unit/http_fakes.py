"""Fake HTTP servers on loopback for the session tests (aiohttp's test server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.test_utils import TestServer


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[TestServer]:
    """`app` listening on 127.0.0.1 until the block ends."""
    server = TestServer(app)
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


def base_url(server: TestServer) -> str:
    """The server's address without a trailing slash, as the config holds a homeserver."""
    return str(server.make_url("")).rstrip("/")
