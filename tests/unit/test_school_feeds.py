"""The news watch of an académie (issue 18): its sources are read once for all its
schools, and each school decides on its own proposals, under its own numbers, in its own
curation room; its bilan counts only what it decided."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import register_config_feeds
from bot.config import load_config
from bot.context import Repositories
from bot.direct import DirectRooms
from bot.domain import IncomingReaction, SyncBatch
from bot.storage.bilan import BilanRepository
from bot.storage.bilan.results import SourceCounts
from bot.storage.database import Database
from bot.storage.feeds import FeedsRepository
from bot.work import Units
from handlers.announcements.publishing import KIND as ANNOUNCEMENT_KIND
from handlers.news.polling import poll_due_feeds
from handlers.news.texts import PROPOSAL_KIND
from tests.unit.academie_files import ACADEMIE, BASE, JEAN_MOULIN, write_academie
from tests.unit.harness import make_units
from tests.unit.test_news import FIVE_ITEMS, FeedServer, item, server, spip_feed
from tests.unit.two_schools import A, B, Side, TwoSchools

__all__ = ["server"]  # the local feed server, a fixture of the news tests

SRANE = "srane.xml"


def direct_room(user: str) -> str:
    return f"!direct-{user.split(':')[0][1:]}:ac-exemple.fr"


async def _open_direct_room(user: str, name: str) -> str:
    assert name == "rupn-bot — veille"
    return direct_room(user)


def units_of_both(bot: TwoSchools) -> Units:
    """The bot's units, serving both schools, able to open direct rooms."""
    units = make_units(
        bot.db, bot.settings, bot.info, bot.clock,
        direct_rooms=DirectRooms(bot.db, _open_direct_room),
    )  # fmt: skip
    units.serve((A.school, B.school))
    return units


async def academie_source(db: Database, url: str, *, auto_publish: bool = False) -> None:
    """A source of the config file's [[feeds]]: in a shared bot, the académie's."""
    async with db.transaction():
        await FeedsRepository(db).upsert(
            name="SRANE", url=url, origin="config", added_by=None, auto_publish=auto_publish,
            now=datetime(2026, 12, 1, tzinfo=UTC),
        )  # fmt: skip


async def posts_of(db: Database, kind: str) -> list[tuple[str, str, str]]:
    """(school, room, body) of the posts of this kind, in order."""
    rows = await db.fetchall(
        "SELECT school, room_id, content FROM posts WHERE kind = ? ORDER BY id", (kind,)
    )
    return [(r["school"], r["room_id"], json.loads(r["content"])["body"]) for r in rows]


async def statuses(db: Database, side: Side) -> list[tuple[int, str, str]]:
    rows = await db.fetchall(
        "SELECT number, title, status FROM feed_entries WHERE school = ? ORDER BY number",
        (side.school.key,),
    )
    return [(r["number"], r["title"], r["status"]) for r in rows]


async def two_schools_with_the_academie_source(db: Database, server: FeedServer) -> TwoSchools:
    """A sorts the news in its staff room (`!veille ici`); B chose no room."""
    bot = TwoSchools(db)
    for side in (A, B):
        assert await bot.invite(side) is None
        await bot.say(side, "!diffusion ajouter")
    assert await bot.say(A, "!veille ici") == [
        "Le salon « Salle des profs A » recevra désormais les propositions de la veille "
        "(articles à publier ou à écarter) et les alertes sur les sources."
    ]
    assert await bot.say(A, "!veille ici") == [
        "Le salon « Salle des profs A » reçoit déjà les propositions de la veille."
    ]
    await academie_source(db, server.url(SRANE))
    return bot


