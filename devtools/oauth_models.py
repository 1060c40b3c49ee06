"""The records of the test authorization server (devtools/mas.py), for authlib's grants.

Clients are public native clients registered dynamically (MSC2966); tokens
carry the Matrix scopes (MSC2967) and, like MAS's (element-hq/matrix-authentication-service
issue 2795: the refresh grant is idempotent), a consumed refresh token stays usable until
the pair that replaced it has been used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oauth2.rfc8628 import DeviceCredentialDict

SCOPE_API = "urn:matrix:client:api:*"
UNSTABLE_SCOPE_API = "urn:matrix:org.matrix.msc2967.client:api:*"
DEVICE_PREFIXES = ("urn:matrix:client:device:", "urn:matrix:org.matrix.msc2967.client:device:")
ADMIN_SCOPE = "urn:synapse:admin:*"


def device_of(scope: str) -> str | None:
    """The device id a scope asks for (MSC2967), if any."""
    for item in scope.split():
        for prefix in DEVICE_PREFIXES:
            if item.startswith(prefix):
                return item[len(prefix) :]
    return None


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    metadata: dict[str, Any]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return scope

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return False  # public clients only, as `rupn-bot connexion` registers

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.metadata.get("grant_types", ())


@dataclass
class Token(TokenMixin):  # type: ignore[misc]
    access_token: str
    refresh_token: str | None
    client_id: str | None
    scope: str
    localpart: str
    expires_in: int | None
    issued_at: float = field(default_factory=time.time)
    revoked: bool = False
    """The refresh token was exchanged (rotated)."""
    ended: bool = False
    """The session was ended by its owner: nothing of it works any more."""
    used: bool = False
    """The access token was presented (introspected) at least once."""
    replaced_by: Token | None = None

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in or 0

    def is_expired(self) -> bool:
        return self.expires_in is not None and time.time() > self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.revoked

    @property
    def device_id(self) -> str | None:
        return device_of(self.scope)


@dataclass
class DeviceGrant:
    """What the owner did with a user code: approved (as `localpart`) or denied."""

    localpart: str
    approved: bool


@dataclass
class Store:
    clients: dict[str, Client] = field(default_factory=dict)
    credentials: dict[str, DeviceCredentialDict] = field(default_factory=dict)
    grants: dict[str, DeviceGrant] = field(default_factory=dict)
    access: dict[str, Token] = field(default_factory=dict)
    refresh: dict[str, Token] = field(default_factory=dict)
    polls: dict[str, float] = field(default_factory=dict)
    """device code → when it was last polled (for slow_down)."""

    def add(self, token: Token) -> None:
        self.access[token.access_token] = token
        if token.refresh_token:
            self.refresh[token.refresh_token] = token

    def by_user_code(self, user_code: str) -> DeviceCredentialDict | None:
        return next((c for c in self.credentials.values() if c.get_user_code() == user_code), None)
