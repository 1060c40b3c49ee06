"""The interactive steps against fake servers: the device code's waiting, the identity reset."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.auth.connexion import qr_text
from bot.auth.device_flow import (
    DENIED_TEXT,
    EXPIRED_TEXT,
    DeviceAuthorization,
    Waiting,
    wait_for_tokens,
)
from bot.auth.discovery import OAuthServer
from bot.cross_signing import IdentityState
from bot.errors import LoginRequired
from bot.identity_reset import ApprovalTimeout, reset_identity
from bot.keys_api import AuthRequired, KeysApi
from tests.unit.http_fakes import base_url, serving

BOT = "@bot:rupn.test"
APPROVAL = "https://auth.example/account/?action=org.matrix.cross_signing_reset"


class Clock:
    """A monotonic clock that only `sleep` moves."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class FakeAuthority:
    """A token endpoint answering a script of OAuth errors (then tokens), and a keys API."""

    token_answers: list[str] = field(default_factory=list)
    mode: str = "mas"  # or "password"
    approved: bool = False
    uploads: int = 0
    keys: dict[str, Any] = field(default_factory=dict)
    device: dict[str, Any] = field(default_factory=dict)


AUTHORITY = web.AppKey("authority", FakeAuthority)


async def _token(request: web.Request) -> web.Response:
    state = request.app[AUTHORITY]
    answer = state.token_answers.pop(0)
    if answer == "ok":
        return web.json_response({"access_token": "at", "refresh_token": "rt", "expires_in": 300})
    return web.json_response({"error": answer}, status=400)


async def _upload(request: web.Request) -> web.Response:
    state = request.app[AUTHORITY]
    body = await request.json()
    state.uploads += 1
    if state.mode == "mas" and not state.approved:
        return web.json_response({
            "session": "dummy", "flows": [{"stages": ["m.oauth"]},
                                         {"stages": ["org.matrix.cross_signing_reset"]}],
            "params": {"m.oauth": {"url": APPROVAL}},
        }, status=401)  # fmt: skip
    if state.mode == "password" and (body.get("auth") or {}).get("password") != "pw":
        return web.json_response(
            {"session": "s", "flows": [{"stages": ["m.login.password"]}]}, status=401
        )
    state.keys = body
    return web.json_response({})


async def _query(request: web.Request) -> web.Response:
    state = request.app[AUTHORITY]
    answer: dict[str, Any] = {"device_keys": {BOT: {"DEV": state.device}}}
    if state.keys:
        answer["master_keys"] = {BOT: state.keys["master_key"]}
        answer["self_signing_keys"] = {BOT: state.keys["self_signing_key"]}
    return web.json_response(answer)


async def _signatures(request: web.Request) -> web.Response:
    request.app[AUTHORITY].device = (await request.json())[BOT]["DEV"]
    return web.json_response({"failures": {}})


@pytest.fixture
async def authority() -> AsyncIterator[tuple[TestServer, FakeAuthority]]:
    state = FakeAuthority(device={
        "user_id": BOT, "device_id": "DEV", "algorithms": [], "keys": {"ed25519:DEV": "x"},
        "signatures": {},
    })  # fmt: skip
    app = web.Application()
    app[AUTHORITY] = state
    app.router.add_post("/token", _token)
    app.router.add_post("/_matrix/client/v3/keys/device_signing/upload", _upload)
    app.router.add_post("/_matrix/client/v3/keys/query", _query)
    app.router.add_post("/_matrix/client/v3/keys/signatures/upload", _signatures)
    async with serving(app) as server:
        yield server, state


def _oauth(server: TestServer) -> OAuthServer:
    base = base_url(server)
    return OAuthServer(base, base + "/token", base + "/register", base + "/device")


AUTHORIZATION = DeviceAuthorization("dc", "ABCD-EFGH", "https://auth/link", None, 600, 5)


