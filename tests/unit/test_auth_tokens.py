"""Short-lived access tokens: refreshed ahead of expiry, stored before use, once at a time."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.auth.login import LoginSettings, open_session, reopen_session
from bot.auth.refresh import TokenPair
from bot.auth.tokens import TokenKeeper
from bot.errors import LoginRequired, SessionRevoked
from bot.session import SESSION_FILE, LoginMethod, SavedSession, load_session, save_session
from tests.unit.http_fakes import base_url, serving

USER = "@bot:rupn.test"
LOGINS = web.AppKey("logins", list[dict[str, object]])


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> int:
        return self.ms


def _session(**changes: object) -> SavedSession:
    base = SavedSession("http://hs", USER, "DEV1", "at-0", "rt-0", 1_010_000)
    return base.__class__(**{**base.__dict__, **changes})


class Rotating:
    """A refresh endpoint that rotates its pair and counts calls; it checks what is on disk."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.calls = 0
        self.refused = False

    async def __call__(self, session: SavedSession) -> TokenPair:
        self.calls += 1
        await asyncio.sleep(0)  # let concurrent callers pile up on the lock
        if self.refused:
            raise SessionRevoked("M_UNKNOWN_TOKEN", "refresh token revoked")
        return TokenPair(f"at-{self.calls}", f"rt-{self.calls}", 10_000)


async def test_a_token_close_to_expiry_is_refreshed_once_and_stored_first(tmp_path: Path) -> None:
    clock = Clock()
    refresh = Rotating(tmp_path)
    keeper = TokenKeeper(tmp_path, _session(), refresher=refresh, now_ms=clock)
    assert await keeper.current() == "at-0"  # 10 s left: not due yet

    clock.ms = 1_009_000  # 1 s before expiry
    tokens = await asyncio.gather(*(keeper.current() for _ in range(5)))
    assert tokens == ["at-1"] * 5 and refresh.calls == 1
    stored = load_session(tmp_path)
    assert stored is not None
    assert (stored.access_token, stored.refresh_token) == ("at-1", "rt-1")
    assert stored.expires_at_ms == 1_009_000 + 10_000
    assert stat.S_IMODE((tmp_path / SESSION_FILE).stat().st_mode) == 0o600

    clock.ms = 1_014_500  # within the last half of the 10 s lifetime
    assert await keeper.current() == "at-2"


async def test_a_refused_token_is_refreshed_once_even_when_several_requests_saw_it(
    tmp_path: Path,
) -> None:
    refresh = Rotating(tmp_path)
    keeper = TokenKeeper(tmp_path, _session(), refresher=refresh, now_ms=Clock())
    fresh = await asyncio.gather(*(keeper.after_rejection("at-0") for _ in range(3)))
    assert fresh == ["at-1"] * 3 and refresh.calls == 1
    # A request that still carried the old token gets the new one, without a refresh.
    assert await keeper.after_rejection("at-0") == "at-1" and refresh.calls == 1


async def test_a_refused_refresh_keeps_the_stored_session_and_says_revoked(tmp_path: Path) -> None:
    save_session(tmp_path, _session())
    refresh = Rotating(tmp_path)
    refresh.refused = True
    keeper = TokenKeeper(tmp_path, _session(), refresher=refresh, now_ms=Clock())
    with pytest.raises(SessionRevoked):
        await keeper.after_rejection("at-0")
    assert load_session(tmp_path) == _session()


async def test_a_token_without_refresh_token_is_never_refreshed(tmp_path: Path) -> None:
    clock = Clock()
    keeper = TokenKeeper(tmp_path, _session(refresh_token=None), now_ms=clock)
    clock.ms = 2_000_000
    assert await keeper.current() == "at-0"
    with pytest.raises(SessionRevoked):
        await keeper.after_rejection("at-0")


def test_a_session_file_of_an_older_version_loads_as_a_password_session(tmp_path: Path) -> None:
    old = {"homeserver": "http://hs", "user_id": USER, "device_id": "D", "access_token": "s3cr3t"}
    (tmp_path / SESSION_FILE).write_text(json.dumps(old), encoding="utf-8")
    session = load_session(tmp_path)
    assert session == SavedSession("http://hs", USER, "D", "s3cr3t")
    assert session.method is LoginMethod.PASSWORD and session.expires_at_ms is None
    assert "s3cr3t" not in repr(session)


# --------------------------------------------------------------------------- opening a session


@pytest.fixture
async def homeserver() -> AsyncIterator[TestServer]:
    """/login (with refresh tokens), /refresh and /whoami of a tiny fake homeserver."""
    logins: list[dict[str, object]] = []

    async def login(request: web.Request) -> web.Response:
        body = await request.json()
        logins.append(body)
        if body["password"] != "pw":
            return web.json_response({"errcode": "M_FORBIDDEN", "error": "bad"}, status=403)
        return web.json_response({
            "user_id": USER, "device_id": f"NEW{len(logins)}", "access_token": "at-login",
            "refresh_token": "rt-login", "expires_in_ms": 10_000,
        })  # fmt: skip

    async def refresh(request: web.Request) -> web.Response:
        body = await request.json()
        if body["refresh_token"] != "rt-login":
            return web.json_response({"errcode": "M_UNKNOWN_TOKEN", "error": "no"}, status=401)
        return web.json_response(
            {"access_token": "at-2", "refresh_token": "rt-2", "expires_in_ms": 10_000}
        )

    async def whoami(request: web.Request) -> web.Response:
        owners = {"Bearer bot-token": USER, "Bearer other-token": "@rupn:rupn.test"}
        owner = owners.get(request.headers.get("Authorization", ""))
        if owner is None:
            return web.json_response({"errcode": "M_UNKNOWN_TOKEN", "error": "no"}, status=401)
        return web.json_response({"user_id": owner, "device_id": "OPERATOR"})

    app = web.Application()
    app[LOGINS] = logins
    app.router.add_post("/_matrix/client/v3/login", login)
    app.router.add_post("/_matrix/client/v3/refresh", refresh)
    app.router.add_get("/_matrix/client/v3/account/whoami", whoami)
    async with serving(app) as server:
        yield server


