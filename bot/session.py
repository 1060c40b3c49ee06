"""The saved Matrix session in `data_dir`: tokens, their expiry, the device id.

Logging in on every start would create a new device, and a new encryption
identity, each time; Tchap warns against it. So the first start (or
`rupn-bot connexion`) saves the session and later starts restore it.

Homeservers with refresh tokens (Synapse's `refreshable_access_token_lifetime`,
MAS's OAuth 2.0 sessions) hand out short-lived access tokens: the refresh
token and the expiry are saved too, and every refresh rewrites the file
atomically (0600) before the new access token is used.

Files written by older versions (no `method`, no refresh token) load as
password sessions whose token never expires.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.private_files import write_private

SESSION_FILE = "session.json"


class LoginMethod(StrEnum):
    """How the session was obtained, which says how it can be renewed."""

    PASSWORD = "password"  # noqa: S105 (m.login.password, with refresh tokens if offered)
    OAUTH = "oauth"  # OAuth 2.0 device authorization grant (MAS)
    TOKEN = "token"  # noqa: S105 (an operator's token, RUPN_BOT_ACCESS_TOKEN)


@dataclass(frozen=True)
class SavedSession:
    homeserver: str
    user_id: str
    device_id: str
    access_token: str
    refresh_token: str | None = None
    expires_at_ms: int | None = None
    """When the access token expires (Unix time, ms); None: it does not."""
    method: LoginMethod = LoginMethod.PASSWORD
    client_id: str | None = None
    """OAuth: the client registered by `rupn-bot connexion`."""
    token_endpoint: str | None = None
    """OAuth: where the refresh token is exchanged."""
    new_device: bool = False
    """Opened by `rupn-bot connexion`: the device has no encryption store and no keys yet."""

    def __repr__(self) -> str:  # never print a token
        return (
            f"SavedSession(user_id={self.user_id!r}, device_id={self.device_id!r}, "
            f"method={self.method.value!r})"
        )

    def renewed(
        self, access_token: str, refresh_token: str | None, expires_at_ms: int | None
    ) -> SavedSession:
        """The same session with a new token pair (the old refresh token kept if none came)."""
        return replace(
            self,
            access_token=access_token,
            refresh_token=refresh_token or self.refresh_token,
            expires_at_ms=expires_at_ms,
        )


def _optional(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else str(value)


def load_session(data_dir: Path) -> SavedSession | None:
    path = data_dir / SESSION_FILE
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    expires = data.get("expires_at_ms")
    return SavedSession(
        homeserver=str(data["homeserver"]),
        user_id=str(data["user_id"]),
        device_id=str(data["device_id"]),
        access_token=str(data["access_token"]),
        refresh_token=_optional(data, "refresh_token"),
        expires_at_ms=None if expires is None else int(expires),
        method=LoginMethod(data.get("method", LoginMethod.PASSWORD)),
        client_id=_optional(data, "client_id"),
        token_endpoint=_optional(data, "token_endpoint"),
        new_device=bool(data.get("new_device", False)),
    )


def save_session(data_dir: Path, session: SavedSession) -> None:
    """Write the session atomically, readable by its owner only (0600)."""
    data = asdict(session)
    data["method"] = session.method.value
    write_private(data_dir / SESSION_FILE, json.dumps(data))


def forget_session(data_dir: Path) -> None:
    (data_dir / SESSION_FILE).unlink(missing_ok=True)
