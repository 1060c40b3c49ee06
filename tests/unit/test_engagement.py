"""The engagement log (handlers/engagement.py) with the real processor, settled hooks and
migrated database: readers by read receipts, reactions, withdrawn poll votes."""

from __future__ import annotations

import contextlib
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import nio

from bot.auth.login import LoginSettings
from bot.context import Repositories, Settings
from bot.domain import (
    IncomingMessage,
    IncomingPollResponse,
    IncomingReaction,
    IncomingReceipt,
    IncomingRedaction,
    RoomEvent,
)
from bot.matrix import MatrixAdapter
from bot.router import CommandRegistry
from bot.school_year import school_year_of
from bot.storage.database import Database, stored
from bot.storage.engagement import PostStats
from bot.storage.migrations import MIGRATIONS
from bot.storage.posts import _COLUMNS, Post, PostsRepository, _to_post
from handlers import ROUTERS
from handlers.engagement import reaction_key
from tests.unit.fakes import FakeBotInfo, FakeClock
from tests.unit.harness import PSEUDONYMS, deliver, make_units, process_events

ADMIN = "@rupn:example.org"
OTHER_ADMIN = "@direction:example.org"
BOT = "@bot:example.org"
A = "@alice:example.org"
B = "@bruno:example.org"
C = "@chloe:example.org"
STAFF = "!staff:example.org"
BUREAU = "!bureau:example.org"
PARIS = ZoneInfo("Europe/Paris")
SETTINGS = Settings(
    admins=frozenset({ADMIN, OTHER_ADMIN}), tz=PARIS, bot_user_id=BOT, broadcast_rooms=(STAFF,)
)
MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=PARIS)
_ids = itertools.count(1)


