"""The Matrix adapter's requests: a refused token is refreshed once, then the session is gone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.auth.login import LoginSettings
from bot.errors import AccountExpired, SessionRevoked
from bot.matrix import MatrixAdapter
from bot.session import LoginMethod, SavedSession, load_session, save_session
from tests.unit.http_fakes import base_url, serving

BOT = "@bot:rupn.test"
ROOM = "!room:rupn.test"


@dataclass
class Homeserver:
    valid: set[str] = field(default_factory=lambda: {"fresh"})
    refresh_ok: bool = True
    expired_account: bool = False
    seen: list[str] = field(default_factory=list)


STATE = web.AppKey("state", Homeserver)


async def _join(request: web.Request) -> web.Response:
    state = request.app[STATE]
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    state.seen.append(token)
    if state.expired_account:
        return web.json_response(
            {"errcode": "ORG_MATRIX_EXPIRED_ACCOUNT", "error": "expired"}, status=403
        )
    if token not in state.valid:  # as MAS-backed Synapse says it: no soft_logout
        return web.json_response(
            {"errcode": "M_UNKNOWN_TOKEN", "error": "no", "soft_logout": False}, status=401
        )
    return web.json_response({"room_id": ROOM})


async def _refresh(request: web.Request) -> web.Response:
    if not request.app[STATE].refresh_ok:
        return web.json_response({"errcode": "M_UNKNOWN_TOKEN", "error": "gone"}, status=401)
    return web.json_response({"access_token": "fresh", "refresh_token": "rt-2"})


@pytest.fixture
async def homeserver() -> AsyncIterator[tuple[TestServer, Homeserver]]:
    state = Homeserver()
    app = web.Application()
    app[STATE] = state
    app.router.add_post("/_matrix/client/v3/join/{room}", _join)
    app.router.add_post("/_matrix/client/v3/refresh", _refresh)
    async with serving(app) as server:
        yield server, state


async def _adapter(server: TestServer, data_dir: Path) -> MatrixAdapter:
    base = base_url(server)
    save_session(data_dir, SavedSession(base, BOT, "DEV", "stale", "rt-1", None,
                                        LoginMethod.PASSWORD, new_device=True))  # fmt: skip
    adapter = MatrixAdapter(LoginSettings(base, BOT, "rupn-bot", data_dir))
    await adapter.connect()
    return adapter


async def test_a_refused_token_is_refreshed_and_the_request_sent_again(
    homeserver: tuple[TestServer, Homeserver], tmp_path: Path
) -> None:
    server, state = homeserver
    adapter = await _adapter(server, tmp_path)
    try:
        await adapter.join(ROOM)
    finally:
        await adapter.close()
    assert state.seen == ["stale", "fresh"]
    stored = load_session(tmp_path)
    assert stored is not None and (stored.access_token, stored.refresh_token) == ("fresh", "rt-2")


@pytest.mark.parametrize(
    ("trouble", "raised"),
    [("refresh refused", SessionRevoked), ("account expired", AccountExpired)],
)
async def test_a_revoked_session_or_an_expired_account_is_not_retried(
    homeserver: tuple[TestServer, Homeserver], tmp_path: Path, trouble: str, raised: type[Exception]
) -> None:
    server, state = homeserver
    state.refresh_ok = trouble != "refresh refused"
    state.expired_account = trouble == "account expired"
    adapter = await _adapter(server, tmp_path)
    try:
        with pytest.raises(raised):
            await adapter.join(ROOM)
    finally:
        await adapter.close()
    assert state.seen == ["stale"]
