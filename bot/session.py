"""The saved Matrix session (access token and device id) in `data_dir`.

Logging in on every start would create a new device, and a new encryption
identity, each time; Tchap warns against it. So the first start saves the
session and later starts restore it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

SESSION_FILE = "session.json"


@dataclass(frozen=True)
class SavedSession:
    homeserver: str
    user_id: str
    device_id: str
    access_token: str

    def __repr__(self) -> str:  # never print the token
        return f"SavedSession(user_id={self.user_id!r}, device_id={self.device_id!r})"


def load_session(data_dir: Path) -> SavedSession | None:
    path = data_dir / SESSION_FILE
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return SavedSession(
        homeserver=str(data["homeserver"]),
        user_id=str(data["user_id"]),
        device_id=str(data["device_id"]),
        access_token=str(data["access_token"]),
    )


def save_session(data_dir: Path, session: SavedSession) -> None:
    """Write the session atomically, readable by its owner only (0600)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SESSION_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(asdict(session), f)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def forget_session(data_dir: Path) -> None:
    (data_dir / SESSION_FILE).unlink(missing_ok=True)
