"""The three client-server endpoints cross-signing needs, over plain HTTP (no nio).

Each request uses the token the `TokenSource` gives now, and asks for a fresh
one once if the server answers `M_UNKNOWN_TOKEN` (MAS says no `soft_logout`).

Replacing existing cross-signing keys needs user-interactive auth: on a
password homeserver the `m.login.password` stage; on a homeserver whose
accounts live in MAS, the `m.oauth` stage (unstable
`org.matrix.cross_signing_reset`, MSC4312), which is not answered in the
request: the owner approves the reset at an address, then the upload is
retried. A stage the server did not list is never tried.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.auth.http import Answer, request
from bot.auth.tokens import StaticToken, TokenSource
from bot.errors import AccountExpired, MatrixError, SessionRevoked

PASSWORD_STAGE = "m.login.password"  # noqa: S105 (a stage name, not a secret)
OAUTH_STAGES = ("m.oauth", "org.matrix.cross_signing_reset")


class AuthRequired(Exception):
    """The homeserver requires the password and none is available."""


@dataclass(frozen=True)
class ApprovalRequired(Exception):
    """The homeserver (MAS) wants the account owner to approve the reset at `url` first."""

    url: str


def _stages(data: dict[str, Any]) -> set[str]:
    return {
        str(stage)
        for flow in data.get("flows") or []
        if isinstance(flow, dict)
        for stage in flow.get("stages") or []
    }


def _approval_url(data: dict[str, Any]) -> str | None:
    params = data.get("params") or {}
    for stage in OAUTH_STAGES:
        url = (params.get(stage) or {}).get("url")
        if isinstance(url, str) and url:
            return url
    return None


def raise_for(answer: Answer) -> None:
    """The `bot.errors` exception matching an error answer."""
    if answer.ok:
        return
    code, message = answer.errcode, str(answer.data.get("error"))
    if code == "ORG_MATRIX_EXPIRED_ACCOUNT":
        raise AccountExpired(code, message, status=answer.status)
    if code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
        raise SessionRevoked(code, message, status=answer.status)  # even after a refresh
    raise MatrixError(code, message, status=answer.status)


class KeysApi:
    def __init__(self, homeserver: str, token: str | TokenSource) -> None:
        self._base = homeserver.rstrip("/") + "/_matrix/client/v3"
        self._tokens: TokenSource = StaticToken(token) if isinstance(token, str) else token

    async def _post(self, path: str, body: dict[str, Any]) -> Answer:
        token = await self._tokens.current()
        answer = await request("POST", self._base + path, token=token, json=body)
        if answer.status == 401 and answer.errcode in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
            token = await self._tokens.after_rejection(token)
            answer = await request("POST", self._base + path, token=token, json=body)
        return answer

    async def query(self, user_id: str) -> dict[str, Any]:
        answer = await self._post("/keys/query", {"device_keys": {user_id: []}})
        raise_for(answer)
        return answer.data

    async def upload_signing_keys(
        self, user_id: str, body: dict[str, Any], password: str | None
    ) -> None:
        """Upload; `AuthRequired` / `ApprovalRequired` when the server asks for more."""
        answer = await self._post("/keys/device_signing/upload", body)
        if answer.status == 401 and "flows" in answer.data:
            stages = _stages(answer.data)
            url = _approval_url(answer.data)
            if stages & set(OAUTH_STAGES) and url:
                raise ApprovalRequired(url)
            if PASSWORD_STAGE not in stages or not password:
                raise AuthRequired
            auth = {
                "type": PASSWORD_STAGE,
                "identifier": {"type": "m.id.user", "user": user_id},
                "password": password,
                "session": answer.data.get("session"),
            }
            answer = await self._post("/keys/device_signing/upload", {**body, "auth": auth})
            if answer.status == 401 and "flows" in answer.data:
                raise AuthRequired  # the password was refused
        raise_for(answer)

    async def upload_signatures(self, user_id: str, device_id: str, signed: dict[str, Any]) -> None:
        answer = await self._post("/keys/signatures/upload", {user_id: {device_id: signed}})
        raise_for(answer)
        failures = answer.data.get("failures") or {}
        if failures:
            raise MatrixError("M_INVALID_SIGNATURE", json.dumps(failures)[:300])
