"""Tests of bot.storage: migrations, connection settings, the posts registry, bot state."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from bot.errors import StorageError
from bot.messenger import Outbox
from bot.storage.database import Database, stored
from bot.storage.feeds import Feed, FeedsRepository, StoredEntry
from bot.storage.migrations import MIGRATIONS, Migration
from bot.storage.polls import Answer, Poll, PollsRepository
from bot.storage.posts import OutgoingPost, PostsRepository
from bot.storage.state import SYNC_TOKEN, StateRepository
from bot.storage.undecrypted import UndecryptedRepository
from bot.storage.workshops import Signup, Workshop, WorkshopsRepository
from bot.tally import Response
from tests.unit.fakes import START

ROOM = "!salle:example.org"


def _user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {str(r[0]) for r in rows}


def _schema(path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]


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
        assert await db.schema_version() == len(MIGRATIONS) == 17
    finally:
        await db.close()
    assert _user_version(path) == len(MIGRATIONS)
    assert {"bot_state", "posts", "digest_weeks", "digest_words"} <= _tables(path)


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
    newer = len(MIGRATIONS) + 1
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {newer}")
    with pytest.raises(StorageError) as info:
        await Database.open(path)
    assert str(info.value) == (
        f"La base de données est en version {newer}, plus récente que ce programme "
        f"(version {len(MIGRATIONS)}). "
        "Mettez rupn-bot à jour ; ne supprimez pas la base."
    )
    assert _user_version(path) == newer
    assert "posts" not in _tables(path)


async def test_database_of_a_newer_release_is_refused_by_an_older_one(tmp_path: Path) -> None:
    """A real database at the current version, opened by code that knows fewer migrations."""
    path = tmp_path / "rupn-bot.db"
    db = await Database.open(path)
    async with db.transaction():
        await StateRepository(db).save_sync_token("s42")
    await db.close()
    with pytest.raises(
        StorageError, match=rf"^La base de données est en version {len(MIGRATIONS)}, plus récente"
    ):
        await Database.open(path, MIGRATIONS[:4])
    assert _user_version(path) == len(MIGRATIONS)
    db = await Database.open(path)
    try:
        assert await StateRepository(db).sync_token() == "s42"
    finally:
        await db.close()


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


@pytest.mark.parametrize("version", range(len(MIGRATIONS)))
async def test_every_older_version_upgrades_to_the_fresh_schema(
    tmp_path: Path, version: int
) -> None:
    fresh, old = tmp_path / "fresh.db", tmp_path / "old.db"
    await (await Database.open(fresh)).close()
    await (await Database.open(old, MIGRATIONS[:version])).close()
    assert _user_version(old) == version
    await (await Database.open(old)).close()
    assert _user_version(old) == len(MIGRATIONS)
    assert _schema(old) == _schema(fresh)


# Rows as the code of schema version 4 wrote them (before live places and undecrypted events).
TEACHER, OTHER, LATE, GONE = (f"@{n}:ac-exemple.fr" for n in ("prof1", "prof2", "prof3", "prof4"))
RUPN = "@rupn:ac-exemple.fr"
FEED_URL = "https://www.education.gouv.fr/rss/actualites.xml"


async def _populate_version_4(db: Database) -> None:
    t = START
    async with db.transaction():
        await db.execute(
            "INSERT INTO bot_state (key, value) VALUES ('sync_token', 's72594_4483_1934')"
        )
        await db.execute(
            "INSERT INTO polls (room_id, creator, question, answers, max_selections, anonymous,"
            " deadline, reminder_at, status, created_at, start_txn)"
            " VALUES (?, ?, ?, ?, 1, 0, ?, ?, 'open', ?, 'rupn-poll-1')",
            (
                ROOM,
                RUPN,
                "Quel jour pour l’atelier ENT ?",
                json.dumps(
                    [{"id": "a1", "text": "Mardi 17h"}, {"id": "a2", "text": "Jeudi 12h30"}],
                    ensure_ascii=False,
                ),
                stored(t + timedelta(days=3)),
                stored(t + timedelta(days=2)),
                stored(t),
            ),
        )
        await db.executemany(
            "INSERT INTO poll_responses (poll_id, voter, event_id, answers, sent_at, received_at)"
            " VALUES (1, ?, ?, ?, ?, ?)",
            [
                (TEACHER, "$vote1", '["a1"]', stored(t + timedelta(minutes=1)), stored(t)),
                (OTHER, "$vote2", '["a2"]', stored(t + timedelta(minutes=2)), stored(t)),
                (TEACHER, "$vote3", '["a2"]', stored(t + timedelta(minutes=3)), stored(t)),
            ],
        )
        await db.execute(
            "INSERT INTO workshops (kind, theme, starts_at, duration_minutes, place, capacity,"
            " minimum, organiser, rooms, status, created_at, updated_at, poll_id, reminded_day)"
            " VALUES ('atelier', ?, ?, 90, 'CDI', 2, 1, ?, ?, 'planned', ?, ?, 1, 1)",
            (
                "Prise en main de l’ENT",
                stored(t + timedelta(days=7)),
                RUPN,
                json.dumps([ROOM]),
                stored(t),
                stored(t),
            ),
        )
        await db.executemany(
            "INSERT INTO workshop_signups (workshop_id, user_id, via, reaction_event_id, status,"
            " signed_up_at, cancelled_at) VALUES (1, ?, ?, ?, ?, ?, ?)",
            [
                (TEACHER, "reaction", "$pouce1", "confirmed", stored(t), None),
                (OTHER, "command", None, "confirmed", stored(t + timedelta(minutes=1)), None),
                (LATE, "command", None, "waiting", stored(t + timedelta(minutes=2)), None),
                (GONE, "poll", None, "cancelled", stored(t), stored(t + timedelta(minutes=3))),
            ],
        )
        await db.execute(
            "INSERT INTO feeds (name, url, include_words, origin, etag, last_success_at,"
            " next_fetch_at, primed, added_at) VALUES (?, ?, ?, 'config', ?, ?, ?, 1, ?)",
            (
                "Éducation nationale",
                FEED_URL,
                json.dumps(["numérique"], ensure_ascii=False),
                '"33a64df5"',
                stored(t),
                stored(t + timedelta(minutes=30)),
                stored(t),
            ),
        )
        await db.executemany(
            "INSERT INTO feed_entries (feed_id, entry_key, title, link, published, summary_html,"
            " summary_text, status, created_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    "tag:education.gouv.fr,2026:1",
                    "Le numérique au collège",
                    "https://www.education.gouv.fr/n1",
                    stored(t - timedelta(hours=5)),
                    "<p>Le <b>plan</b> numérique</p>",
                    "Le plan numérique",
                    "proposed",
                    stored(t),
                ),
                (
                    "tag:education.gouv.fr,2026:2",
                    "Calendrier",
                    None,
                    None,
                    "",
                    "",
                    "filtered",
                    stored(t),
                ),
            ],
        )
        # As the version-4 code wrote them (today's queue() knows the columns of migration 7).
        for post in (_post("Atelier ENT", ref=("workshop", 1)), _post("en attente")):
            await db.execute(
                "INSERT INTO posts (room_id, action, event_type, content, kind, ref_type, ref_id,"
                " txn_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    post.room_id,
                    post.action,
                    post.event_type,
                    json.dumps(post.content),
                    post.kind,
                    post.ref_type,
                    post.ref_id,
                    post.txn_id,
                    stored(START),
                ),
            )
            if post.ref_type:
                await db.execute("UPDATE posts SET status = 'sent', event_id = '$annonce-atelier'")


async def test_populated_database_keeps_its_data_through_the_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "rupn-bot.db"
    db = await Database.open(path, MIGRATIONS[:4])
    try:
        await _populate_version_4(db)
    finally:
        await db.close()
    assert "undecrypted_events" not in _tables(path)

    db = await Database.open(path)
    try:
        assert await db.schema_version() == len(MIGRATIONS)
        async with db.transaction():
            await _check_version_4_data(db)
            await _check_version_5_and_6_additions(db)
    finally:
        await db.close()


async def _check_version_4_data(db: Database) -> None:
    t = START
    assert await StateRepository(db).sync_token() == "s72594_4483_1934"

    polls = PollsRepository(db)
    assert await polls.get(1) == Poll(
        id=1,
        room_id=ROOM,
        creator=RUPN,
        question="Quel jour pour l’atelier ENT ?",
        answers=(Answer("a1", "Mardi 17h"), Answer("a2", "Jeudi 12h30")),
        max_selections=1,
        anonymous=False,
        template=None,
        deadline=t + timedelta(days=3),
        reminder_at=t + timedelta(days=2),
        reminded=False,
        status="open",
        created_at=t,
        closed_at=None,
        start_txn="rupn-poll-1",
        final_results=None,
        number=1,
    )
    assert await polls.responses(1) == [
        Response(TEACHER, ("a1",), t + timedelta(minutes=1), 1),
        Response(OTHER, ("a2",), t + timedelta(minutes=2), 2),
        Response(TEACHER, ("a2",), t + timedelta(minutes=3), 3),
    ]

    workshops = WorkshopsRepository(db)
    assert await workshops.get(1) == Workshop(
        id=1,
        kind="atelier",
        theme="Prise en main de l’ENT",
        starts_at=t + timedelta(days=7),
        duration_minutes=90,
        place="CDI",
        capacity=2,
        minimum=1,
        minimum_checked=False,
        organiser=RUPN,
        rooms=(ROOM,),
        status="planned",
        poll_id=1,
        reminded_day=True,
        reminded_hour=False,
        feedback_poll_id=None,
        notice_stale_since=None,
        notice_edited_at=None,
        number=1,
    )
    assert await workshops.signups(1) == [
        Signup(TEACHER, "confirmed", "reaction", "$pouce1", t, None),
        Signup(OTHER, "confirmed", "command", None, t + timedelta(minutes=1), None),
        Signup(LATE, "waiting", "command", None, t + timedelta(minutes=2), None),
        Signup(GONE, "cancelled", "poll", None, t, None),
    ]
    assert await workshops.by_reaction("$pouce1") == (1, TEACHER)

    feeds = FeedsRepository(db)
    assert await feeds.by_url(FEED_URL) == Feed(
        id=1,
        name="Éducation nationale",
        url=FEED_URL,
        include=("numérique",),
        exclude=(),
        auto_publish=False,
        origin="config",
        active=True,
        etag='"33a64df5"',
        last_modified=None,
        failures=0,
        failing_notified=False,
        last_error=None,
        next_fetch_at=t + timedelta(minutes=30),
        last_success_at=t,
        primed=True,
        added_by=None,
    )
    assert await feeds.proposed() == [
        StoredEntry(
            id=1,
            feed_id=1,
            entry_key="tag:education.gouv.fr,2026:1",
            title="Le numérique au collège",
            link="https://www.education.gouv.fr/n1",
            published=t - timedelta(hours=5),
            summary_html="<p>Le <b>plan</b> numérique</p>",
            summary_text="Le plan numérique",
            status="proposed",
            number=1,  # kept through the per-school numbering (migration 14)
        )
    ]
    assert await feeds.known_keys(1) == {
        "tag:education.gouv.fr,2026:1",
        "tag:education.gouv.fr,2026:2",
    }

    posts = PostsRepository(db)
    assert await posts.count_by_status() == {"sent": 1, "pending": 1}
    [notice] = await posts.by_ref("workshop", 1)
    assert (notice.status, notice.event_id) == ("sent", "$annonce-atelier")
    assert notice.content["body"] == "Atelier ENT"
    pending = await posts.next_pending()
    assert pending is not None
    assert pending.content["body"] == "en attente"


async def _check_version_5_and_6_additions(db: Database) -> None:
    columns = {
        str(r["name"]): r["dflt_value"] for r in await db.fetchall("PRAGMA table_info(workshops)")
    }
    assert columns["notice_stale_since"] is None
    assert columns["notice_edited_at"] is None
    assert {"undecrypted_events", "decryption_alerts"} <= {
        str(r["name"]) for r in await db.fetchall("SELECT name FROM sqlite_master")
    }
    # The new columns and tables are in use by today's code on the upgraded data.
    workshops = WorkshopsRepository(db)
    workshop = await workshops.get(1)
    assert workshop is not None
    later = START + timedelta(hours=1)
    change = await workshops.cancel(workshop, OTHER, later)
    assert (change.before, change.promoted) == ("confirmed", LATE)
    updated = await workshops.get(1)
    assert updated is not None
    assert (updated.notice_stale_since, updated.notice_edited_at) == (later, None)
    undecrypted = UndecryptedRepository(db)
    assert await undecrypted.pending() == []
    assert await undecrypted.claim_alert(TEACHER, START.date())
    assert not await undecrypted.claim_alert(TEACHER, START.date())


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


# --- hardening: empty or foreign files, a bounded write-ahead log ------------------------


async def test_an_empty_database_file_is_refused_not_recreated(tmp_path: Path) -> None:
    path = tmp_path / "rupn-bot.db"
    path.write_bytes(b"")
    with pytest.raises(StorageError) as info:
        await Database.open(path)
    assert str(info.value).startswith(f"Le fichier {path} est vide : la base du bot")
    assert path.stat().st_size == 0  # left as it was


async def test_a_foreign_sqlite_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "rupn-bot.db"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE notes (texte TEXT)")
    with pytest.raises(StorageError) as info:
        await Database.open(path)
    assert "n’est pas celle de rupn-bot" in str(info.value)
    with sqlite3.connect(path) as other:
        tables = [row[0] for row in other.execute("SELECT name FROM sqlite_master")]
    assert tables == ["notes"]


async def test_the_write_ahead_log_stays_bounded(tmp_path: Path) -> None:
    path = tmp_path / "rupn-bot.db"
    db = await Database.open(path)
    try:
        big = "x" * 4000
        for n in range(600):  # about 2.4 MB written, as a 200-room announcement would
            async with db.transaction():
                await db.execute("INSERT INTO bot_state (key, value) VALUES (?, ?)", (n, big))
        wal = path.with_name(path.name + "-wal")
        assert wal.stat().st_size <= 2 * 1024 * 1024  # checkpointed as it grows
        await db.checkpoint()
        assert wal.stat().st_size == 0
    finally:
        await db.close()


async def test_a_read_only_database_reads_and_never_writes(tmp_path: Path) -> None:
    path = tmp_path / "rupn-bot.db"
    db = await Database.open(path)
    async with db.transaction():
        await db.execute("INSERT INTO bot_state (key, value) VALUES ('k', 'v')")
    reader = await Database.open_read_only(path)  # while the bot's connection is open
    try:
        row = await reader.fetchone("SELECT value FROM bot_state WHERE key = 'k'")
        assert row is not None and row["value"] == "v"
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await reader.execute("DELETE FROM bot_state")
    finally:
        await reader.close()
        await db.close()


async def test_a_read_only_database_must_exist_and_be_current(tmp_path: Path) -> None:
    path = tmp_path / "etat" / "rupn-bot.db"
    with pytest.raises(StorageError, match=r"^Aucune base de données dans .*etat : le bot"):
        await Database.open_read_only(path)
    assert not path.parent.exists()  # nothing created
    db = await Database.open(path)
    await db.close()
    with pytest.raises(StorageError, match="plus ancienne que ce programme"):
        await Database.open_read_only(path, MIGRATIONS + MIGRATIONS[-1:])
