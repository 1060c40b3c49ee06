"""`!mesdonnees [effacer]` and the retention (handlers/privacy.py, bot/storage/privacy.py),
with the real processor, jobs, settled hooks and migrated database."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from bot.context import Repositories, Settings
from bot.direct import DirectRooms
from bot.domain import (
    IncomingMessage,
    IncomingPollResponse,
    IncomingReaction,
    IncomingReceipt,
    KeyWithheld,
    RoomEvent,
    UndecryptableEvent,
)
from bot.pseudonyms import Pseudonyms
from bot.router import CommandRegistry
from bot.school_year import school_year_of
from bot.storage.database import Database, stored
from bot.storage.posts import OutgoingPost, Post, PostsRepository
from bot.storage.privacy import PRUNED_KEY
from bot.storage.privacy.columns import DELETED_TABLES, IMPERSONAL_COLUMNS, PERSONAL_COLUMNS
from bot.tally import tally
from handlers import ROUTERS
from handlers.privacy.common import months_before
from handlers.privacy.jobs import answer_requests, retention
from handlers.privacy.texts import ERASE_POINTER_TEXT, ERASED_TEXT, NOTHING_TEXT, SHOW_POINTER_TEXT
from tests.unit.fakes import FakeBotInfo, FakeClock
from tests.unit.harness import deliver, make_units, process_events

ADMIN = "@rupn:example.org"
BOT = "@bot:example.org"
A = "@alice:example.org"
B = "@bruno:example.org"
STAFF = "!staff:example.org"
BUREAU = "!bureau:example.org"
DM_A = "!dm-alice:example.org"
PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=PARIS)
_ids = itertools.count(1)


def settings(*admins: str) -> Settings:
    return Settings(
        admins=frozenset({ADMIN, *admins}),
        tz=PARIS,
        bot_user_id=BOT,
        broadcast_rooms=(STAFF,),
        pseudonyms=Pseudonyms(None),
    )


@dataclass
class Bot:
    db: Database
    settings: Settings = field(default_factory=settings)
    clock: FakeClock = field(default_factory=lambda: FakeClock(MONDAY.astimezone(UTC)))
    info: FakeBotInfo = field(
        default_factory=lambda: FakeBotInfo(
            rooms=[STAFF, BUREAU, DM_A],
            members={STAFF: [BOT, ADMIN, A, B], BUREAU: [BOT, ADMIN, A], DM_A: [BOT]},
        )
    )
    opened: list[str] = field(default_factory=list)
    sent_by: dict[str, list[str]] = field(default_factory=dict)  # sender → event ids

    @property
    def repos(self) -> Repositories:
        return Repositories.open(self.db)

    async def process(self, *events: RoomEvent) -> None:
        await process_events(self.db, self.settings, self.clock, self.info, events)

    async def posts(self) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT kind, content, room_id, txn_id FROM posts WHERE action = 'send' ORDER BY id"
        )
        return [
            {"kind": r[0], "content": json.loads(r[1]), "room": r[2], "txn": r[3]} for r in rows
        ]

    async def say(self, body: str, sender: str = A, room: str = STAFF) -> list[dict[str, Any]]:
        before = len(await self.posts())
        event_id = f"$m{next(_ids)}"
        self.sent_by.setdefault(sender, []).append(event_id)
        await self.process(IncomingMessage(room, event_id, sender, body, self.clock()))
        return (await self.posts())[before:]

    async def settle_all(self) -> dict[str, str]:
        """Every pending post sent, with the settled hooks; event id by kind (the last)."""
        sent: dict[str, str] = {}
        posts = PostsRepository(self.db)
        units = make_units(self.db, self.settings, self.info, self.clock)
        hooks = CommandRegistry(ROUTERS).settled_hooks
        while rows := await self.db.fetchall(
            "SELECT txn_id, kind FROM posts WHERE status = 'pending' AND action != 'mail'"
        ):
            for txn, kind in rows:
                event_id = f"$ev{next(_ids)}"
                await deliver(self.db, txn, event_id, self.clock())
                post = await posts.by_event_id(event_id)
                assert isinstance(post, Post)
                for hook in hooks:
                    await hook(units, post)
                sent[kind] = event_id
        self.clock.advance(60)
        return sent

    def direct_rooms(self) -> DirectRooms:
        async def create(user: str, name: str) -> str:
            self.opened.append(user)
            return DM_A

        return DirectRooms(self.db, create)

    async def tick(self) -> list[dict[str, Any]]:
        """The requests job once; the new posts."""
        before = len(await self.posts())
        units = make_units(
            self.db, self.settings, self.info, self.clock, direct_rooms=self.direct_rooms()
        )
        await answer_requests(units)
        return (await self.posts())[before:]

    def join(self, user: str = A, room: str = DM_A) -> None:
        self.info.members[room] = [*self.info.members.get(room, []), user]


async def holding(db: Database, value: str) -> list[str]:
    """Every `table.column` of the database where some value contains `value`."""
    found: list[str] = []
    tables = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    for (table,) in tables:
        columns = await db.fetchall("SELECT name FROM pragma_table_info(?)", (table,))
        for column in columns:
            sql = f'SELECT COUNT(*) FROM "{table}" WHERE instr(CAST("{column[0]}" AS TEXT), ?) > 0'  # noqa: S608 - names from sqlite_master
            row = await db.fetchone(sql, (value,))
            if row is not None and row[0]:
                found.append(f"{table}.{column[0]}")
    return found


async def aggregates(db: Database) -> dict[str, Any]:
    """What must not change when a person is erased."""
    repos = Repositories.open(db)
    poll = await repos.polls.get(1)
    assert poll is not None
    responses = await repos.polls.responses(1)
    counted = tally(responses, poll.answer_ids, poll.max_selections)
    queries = {
        "signups": "SELECT workshop_id, status, via, COUNT(*) FROM workshop_signups"
        " GROUP BY workshop_id, status, via",
        "readers": "SELECT post_id, members, author_member, readers FROM post_stats ORDER BY 1",
        "reactions": "SELECT post_id, reaction_key, COUNT(*) FROM post_reactions GROUP BY 1, 2",
        "voters": "SELECT poll_id, COUNT(DISTINCT voter) FROM poll_responses GROUP BY 1",
        "rows": "SELECT (SELECT COUNT(*) FROM announcements), (SELECT COUNT(*) FROM polls),"
        " (SELECT COUNT(*) FROM workshops), (SELECT COUNT(*) FROM feed_entries)",
    }
    result: dict[str, Any] = {
        name: [tuple(r) for r in await db.fetchall(sql)] for name, sql in queries.items()
    }
    result["tally"] = (counted.counts, counted.voters, poll.final_results)
    return result


async def a_year_of_alice(bot: Bot) -> None:
    """Alice, a RUPN, leaves a trace in every table that can hold a user id."""
    await bot.say("!diffusion ajouter", room=BUREAU)
    await bot.say("!annonce Réunion ENT lundi, avec @bruno:example.org", room=BUREAU)
    await bot.say("!annonce Merci à @alice:example.org pour l’atelier", sender=ADMIN, room=BUREAU)
    await bot.say("!sondage Quel thème ? | Pronote | ENT")
    sent = await bot.settle_all()
    poll_event = sent["poll-start"]
    await bot.process(
        IncomingPollResponse(STAFF, "$va", A, poll_event, ("a1",), bot.clock()),
        IncomingPollResponse(STAFF, "$vb", B, poll_event, ("a2",), bot.clock()),
    )
    await bot.say("!atelier mardi 12h30 | Pronote | CDI | 12 places", room=BUREAU)
    notice = (await bot.settle_all())["workshop-notice"]
    await bot.process(IncomingReaction(STAFF, "$thumb", A, notice, "👍", bot.clock()))
    await bot.say("!inscription 1", sender=B)
    await bot.say("!lettre ajouter Merci @alice:example.org", room=BUREAU)
    await bot.say("!sondage clore 1")
    await bot.settle_all()
    await bot.process(
        IncomingReceipt(STAFF, notice, A, bot.clock()),
        IncomingReceipt(STAFF, notice, B, bot.clock()),
        UndecryptableEvent(STAFF, "$secret", A, "sess", bot.clock(), {"sender": A}),
        KeyWithheld(STAFF, A, "sess", "m.unverified", "", bot.clock()),
    )
    async with bot.db.transaction():
        await bot.db.execute(
            "INSERT INTO feeds (name, url, origin, added_by, added_at)"
            " VALUES ('SRANE', 'https://srane.example/feed', 'chat', ?, ?)",
            (A, stored(bot.clock())),
        )
        await bot.db.execute(
            "INSERT INTO feed_entries (feed_id, entry_key, title, summary_html, summary_text,"
            " status, created_at, decided_by, decided_at)"
            " VALUES (1, 'k1', 'Capytale', '<p>…</p>', '…', 'ignored', ?, ?, ?)",
            (stored(bot.clock()), A, stored(bot.clock())),
        )
        # A reply with its fallback and a pill, as another client would write it.
        fallback = {
            "msgtype": "m.notice",
            "body": f"> <{A}> !aide\n\nVoici l’aide.",
            "format": "org.matrix.custom.html",
            "formatted_body": '<mx-reply><a href="https://matrix.to/#/%40alice%3Aexample.org">'
            "Alice</a></mx-reply>Voici l’aide.",
            "m.mentions": {"user_ids": [A]},
        }
        post = OutgoingPost(STAFF, "send", "m.room.message", fallback, "reply", "txn-fallback")
        await bot.repos.posts.queue([post], bot.clock())
    await bot.settle_all()


async def test_erasure_leaves_no_user_id_in_any_table_and_keeps_every_count(db: Database) -> None:
    bot = Bot(db, settings=settings(A))
    await a_year_of_alice(bot)
    await bot.say("!mesdonnees")  # a request waiting in privacy_requests
    held = set(await holding(db, A))
    assert {
        "posts.requester",
        "posts.content",
        "broadcast_rooms.added_by",
        "feeds.added_by",
        "feed_entries.decided_by",
        "announcements.author",
        "announcements.body",
        "polls.creator",
        "polls.closed_by",
        "poll_responses.voter",
        "workshops.organiser",
        "workshop_signups.user_id",
        "undecrypted_events.sender",
        "decryption_alerts.sender",
        "digest_words.added_by",
        "privacy_requests.user_id",
    } <= held
    year = school_year_of(bot.clock(), PARIS).label
    key_a = bot.settings.pseudonyms.reader_key(A, year)
    key_b = bot.settings.pseudonyms.reader_key(B, year)
    markers = "SELECT reader_key FROM read_markers ORDER BY reader_key"
    assert {r[0] for r in await db.fetchall(markers)} == {key_a, key_b}
    before = await aggregates(db)
    assert sum(r[-1] for r in before["readers"]) == 5  # read in the staff room

    new = await bot.say("!mesdonnees effacer")
    assert [(p["room"], p["content"]["body"]) for p in new] == [(STAFF, ERASE_POINTER_TEXT)]
    assert new[0]["content"]["m.mentions"] == {}
    assert "m.relates_to" not in new[0]["content"]  # not a reply: quotes none of her events
    # Her seat at the workshop to come is given back; the past counts stay.
    signups = before.pop("signups")
    assert signups == [(1, "confirmed", "command", 1), (1, "confirmed", "reaction", 1)]
    after = await aggregates(db)
    assert after.pop("signups") == [(1, "cancelled", "reaction", 1), (1, "confirmed", "command", 1)]
    assert after == before
    assert {r[0] for r in await db.fetchall(markers)} == {key_b}
    # Only the pending confirmation remembers who asked, until it is given.
    assert set(await holding(db, A)) == {"posts.requester", "privacy_requests.user_id"}

    assert await bot.tick() == []  # the direct room is opened; Alice has not joined it
    assert bot.opened == [A]
    bot.join()
    [confirmation] = await bot.tick()
    assert (confirmation["room"], confirmation["content"]["body"]) == (DM_A, ERASED_TEXT)
    assert confirmation["content"]["m.mentions"] == {}
    await bot.settle_all()

    assert await holding(db, A) == []
    assert await holding(db, quote(A, safe="")) == []
    her_events = [*bot.sent_by[A], "$va", "$thumb", "$secret"]
    assert [e for e in her_events if await holding(db, e)] == []
    after = await aggregates(db)
    after.pop("signups")
    assert after == before
    # One random token for the whole erasure: the same in every column it rewrote.
    tokens = await db.fetchall(
        "SELECT organiser FROM workshops UNION SELECT voter FROM poll_responses"
        " WHERE poll_id = 1 AND answers = '[\"a1\"]' UNION SELECT author FROM announcements"
        " WHERE id = 1"
    )
    assert len(tokens) == 1 and tokens[0][0].startswith("anonyme:")
    assert await bot.tick() == []  # answered once


async def test_show_in_a_shared_room_is_answered_in_a_direct_room_once_joined(
    db: Database,
) -> None:
    bot = Bot(db)
    await bot.say("!atelier mardi 12h30 | Pronote | CDI | 12 places", sender=ADMIN, room=BUREAU)
    notice = (await bot.settle_all())["workshop-notice"]
    await bot.process(IncomingReaction(STAFF, "$thumb", A, notice, "👍", bot.clock()))
    await bot.say("!sondage Quel thème ? | Pronote | ENT", sender=ADMIN)
    poll_event = (await bot.settle_all())["poll-start"]
    await bot.process(
        IncomingPollResponse(STAFF, "$va", A, poll_event, ("a2",), bot.clock()),
        IncomingReceipt(STAFF, poll_event, A, bot.clock()),
    )

    new = await bot.say("!mesdonnees")
    assert [(p["room"], p["kind"], p["content"]["body"]) for p in new] == [
        (STAFF, "reply", SHOW_POINTER_TEXT)
    ]
    await bot.say("!mesdonnees")  # asked twice: answered once
    assert await bot.tick() == []
    bot.join()
    [answer] = await bot.tick()
    assert answer["room"] == DM_A and answer["kind"] == "privacy-data"
    assert answer["content"]["msgtype"] == "m.notice"
    assert answer["content"]["body"] == (
        "Ce que rupn-bot garde à votre sujet :\n"
        "• Inscriptions aux ateliers et cafés numériques (1) :\n"
        "  – atelier « Pronote », mardi 1 décembre 2026 à 12h30 : inscription confirmée "
        "(par 👍)\n"
        "• Réponses aux sondages (1) :\n"
        "  – « Quel thème ? » : ENT (lundi 30 novembre 2026 à 8h02)\n"
        "• Réactions enregistrées : 1 👍 d’inscription\n"
        "• Marqueurs de lecture : 1 salon, sous un pseudonyme (ils comptent les lecteurs des "
        "messages du bot)\n"
        "• Messages du bot envoyés à votre demande ou qui vous nomment : 2 (copies gardées 13 "
        "mois)\n"
        "\n"
        "Tout est anonymisé au bout de 13 mois. Pour l’effacer dès maintenant : "
        "!mesdonnees effacer"
    )
    assert await bot.tick() == []
    assert await db.fetchall("SELECT * FROM privacy_requests") == []


async def test_in_a_direct_room_the_answer_and_the_confirmation_come_at_once(
    db: Database,
) -> None:
    bot = Bot(db)
    bot.join(B, "!dm-bruno:example.org")
    bot.info.rooms.append("!dm-bruno:example.org")
    await bot.say("!inscription 1", sender=B)  # nothing to sign up to: a reply that names B
    new = await bot.say("!mesdonnees", sender=B, room="!dm-bruno:example.org")
    assert [(p["kind"], p["content"]["body"]) for p in new] == [
        (
            "privacy-data",
            "Ce que rupn-bot garde à votre sujet :\n"
            "• Messages du bot envoyés à votre demande ou qui vous nomment : 1 (copies gardées "
            "13 mois)\n\nTout est anonymisé au bout de 13 mois. Pour l’effacer dès maintenant : "
            "!mesdonnees effacer",
        )
    ]
    new = await bot.say("!mesdonnees effacer", sender=B, room="!dm-bruno:example.org")
    assert [(p["kind"], p["content"]["body"]) for p in new] == [("privacy-erased", ERASED_TEXT)]
    assert set(await holding(db, B)) == {"posts.requester", "privacy_requests.user_id"}
    assert await bot.tick() == []  # already confirmed: the job only closes the erasure
    assert await holding(db, B) == []
    assert bot.opened == []
    new = await bot.say("!mesdonnees", sender=B, room="!dm-bruno:example.org")
    assert [p["content"]["body"] for p in new] == [NOTHING_TEXT]


async def test_a_request_never_answered_is_dropped_after_a_week(db: Database) -> None:
    bot = Bot(db)
    await bot.say("!mesdonnees effacer")
    assert await bot.tick() == []
    bot.clock.advance(timedelta(days=7).total_seconds())
    assert await bot.tick() == []
    assert await holding(db, A) == []


async def test_opening_the_direct_room_is_not_retried_at_every_tick(db: Database) -> None:
    bot = Bot(db)
    await bot.say("!mesdonnees")
    failures: list[str] = []

    async def cannot(user: str, name: str) -> str:
        from bot.errors import MatrixError

        failures.append(user)
        raise MatrixError("M_FORBIDDEN", "no")

    direct = DirectRooms(db, cannot)
    units = make_units(db, bot.settings, bot.info, bot.clock, direct_rooms=direct)
    for _ in range(12 * 5):  # five minutes of ticks
        await answer_requests(units)
        bot.clock.advance(5)
    assert len(failures) == 12  # the first minute only


async def test_a_wrong_argument_gets_the_usage(db: Database) -> None:
    bot = Bot(db)
    [reply] = await bot.say("!mesdonnees tout")
    assert reply["content"]["body"] == (
        "« tout » : tapez !mesdonnees pour voir ce que le bot garde à votre sujet, ou "
        "!mesdonnees effacer pour l’effacer.\n"
        "Utilisation : !mesdonnees [effacer]\n"
        "Exemple : !mesdonnees"
    )
    [reply] = await bot.say("!MesDonnées Effacer")
    assert reply["content"]["body"] == ERASE_POINTER_TEXT


# --- retention ----------------------------------------------------------------------------


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