async def test_the_device_code_wait_slows_down_when_asked_and_counts_down_in_french(
    authority: tuple[TestServer, FakeAuthority],
) -> None:
    server, state = authority
    state.token_answers = ["authorization_pending", "slow_down", "authorization_pending", "ok"]
    clock, lines = Clock(), list[str]()
    pair = await wait_for_tokens(
        _oauth(server), "client", AUTHORIZATION, Waiting(lines.append, every_s=5),
        sleep=clock.sleep, monotonic=clock.monotonic,
    )  # fmt: skip
    assert (pair.access_token, pair.refresh_token, pair.expires_in_ms) == ("at", "rt", 300_000)
    assert clock.sleeps == [5, 5, 10, 10]  # RFC 8628: slow_down adds 5 s to the interval
    assert lines == [
        "En attente de votre validation… il reste 10 min 00 s.",
        "En attente de votre validation… il reste 9 min 55 s.",
        "Le service d’authentification demande d’interroger moins souvent : une vérification "
        "toutes les 10 s.",
        "En attente de votre validation… il reste 9 min 50 s.",
        "En attente de votre validation… il reste 9 min 40 s.",
    ]


@pytest.mark.parametrize(
    ("error", "text"), [("expired_token", EXPIRED_TEXT), ("access_denied", DENIED_TEXT)]
)
async def test_an_expired_or_denied_code_says_so_in_french(
    authority: tuple[TestServer, FakeAuthority], error: str, text: str
) -> None:
    server, state = authority
    state.token_answers = ["authorization_pending", error]
    clock = Clock()
    with pytest.raises(LoginRequired) as caught:
        await wait_for_tokens(
            _oauth(server), "client", AUTHORIZATION, Waiting(lambda _: None),
            sleep=clock.sleep, monotonic=clock.monotonic,
        )  # fmt: skip
    assert caught.value.message == text


async def _reset(
    server: TestServer, tmp_path: Path, clock: Clock, lines: list[str], passwords: list[str]
) -> IdentityState:
    asked: list[str] = []

    def ask_password() -> str | None:
        asked.append("asked")
        return passwords.pop(0) if passwords else None

    api = KeysApi(base_url(server), "token")
    report = await reset_identity(
        api, tmp_path, BOT, "DEV", ask_password, lines.append,
        sleep=clock.sleep, monotonic=clock.monotonic,
    )  # fmt: skip
    lines.append(f"password asked {len(asked)} time(s)")
    return report.state


async def test_on_mas_the_reset_waits_for_the_owner_s_approval_and_never_asks_a_password(
    authority: tuple[TestServer, FakeAuthority], tmp_path: Path
) -> None:
    server, state = authority
    clock, lines = Clock(), list[str]()

    async def approve_after_two_tries(seconds: float) -> None:
        await Clock.sleep(clock, seconds)
        state.approved = len(clock.sleeps) >= 2

    clock.sleep = approve_after_two_tries  # type: ignore[method-assign]
    assert await _reset(server, tmp_path, clock, lines, []) is IdentityState.SIGNED
    assert state.uploads == 3
    assert lines[0] == (
        "Le serveur demande au propriétaire du compte du bot d’approuver la réinitialisation de "
        "son identité de chiffrement. Ouvrez cette adresse dans un navigateur, connectez-vous "
        f"avec le compte du bot ({BOT}) et approuvez : {APPROVAL}"
    )
    assert lines[1] == "En attente de votre validation… il reste 10 min 00 s."
    assert lines[-1] == "password asked 0 time(s)"


async def test_on_mas_an_approval_that_never_comes_stops_after_ten_minutes(
    authority: tuple[TestServer, FakeAuthority], tmp_path: Path
) -> None:
    server, _ = authority
    clock = Clock()
    with pytest.raises(ApprovalTimeout):
        await _reset(server, tmp_path, clock, [], [])
    assert clock.now == pytest.approx(600, abs=2.5)


async def test_on_a_password_server_the_password_is_asked_when_listed_only(
    authority: tuple[TestServer, FakeAuthority], tmp_path: Path
) -> None:
    server, state = authority
    state.mode = "password"
    lines: list[str] = []
    assert await _reset(server, tmp_path, Clock(), lines, ["pw"]) is IdentityState.SIGNED
    assert lines == ["password asked 1 time(s)"]
    with pytest.raises(AuthRequired):
        await _reset(server, tmp_path, Clock(), [], ["wrong"])


def test_the_complete_address_is_drawn_as_a_qr_code_of_even_lines() -> None:
    drawing = qr_text("https://auth.example/link?user_code=ABCD-EFGH").splitlines()
    assert len(drawing) > 10
    assert len({len(line) for line in drawing}) == 1  # a square of half-height blocks
    assert set("".join(drawing)) <= {"█", "▀", "▄", " "}
