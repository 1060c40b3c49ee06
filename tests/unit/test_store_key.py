"""The encryption store gets a pickle key of its own; a store pickled with nio's default is
migrated once, without losing the device's identity (a real nio store, no server needed)."""

from __future__ import annotations

from pathlib import Path

import nio
import pytest

from bot.matrix import NIO_DEFAULT_PICKLE_KEY, store_pickle_key

USER = "@bot:example.org"
DEVICE = "APPAREIL"


async def _old_store(data_dir: Path) -> str:
    """A store as rupn-bot 0.1 left it: pickled with nio's default key. Returns its identity."""
    store = data_dir / "crypto"
    store.mkdir(parents=True)
    client = nio.AsyncClient(
        "http://127.0.0.1:9", USER, store_path=str(store),
        config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
    )  # fmt: skip
    client.restore_login(USER, DEVICE, "jeton")
    identity = str(client.olm.account.identity_keys["ed25519"])
    await client.close()
    return identity


def _identity_with(data_dir: Path, key: str) -> str:
    store = nio.store.DefaultStore(USER, DEVICE, str(data_dir / "crypto"), key)
    try:
        account = store.load_account()
        assert account is not None
        return str(account.identity_keys["ed25519"])
    finally:
        store.database.close()


async def test_an_old_store_is_repickled_once_with_its_own_key(tmp_path: Path) -> None:
    identity = await _old_store(tmp_path)
    key = store_pickle_key(tmp_path, USER)
    assert key != NIO_DEFAULT_PICKLE_KEY
    assert _identity_with(tmp_path, key) == identity  # same device identity, new key
    with pytest.raises(Exception):  # noqa: B017 - nio/vodozemac raise their own types
        _identity_with(tmp_path, NIO_DEFAULT_PICKLE_KEY)
    assert store_pickle_key(tmp_path, USER) == key  # once
    assert not list((tmp_path / "crypto").glob("*.avant-cle"))


async def test_an_interrupted_migration_starts_again_from_the_copy(tmp_path: Path) -> None:
    identity = await _old_store(tmp_path)
    database = tmp_path / "crypto" / f"{USER}_{DEVICE}.db"
    # Interrupted after the copy and a partial re-pickle: the pending key and backup remain.
    (tmp_path / "crypto-pickle-key.pending").write_text("cle-en-cours", encoding="utf-8")
    backup = database.with_suffix(".db.avant-cle")
    backup.write_bytes(database.read_bytes())
    database.write_bytes(b"a half-written store")
    key = store_pickle_key(tmp_path, USER)
    assert key == "cle-en-cours"
    assert _identity_with(tmp_path, key) == identity