async def test_an_academie_source_is_read_once_and_each_school_decides_for_itself(
    db: Database, server: FeedServer
) -> None:
    served = server.serve(SRANE, spip_feed(*FIVE_ITEMS))
    bot = await two_schools_with_the_academie_source(db, server)

    await poll_due_feeds(units_of_both(bot))

    assert len(served.requests) == 1  # one read for both schools
    proposals = await posts_of(db, PROPOSAL_KIND)
    # Each school its own three latest entries (the two older ones are only seen), under
    # its own numbers: A's in its curation room, B's in the direct room of its RUPN (B
    # chose no room).
    assert [(school, room) for school, room, _ in proposals] == [
        *[(A.school.key, A.room)] * 3,
        *[(B.school.key, direct_room(B.rupn))] * 3,
    ]
    assert [body.splitlines()[0] for _, _, body in proposals] == [
        f"📰 Proposition n° {n} — SRANE" for n in (3, 4, 5, 3, 4, 5)
    ]

    assert await bot.say(A, "!annonce veille 3") == []  # the announcement is the answer
    assert await bot.say(B, "!veille ignorer 3") == ["Proposition n° 3 écartée : Actualité n° 3."]
    seen = [(1, "Actualité n° 1", "seen"), (2, "Actualité n° 2", "seen")]
    assert await statuses(db, A) == [
        *seen,
        (3, "Actualité n° 3", "published"),
        (4, "Actualité n° 4", "proposed"),
        (5, "Actualité n° 5", "proposed"),
    ]
    assert await statuses(db, B) == [
        *seen,
        (3, "Actualité n° 3", "ignored"),
        (4, "Actualité n° 4", "proposed"),
        (5, "Actualité n° 5", "proposed"),
    ]
    announcements = await posts_of(db, ANNOUNCEMENT_KIND)
    assert [(school, room) for school, room, _ in announcements] == [(A.school.key, A.room)]
    assert announcements[0][2].startswith("📰 Actualité n° 3 — SRANE")
    # A's n° 3 is published for A only; B still decides on its own n° 4 and 5.
    assert await bot.say(B, "!veille propositions") == [
        "Propositions en attente :\n"
        "n° 4 · SRANE — Actualité n° 4\n"
        "n° 5 · SRANE — Actualité n° 5\n"
        "Publier : !annonce veille <n°> — Écarter : !veille ignorer <n°>"
    ]
    assert await bot.say(B, "!annonce veille 3") == [
        "L’article n° 3 a été écarté ; il ne peut plus être publié."
    ]


async def test_a_school_bilan_counts_only_what_it_decided_on_an_academie_source(
    db: Database, server: FeedServer
) -> None:
    """Reading the académie's sources for every school makes no school active: B, that
    did nothing with its proposals, has no news in its bilan; A counts its own."""
    server.serve(SRANE, spip_feed(*FIVE_ITEMS))
    bot = await two_schools_with_the_academie_source(db, server)
    await poll_due_feeds(units_of_both(bot))
    await bot.say(A, "!annonce veille 4", "!veille ignorer 5")

    since, until = datetime(2026, 9, 1, tzinfo=UTC), datetime(2027, 9, 1, tzinfo=UTC)
    news_a = await BilanRepository(db, A.school.key).news(since, until)
    news_b = await BilanRepository(db, B.school.key).news(since, until)
    assert news_a.sources == (SourceCounts("SRANE", 5, 3, 1, 1),)
    assert news_b.sources == ()


async def test_an_automatic_academie_source_publishes_in_each_school_diffusion_rooms(
    db: Database, server: FeedServer
) -> None:
    served = server.serve(SRANE, spip_feed(*FIVE_ITEMS))
    bot = TwoSchools(db)
    for side in (A, B):
        assert await bot.invite(side) is None
        await bot.say(side, "!diffusion ajouter")
    await academie_source(db, server.url(SRANE), auto_publish=True)
    units = units_of_both(bot)
    await poll_due_feeds(units)  # the first read proposes, publishes nothing
    assert await posts_of(db, ANNOUNCEMENT_KIND) == []

    served.body = spip_feed(item(106, "Actualité n° 6", 6), *FIVE_ITEMS)
    bot.clock.now += timedelta(minutes=31)
    await poll_due_feeds(units)

    assert len(served.requests) == 2
    announcements = await posts_of(db, ANNOUNCEMENT_KIND)
    assert [(school, room) for school, room, _ in announcements] == [
        (A.school.key, A.room),
        (B.school.key, B.room),
    ]
    assert all(body.startswith("📰 Actualité n° 6 — SRANE") for _, _, body in announcements)
    for side in (A, B):
        assert (await statuses(db, side))[-1] == (6, "Actualité n° 6", "published")


