"""The bot's `data_dir`: private to its account, writable, and used by one bot at a time.

It holds the database, the Matrix session, the encryption store and the
cross-signing keys: whoever reads it can impersonate the bot. So, as ssh does
with open key files, the bot refuses a `data_dir` that other accounts can
open, creates everything in it without group or other bits (umask 077), and
takes an exclusive lock for its whole life: two bots on one `data_dir` would
answer every command twice and corrupt the encryption store.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import IO

from bot.errors import StorageError
from bot.private_files import write_private

log = logging.getLogger(__name__)

LOCK_FILE = "rupn-bot.lock"
PICKLE_KEY_FILE = "crypto-pickle-key"
PRIVATE_UMASK = 0o077


class DataDirError(StorageError):
    """`data_dir` cannot be used as it is; the message (French) says how to fix it."""


def prepare_data_dir(path: Path) -> None:
    """Create `path` 0700, or check that an existing one is private and writable.

    Sets the process umask so that every file created afterwards (database,
    WAL, encryption store…) is private too, and removes group and other bits
    from files an older version left open.
    """
    os.umask(PRIVATE_UMASK)
    if not path.exists():
        try:
            path.mkdir(mode=0o700, parents=True)
        except OSError as exc:
            raise DataDirError(
                f"Impossible de créer le dossier de données {path} ({exc.strerror}) : "
                "vérifiez storage.data_dir et les droits du dossier parent."
            ) from None
        return
    if not path.is_dir():
        raise DataDirError(f"{path} n’est pas un dossier : corrigez storage.data_dir.")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise DataDirError(
            f"Le dossier de données {path} est accessible à d’autres comptes de la machine "
            f"(droits {mode:o}) : il contient la session et les clés du bot. "
            f"Tapez « chmod 700 {path} », puis relancez le bot."
        )
    _check_writable(path)
    _close_files(path)


def _check_writable(path: Path) -> None:
    probe = path / f".ecriture-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise DataDirError(
            f"Le dossier de données {path} n’est pas accessible en écriture ({exc.strerror}) : "
            "le bot doit pouvoir y enregistrer ce qu’il reçoit et envoie. Rien n’a été perdu ; "
            "rendez-le inscriptible par le compte du bot, puis relancez-le."
        ) from None


def _close_files(path: Path) -> None:
    """Files left readable by an older version lose their group and other bits."""
    for item in path.rglob("*"):
        mode = stat.S_IMODE(item.lstat().st_mode)
        if mode & 0o077 and not item.is_symlink():
            item.chmod(mode & 0o700)
            log.info("Made %s private (was %o)", item, mode)


class DataDirLock:
    """An exclusive `flock` on `data_dir/rupn-bot.lock`, held until `release`."""

    def __init__(self, path: Path) -> None:
        self._path = path / LOCK_FILE
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        handle = self._path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "inconnu"
            handle.close()
            raise DataDirError(
                f"Un autre rupn-bot (processus {holder}) utilise déjà {self._path.parent} : "
                "deux bots sur le même dossier répondraient deux fois à chaque commande. "
                "Arrêtez l’autre d’abord (ou donnez à celui-ci un autre storage.data_dir)."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._path.write_text("", encoding="utf-8")
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def pickle_key(path: Path) -> tuple[str, bool]:
    """The encryption store's own pickle key, and whether it was just created."""
    key_file = path / PICKLE_KEY_FILE
    if key_file.exists():
        return key_file.read_text(encoding="utf-8").strip(), False
    key = secrets.token_urlsafe(32)
    write_private(key_file, key)
    return key, True
