"""Exchanging a refresh token for a new pair: Matrix's `/refresh`, or OAuth 2.0's token endpoint.

Both rotate the refresh token. Both servers keep the old refresh token usable
until the new access token has been used, which is what makes "save the new
pair, then use it" crash-safe.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.auth.http import Answer, request
from bot.errors import HomeserverUnreachable, RateLimited, SessionRevoked
from bot.session import LoginMethod, SavedSession


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str | None
    expires_in_ms: int | None


Refresher = Callable[[SavedSession], Awaitable[TokenPair]]


def _pair(answer: Answer, expires_in_ms: int | None) -> TokenPair:
    token = answer.data.get("access_token")
    if not isinstance(token, str) or not token:
        raise HomeserverUnreachable("the refresh answer has no access_token")
    refresh = answer.data.get("refresh_token")
    return TokenPair(token, refresh if isinstance(refresh, str) else None, expires_in_ms)


def _refused(answer: Answer) -> None:
    if answer.status == 429:
        raise RateLimited(int(answer.data.get("retry_after_ms") or 5000))
    if answer.status >= 500:
        raise HomeserverUnreachable(f"refresh answered HTTP {answer.status}")
    raise SessionRevoked(answer.errcode, str(answer.data.get("error") or "refresh refused"),
                         status=answer.status)  # fmt: skip


async def matrix_refresh(session: SavedSession) -> TokenPair:
    """`POST /_matrix/client/v3/refresh` (Synapse's refresh tokens, password logins)."""
    answer = await request(
        "POST",
        session.homeserver + "/_matrix/client/v3/refresh",
        json={"refresh_token": session.refresh_token},
    )
    if not answer.ok:
        _refused(answer)
    expires = answer.data.get("expires_in_ms")
    return _pair(answer, int(expires) if isinstance(expires, int | float) else None)


async def oauth_refresh(session: SavedSession) -> TokenPair:
    """The `refresh_token` grant at the authorization server's token endpoint (RFC 6749 §6)."""
    if not session.token_endpoint or not session.client_id or not session.refresh_token:
        raise SessionRevoked("M_UNKNOWN_TOKEN", "the stored OAuth session is incomplete")
    answer = await request(
        "POST",
        session.token_endpoint,
        form={
            "grant_type": "refresh_token",
            "refresh_token": session.refresh_token,
            "client_id": session.client_id,
        },
    )
    if not answer.ok:
        _refused(answer)
    expires = answer.data.get("expires_in")
    return _pair(answer, int(expires * 1000) if isinstance(expires, int | float) else None)


def refresher_for(session: SavedSession) -> Refresher | None:
    """How this session is refreshed; None: it has no refresh token."""
    if not session.refresh_token:
        return None
    return oauth_refresh if session.method is LoginMethod.OAUTH else matrix_refresh
