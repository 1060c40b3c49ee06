"""A minimal OAuth 2.0 authorization server playing MAS for the tests, built on authlib.

Only what Synapse (in its `matrix_authentication_service` mode) and rupn-bot
use from the Matrix Authentication Service: the OpenID configuration with
`account_management_uri`, dynamic client registration (RFC 7591, MSC2966),
the device authorization grant (RFC 8628), the token endpoint (device code
and refresh token grants; short-lived access tokens), introspection for
Synapse with the shared secret, and the provisioning of users and devices
through Synapse's `/_synapse/mas/` endpoints. The test plays the account
owner in the browser: `approve`, `deny`, `allow_cross_signing_reset`, and the
operator: `compat_token` (mas-cli manage issue-compatibility-token), `end_session`.

It runs in the test's event loop, on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from typing import Any

import aiohttp
from aiohttp import web
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint

from devtools.oauth_models import (
    ADMIN_SCOPE,
    SCOPE_API,
    DeviceGrant,
    Store,
    Token,
    device_of,
)
from devtools.oauth_server import (
    FormRequest,
    JsonBodyRequest,
    Server,
    device_endpoint,
    device_grant,
    json_answer,
    refresh_grant,
    registration,
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class MiniMas:
    """The MAS stand-in; `synapse_config()` is what homeserver.yaml needs to use it."""

    def __init__(self, synapse_url: str, *, access_token_lifetime_s: int = 20) -> None:
        os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # http on loopback only
        self.port = _free_port()
        self.issuer = f"http://127.0.0.1:{self.port}/"
        self.secret = secrets.token_urlsafe(24)
        self.synapse_url = synapse_url.rstrip("/")
        self.store = Store()
        self.metadata = self._metadata()
        self._server = Server(self.store, access_token_lifetime_s)
        self._server.register_grant(device_grant(self.store))
        self._server.register_grant(refresh_grant(self.store))
        self._server.register_endpoint(device_endpoint(self.store, self.issuer))
        self._registration = registration(self.store, self.metadata)(server=self._server)
        self._runner: web.AppRunner | None = None
        self._hold: asyncio.Event | None = None
        self.refresh_held = asyncio.Event()

    def synapse_config(self) -> dict[str, Any]:
        return {
            "matrix_authentication_service": {
                "enabled": True, "endpoint": self.issuer, "secret": self.secret,
            },
            "password_config": {"enabled": False},
        }  # fmt: skip

    def _metadata(self) -> dict[str, Any]:
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": base + "authorize",
            "token_endpoint": base + "oauth2/token",
            "registration_endpoint": base + "oauth2/registration",
            "device_authorization_endpoint": base + "oauth2/device",
            "introspection_endpoint": base + "oauth2/introspect",
            "revocation_endpoint": base + "oauth2/revoke",
            "account_management_uri": base + "account/",
            "account_management_actions_supported": ["org.matrix.cross_signing_reset"],
            "grant_types_supported": [
                "authorization_code", "refresh_token",
                "urn:ietf:params:oauth:grant-type:device_code",
            ],
            "response_types_supported": ["code"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
        }  # fmt: skip

    # -- HTTP ----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._well_known)
        app.router.add_post("/oauth2/registration", self._register)
        app.router.add_post("/oauth2/device", self._device)
        app.router.add_post("/oauth2/token", self._token)
        app.router.add_post("/oauth2/introspect", self._introspect)
        app.router.add_get("/account/", self._account)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _well_known(self, request: web.Request) -> web.Response:
        return web.json_response(self.metadata)

    async def _form(self, request: web.Request) -> FormRequest:
        form = {key: str(value) for key, value in (await request.post()).items()}
        return FormRequest(str(request.url), dict(request.headers), form)

    async def _register(self, request: web.Request) -> web.Response:
        body = await request.json()
        wrapped = JsonBodyRequest(str(request.url), dict(request.headers), body)
        try:
            status, data, headers = self._registration(wrapped)
        except OAuth2Error as error:
            status, data, headers = error()
        return json_answer(status, data, headers)

    async def _device(self, request: web.Request) -> web.Response:
        response: web.Response = self._server.create_endpoint_response(
            DeviceAuthorizationEndpoint.ENDPOINT_NAME, await self._form(request)
        )
        return response

    async def _token(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        response: web.Response = self._server.create_token_response(form)
        if form.form.get("grant_type") == "refresh_token" and self._hold is not None:
            self.refresh_held.set()  # the new pair exists; its answer waits for the test
            await self._hold.wait()
        return response

    def hold_refresh_answers(self) -> None:
        """From now on, a refresh is done but answered only after `release_refresh_answers`."""
        self.refresh_held = asyncio.Event()
        self._hold = asyncio.Event()

    def release_refresh_answers(self) -> None:
        if self._hold is not None:
            self._hold.set()
        self._hold = None

    async def _introspect(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.secret}":
            return web.json_response({"error": "invalid_client"}, status=401)
        token = self.store.access.get(str((await request.post()).get("token", "")))
        if token is None or token.ended or token.is_expired():
            return web.json_response({"active": False})
        token.used = True
        answer: dict[str, Any] = {
            "active": True, "scope": token.scope, "username": token.localpart,
            "sub": token.localpart, "token_type": "access_token",
        }  # fmt: skip
        if token.expires_in is not None:
            answer["expires_in"] = max(0, int(token.issued_at + token.expires_in - time.time()))
        return web.json_response(answer)

    async def _account(self, request: web.Request) -> web.Response:
        return web.Response(text="Gestion du compte (serveur de test)")

    # -- what the account owner and the operator do ----------------------------------------

    async def _synapse(self, path: str, body: dict[str, Any]) -> None:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.synapse_url}/_synapse/mas/{path}", json=body,
                headers={"Authorization": f"Bearer {self.secret}"},
            ) as response,
        ):  # fmt: skip
            if response.status >= 400:
                raise RuntimeError(
                    f"/_synapse/mas/{path}: {response.status} {await response.text()}"
                )

    async def provision(self, localpart: str, device_id: str | None = None) -> str:
        """The user (and the device) exist in Synapse, as MAS makes them on first login."""
        await self._synapse("provision_user", {"localpart": localpart})
        if device_id is not None:
            await self._synapse("upsert_device", {"localpart": localpart, "device_id": device_id})
        return localpart

    def pending_user_codes(self) -> list[str]:
        return [c.get_user_code() for c in self.store.credentials.values()]

    async def approve(self, user_code: str, localpart: str) -> None:
        """The owner logs in in the browser and accepts the device code."""
        credential = self.store.by_user_code(user_code)
        if credential is None:
            raise KeyError(user_code)
        await self.provision(localpart, device_of(credential.get_scope() or ""))
        self.store.grants[user_code] = DeviceGrant(localpart, approved=True)

    def deny(self, user_code: str) -> None:
        self.store.grants[user_code] = DeviceGrant("", approved=False)

    async def compat_token(
        self, localpart: str, device_id: str | None = None, *, admin: bool = False
    ) -> tuple[str, str]:
        """A token that does not expire, with its device (mas-cli issue-compatibility-token)."""
        device_id = device_id or secrets.token_hex(5).upper()
        await self.provision(localpart, device_id)
        scope = f"{SCOPE_API} urn:matrix:client:device:{device_id}"
        token = Token("mct_" + generate_token(32), None, None,
                      scope + (f" {ADMIN_SCOPE}" if admin else ""), localpart, None)  # fmt: skip
        self.store.add(token)
        return token.access_token, device_id

    async def end_session(self, localpart: str, device_id: str) -> None:
        """The owner ends the session in their list of sessions: tokens and device go."""
        for token in list(self.store.access.values()):
            if token.localpart == localpart and token.device_id == device_id:
                token.ended = True
        await self._synapse("delete_device", {"localpart": localpart, "device_id": device_id})

    async def allow_cross_signing_reset(self, localpart: str) -> None:
        """The owner approved « réinitialiser l’identité » at the account management page."""
        await self._synapse("allow_cross_signing_reset", {"localpart": localpart})
