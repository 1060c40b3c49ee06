"""Tests of bot.storage: migrations, connection settings, the posts registry, bot state."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.errors import StorageError
from bot.messenger import Outbox
from bot.storage.database import Database
from bot.storage.migrations import MIGRATIONS, Migration
from bot.storage.posts import OutgoingPost, PostsRepository
from bot.storage.state import SYNC_TOKEN, StateRepository
from tests.unit.fakes import START

ROOM = "!salle:example.org"


def _user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {str(r[0]) for r in rows}


def _post(text: str, *, ref: tuple[str, int] | None = None) -> OutgoingPost:
    outbox = Outbox()
    outbox.send(ROOM, text, ref=ref)
    [post] = outbox.drain()
    return post


# --- migrations and connection -------------------------------------------------------------


async def test_fresh_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "sous" / "dossier" / "rupn-bot.db"
    db = await Database.open(path)
    try:
        assert await db.schema_version() == len(MIGRATIONS) == 6
    finally:
        await db.close()
    assert _user_version(path) == len(MIGRATIONS)
    assert {"bot_state", "posts"} <= _tables(path)


async def test_wal_and_foreign_keys_are_on(db: Database) -> None:
    journal = await db.fetchone("PRAGMA journal_mode")
    foreign_keys = await db.fetchone("PRAGMA foreign_keys")
    assert journal is not None
    assert foreign_keys is not None
    assert journal[0] == "wal"
    assert foreign_keys[0] == 1


async def test_reopening_keeps_data_and_does_not_migrate_again(tmp_path: Path) -> None:
    path = tmp_path / "rupn-bot.db"
    db = await Database.open(path)
    async with db.transaction():
        await StateRepository(db).save_sync_token("s42")
    await db.close()

    db = await Database.open(path)
    try:
        assert await db.schema_version() == len(MIGRATIONS)
        assert await StateRepository(db).sync_token() == "s42"
    finally:
        await db.close()


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rupn-bot.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 7")
    with pytest.raises(StorageError) as info:
        await Database.open(path)
    assert str(info.value) == (
        "La base de données est en version 7, plus récente que ce programme "
        f"(version {len(MIGRATIONS)}). "
        "Mettez rupn-bot à jour ; ne supprimez pas la base."
    )
    assert _user_version(path) == 7
    assert "posts" not in _tables(path)


async def test_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rupn-bot.db"
    path.write_bytes(b"ceci n'est pas une base SQLite\n" * 100)
    with pytest.raises(StorageError):
        await Database.open(path)


async def test_later_migrations_apply_in_order(tmp_path: Path) -> None:
    path = tmp_path / "rupn-bot.db"
    await (await Database.open(path)).close()
    extra = Migration("a later table", ("CREATE TABLE later_table (id INTEGER PRIMARY KEY)",))
    db = await Database.open(path, (*MIGRATIONS, extra))
    try:
        assert await db.schema_version() == len(MIGRATIONS) + 1
    finally:
        await db.close()
    assert "later_table" in _tables(path)


async def test_failed_migration_rolls_back_entirely(tmp_path: Path) -> None:
    path = tmp_path / "rupn-bot.db"
    broken = Migration("cassée", ("CREATE TABLE half (x INTEGER)", "CREATE TABLE oops ("))
    with pytest.raises(sqlite3.OperationalError):
        await Database.open(path, (*MIGRATIONS, broken))
    assert _user_version(path) == len(MIGRATIONS)
    assert "half" not in _tables(path)


# --- transactions and savepoints -----------------------------------------------------------


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    state = StateRepository(db)
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await state.set("clé", "valeur")
            raise RuntimeError("boum")
    async with db.transaction():
        assert await state.get("clé") is None


async def test_savepoint_undoes_only_its_block(db: Database) -> None:
    state = StateRepository(db)
    async with db.transaction():
        await state.set("avant", "1")
        with pytest.raises(RuntimeError):
            async with db.savepoint():
                await state.set("dedans", "2")
                raise RuntimeError("boum")
        async with db.savepoint():
            await state.set("ensuite", "3")
    async with db.transaction():
        assert await state.get("avant") == "1"
        assert await state.get("dedans") is None
        assert await state.get("ensuite") == "3"


# --- posts ---------------------------------------------------------------------------------


async def test_queue_then_next_pending_is_fifo(db: Database) -> None:
    posts = PostsRepository(db)
    first, second, third = _post("un"), _post("deux", ref=("poll", 12)), _post("trois")
    async with db.transaction():
        await posts.queue([first, second], START)
        await posts.queue([third], START)
        await posts.queue([], START)

    async with db.transaction():
        pending = await posts.next_pending()
    assert pending is not None
    assert pending.txn_id == first.txn_id
    assert pending.status == "pending"
    assert pending.event_id is None
    assert pending.attempts == 0
    assert pending.room_id == ROOM
    assert pending.action == "send"
    assert pending.event_type == "m.room.message"
    assert pending.kind == "message"
    assert pending.content == first.content
    assert pending.content["body"] == "un"

    async with db.transaction():
        await posts.mark_sent(pending.id, "$un", START)
        nxt = await posts.next_pending()
    assert nxt is not None
    assert nxt.txn_id == second.txn_id
    assert (nxt.ref_type, nxt.ref_id) == ("poll", 12)

    async with db.transaction():
        await posts.mark_failed(nxt.id, "M_FORBIDDEN")
        last = await posts.next_pending()
    assert last is not None
    assert last.txn_id == third.txn_id

    async with db.transaction():
        await posts.count_attempt(last.id)
        await posts.count_attempt(last.id)
        again = await posts.next_pending()
        assert again is not None
        assert again.attempts == 2
        await posts.mark_sent(last.id, "$trois", START)
        assert await posts.next_pending() is None


async def test_sent_and_failed_rows(db: Database) -> None:
    posts = PostsRepository(db)
    ok, ko = _post("ok"), _post("ko")
    async with db.transaction():
        await posts.queue([ok, ko], START)
        first = await posts.next_pending()
        assert first is not None
        await posts.mark_sent(first.id, "$ok", START)
        second = await posts.next_pending()
        assert second is not None
        await posts.mark_failed(second.id, "M_FORBIDDEN")

    row = await db.fetchone(
        "SELECT status, event_id, sent_at, attempts FROM posts WHERE txn_id = ?", (ok.txn_id,)
    )
    assert row is not None
    assert tuple(row) == ("sent", "$ok", START.isoformat(), 1)
    row = await db.fetchone(
        "SELECT status, event_id, error, attempts FROM posts WHERE txn_id = ?", (ko.txn_id,)
    )
    assert row is not None
    assert tuple(row) == ("failed", None, "M_FORBIDDEN", 1)


async def test_event_id_for_txn_and_lookups(db: Database) -> None:
    posts = PostsRepository(db)
    sent, pending = _post("envoyé", ref=("announcement", 3)), _post("en attente")
    async with db.transaction():
        await posts.queue([sent, pending], START)
        first = await posts.next_pending()
        assert first is not None
        await posts.mark_sent(first.id, "$envoye", START)

        assert await posts.event_id_for_txn(sent.txn_id) == "$envoye"
        assert await posts.event_id_for_txn(pending.txn_id) is None
        assert await posts.event_id_for_txn("inconnu") is None

        by_event = await posts.by_event_id("$envoye")
        assert by_event is not None
        assert by_event.txn_id == sent.txn_id
        assert by_event.status == "sent"
        assert await posts.by_event_id("$autre") is None

        assert [p.txn_id for p in await posts.by_ref("announcement", 3)] == [sent.txn_id]
        assert await posts.by_ref("announcement", 4) == []


async def test_count_by_status(db: Database) -> None:
    posts = PostsRepository(db)
    async with db.transaction():
        assert await posts.count_by_status() == {}
        await posts.queue([_post(str(i)) for i in range(5)], START)
        for event_id in ("$a", "$b"):
            post = await posts.next_pending()
            assert post is not None
            await posts.mark_sent(post.id, event_id, START)
        post = await posts.next_pending()
        assert post is not None
        await posts.mark_failed(post.id, "M_FORBIDDEN")
        assert await posts.count_by_status() == {"sent": 2, "failed": 1, "pending": 2}


async def test_txn_ids_are_unique(db: Database) -> None:
    posts = PostsRepository(db)
    post = _post("un")
    async with db.transaction():
        await posts.queue([post], START)
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction():
            await posts.queue([post], START)
    assert await PostsRepository(db).count_by_status() == {"pending": 1}


async def test_redaction_post_round_trip(db: Database) -> None:
    outbox = Outbox()
    target = outbox.send(ROOM, "à retirer")
    outbox.redact(ROOM, txn_id=target, reason="doublon")
    posts = PostsRepository(db)
    async with db.transaction():
        await posts.queue(outbox.drain(), START)
        first = await posts.next_pending()
        assert first is not None
        await posts.mark_sent(first.id, "$cible", START)
        redaction = await posts.next_pending()
    assert redaction is not None
    assert redaction.action == "redact"
    assert redaction.event_type == "m.room.redaction"
    assert redaction.target_txn_id == target
    assert redaction.target_event_id is None
    assert redaction.content == {"reason": "doublon"}


# --- state ---------------------------------------------------------------------------------


async def test_state_get_set_and_sync_token(db: Database) -> None:
    state = StateRepository(db)
    async with db.transaction():
        assert await state.sync_token() is None
        assert await state.get("autre") is None
        await state.save_sync_token("s1_2_3")
        assert await state.sync_token() == "s1_2_3"
        assert await state.get(SYNC_TOKEN) == "s1_2_3"
        await state.save_sync_token("s4_5_6")
        await state.set("autre", "valeur")
    async with db.transaction():
        assert await state.sync_token() == "s4_5_6"
        assert await state.get("autre") == "valeur"
    rows = await db.fetchall("SELECT key FROM bot_state ORDER BY key")
    assert [r[0] for r in rows] == ["autre", SYNC_TOKEN]
