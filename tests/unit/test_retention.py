"""The retention (handlers/privacy/jobs.py, bot/storage/privacy/expiry.py) and the
classification of every column (bot/storage/privacy/columns.py)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta

import pytest

from bot.domain import (
    IncomingPollResponse,
    IncomingReaction,
    IncomingReceipt,
)
from bot.storage.database import Database, stored
from bot.storage.privacy import PRUNED_KEY
from bot.storage.privacy.columns import DELETED_TABLES, IMPERSONAL_COLUMNS, PERSONAL_COLUMNS
from handlers.privacy.common import months_before
from handlers.privacy.jobs import retention
from tests.unit.harness import make_units
from tests.unit.privacy_bot import (
    ADMIN,
    BUREAU,
    PARIS,
    STAFF,
    A,
    B,
    Bot,
    holding,
)


async def _old_and_recent(bot: Bot) -> None:
    """A workshop, a poll and their posts 14 months ago, the same 1 month ago."""
    start = bot.clock.now
    for days, theme in ((420, "Ancien"), (27, "Récent")):
        bot.clock.now = start - timedelta(days=days)
        await bot.say(f"!atelier demain 12h30 | {theme} | CDI", sender=ADMIN, room=BUREAU)
        notice = (await bot.settle_all())["workshop-notice"]
        await bot.process(IncomingReaction(STAFF, f"$t{theme}", A, notice, "👍", bot.clock()))
        await bot.say(f"!sondage {theme}, avec @alice:example.org ? | oui | non", sender=ADMIN)
        poll_event = (await bot.settle_all())["poll-start"]
        await bot.process(
            IncomingPollResponse(STAFF, f"$v{theme}", A, poll_event, ("a1",), bot.clock()),
            IncomingPollResponse(STAFF, f"$w{theme}", B, poll_event, ("a2",), bot.clock()),
            IncomingReceipt(STAFF, poll_event, A, bot.clock()),
        )
        await bot.say(f"!annonce Bravo @alice:example.org ({theme})", sender=ADMIN, room=BUREAU)
        await bot.say(f"!lettre ajouter Merci @alice:example.org ({theme})", sender=ADMIN)
        await bot.settle_all()
    bot.clock.now = start


async def test_retention_anonymises_what_is_older_once_a_day(db: Database) -> None:
    bot = Bot(db)
    await _old_and_recent(bot)
    before = [tuple(r) for r in await db.fetchall("SELECT post_id, readers FROM post_stats")]
    units = make_units(db, bot.settings, bot.info, bot.clock)
    await retention(units)

    signups = "SELECT w.theme, s.user_id, s.reaction_event_id FROM workshop_signups AS s"
    signups += " JOIN workshops AS w ON w.id = s.workshop_id ORDER BY w.id"
    (_, a, gone), recent_signup = (tuple(r) for r in await db.fetchall(signups))
    assert a.startswith("anonyme:") and gone is None
    assert recent_signup == ("Récent", A, "$tRécent")
    votes = "SELECT poll_id, voter, answers FROM poll_responses ORDER BY id"
    (_, voter_a, _), (_, b, _), *recent_votes = (tuple(r) for r in await db.fetchall(votes))
    assert voter_a == a and b.startswith("anonyme:") and b != a  # one token per person
    assert recent_votes == [(2, A, '["a1"]'), (2, B, '["a2"]')]
    organisers = "SELECT organiser FROM workshops ORDER BY id"
    old_admin, recent_admin = (r[0] for r in await db.fetchall(organisers))
    assert old_admin.startswith("anonyme:") and recent_admin == ADMIN
    # Every free text of the column list, with its own date.
    texts = (
        "SELECT body FROM announcements UNION ALL SELECT question FROM polls"
        " UNION ALL SELECT body FROM digest_words"
    )
    assert [r[0] for r in await db.fetchall(texts)] == [
        f"Bravo {a} (Ancien)",
        "Bravo @alice:example.org (Récent)",
        f"Ancien, avec {a} ?",
        "Récent, avec @alice:example.org ?",
        f"Merci {a} (Ancien)",
        "Merci @alice:example.org (Récent)",
    ]
    # The ids of old events are gone: a redaction of them matches nothing.
    for old_event in ("$tAncien", "$vAncien", "$wAncien"):
        assert await holding(db, old_event) == []
    assert await holding(db, "$vRécent") == ["poll_responses.event_id"]
    assert len(await db.fetchall("SELECT * FROM read_markers")) == 1  # the recent one
    cutoff = stored(months_before(bot.clock(), 13, PARIS))
    old = await db.fetchall(
        "SELECT content, status FROM posts WHERE created_at < ? ORDER BY id", (cutoff,)
    )
    assert old and all(r[1] == "sent" for r in old)
    assert {r[0] for r in old} == {
        json.dumps({"msgtype": "m.text", PRUNED_KEY: True}, separators=(",", ":")),
        json.dumps({"msgtype": "m.notice", PRUNED_KEY: True}, separators=(",", ":")),
        json.dumps({"msgtype": "m.file", PRUNED_KEY: True}, separators=(",", ":")),  # the .ics
        json.dumps({PRUNED_KEY: True}, separators=(",", ":")),  # the poll start
    }
    recent = await db.fetchall("SELECT content FROM posts WHERE created_at >= ?", (cutoff,))
    assert all(PRUNED_KEY not in r[0] for r in recent)
    assert [tuple(r) for r in await db.fetchall("SELECT post_id, readers FROM post_stats")] == (
        before
    )

    # Once a day: a second tick the same day changes nothing, even with new old rows.
    bot.clock.advance(3600)
    async with db.transaction():
        await db.execute("UPDATE poll_responses SET voter = ? WHERE voter = ?", (A, a))
    await retention(make_units(db, bot.settings, bot.info, bot.clock))
    assert (await db.fetchone("SELECT voter FROM poll_responses WHERE id = 1") or [None])[0] == A
    bot.clock.advance(86400)
    await retention(make_units(db, bot.settings, bot.info, bot.clock))
    row = await db.fetchone("SELECT voter FROM poll_responses WHERE id = 1")
    assert row is not None and row[0].startswith("anonyme:")


@pytest.mark.parametrize(
    ("now", "months", "expected"),
    [
        (
            datetime(2026, 11, 30, 8, 0, tzinfo=PARIS),
            13,
            datetime(2025, 10, 30, 8, 0, tzinfo=PARIS),
        ),
        (datetime(2027, 3, 31, 8, 0, tzinfo=PARIS), 1, datetime(2027, 2, 28, 8, 0, tzinfo=PARIS)),
        (datetime(2028, 3, 31, 8, 0, tzinfo=PARIS), 1, datetime(2028, 2, 29, 8, 0, tzinfo=PARIS)),
        (datetime(2027, 1, 15, 8, 0, tzinfo=PARIS), 24, datetime(2025, 1, 15, 8, 0, tzinfo=PARIS)),
    ],
)
def test_months_before(now: datetime, months: int, expected: datetime) -> None:
    assert months_before(now, months, PARIS) == expected


async def test_every_column_is_classified(db: Database) -> None:
    """A new column must say whether it is personal (and how old its row is) or not."""
    rows = await db.fetchall(
        "SELECT m.name, c.name FROM sqlite_master AS m, pragma_table_info(m.name) AS c"
        " WHERE m.type = 'table'"
    )
    columns = {(r[0], r[1]) for r in rows}
    personal = [(c.table, c.column) for c in PERSONAL_COLUMNS]
    deleted = {(t, c) for t, c in columns if t in DELETED_TABLES}
    impersonal = [(t, c) for t, names in IMPERSONAL_COLUMNS.items() for c in names]
    classified = [*personal, *deleted, *impersonal]
    assert len(classified) == len(set(classified))  # each column in one list only
    assert set(classified) == columns
    for table, (person, date) in DELETED_TABLES.items():
        assert {(table, person), (table, date)} <= deleted


async def test_the_school_year_under_way_keeps_its_readers_and_authors(db: Database) -> None:
    """Even with a retention shorter than a year (refused by the config), the year's
    markers stay: nobody is counted twice, no author as a reader of their own post."""
    bot = Bot(db)
    bot.settings = dataclasses.replace(bot.settings, retention_months=6)
    bot.clock.now = datetime(2026, 10, 5, 8, 0, tzinfo=PARIS)
    await bot.say("!annonce Réunion ENT lundi", sender=ADMIN, room=BUREAU)
    notice = (await bot.settle_all())["announcement"]
    await bot.process(IncomingReceipt(STAFF, notice, A, bot.clock()))
    readers = "SELECT readers FROM post_stats"
    assert [r[0] for r in await db.fetchall(readers)] == [1]

    bot.clock.now = datetime(2027, 6, 15, 8, 0, tzinfo=PARIS)
    await retention(make_units(db, bot.settings, bot.info, bot.clock))
    await bot.process(
        IncomingReceipt(STAFF, notice, A, bot.clock()),
        IncomingReceipt(STAFF, notice, ADMIN, bot.clock()),
    )
    assert [r[0] for r in await db.fetchall(readers)] == [1]
    assert len(await db.fetchall("SELECT * FROM read_markers")) == 2  # hers and the author’s
