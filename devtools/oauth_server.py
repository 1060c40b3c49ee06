"""authlib's OAuth 2.0 server, wired for aiohttp and the in-memory records of oauth_models.

The grants and endpoints MiniMas (devtools/mas.py) serves: dynamic client
registration (RFC 7591), device authorization (RFC 8628), and the token
endpoint's device code and refresh token grants.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from aiohttp import web
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    JsonRequest,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import RefreshTokenGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint
from authlib.oauth2.rfc8628 import (
    DeviceAuthorizationEndpoint,
    DeviceCodeGrant,
    DeviceCredentialDict,
)

from devtools.oauth_models import Client, Store, Token

DEVICE_CODE_LIFETIME_S = 120
POLL_INTERVAL_S = 1


class Payload(OAuth2Payload):  # type: ignore[misc]
    """Form or JSON fields, as authlib's grants and endpoints read them."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @property
    def data(self) -> dict[str, Any]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[Any]]:
        return {key: [value] for key, value in self._data.items()}


class FormRequest(OAuth2Request):  # type: ignore[misc]
    def __init__(self, url: str, headers: dict[str, str], form: dict[str, str]) -> None:
        super().__init__("POST", url, headers=headers)
        self.payload = Payload(form)

    @property
    def form(self) -> dict[str, str]:
        return dict(self.payload.data)

    @property
    def args(self) -> dict[str, str]:
        return {}


class JsonBodyRequest(JsonRequest):  # type: ignore[misc]
    def __init__(self, url: str, headers: dict[str, str], body: dict[str, Any]) -> None:
        super().__init__("POST", url, headers)
        self.payload = Payload(body)


def json_answer(status: int, body: Any, headers: Any) -> web.Response:
    """authlib's answer; its Content-Type header is aiohttp's to set."""
    kept = {k: v for k, v in dict(headers or {}).items() if k.lower() != "content-type"}
    return web.json_response(body, status=status, headers=kept)


class Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, store: Store, lifetime_s: int) -> None:
        super().__init__()
        self.store = store
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                lambda **_: "mat_" + generate_token(32),
                lambda **_: "mar_" + generate_token(32),
                lambda *_: lifetime_s,
            ),
        )

    def query_client(self, client_id: str) -> Client | None:
        return self.store.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        new = Token(
            token["access_token"], token.get("refresh_token"), request.client.get_client_id(),
            token.get("scope", ""), str(request.user), token.get("expires_in"),
        )  # fmt: skip
        self.store.add(new)
        old = getattr(request, "refresh_token", None)
        if isinstance(old, Token):
            old.replaced_by = new

    def create_oauth2_request(self, request: Any) -> Any:
        return request

    def create_json_request(self, request: Any) -> Any:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> web.Response:
        return json_answer(status, body, headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


def device_endpoint(store: Store, issuer: str) -> type[DeviceAuthorizationEndpoint]:
    class Endpoint(DeviceAuthorizationEndpoint):  # type: ignore[misc]
        EXPIRES_IN = DEVICE_CODE_LIFETIME_S
        INTERVAL = POLL_INTERVAL_S
        CLIENT_AUTH_METHODS: ClassVar = ["none"]

        def get_verification_uri(self) -> str:
            return issuer + "link"

        def save_device_credential(self, client_id: str, scope: str, data: dict[str, Any]) -> None:
            expires_at = time.time() + data["expires_in"]
            store.credentials[data["device_code"]] = DeviceCredentialDict(
                {**data, "client_id": client_id, "scope": scope, "expires_at": expires_at}
            )

    return Endpoint


def device_grant(store: Store) -> type[DeviceCodeGrant]:
    class Grant(DeviceCodeGrant):  # type: ignore[misc]
        TOKEN_ENDPOINT_AUTH_METHODS: ClassVar = ["none"]

        def query_device_credential(self, device_code: str) -> DeviceCredentialDict | None:
            return store.credentials.get(device_code)

        def query_user_grant(self, user_code: str) -> tuple[str, bool] | None:
            grant = store.grants.get(user_code)
            return None if grant is None else (grant.localpart, grant.approved)

        def should_slow_down(self, credential: DeviceCredentialDict) -> bool:
            now, code = time.monotonic(), credential["device_code"]
            last = store.polls.get(code)
            store.polls[code] = now
            return last is not None and now - last < POLL_INTERVAL_S * 0.8

    return Grant


def refresh_grant(store: Store) -> type[RefreshTokenGrant]:
    class Grant(RefreshTokenGrant):  # type: ignore[misc]
        TOKEN_ENDPOINT_AUTH_METHODS: ClassVar = ["none"]
        INCLUDE_NEW_REFRESH_TOKEN = True

        def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
            token = store.refresh.get(refresh_token)
            if token is None or token.ended:
                return None
            if not token.revoked:
                return token
            successor = token.replaced_by
            if successor is not None and not successor.used:
                # The new pair was lost before its first use: it is dropped, the old one works.
                successor.revoked = successor.ended = True
                return token
            return None

        def authenticate_user(self, refresh_token: Token) -> str:
            return refresh_token.localpart

        def revoke_old_credential(self, refresh_token: Token) -> None:
            refresh_token.revoked = True

    return Grant


def registration(store: Store, metadata: dict[str, Any]) -> type[ClientRegistrationEndpoint]:
    class Endpoint(ClientRegistrationEndpoint):  # type: ignore[misc]
        def get_server_metadata(self) -> dict[str, Any]:
            return metadata

        def authenticate_token(self, request: Any) -> bool:
            return True  # MAS lets any client register

        def generate_client_secret(self, request: Any) -> None:
            return None  # a public client

        def save_client(self, info: dict[str, Any], meta: dict[str, Any], request: Any) -> Client:
            client = Client(info["client_id"], meta)
            store.clients[client.client_id] = client
            return client

    return Endpoint
