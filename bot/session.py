"""The saved Matrix session (access token and device id) in `data_dir`.

Logging in on every start would create a new device, and a new encryption
identity, each time; Tchap warns against it. So the first start saves the
session and later starts restore it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from bot.private_files import write_private

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
    write_private(data_dir / SESSION_FILE, json.dumps(asdict(session)))


def forget_session(data_dir: Path) -> None:
    (data_dir / SESSION_FILE).unlink(missing_ok=True)