def _settings(server: TestServer, data_dir: Path, **extra: str) -> LoginSettings:
    base = base_url(server)
    return LoginSettings(base, USER, "rupn-bot", data_dir, **extra)


async def test_password_login_asks_for_a_refresh_token_and_stores_the_pair(
    homeserver: TestServer, tmp_path: Path
) -> None:
    session = await open_session(_settings(homeserver, tmp_path, password="pw"))
    assert (session.device_id, session.refresh_token) == ("NEW1", "rt-login")
    [body] = homeserver.app[LOGINS]
    assert body["refresh_token"] is True
    assert body["identifier"] == {"type": "m.id.user", "user": USER}
    assert load_session(tmp_path) == session
    keeper = TokenKeeper(tmp_path, session)
    assert await keeper.after_rejection("at-login") == "at-2"  # Matrix /refresh
    stored = load_session(tmp_path)
    assert stored is not None and stored.refresh_token == "rt-2"


async def test_without_session_nor_password_run_is_told_to_use_connexion(
    homeserver: TestServer, tmp_path: Path
) -> None:
    with pytest.raises(LoginRequired) as caught:
        await open_session(_settings(homeserver, tmp_path))
    assert caught.value.message == (
        f"Aucune session utilisable du bot dans {tmp_path} et aucun mot de passe "
        "(RUPN_BOT_PASSWORD) : lancez « rupn-bot connexion --config … » (une fois, en "
        "interactif), puis relancez le bot."
    )
    with pytest.raises(LoginRequired, match="Le serveur Matrix a refusé le mot de passe"):
        await open_session(_settings(homeserver, tmp_path, password="wrong"))


async def test_a_stored_session_is_used_only_with_its_encryption_store(
    homeserver: TestServer, tmp_path: Path
) -> None:
    settings = _settings(homeserver, tmp_path, password="pw")
    stored = SavedSession(settings.homeserver, USER, "OLD", "at-old")
    save_session(tmp_path, stored)
    (tmp_path / "crypto").mkdir()
    (tmp_path / "crypto" / f"{USER}_OLD.db").write_bytes(b"")
    assert await open_session(settings) == stored
    assert homeserver.app[LOGINS] == []
    (tmp_path / "crypto" / f"{USER}_OLD.db").unlink()
    assert (await open_session(settings)).device_id == "NEW1"  # a new device


async def test_an_operator_token_must_belong_to_the_bot(
    homeserver: TestServer, tmp_path: Path
) -> None:
    session = await open_session(_settings(homeserver, tmp_path, access_token="bot-token"))
    assert (session.device_id, session.method) == ("OPERATOR", LoginMethod.TOKEN)
    assert load_session(tmp_path) == session
    with pytest.raises(LoginRequired) as caught:
        await open_session(_settings(homeserver, tmp_path, access_token="other-token"))
    assert caught.value.message == (
        "Le jeton de la variable RUPN_BOT_ACCESS_TOKEN appartient au compte @rupn:rupn.test, "
        f"pas à {USER} (matrix.user_id) : le bot ne l’utilise pas."
    )


async def test_a_revoked_session_without_password_is_forgotten(
    homeserver: TestServer, tmp_path: Path
) -> None:
    settings = _settings(homeserver, tmp_path)
    save_session(tmp_path, SavedSession(settings.homeserver, USER, "OLD", "at-old"))
    with pytest.raises(LoginRequired, match="La session du bot a été révoquée"):
        await reopen_session(settings)
    assert load_session(tmp_path) is None
    with_password = _settings(homeserver, tmp_path, password="pw")
    assert (await reopen_session(with_password)).device_id == "NEW1"


async def test_a_session_opened_by_connexion_starts_without_a_store_once(
    homeserver: TestServer, tmp_path: Path
) -> None:
    settings = _settings(homeserver, tmp_path)
    fresh = SavedSession(settings.homeserver, USER, "NEW", "at", new_device=True)
    save_session(tmp_path, fresh)
    assert await open_session(settings) == fresh  # no store yet: it is the first start
    (tmp_path / "crypto").mkdir()
    (tmp_path / "crypto" / f"{USER}_NEW.db").write_bytes(b"")
    started = await open_session(settings)
    assert not started.new_device and load_session(tmp_path) == started
    (tmp_path / "crypto" / f"{USER}_NEW.db").unlink()  # lost after its keys were published
    with pytest.raises(LoginRequired):
        await open_session(settings)
