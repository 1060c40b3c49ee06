"""A single-school database of the schema before établissements upgrades in place.

Every row is kept and becomes the implicit school's (key ''); what a RUPN sees as a
number (« sondage n° 3 ») stays the same.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from bot.storage.database import Database, stored
from bot.storage.migrations import MIGRATIONS
from tests.unit.two_schools import TENANT_TABLES

BEFORE_SCHOOLS = 11
"""The schema version of the last single-school release."""
BEFORE_OWN_PAUSE = 16
"""The schema version whose letter pause was one for the whole bot."""
T = stored(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
ROOM = "!salle-des-profs:ac-exemple.fr"
RUPN = "@rupn:ac-exemple.fr"
TEACHER = "@prof1:ac-exemple.fr"

# `curation_rooms` came after (chosen in chat with `!veille ici`): an old base has none.
TABLES_WITH_A_SCHOOL = (
    *(t for t in TENANT_TABLES if t not in ("rooms", "curation_rooms")),
    "posts",
)
NUMBERED_TABLES = ("announcements", "polls", "workshops", "digest_words", "feed_entries")

# Rows as the single-school code wrote them: two of each numbered kind, ids 1 and 2.
ROWS = (
    (
        "INSERT INTO posts (room_id, action, event_type, content, kind, txn_id, status,"
        " event_id, created_at, sent_at, requester) VALUES"
        " (?, 'send', 'm.room.message', '{}', 'announcement', 'txn-1', 'sent', '$p1', ?, ?, ?),"
        " (?, 'send', 'm.room.message', '{}', 'digest', 'txn-2', 'pending', NULL, ?, NULL, NULL)",
        (ROOM, T, T, RUPN, ROOM, T),
    ),
    (
        "INSERT INTO broadcast_rooms (room_id, added_by, added_at) VALUES (?, ?, ?)",
        (ROOM, RUPN, T),
    ),
    (
        "INSERT INTO announcements (author, body, rooms, status, created_at) VALUES"
        " (?, 'Conseil pédagogique jeudi', ?, 'sent', ?), (?, 'Réunion ENT', ?, 'scheduled', ?)",
        (RUPN, json.dumps([ROOM]), T, RUPN, json.dumps([ROOM]), T),
    ),
    (
        "INSERT INTO polls (room_id, creator, question, answers, max_selections, status,"
        " created_at) VALUES (?, ?, 'Quel jour ?', '[]', 1, 'open', ?),"
        " (?, ?, 'Quel thème ?', '[]', 1, 'closed', ?)",
        (ROOM, RUPN, T, ROOM, RUPN, T),
    ),
    (
        "INSERT INTO poll_responses (poll_id, voter, event_id, answers, sent_at, received_at)"
        " VALUES (1, ?, '$vote1', '[\"a1\"]', ?, ?)",
        (TEACHER, T, T),
    ),
    (
        "INSERT INTO workshops (kind, theme, starts_at, organiser, rooms, status, created_at,"
        " updated_at, poll_id) VALUES ('atelier', 'ENT', ?, ?, ?, 'planned', ?, ?, 1),"
        " ('cafe', 'Pix', ?, ?, ?, 'done', ?, ?, NULL)",
        (T, RUPN, json.dumps([ROOM]), T, T, T, RUPN, json.dumps([ROOM]), T, T),
    ),
    (
        "INSERT INTO workshop_signups (workshop_id, user_id, via, status, signed_up_at)"
        " VALUES (1, ?, 'command', 'confirmed', ?)",
        (TEACHER, T),
    ),
    (
        "INSERT INTO digest_words (body, added_by, added_at) VALUES"
        " ('Bonne rentrée', ?, ?), ('Pix jeudi', ?, ?)",
        (RUPN, T, RUPN, T),
    ),
    (
        "INSERT INTO digest_weeks (week, outcome, decided_at, rooms) VALUES"
        " ('2026-W09', 'sent', ?, 2), ('2026-W10', 'empty', ?, 0)",
        (T, T),
    ),
    (
        "INSERT INTO digest_extra_letters (week, sent_at, rooms) VALUES ('2026-W09', ?, 2)",
        (T,),
    ),
    (
        "INSERT INTO post_stats (post_id, room_id, kind, sent_at, members) VALUES"
        " (1, ?, 'announcement', ?, 30)",
        (ROOM, T),
    ),
    (
        "INSERT INTO post_reactions (event_id, post_id, reaction_key, reacted_at)"
        " VALUES ('$r1', 1, '👍', ?)",
        (T,),
    ),
    (
        "INSERT INTO privacy_requests (user_id, action, requested_at) VALUES (?, 'show', ?)",
        (TEACHER, T),
    ),
    (
        "INSERT INTO feeds (name, url, origin, added_at) VALUES"
        " ('SRANE', 'https://srane.ac-exemple.fr/rss', 'config', ?)",
        (T,),
    ),
    (
        "INSERT INTO feed_entries (feed_id, entry_key, title, summary_html, summary_text,"
        " status, created_at) VALUES (1, 'a1', 'Pix', '', '', 'published', ?),"
        " (1, 'a2', 'ENT', '', '', 'proposed', ?)",
        (T, T),
    ),
    # The published entry's announcement: its reference survives the entries' rebuild.
    ("UPDATE announcements SET entry_id = 1 WHERE id = 1", ()),
)


async def _row_counts(db: Database) -> dict[str, int]:
    names = await db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    counts = {}
    for row in names:
        name = str(row["name"])
        count = await db.fetchone(f"SELECT COUNT(*) FROM {name}")  # noqa: S608 - schema names
        counts[name] = int(count[0]) if count else 0
    return counts


async def test_a_single_school_database_becomes_the_implicit_school_with_every_row(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rupn-bot.db"
    old = await Database.open(path, MIGRATIONS[:BEFORE_SCHOOLS])
    async with old.transaction():
        for sql, params in ROWS:
            await old.execute(sql, params)
    before = await _row_counts(old)
    await old.close()
    assert all(before[t] > 0 for t in TABLES_WITH_A_SCHOOL)

    db = await Database.open(path)
    try:
        assert await db.schema_version() == len(MIGRATIONS)
        after = await _row_counts(db)
        assert {t: n for t, n in after.items() if t in before} == before
        schools = await db.fetchall("SELECT key, name FROM schools")
        assert [(r["key"], r["name"]) for r in schools] == [("", "")]
        for table in TABLES_WITH_A_SCHOOL:
            rows = await db.fetchall(f"SELECT DISTINCT school FROM {table}")  # noqa: S608
            assert [r["school"] for r in rows] == [""], table
        for table in NUMBERED_TABLES:
            rows = await db.fetchall(f"SELECT id, number FROM {table} ORDER BY id")  # noqa: S608
            assert [(r["id"], r["number"]) for r in rows] == [(1, 1), (2, 2)], table
        rooms = await db.fetchall("SELECT room_id, school FROM rooms")
        assert [(r["room_id"], r["school"]) for r in rooms] == [(ROOM, "")]
        weeks = await db.fetchall("SELECT school, week, outcome, rooms FROM digest_weeks")
        assert sorted(tuple(r) for r in weeks) == [
            ("", "2026-W09", "sent", 2),
            ("", "2026-W10", "empty", 0),
        ]
        assert await db.fetchall("PRAGMA foreign_key_check") == []
    finally:
        await db.close()


async def test_a_letter_paused_before_schools_had_their_own_pause_stays_paused(
    tmp_path: Path,
) -> None:
    """The pause was one key for the whole bot: those schools keep it, each resumes its own."""
    path = tmp_path / "rupn-bot.db"
    old = await Database.open(path, MIGRATIONS[:BEFORE_OWN_PAUSE])
    async with old.transaction():
        await old.execute(
            "INSERT INTO schools (key, name, added_at) VALUES ('0860001J', 'Collège', ?)", (T,)
        )
        await old.execute("INSERT INTO bot_state (key, value) VALUES ('digest.paused', '1')")
    await old.close()

    db = await Database.open(path)
    try:
        rows = await db.fetchall("SELECT key, letter_paused FROM schools ORDER BY key")
        assert [tuple(r) for r in rows] == [("", 1), ("0860001J", 1)]
        assert await db.fetchall("SELECT * FROM bot_state WHERE key = 'digest.paused'") == []
    finally:
        await db.close()
