"""`rupn-bot connexion` against the test authorization server (authlib) and a fake homeserver."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.auth.connexion import Terminal, connect
from bot.auth.device_flow import DENIED_TEXT
from bot.auth.login import LoginSettings
from bot.auth.tokens import TokenKeeper
from bot.errors import LoginRequired
from bot.session import LoginMethod, load_session
from devtools.mas import MiniMas
from devtools.oauth_models import DeviceGrant
from tests.unit.http_fakes import base_url, serving

BOT = "@bot:rupn.test"


@dataclass
class Servers:
    homeserver: TestServer
    mas: MiniMas
    mode: str = "mas"  # "unstable" (MSC2965's old path only) or "password"


MODE = web.AppKey("servers", list[Servers])  # filled once both servers run


async def _metadata(request: web.Request) -> web.Response:
    servers = request.app[MODE][0]
    stable = request.path.startswith("/_matrix/client/v1/")
    if servers.mode == "mas" or (servers.mode == "unstable" and not stable):
        return web.json_response(servers.mas.metadata)
    return web.json_response({"errcode": "M_UNRECOGNIZED"}, status=404)


async def _login_flows(request: web.Request) -> web.Response:
    return web.json_response({"flows": [{"type": "m.login.password"}]})


async def _whoami(request: web.Request) -> web.Response:
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    found = request.app[MODE][0].mas.store.access.get(token)
    if found is None:
        return web.json_response({"errcode": "M_UNKNOWN_TOKEN"}, status=401)
    return web.json_response({"user_id": f"@{found.localpart}:rupn.test"})


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    app = web.Application()
    app[MODE] = []
    app.router.add_get("/_matrix/client/v1/auth_metadata", _metadata)
    app.router.add_get("/_matrix/client/unstable/org.matrix.msc2965/auth_metadata", _metadata)
    app.router.add_get("/_matrix/client/v3/login", _login_flows)
    app.router.add_get("/_matrix/client/v3/account/whoami", _whoami)
    async with serving(app) as homeserver:
        mas = MiniMas(base_url(homeserver), access_token_lifetime_s=300)
        await mas.start()
        both = Servers(homeserver, mas)
        app[MODE].append(both)
        yield both
        await mas.stop()


def _owner(servers: Servers, localpart: str, approved: bool, lines: list[str]) -> Terminal:
    """The terminal; the owner answers in the "browser" as soon as the code is printed."""

    def say(line: str) -> None:
        lines.append(line)
        if match := re.search(r"Saisissez ce code : (\S+)", line):
            servers.mas.store.grants[match.group(1)] = DeviceGrant(localpart, approved)

    return Terminal(say=say, ask_password=lambda: None)


def _settings(servers: Servers, data_dir: Path) -> LoginSettings:
    return LoginSettings(base_url(servers.homeserver), BOT, "rupn-bot", data_dir)


@pytest.mark.parametrize("mode", ["mas", "unstable"])
async def test_the_device_code_gives_a_stored_oauth_session_that_refreshes(
    servers: Servers, tmp_path: Path, mode: str
) -> None:
    servers.mode = mode
    lines: list[str] = []
    session = await connect(_settings(servers, tmp_path), _owner(servers, "bot", True, lines))
    assert session.method is LoginMethod.OAUTH and session.new_device
    assert session.token_endpoint == servers.mas.metadata["token_endpoint"]
    assert load_session(tmp_path) == session
    token = servers.mas.store.access[session.access_token]
    assert token.scope == f"urn:matrix:client:api:* urn:matrix:client:device:{session.device_id}"
    assert lines[0] == (
        "Ce serveur Matrix confie la connexion à un service d’authentification (OAuth 2.0, "
        "par exemple ProConnect)."
    )
    assert lines[-1].startswith(f"Connexion réussie : la session {session.device_id} du compte")

    renewed = await TokenKeeper(tmp_path, session).after_rejection(session.access_token)
    stored = load_session(tmp_path)
    assert stored is not None and stored.access_token == renewed != session.access_token
    assert stored.refresh_token != session.refresh_token  # rotated


async def test_a_denied_code_or_another_account_stores_nothing(
    servers: Servers, tmp_path: Path
) -> None:
    with pytest.raises(LoginRequired) as denied:
        await connect(_settings(servers, tmp_path), _owner(servers, "bot", False, []))
    assert denied.value.message == DENIED_TEXT
    with pytest.raises(LoginRequired) as other:
        await connect(_settings(servers, tmp_path), _owner(servers, "rupn", True, []))
    assert other.value.message == (
        f"La connexion a été validée avec le compte @rupn:rupn.test, pas avec celui du bot ({BOT}, "
        "matrix.user_id) : rien n’a été enregistré. Relancez « rupn-bot connexion » et "
        "connectez-vous avec le compte du bot dans le navigateur."
    )
    assert load_session(tmp_path) is None


async def test_a_password_server_asks_for_the_password(servers: Servers, tmp_path: Path) -> None:
    servers.mode = "password"
    with pytest.raises(LoginRequired) as caught:
        await connect(_settings(servers, tmp_path), Terminal(say=print, ask_password=lambda: None))
    assert caught.value.message == (
        "Ce serveur Matrix demande le mot de passe du compte du bot : tapez-le quand il est "
        "demandé, ou donnez-le par la variable RUPN_BOT_PASSWORD."
    )
