"""The current access token of the running bot, renewed before it expires.

Every request the bot makes asks `TokenKeeper.current()` first. A token close
to its expiry is refreshed once (a lock serialises the sync loop, the sender
and the key uploads), and the new pair is written to `data_dir` *before* the
new access token is used: if the bot is killed in between, the next start
still holds a refresh token the server accepts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from bot.auth.refresh import Refresher, refresher_for
from bot.errors import SessionRevoked
from bot.logging_setup import add_secret
from bot.session import SavedSession, save_session

log = logging.getLogger(__name__)

MAX_MARGIN_MS = 60_000
UNKNOWN_LIFETIME_MARGIN_MS = 2_000


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class TokenSource(Protocol):
    """What a request needs: the token to use now, and a fresh one after a refusal."""

    async def current(self) -> str: ...

    async def after_rejection(self, rejected: str) -> str: ...


class StaticToken:
    """A token that is never refreshed (tests, tools)."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def current(self) -> str:
        return self._token

    async def after_rejection(self, rejected: str) -> str:
        raise SessionRevoked("M_UNKNOWN_TOKEN", "expired token and no refresh token")


class TokenKeeper:
    """Holds the session; refreshes it ahead of expiry and after a refusal."""

    def __init__(
        self,
        data_dir: Path,
        session: SavedSession,
        *,
        refresher: Refresher | None = None,
        now_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self._data_dir = data_dir
        self._session = session
        self._refresher = refresher if refresher is not None else refresher_for(session)
        self._now_ms = now_ms
        self._lifetime_ms: int | None = None
        self._lock = asyncio.Lock()
        add_secret(session.access_token)
        add_secret(session.refresh_token or "")

    @property
    def session(self) -> SavedSession:
        return self._session

    def replace(self, session: SavedSession, refresher: Refresher | None = None) -> None:
        """A new session (a new login): saved by whoever opened it."""
        self._session = session
        self._refresher = refresher if refresher is not None else refresher_for(session)
        self._lifetime_ms = None
        add_secret(session.access_token)
        add_secret(session.refresh_token or "")

    def _margin_ms(self) -> int:
        if self._lifetime_ms is None:
            return UNKNOWN_LIFETIME_MARGIN_MS
        # Half the lifetime, at most a minute: nio chains requests (keys, then the send),
        # all with the token set at the start, so it must outlive the whole chain.
        return min(MAX_MARGIN_MS, self._lifetime_ms // 2)

    def _due(self) -> bool:
        expires = self._session.expires_at_ms
        if expires is None or self._refresher is None:
            return False
        return self._now_ms() >= expires - self._margin_ms()

    async def current(self) -> str:
        """The access token to use now (refreshed first if it is about to expire)."""
        if self._due():
            async with self._lock:
                if self._due():  # another task may have refreshed meanwhile
                    await self._refresh()
        return self._session.access_token

    async def after_rejection(self, rejected: str) -> str:
        """The server refused `rejected`: a fresh token (one refresh at most), else revoked."""
        async with self._lock:
            if self._session.access_token == rejected:
                await self._refresh()
        return self._session.access_token

    async def _refresh(self) -> None:
        if self._refresher is None:
            raise SessionRevoked("M_UNKNOWN_TOKEN", "expired token and no refresh token")
        pair = await self._refresher(self._session)
        now = self._now_ms()
        expires = None if pair.expires_in_ms is None else now + pair.expires_in_ms
        renewed = self._session.renewed(pair.access_token, pair.refresh_token, expires)
        add_secret(renewed.access_token)
        add_secret(renewed.refresh_token or "")
        save_session(self._data_dir, renewed)  # before the new token is ever used
        self._session = renewed
        self._lifetime_ms = pair.expires_in_ms
        log.info("Access token refreshed (valid %s s)",
                 "∞" if pair.expires_in_ms is None else pair.expires_in_ms // 1000)  # fmt: skip
