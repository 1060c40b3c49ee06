"""JSON and form requests to the homeserver and the authorization server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.errors import HomeserverUnreachable

TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Answer:
    status: int
    data: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def errcode(self) -> str:
        """Matrix's `errcode`, else OAuth's `error`, else the HTTP status."""
        return str(self.data.get("errcode") or self.data.get("error") or f"HTTP_{self.status}")


async def request(
    method: str,
    url: str,
    *,
    token: str | None = None,
    json: Mapping[str, Any] | None = None,
    form: Mapping[str, str] | None = None,
    timeout_s: float = TIMEOUT_S,
) -> Answer:
    """One request; transport failures become `HomeserverUnreachable`."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers["Accept"] = "application/json"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as http,
            http.request(
                method, url, json=json, data=None if form is None else dict(form), headers=headers
            ) as response,
        ):
            try:
                data = await response.json(content_type=None)
            except ValueError:
                data = {}
            return Answer(response.status, data if isinstance(data, dict) else {})
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise HomeserverUnreachable(f"{type(exc).__name__} ({url})") from exc
