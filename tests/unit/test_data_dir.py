"""data_dir: private, writable, one bot at a time, and an encryption store key of its own."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.data_dir import LOCK_FILE, DataDirError, DataDirLock, pickle_key, prepare_data_dir


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _restore_umask() -> object:
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def test_a_new_data_dir_is_private_and_so_is_what_is_created_in_it(tmp_path: Path) -> None:
    os.umask(0o022)
    data_dir = tmp_path / "etat" / "bot"
    prepare_data_dir(data_dir)
    assert _mode(data_dir) == 0o700
    (data_dir / "rupn-bot.db-wal").write_bytes(b"x")  # anything the bot writes later
    assert _mode(data_dir / "rupn-bot.db-wal") == 0o600


def test_an_open_data_dir_is_refused_with_the_fix(tmp_path: Path) -> None:
    data_dir = tmp_path / "bot"
    data_dir.mkdir()
    data_dir.chmod(0o755)
    with pytest.raises(DataDirError) as info:
        prepare_data_dir(data_dir)
    assert str(info.value) == (
        f"Le dossier de données {data_dir} est accessible à d’autres comptes de la machine "
        f"(droits 755) : il contient la session et les clés du bot. Tapez « chmod 700 "
        f"{data_dir} », puis relancez le bot."
    )


def test_files_left_open_by_an_older_version_are_closed(tmp_path: Path) -> None:
    data_dir = tmp_path / "bot"
    (data_dir / "crypto").mkdir(parents=True)
    data_dir.chmod(0o700)
    old = data_dir / "rupn-bot.db"
    old.write_bytes(b"")
    old.chmod(0o644)
    (data_dir / "crypto").chmod(0o755)
    prepare_data_dir(data_dir)
    assert _mode(old) == 0o600
    assert _mode(data_dir / "crypto") == 0o700


def test_a_data_dir_that_cannot_be_written_is_said_in_french(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "bot"
    data_dir.mkdir(mode=0o700)

    def read_only(self: Path, data: bytes) -> int:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(Path, "write_bytes", read_only)
    with pytest.raises(DataDirError) as info:
        prepare_data_dir(data_dir)
    assert str(info.value).startswith(
        f"Le dossier de données {data_dir} n’est pas accessible en écriture "
        "(Read-only file system) : le bot doit pouvoir y enregistrer"
    )


def test_a_second_process_is_refused_naming_the_first(tmp_path: Path) -> None:
    lock = DataDirLock(tmp_path)
    lock.acquire()
    try:
        assert (tmp_path / LOCK_FILE).read_text().strip() == str(os.getpid())
        code = (
            "import sys; from pathlib import Path; from bot.data_dir import DataDirLock\n"
            "try:\n    DataDirLock(Path(sys.argv[1])).acquire()\n"
            "except Exception as e:\n    print(e); sys.exit(1)\n"
        )
        other = subprocess.run(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=30
        )
        assert other.returncode == 1
        assert (
            f"Un autre rupn-bot (processus {os.getpid()}) utilise déjà {tmp_path}" in other.stdout
        )
    finally:
        lock.release()
    again = DataDirLock(tmp_path)
    again.acquire()  # released: the next start takes it
    again.release()


def test_the_pickle_key_is_created_once_and_private(tmp_path: Path) -> None:
    key, created = pickle_key(tmp_path)
    assert created and len(key) >= 40
    assert pickle_key(tmp_path) == (key, False)
    assert _mode(tmp_path / "crypto-pickle-key") == 0o600