async def test_a_school_own_source_reaches_only_that_school(
    db: Database, server: FeedServer
) -> None:
    served = server.serve("cdi.xml", spip_feed(*FIVE_ITEMS))
    bot = TwoSchools(db)
    for side in (A, B):
        assert await bot.invite(side) is None
        await bot.say(side, "!veille ici")
    async with db.transaction():  # as `[[etablissements.feeds]]` registers it for A
        await FeedsRepository(db).upsert(
            name="CDI", url=server.url("cdi.xml"), origin="config", added_by=None,
            school=A.school.key, now=bot.clock(),
        )  # fmt: skip

    await poll_due_feeds(units_of_both(bot))

    assert len(served.requests) == 1
    assert [room for _, room, _ in await posts_of(db, PROPOSAL_KIND)] == [A.room] * 3

    assert await statuses(db, B) == []
    assert await bot.say(B, "!veille liste") == [
        "Aucune source d’actualités n’est suivie. Ajoutez-en une avec !veille ajouter "
        "<adresse du flux> [nom], par exemple : !veille ajouter "
        "https://srane.ac-exemple.fr/spip.php?page=backend SRANE"
    ]

    # B's own source is not read while B is not served (after a reload of the directory).
    other = server.serve("b.xml", spip_feed(*FIVE_ITEMS))
    async with db.transaction():
        await FeedsRepository(db, B.school.key).upsert(
            name="B", url=server.url("b.xml"), origin="chat", added_by=B.rupn, now=bot.clock()
        )
    units = units_of_both(bot)
    units.serve((A.school,))
    bot.clock.now += timedelta(minutes=31)
    await poll_due_feeds(units)
    assert (len(served.requests), len(other.requests)) == (2, 0)


async def test_the_config_feeds_are_the_academie_and_a_school_block_feeds_its_own(
    db: Database, tmp_path: Path
) -> None:
    """[[feeds]] are the académie's (no school), `[[etablissements.feeds]]` their
    school's; a URL declared twice is registered once, for the first to declare it."""
    toml = (
        BASE
        + ACADEMIE
        + '\n[[feeds]]\nname = "SRANE"\nurl = "https://srane.example.org/rss"\n'
        + JEAN_MOULIN
        + '\n[[etablissements.feeds]]\nname = "CDI"\nurl = "https://cdi.example.org/rss"\n'
        + '\n[[etablissements.feeds]]\nname = "Encore"\nurl = "https://srane.example.org/rss"\n'
    )
    config = load_config(write_academie(tmp_path, toml), environ={})
    await register_config_feeds(
        config, db, Repositories.open(db), datetime(2026, 12, 1, tzinfo=UTC)
    )

    rows = await db.fetchall("SELECT name, url, school, origin, active FROM feeds ORDER BY id")
    assert [tuple(r) for r in rows] == [
        ("SRANE", "https://srane.example.org/rss", None, "config", 1),
        ("CDI", "https://cdi.example.org/rss", "0860001J", "config", 1),
    ]


async def test_a_reaction_in_a_rupn_direct_room_decides_for_that_school_only(
    db: Database, server: FeedServer
) -> None:
    """B chose no curation room: its proposals are in its RUPN's direct room, which is B's;
    ✅ there on B's n° 4 publishes B's n° 4, and A's n° 4 (the same article) waits."""
    server.serve(SRANE, spip_feed(*FIVE_ITEMS))
    bot = await two_schools_with_the_academie_source(db, server)
    await poll_due_feeds(units_of_both(bot))
    await bot.deliver_all()
    [target] = await db.fetchall(
        "SELECT event_id FROM posts WHERE kind = ? AND school = ? AND content LIKE ?",
        (PROPOSAL_KIND, B.school.key, "%Proposition n° 4 %"),
    )
    room = direct_room(B.rupn)
    reaction = IncomingReaction(room, "$r1", B.rupn, target["event_id"], "✅", bot.clock())
    await bot.processor().process(SyncBatch("s-reaction", (reaction,), (), False))

    assert [s for s in await statuses(db, B) if s[0] == 4] == [(4, "Actualité n° 4", "published")]
    assert [s for s in await statuses(db, A) if s[0] == 4] == [(4, "Actualité n° 4", "proposed")]
    announcements = await posts_of(db, ANNOUNCEMENT_KIND)
    assert [(school, room) for school, room, _ in announcements] == [(B.school.key, B.room)]