@dataclass
class Bot:
    db: Database
    clock: FakeClock = field(default_factory=lambda: FakeClock(MONDAY.astimezone(UTC)))
    info: FakeBotInfo = field(
        default_factory=lambda: FakeBotInfo(
            rooms=[STAFF, BUREAU], members={STAFF: [BOT, ADMIN, A, B, C], BUREAU: [BOT, ADMIN]}
        )
    )

    @property
    def repos(self) -> Repositories:
        return Repositories.open(self.db)

    def later(self, minutes: float = 1) -> datetime:
        self.clock.advance(minutes * 60)
        return self.clock()

    async def process(self, *events: RoomEvent) -> None:
        await process_events(self.db, SETTINGS, self.clock, self.info, events)

    async def say(self, body: str, room: str = BUREAU, sender: str = ADMIN) -> None:
        await self.process(IncomingMessage(room, f"$m{next(_ids)}", sender, body, self.clock()))

    async def pending(self) -> list[tuple[str, str]]:
        rows = await self.db.fetchall(
            "SELECT txn_id, kind FROM posts WHERE status = 'pending' AND action != 'mail'"
            " ORDER BY id"
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    async def settle(self, txn: str, *, fail: bool = False) -> Post:
        """Send (or fail) one post as the sender would, then run every settled hook with
        the post as the sender holds it (still pending); the post as it is now."""
        select = f"SELECT {_COLUMNS} FROM posts WHERE txn_id = ?"  # noqa: S608 - constant
        row = await self.db.fetchone(select, (txn,))
        assert row is not None
        if fail:
            async with self.db.transaction():
                await PostsRepository(self.db).mark_failed(int(row["id"]), "M_FORBIDDEN")
        else:
            await deliver(self.db, txn, f"$ev-{txn}", self.clock())
        units = make_units(self.db, SETTINGS, self.info, self.clock)
        for hook in CommandRegistry(ROUTERS).settled_hooks:
            await hook(units, _to_post(row))
        now = await self.db.fetchone(select, (txn,))
        assert now is not None
        return _to_post(now)

    async def deliver_all(self) -> list[str]:
        """Every pending post sent; the event ids of the counted ones, in order."""
        sent: list[str] = []
        while pending := await self.pending():
            for txn, kind in pending:
                post = await self.settle(txn)
                if kind in ("announcement", "poll-start"):
                    sent.append(str(post.event_id))
        return sent

    async def announce(self, text: str, sender: str = ADMIN) -> str:
        """An announcement in the staff room, sent a minute later; its event id."""
        await self.say(f"!annonce {text}", sender=sender)
        self.later()
        [event_id] = await self.deliver_all()
        self.later()
        return event_id

    async def read(self, user: str, event_id: str, at: datetime | None = None) -> None:
        await self.process(IncomingReceipt(STAFF, event_id, user, at or self.clock()))

    async def stats(self, event_id: str) -> PostStats:
        post = await self.repos.posts.by_event_id(event_id)
        assert post is not None
        found = await self.repos.engagement.stats(post.id)
        assert found is not None
        return found

    async def readers(self, *event_ids: str) -> list[int]:
        return [(await self.stats(e)).readers for e in event_ids]

    async def reactions(self, event_id: str) -> dict[str, int]:
        return await self.repos.engagement.reactions((await self.stats(event_id)).post_id)

    def key(self, user: str) -> str:
        year = school_year_of(self.clock(), PARIS, *SETTINGS.year_start)
        return PSEUDONYMS.reader_key(user, year.label)

    async def marker(self, user: str) -> int | None:
        return await self.repos.engagement.marker(STAFF, self.key(user))


# --- audiences ------------------------------------------------------------------------------


async def test_a_sent_announcement_gets_its_audience(db: Database) -> None:
    bot = Bot(db)
    ev = await bot.announce("Réunion ENT lundi à 17h")
    stats = await bot.stats(ev)
    assert (stats.room_id, stats.kind, stats.members, stats.author_member, stats.readers) == (
        STAFF,
        "announcement",
        4,  # the RUPN, Alice, Bruno, Chloé: never the bot
        True,
        0,
    )
    # Only counted kinds: the RUPN's confirmation in the office is not.
    rows = await db.fetchall("SELECT kind FROM post_stats")
    assert [r[0] for r in rows] == ["announcement"]


async def test_a_failed_post_is_not_counted(db: Database) -> None:
    bot = Bot(db)
    await bot.say("!annonce Réunion ENT lundi à 17h")
    [txn] = [t for t, kind in await bot.pending() if kind == "announcement"]
    await bot.settle(txn, fail=True)
    assert await db.fetchall("SELECT * FROM post_stats") == []


# --- readers ---------------------------------------------------------------------------------


async def test_each_reader_counts_once(db: Database) -> None:
    bot = Bot(db)
    ev = await bot.announce("Réunion ENT lundi à 17h")
    await bot.read(A, ev)
    await bot.read(B, ev)
    await bot.read(A, ev)
    assert await bot.readers(ev) == [2]
    rows = await db.fetchall("SELECT room_id, reader_key FROM read_markers ORDER BY reader_key")
    assert sorted(r[1] for r in rows) == sorted([bot.key(A), bot.key(B)])
    assert A not in str([tuple(r) for r in rows])  # a key, never the user id


async def test_a_later_receipt_counts_the_posts_before_it(db: Database) -> None:
    bot = Bot(db)
    ev1 = await bot.announce("Un")
    ev2 = await bot.announce("Deux")
    ev3 = await bot.announce("Trois")
    await bot.read(A, ev3)
    assert await bot.readers(ev1, ev2, ev3) == [1, 1, 1]
    # A receipt on a colleague's message covers what the bot had sent when it was read.
    before_ev4 = bot.clock()
    ev4 = await bot.announce("Quatre")
    await bot.read(B, "$message-de-chloe", at=before_ev4)
    assert await bot.readers(ev1, ev2, ev3, ev4) == [2, 2, 2, 0]
    await bot.read(B, "$message-de-chloe-2", at=bot.later())
    await bot.read(C, "$message-de-chloe-2", at=bot.clock())
    assert await bot.readers(ev1, ev2, ev3, ev4) == [3, 3, 3, 2]


async def test_a_receipt_never_goes_back(db: Database) -> None:
    bot = Bot(db)
    ev1 = await bot.announce("Un")
    ev2 = await bot.announce("Deux")
    ev3 = await bot.announce("Trois")
    await bot.read(A, ev2)
    assert await bot.readers(ev1, ev2, ev3) == [1, 1, 0]
    at_ev2 = await bot.marker(A)
    await bot.read(A, ev1)  # an older receipt (another device)
    await bot.read(A, "$tres-ancien", at=MONDAY - timedelta(days=1))
    assert await bot.marker(A) == at_ev2
    assert await bot.readers(ev1, ev2, ev3) == [1, 1, 0]
    await bot.read(A, ev3)
    assert await bot.readers(ev1, ev2, ev3) == [1, 1, 1]


async def test_posts_are_ordered_as_sent_not_as_queued(db: Database) -> None:
    """The fair outbox may send a post queued later first: the timeline is the send order,
    and two posts sent at the same instant are still ordered."""
    bot = Bot(db)
    await bot.say("!annonce Un")
    await bot.say("!annonce Deux")
    first, second = [t for t, kind in await bot.pending() if kind == "announcement"]
    bot.later()
    sent_first = str((await bot.settle(second)).event_id)
    sent_second = str((await bot.settle(first)).event_id)
    await bot.read(A, sent_first)
    assert await bot.readers(sent_first, sent_second) == [1, 0]
    await bot.read(A, sent_second)
    assert await bot.readers(sent_first, sent_second) == [1, 1]


async def test_the_author_is_not_a_reader_of_their_own_post(db: Database) -> None:
    bot = Bot(db)
    own = await bot.announce("Réunion ENT lundi à 17h")
    other = await bot.announce("Café numérique jeudi", sender=OTHER_ADMIN)
    await bot.read(ADMIN, other)
    assert await bot.readers(own, other) == [0, 1]
    # The other RUPN is not in the staff room: the whole room is the audience.
    assert ((await bot.stats(own)).author_member, (await bot.stats(other)).author_member) == (
        True,
        False,
    )


async def test_the_bot_own_receipts_are_ignored(db: Database) -> None:
    bot = Bot(db)
    ev = await bot.announce("Réunion ENT lundi à 17h")
    await bot.read(BOT, ev)
    assert await bot.readers(ev) == [0]
    assert await db.fetchall("SELECT * FROM read_markers") == []


async def test_private_receipts_never_reach_the_bot(tmp_path: Path) -> None:
    """Only `m.read` becomes an IncomingReceipt: `m.read.private` and the bot's own are
    dropped by the adapter, so the engagement log cannot see them."""
    receipts = nio.ReceiptEvent.from_dict(
        {
            "type": "m.receipt",
            "content": {
                "$annonce": {
                    "m.read": {A: {"ts": 1_795_000_000_000}, BOT: {"ts": 1_795_000_000_000}},
                    "m.read.private": {B: {"ts": 1_795_000_000_000}},
                }
            },
        }
    )
    adapter = MatrixAdapter(LoginSettings("http://127.0.0.1:9", BOT, "test", tmp_path))
    try:
        converted = list(adapter._receipts(STAFF, [receipts]))
    finally:
        await adapter.close()
    assert converted == [
        IncomingReceipt(STAFF, "$annonce", A, datetime.fromtimestamp(1_795_000_000, UTC))
    ]


async def test_erasing_a_marker_keeps_the_counts(db: Database) -> None:
    """`!mesdonnees effacer` deletes the person's marker, and only theirs; the counts made
    stay, and their next receipt counts the year's posts again, as a newcomer's."""
    bot = Bot(db)
    ev = await bot.announce("Réunion ENT lundi à 17h")
    await bot.read(A, ev)
    await bot.read(B, ev)
    post = await bot.repos.posts.by_event_id(ev)
    assert post is not None
    assert await bot.marker(A) == await bot.marker(B) == post.id
    await bot.say("!mesdonnees effacer", room=STAFF, sender=A)
    assert await bot.marker(A) is None
    assert await bot.marker(B) == post.id
    assert await bot.readers(ev) == [2]
    await bot.read(A, ev, at=bot.later())
    assert await bot.marker(A) == post.id
    assert await bot.readers(ev) == [3]


async def test_a_new_school_year_never_counts_last_year_again(db: Database) -> None:
    bot = Bot(db)
    bot.clock.now = datetime(2026, 8, 31, 10, 0, tzinfo=PARIS).astimezone(UTC)
    old = await bot.announce("Prérentrée lundi")
    await bot.read(A, old)
    bot.clock.now = datetime(2026, 9, 1, 10, 0, tzinfo=PARIS).astimezone(UTC)
    await bot.read(A, old)  # a new key this year, and a post of last year
    await bot.read(B, "$bonjour", at=bot.clock())
    assert await bot.readers(old) == [1]
    new = await bot.announce("Réunion de rentrée")
    await bot.read(A, new)
    assert await bot.readers(old, new) == [1, 1]


# --- reactions -----------------------------------------------------------------------------


def test_reaction_keys_are_normalised() -> None:
    assert reaction_key("👍🏽") == reaction_key("👍\ufe0f") == reaction_key(" 👍 ") == "👍"
    assert reaction_key("❤️") == "❤"
    assert reaction_key("\ufe0f") == ""
    assert len(reaction_key("merci beaucoup pour cette annonce")) == 16


async def test_reactions_are_counted_then_taken_back(db: Database) -> None:
    bot = Bot(db)
    ev = await bot.announce("Réunion ENT lundi à 17h")

    def react(sender: str, key: str, target: str = ev) -> IncomingReaction:
        return IncomingReaction(STAFF, f"$r{next(_ids)}", sender, target, key, bot.clock())

    thumbs = react(B, "👍")
    await bot.process(react(A, "👍🏽"), thumbs, react(C, "❤️"), react(BOT, "👀"))
    await bot.process(thumbs)  # the same event again (a retried batch)
    await bot.process(react(A, "👍", "$message-de-chloe"))  # not a bot post
    assert await bot.reactions(ev) == {"👍": 2, "❤": 1}
    rows = await db.fetchall("SELECT * FROM post_reactions")
    assert all(B not in str(tuple(r)) and A not in str(tuple(r)) for r in rows)
    await bot.process(IncomingRedaction(STAFF, "$x", B, thumbs.event_id, bot.clock()))
    assert await bot.reactions(ev) == {"👍": 1, "❤": 1}


async def test_one_reaction_per_person_post_and_emoji(db: Database) -> None:
    """Synapse refuses only a byte-identical duplicate: a teacher's 👍, 👍🏽, 👍\ufe0f and
    « 👍 » are one 👍 for the bilan, and it stays while any of them is not taken back."""
    bot = Bot(db)
    ev = await bot.announce("Réunion ENT lundi à 17h")

    def react(sender: str, key: str) -> IncomingReaction:
        return IncomingReaction(STAFF, f"$r{next(_ids)}", sender, ev, key, bot.clock())

    alice = [react(A, key) for key in ("👍", "👍🏽", "👍\ufe0f", " 👍 ", "👍🏿") * 10]
    await bot.process(*alice, react(A, "❤️"), react(B, "👍🏻"))
    assert await bot.reactions(ev) == {"👍": 2, "❤": 1}
    year = school_year_of(MONDAY, PARIS, *SETTINGS.year_start)
    diffusion = await bot.repos.bilan.diffusion(year.start(PARIS), year.end(PARIS), PARIS)
    assert diffusion.reactions == 3
    keys = {str(r[0]) for r in await db.fetchall("SELECT DISTINCT reactor_key FROM post_reactions")}
    assert keys == {bot.key(A), bot.key(B)}

    def redact(reaction: IncomingReaction) -> IncomingRedaction:
        return IncomingRedaction(STAFF, f"$x{next(_ids)}", A, reaction.event_id, bot.clock())

    await bot.process(*(redact(r) for r in alice[:-1]))
    assert await bot.reactions(ev) == {"👍": 2, "❤": 1}
    await bot.process(redact(alice[-1]))
    assert await bot.reactions(ev) == {"👍": 1, "❤": 1}


async def test_a_reaction_keeps_the_key_of_its_post_school_year(db: Database) -> None:
    """A reaction is keyed with the school year of the post it is on: the same teacher's
    👍 before and after the rentrée is still one 👍."""
    bot = Bot(db)
    bot.clock.now = datetime(2026, 8, 31, 10, 0, tzinfo=PARIS).astimezone(UTC)
    ev = await bot.announce("Prérentrée lundi")
    await bot.process(IncomingReaction(STAFF, "$r-aout", A, ev, "👍", bot.clock()))
    bot.clock.now = datetime(2026, 9, 2, 10, 0, tzinfo=PARIS).astimezone(UTC)
    await bot.process(IncomingReaction(STAFF, "$r-sept", A, ev, "👍🏽", bot.clock()))
    assert await bot.reactions(ev) == {"👍": 1}


async def test_reactions_kept_before_the_reactor_key_count_alone(tmp_path: Path) -> None:
    """A database from before the reactor's key keeps its reactions: each counts as one."""
    reactor_migration = next(i for i, m in enumerate(MIGRATIONS) if "reactor" in m.description)
    path = tmp_path / "rupn.db"
    old = await Database.open(path, MIGRATIONS[:reactor_migration])
    try:
        async with old.transaction():
            await old.execute(
                "INSERT INTO posts (id, room_id, action, event_type, content, kind, txn_id,"
                " status, event_id, created_at, sent_at) VALUES (1, ?, 'send',"
                " 'm.room.message', '{}', 'announcement', 't1', 'sent', '$annonce', ?, ?)",
                (STAFF, stored(MONDAY), stored(MONDAY)),
            )
            await old.execute(
                "INSERT INTO post_stats (post_id, room_id, kind, sent_at, members)"
                " VALUES (1, ?, 'announcement', ?, 4)",
                (STAFF, stored(MONDAY)),
            )
            for event_id, key in (("$r1", "👍"), ("$r2", "👍"), ("$r3", "❤")):
                await old.execute(
                    "INSERT INTO post_reactions (event_id, post_id, reaction_key, reacted_at)"
                    " VALUES (?, 1, ?, ?)",
                    (event_id, key, stored(MONDAY)),
                )
    finally:
        await old.close()
    db = await Database.open(path, MIGRATIONS)
    try:
        bot = Bot(db)
        assert await bot.reactions("$annonce") == {"👍": 2, "❤": 1}
        await bot.process(IncomingReaction(STAFF, "$r4", A, "$annonce", "👍🏽", bot.clock()))
        await bot.process(IncomingReaction(STAFF, "$r5", A, "$annonce", "👍", bot.clock()))
        assert await bot.reactions("$annonce") == {"👍": 3, "❤": 1}
    finally:
        await db.close()


async def test_one_repository_sees_the_posts_it_records(db: Database) -> None:
    """The bot shares one repository between the processor and the sender's hooks: its
    index of counted posts follows what it records."""
    bot = Bot(db)
    engagement = bot.repos.engagement
    await bot.say("!annonce Réunion ENT lundi à 17h")
    [txn] = [t for t, kind in await bot.pending() if kind == "announcement"]
    await deliver(db, txn, "$annonce", bot.clock())
    async with db.transaction():
        assert not await engagement.add_reaction(
            STAFF, "$annonce", "$r1", "👍", bot.clock(), reactor_key=bot.key(A)
        )
        assert not await engagement.read_up_to(
            STAFF, A, bot.key(A), "$annonce", bot.clock(), year_start=MONDAY - timedelta(days=90)
        )
        assert await engagement.record_sent(txn, members=4, author_member=True)
        assert not await engagement.record_sent(txn, members=4, author_member=True)
        assert await engagement.add_reaction(
            STAFF, "$annonce", "$r2", "👍", bot.clock(), reactor_key=bot.key(A)
        )
        assert not await engagement.add_reaction(
            BUREAU, "$annonce", "$r3", "👍", bot.clock(), reactor_key=bot.key(A)
        )
        assert await engagement.read_up_to(
            STAFF, A, bot.key(A), "$annonce", bot.clock(), year_start=MONDAY - timedelta(days=90)
        )
    assert await bot.reactions("$annonce") == {"👍": 1}
    assert await bot.readers("$annonce") == [1]


async def test_a_rolled_back_receipt_is_counted_with_the_next_post(db: Database) -> None:
    """A batch rolled back after its handlers: its reader is taken to have read the room's
    latest post until the next one, whose receipt counts both."""
    bot = Bot(db)
    engagement = bot.repos.engagement
    since = MONDAY - timedelta(days=90)

    async def post(text: str) -> str:
        await bot.say(f"!annonce {text}")
        [txn] = [t for t, kind in await bot.pending() if kind == "announcement"]
        await deliver(db, txn, f"$ev-{txn}", bot.later())
        async with db.transaction():
            assert await engagement.record_sent(txn, members=4, author_member=True)
        return f"$ev-{txn}"

    ev1 = await post("Un")
    with contextlib.suppress(RuntimeError):
        async with db.transaction():
            assert await engagement.read_up_to(
                STAFF, A, bot.key(A), ev1, bot.later(), year_start=since
            )
            raise RuntimeError("the batch failed after its handlers")
    async with db.transaction():
        assert not await engagement.read_up_to(
            STAFF, A, bot.key(A), ev1, bot.later(), year_start=since
        )
    assert await bot.readers(ev1) == [0]
    ev2 = await post("Deux")
    async with db.transaction():
        assert await engagement.read_up_to(STAFF, A, bot.key(A), ev2, bot.later(), year_start=since)
        assert not await engagement.read_up_to(
            STAFF, A, bot.key(A), ev2, bot.later(), year_start=since
        )
    assert await bot.readers(ev1, ev2) == [1, 1]


# --- polls ---------------------------------------------------------------------------------


async def test_a_redacted_poll_response_is_withdrawn(db: Database) -> None:
    bot = Bot(db)
    await bot.say("!sondage Quel thème pour le café ? | Pix | ENT", room=STAFF)
    [start] = await bot.deliver_all()
    poll = await bot.repos.polls.latest_in_room(STAFF)
    assert poll is not None
    pix, ent = poll.answer_ids

    def vote(sender: str, answer: str) -> IncomingPollResponse:
        return IncomingPollResponse(STAFF, f"$v{next(_ids)}", sender, start, (answer,), bot.clock())

    alice = vote(A, pix)
    await bot.process(alice, vote(B, ent), vote(C, ent))
    await bot.process(IncomingRedaction(STAFF, "$x", A, alice.event_id, bot.clock()))
    await bot.say("!sondage résultats", room=STAFF)
    text = await _last_reply(db)
    assert "1. Pix — 0 vote (0 %)" in text
    assert "2. ENT — 2 votes (100 %)" in text
    assert "2 votants sur 4 membres du salon" in text
    assert [r.voter for r in await bot.repos.polls.responses(poll.id)] == [B, C]
    # The poll start is a counted post too.
    await bot.read(A, start)
    assert await bot.readers(start) == [1]


async def _last_reply(db: Database) -> str:
    row = await db.fetchone("SELECT content FROM posts WHERE kind = 'reply' ORDER BY id DESC")
    assert row is not None
    content: dict[str, Any] = json.loads(row[0])
    return str(content["body"])
