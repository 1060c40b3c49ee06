"""The news watch (handlers/news/): commands, proposals, reactions, polling.

Feeds are served by a real local aiohttp server (conditional GET with ETag)
from copies of the SPIP samples; the database is the real migrated one.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from bot.context import JobContext, Repositories, Settings
from bot.domain import IncomingMessage, IncomingReaction, RoomEvent
from bot.errors import NotFound, UserError
from bot.storage.database import Database
from bot.storage.feeds import EntryStatus, Feed, NewEntry, StoredEntry
from bot.work import Units
from handlers import help as help_handlers
from handlers.announcements.publishing import Request
from handlers.news import commands as news
from handlers.news import curation
from handlers.news import texts as news_texts
from handlers.news.polling import poll_due_feeds
from tests.unit.fakes import START, FakeBotInfo, FakeClock, FakeMessenger
from tests.unit.harness import deliver, make_units, process_events

PARIS = ZoneInfo("Europe/Paris")
ADMIN = "@rupn:example.org"
PROF = "@prof.martin:example.org"
DM = "!dm-rupn:example.org"
CURATION = "!curation:example.org"
DIFFUSION = ("!salle-des-profs:example.org", "!equipe-lettres:example.org")
SETTINGS = Settings(
    admins=frozenset({ADMIN}),
    tz=PARIS,
    broadcast_rooms=DIFFUSION,
    curation_rooms=(CURATION,),
    feed_poll_minutes=1.0,
)
ROUTERS = (help_handlers.router, news.router)

SPIP = Path(__file__).resolve().parent.parent / "fixtures" / "feeds" / "spip"
TEMPLATE = (SPIP / "SYNTHETIC-spip-backend-utf8.xml").read_text(encoding="utf-8")
_ITEM_MATCH = re.search(r"<item .*?</item>", TEMPLATE, re.DOTALL)
assert _ITEM_MATCH is not None
ITEM = _ITEM_MATCH.group(0)
HEAD, TAIL = TEMPLATE.split(ITEM)
SUMMARY = (
    "Le cycle de formation reprend. Voir le programme et les œuvres citées\xa0; "
    "code : a < b. - Actualités / Intelligence artificielle, Formation"
)
LINK = "https://spip.example.invalid/srane/spip.php?article{}"

_ids = itertools.count(1)


def item(number: int, title: str, day: int) -> str:
    """A copy of the SPIP sample's item, as article `number` of November `day` 2026."""
    block = ITEM.replace("article1125", f"article{number}")
    block = re.sub(r"<title>.*?</title>", f"<title>{title}</title>", block, count=1)
    return re.sub(
        r"<dc:date>.*?</dc:date>", f"<dc:date>2026-11-{day:02d}T09:30:00Z</dc:date>", block
    )


def spip_feed(*items: str) -> bytes:
    return (HEAD + "".join(items) + TAIL).encode("utf-8")


FIVE_ITEMS = [item(100 + n, f"Actualité n° {n}", n) for n in range(5, 0, -1)]  # newest first


# --- the local feed server -----------------------------------------------------------------


@dataclass
class Served:
    body: bytes
    content_type: str = "application/rss+xml; charset=utf-8"
    script: list[int | str] = field(default_factory=list)
    """Next answers instead of the feed: an HTTP status, or "slow" (longer than the timeout)."""
    requests: list[dict[str, str]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass
class FeedServer:
    base_url: str = ""
    feeds: dict[str, Served] = field(default_factory=dict)

    def serve(self, path: str, body: bytes, **options: Any) -> Served:
        self.feeds[path] = Served(body, **options)
        return self.feeds[path]

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        served = self.feeds[request.match_info["path"]]
        served.requests.append(dict(request.headers))
        if served.script:
            step = served.script.pop(0)
            if step == "slow":
                await asyncio.sleep(3)
                step = 200
            if isinstance(step, int) and step != 200:
                served.statuses.append(step)
                return web.Response(status=step, text="erreur simulée")
        if request.headers.get("If-None-Match") == served.etag:
            served.statuses.append(304)
            return web.Response(status=304, headers={"ETag": served.etag})
        served.statuses.append(200)
        return web.Response(
            body=served.body, headers={"ETag": served.etag, "Content-Type": served.content_type}
        )


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    state = FeedServer()
    app = web.Application()
    app.router.add_get("/{path}", state.handle)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    state.base_url = f"http://{host}:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


# --- driving the bot -----------------------------------------------------------------------


@dataclass
class Bot:
    db: Database
    clock: FakeClock
    settings: Settings = SETTINGS

    @property
    def repos(self) -> Repositories:
        return Repositories.open(self.db)

    def units(self) -> Units:
        info = FakeBotInfo(rooms=[DM, CURATION, *DIFFUSION])
        return make_units(self.db, self.settings, info, self.clock)

    async def poll(self, timeout_s: float = 5.0) -> None:
        await poll_due_feeds(self.units(), timeout_s=timeout_s)

    async def process(self, *events: RoomEvent) -> None:
        info = FakeBotInfo(rooms=[DM, CURATION, *DIFFUSION])
        await process_events(self.db, self.settings, self.clock, info, events)

    async def ask(self, body: str, sender: str = ADMIN) -> list[str]:
        """The bodies of the posts queued in answer to `body`."""
        before = len(await posts(self.db))
        await self.process(IncomingMessage(DM, f"$msg{next(_ids)}", sender, body, START))
        return [p.body for p in (await posts(self.db))[before:]]

    async def react(self, target: str, key: str, sender: str = ADMIN) -> None:
        event = IncomingReaction(CURATION, f"$r{next(_ids)}", sender, target, key, START)
        await self.process(event)

    async def add_feed(self, url: str, name: str = "SRANE", **options: Any) -> Feed:
        async with self.db.transaction():
            return await self.repos.feeds.upsert(
                name=name, url=url, origin="config", added_by=None, now=self.clock(), **options
            )

    async def feed(self, feed_id: int = 1) -> Feed:
        async with self.db.transaction():
            feed = await self.repos.feeds.get(feed_id)
        assert feed is not None
        return feed

    async def deliver(self, entry_id: int) -> str:
        """Mark the proposal post of `entry_id` as sent; returns its event id."""
        event_id = f"$proposal{entry_id}"
        row = await self.db.fetchone(
            "SELECT txn_id FROM posts WHERE kind = ? AND ref_type = 'entry' AND ref_id = ?",
            (news_texts.PROPOSAL_KIND, entry_id),
        )
        assert row is not None
        await deliver(self.db, str(row[0]), event_id, self.clock())
        return event_id

    async def statuses(self) -> dict[int, str]:
        rows = await self.db.fetchall("SELECT id, status FROM feed_entries ORDER BY id")
        return {int(r[0]): str(r[1]) for r in rows}


@dataclass(frozen=True)
class StoredPost:
    room_id: str
    kind: str
    content: dict[str, Any]
    ref: tuple[str | None, int | None]

    @property
    def body(self) -> str:
        return str(self.content["body"])


async def posts(db: Database, kind: str | None = None) -> list[StoredPost]:
    rows = await db.fetchall(
        "SELECT room_id, kind, content, ref_type, ref_id FROM posts ORDER BY id"
    )
    found = [StoredPost(r[0], r[1], json.loads(r[2]), (r[3], r[4])) for r in rows]
    return [p for p in found if kind is None or p.kind == kind]


@pytest.fixture
def bot(db: Database) -> Bot:
    return Bot(db, FakeClock())


def proposal_text(entry_id: int, article: int, day: int, hour: str = "10h30") -> str:
    weekday = ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"][
        (day + 6) % 7
    ]  # 1 November 2026 is a Sunday
    return (
        f"📰 Proposition n° {entry_id} — SRANE\n"
        f"Actualité n° {article - 100}\n"
        f"publié le {weekday} {day} novembre 2026 à {hour}\n"
        f"{SUMMARY}\n"
        f"{LINK.format(article)}\n"
        f"Publier : !annonce veille {entry_id} (ou réagissez ✅) — "
        f"Écarter : !veille ignorer {entry_id} (ou ❌)"
    )


# --- polling: first read, 304, new entries -------------------------------------------------


async def test_first_read_proposes_the_three_latest_then_304_then_new_entry(
    bot: Bot, server: FeedServer
) -> None:
    served = server.serve("srane.xml", spip_feed(*FIVE_ITEMS))
    await bot.add_feed(server.url("srane.xml"))

    await bot.poll()
    proposals = await posts(bot.db, news_texts.PROPOSAL_KIND)
    assert [p.room_id for p in proposals] == [CURATION] * 3
    assert [p.ref for p in proposals] == [("entry", 3), ("entry", 4), ("entry", 5)]
    assert proposals[2].body == proposal_text(5, 105, 5)
    assert proposals[0].body == proposal_text(3, 103, 3)
    html = proposals[2].content["formatted_body"]
    assert '<a href="https://spip.example.invalid/srane/spip.php?article105">' in html
    assert "<script" not in html and "iframe" not in html
    statuses = {1: "seen", 2: "seen", 3: "proposed", 4: "proposed", 5: "proposed"}
    assert await bot.statuses() == statuses
    feed = await bot.feed()
    assert feed.primed and feed.etag == served.etag
    assert feed.next_fetch_at == START + timedelta(minutes=1)

    # Not due yet: the server is not asked.
    await bot.poll()
    assert len(served.requests) == 1

    bot.clock.advance(60)
    await bot.poll()
    assert served.requests[1]["If-None-Match"] == served.etag
    assert served.statuses == [200, 304]
    assert len(await posts(bot.db)) == 3

    served.body = spip_feed(item(106, "Actualité n° 6", 6), *FIVE_ITEMS)
    bot.clock.advance(60)
    await bot.poll()
    bot.clock.advance(60)
    await bot.poll()
    assert served.statuses == [200, 304, 200, 304]
    proposals = await posts(bot.db, news_texts.PROPOSAL_KIND)
    assert len(proposals) == 4
    assert proposals[3].body == proposal_text(6, 106, 6)


class FetchingClock(FakeClock):
    """A clock that moves on a little each time it is read, as real time does during a fetch."""

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=0.2)
        return self.now


@pytest.mark.parametrize("minutes", [0.05, 1.0, 5.0, 30.0])
async def test_a_feed_is_read_once_per_period(bot: Bot, server: FeedServer, minutes: float) -> None:
    """N reads in N periods, the job ticking as registered (a little late, unevenly)."""
    served = server.serve("srane.xml", spip_feed(*FIVE_ITEMS))
    bot.settings = replace(SETTINGS, feed_poll_minutes=minutes)
    bot.clock = FetchingClock()
    [job] = news.router.jobs
    tick_s = job.every_seconds(bot.settings)
    await bot.add_feed(server.url("srane.xml"))
    periods = 6
    ticks = round(periods * minutes * 60 / tick_s)
    late_s = [0.4, 0.0, 0.3, 0.1]  # apscheduler runs a job a little after its tick
    read_at_ticks = []
    for k in range(ticks):
        bot.clock.now = START + timedelta(seconds=k * tick_s + late_s[k % len(late_s)])
        before = len(served.requests)
        await bot.poll()
        read_at_ticks += [k] * (len(served.requests) - before)
    per_period = ticks // periods
    assert read_at_ticks == [n * per_period for n in range(periods)]


async def test_a_restart_proposes_nothing_twice(bot: Bot, server: FeedServer) -> None:
    served = server.serve("srane.xml", spip_feed(*FIVE_ITEMS))
    await bot.add_feed(server.url("srane.xml"))
    await bot.poll()
    # Same entries under a new ETag (the feed was regenerated), read by a "restarted" bot.
    served.body = served.body.replace(b"<language>fr</language>", b"<language>fr-FR</language>")
    restarted = Bot(bot.db, FakeClock(START + timedelta(minutes=5)))
    await restarted.poll()
    assert served.statuses == [200, 200]
    assert len(await posts(bot.db, news_texts.PROPOSAL_KIND)) == 3


async def test_iso_8859_1_spip_feed(bot: Bot, server: FeedServer) -> None:
    body = (SPIP / "SYNTHETIC-spip-backend-iso-8859-1.xml").read_bytes()
    server.serve("lettres.xml", body, content_type="application/rss+xml; charset=iso-8859-1")
    await bot.add_feed(server.url("lettres.xml"), name="Lettres")
    await bot.poll()
    [proposal] = await posts(bot.db, news_texts.PROPOSAL_KIND)
    assert proposal.body.startswith(
        "📰 Proposition n° 1 — Lettres\nCœur de métier : l'évaluation\n"
        "publié le jeudi 5 novembre 2009 à 15h00\n"
    )


async def test_without_curation_room_proposals_wait(
    bot: Bot, server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.serve("srane.xml", spip_feed(*FIVE_ITEMS))
    bot.settings = Settings(admins=frozenset({ADMIN}), tz=PARIS, feed_poll_minutes=1.0)
    await bot.add_feed(server.url("srane.xml"))
    with caplog.at_level(logging.WARNING, logger="handlers.news.polling"):
        await bot.poll()
    assert await posts(bot.db) == []
    assert "No curation room" in caplog.text
    assert await bot.ask("!veille propositions") == [
        "Propositions en attente :\n"
        "n° 3 · SRANE — Actualité n° 3\n"
        "n° 4 · SRANE — Actualité n° 4\n"
        "n° 5 · SRANE — Actualité n° 5\n"
        "Publier : !annonce veille <n°> — Écarter : !veille ignorer <n°>"
    ]


async def test_include_and_exclude_keywords(bot: Bot, server: FeedServer) -> None:
    items = [
        item(201, "PÉDAGOGIE : élections au conseil", 4),
        item(202, "Sortie scolaire", 3),
        item(203, "Pedagogie et IA", 2),
        item(204, "Pédagogies actives", 1),
    ]
    server.serve("srane.xml", spip_feed(*items))
    await bot.add_feed(server.url("srane.xml"), include=["pédagogie"], exclude=["Elections"])
    await bot.poll()
    rows = await bot.db.fetchall("SELECT title, status FROM feed_entries ORDER BY id")
    assert {str(r[0]): str(r[1]) for r in rows} == {
        "PÉDAGOGIE : élections au conseil": "filtered",
        "Sortie scolaire": "filtered",
        "Pédagogies actives": "filtered",  # whole words only
        "Pedagogie et IA": "proposed",
    }
    [proposal] = await posts(bot.db, news_texts.PROPOSAL_KIND)
    assert "Pedagogie et IA" in proposal.body


async def test_auto_publish_feed_skips_the_queue_after_the_first_read(
    bot: Bot, server: FeedServer
) -> None:
    served = server.serve("srane.xml", spip_feed(*FIVE_ITEMS))
    await bot.add_feed(server.url("srane.xml"), auto_publish=True)
    await bot.poll()
    assert len(await posts(bot.db, news_texts.PROPOSAL_KIND)) == 3  # the backlog is only offered
    served.body = spip_feed(item(106, "Actualité n° 6", 6), *FIVE_ITEMS)
    bot.clock.advance(60)
    await bot.poll()
    assert len(await posts(bot.db, news_texts.PROPOSAL_KIND)) == 3
    published = await posts(bot.db, "announcement")
    assert [p.room_id for p in published] == list(DIFFUSION)
    assert published[0].body.startswith("📰 Actualité n° 6 — SRANE\n")
    assert (await bot.statuses())[6] == "published"


# --- polling: failures, backoff, notices ----------------------------------------------------

FAILURE_NOTICE = (
    "⚠️ La source « SRANE » est injoignable depuis 3 tentatives (erreur : le serveur a "
    "répondu 500). Elle apparaît en échec dans !veille liste ; le bot réessaiera de lui-même."
)
RECOVERY_NOTICE = "✅ La source « SRANE » répond de nouveau."


async def test_failures_backoff_one_notice_then_recovery(bot: Bot, server: FeedServer) -> None:
    served = server.serve("srane.xml", spip_feed(*FIVE_ITEMS), script=[500, 500, 500, "slow"])
    await bot.add_feed(server.url("srane.xml"))
    delays = []
    for _ in range(4):
        await bot.poll(timeout_s=0.3)
        feed = await bot.feed()
        assert feed.next_fetch_at is not None
        delay = (feed.next_fetch_at - bot.clock()).total_seconds()
        delays.append(delay)
        bot.clock.advance(delay)
    assert delays == [60, 120, 240, 480]
    assert served.statuses == [500, 500, 500]  # the 4th request timed out
    assert len(served.requests) == 4
    feed = await bot.feed()
    assert feed.failures == 4 and feed.failing_notified
    assert feed.last_error == "délai de réponse dépassé"
    assert [p.body for p in await posts(bot.db)] == [FAILURE_NOTICE]
    assert (await posts(bot.db))[0].room_id == CURATION

    await bot.poll()
    bot.clock.advance(60)
    await bot.poll()
    assert served.statuses == [500, 500, 500, 200, 304]
    notices = [p.body for p in await posts(bot.db, news_texts.NOTICE_KIND)]
    assert notices == [FAILURE_NOTICE, RECOVERY_NOTICE]
    feed = await bot.feed()
    assert feed.failures == 0 and not feed.failing_notified
    assert len(await posts(bot.db, news_texts.PROPOSAL_KIND)) == 3


async def test_one_broken_feed_does_not_stop_the_others(bot: Bot, server: FeedServer) -> None:
    server.serve("srane.xml", spip_feed(*FIVE_ITEMS))
    await bot.add_feed("http://127.0.0.1:1/ferme.xml", name="Fermée")
    await bot.add_feed(server.url("srane.xml"))
    await bot.poll()
    assert len(await posts(bot.db, news_texts.PROPOSAL_KIND)) == 3
    closed = await bot.feed(1)
    assert closed.failures == 1 and closed.last_error == "serveur injoignable"


# --- reactions -----------------------------------------------------------------------------


async def test_reactions_publish_or_dismiss_a_proposal(bot: Bot, server: FeedServer) -> None:
    server.serve("srane.xml", spip_feed(*FIVE_ITEMS))
    await bot.add_feed(server.url("srane.xml"))
    await bot.poll()
    before = len(await posts(bot.db))
    proposal5 = await bot.deliver(5)
    proposal4 = await bot.deliver(4)
    proposal3 = await bot.deliver(3)

    await bot.react(proposal5, "✅", sender=PROF)  # not an admin: ignored silently
    await bot.react(proposal5, "👍")  # not a decision
    assert len(await posts(bot.db)) == before
    assert (await bot.statuses())[5] == "proposed"

    await bot.react(proposal5, "✅")
    published = await posts(bot.db, "announcement")
    assert [p.room_id for p in published] == list(DIFFUSION)
    assert published[0].body == (f"📰 Actualité n° 5 — SRANE\n{SUMMARY}\n{LINK.format(105)}")
    assert (
        published[0]
        .content["formatted_body"]
        .startswith(
            '<p><strong><a href="https://spip.example.invalid/srane/spip.php?article105">'
            "Actualité n° 5</a></strong> — SRANE</p>"
        )
    )
    assert (await bot.statuses())[5] == "published"
    row = await bot.db.fetchone(
        "SELECT entry_id, author, request_room, request_event FROM announcements"
    )
    assert row is not None and tuple(row) == (5, ADMIN, CURATION, proposal5)

    await bot.react(proposal5, "✅\ufe0f")  # a second decision does nothing
    await bot.react(proposal5, "❌")
    assert len(await posts(bot.db, "announcement")) == 2
    assert (await bot.statuses())[5] == "published"

    await bot.react(proposal4, "❌")
    await bot.react(proposal4, "✅")
    assert (await bot.statuses())[4] == "ignored"
    assert len(await posts(bot.db, "announcement")) == 2

    await bot.react(proposal3, "✔\ufe0f")
    assert (await bot.statuses())[3] == "published"
    assert len(await posts(bot.db, "announcement")) == 4
    assert len(await posts(bot.db)) == before + 4


async def test_reaction_without_diffusion_room_explains(bot: Bot, server: FeedServer) -> None:
    server.serve("srane.xml", spip_feed(*FIVE_ITEMS))
    bot.settings = Settings(
        admins=frozenset({ADMIN}), tz=PARIS, curation_rooms=(CURATION,), feed_poll_minutes=1.0
    )
    await bot.add_feed(server.url("srane.xml"))
    await bot.poll()
    proposal = await bot.deliver(5)
    await bot.react(proposal, "☑️")
    [answer] = await posts(bot.db, "reply")
    assert answer.room_id == CURATION
    assert answer.body == (
        "Aucun salon de diffusion : tapez !diffusion ajouter dans un salon "
        "pour qu’il reçoive les annonces."
    )
    assert (await bot.statuses())[5] == "proposed"


# --- publish_entry -------------------------------------------------------------------------


def scope(bot: Bot, messenger: FakeMessenger, settings: Settings = SETTINGS) -> JobContext:
    """What `publish_entry` needs, without a triggering message."""
    return JobContext(START, messenger, bot.repos, settings, FakeBotInfo(rooms=list(DIFFUSION)))


async def stored_entry(bot: Bot, title: str = "Titre <b>& co</b>") -> int:
    async with bot.db.transaction():
        feed = await bot.repos.feeds.upsert(
            name="Édu_Num & co",
            url="https://example.org/rss",
            origin="config",
            added_by=None,
            now=START,
        )
        summary = ("<p>Résumé</p>", "Résumé")
        new = NewEntry("k1", title, "https://example.org/a?x=1&y=2", None, *summary)
        [entry] = await bot.repos.feeds.add_entries(feed.id, [new], "proposed", START)
    return entry.id


async def test_publish_entry_with_a_comment_escapes_everything(bot: Bot) -> None:
    entry_id = await stored_entry(bot)
    messenger = FakeMessenger()
    async with bot.db.transaction():
        announcement = await curation.publish_entry(
            scope(bot, messenger), entry_id, Request(ADMIN, DM, "$m1"), "À lire <vite>"
        )
    assert announcement.rooms == DIFFUSION
    assert announcement.entry_id == entry_id
    assert (announcement.author, announcement.request_room, announcement.request_event) == (
        ADMIN,
        DM,
        "$m1",
    )
    assert announcement.body == (
        "À lire <vite>\n\n📰 Titre <b>& co</b> — Édu_Num & co\nRésumé\n"
        "https://example.org/a?x=1&y=2"
    )
    assert announcement.html == (
        "<p>À lire &lt;vite&gt;</p>\n"
        '<p><strong><a href="https://example.org/a?x=1&amp;y=2">Titre &lt;b&gt;&amp; co&lt;/b&gt;'
        "</a></strong> — Édu_Num &amp; co</p>\n<p>Résumé</p>"
    )
    assert [c.room for c in messenger.calls] == list(DIFFUSION)
    assert (await bot.statuses())[entry_id] == "published"


async def test_publish_entry_refusals(bot: Bot) -> None:
    entry_id = await stored_entry(bot)
    messenger = FakeMessenger()
    no_rooms = Settings(admins=frozenset({ADMIN}), tz=PARIS)

    async def publish(entry: int, settings: Settings = SETTINGS) -> None:
        async with bot.db.transaction():
            await curation.publish_entry(scope(bot, messenger, settings), entry, Request(ADMIN))

    with pytest.raises(UserError, match=r"^Aucun salon de diffusion : tapez !diffusion ajouter"):
        await publish(entry_id, no_rooms)
    with pytest.raises(NotFound, match=r"^Aucun article n° 99 dans la veille"):
        await publish(99)
    await publish(entry_id)
    with pytest.raises(UserError, match=r"^L’article n° 1 a déjà été publié\.$"):
        await publish(entry_id)
    assert len(messenger.calls) == 2


# --- the one rule for deciding on an entry ------------------------------------------------

NOT_A_PROPOSAL = {
    "publish": "Aucun article n° 7 dans la veille. "
    "Tapez !veille propositions pour voir celles en attente.",
    "ignore": "Aucune proposition n° 7. Tapez !veille propositions pour voir celles en attente.",
}
RULE: dict[tuple[EntryStatus, curation.Decision], tuple[type[UserError], str] | None] = {
    ("proposed", "publish"): None,
    ("proposed", "ignore"): None,
    ("seen", "publish"): (NotFound, NOT_A_PROPOSAL["publish"]),
    ("seen", "ignore"): (NotFound, NOT_A_PROPOSAL["ignore"]),
    ("filtered", "publish"): (NotFound, NOT_A_PROPOSAL["publish"]),
    ("filtered", "ignore"): (NotFound, NOT_A_PROPOSAL["ignore"]),
    ("published", "publish"): (UserError, "L’article n° 7 a déjà été publié."),
    ("published", "ignore"): (UserError, "La proposition n° 7 a déjà été publiée."),
    ("ignored", "publish"): (
        UserError,
        "L’article n° 7 a été écarté ; il ne peut plus être publié.",
    ),
    ("ignored", "ignore"): (UserError, "La proposition n° 7 a déjà été écartée."),
}


def entry_with(status: EntryStatus) -> StoredEntry:
    return StoredEntry(7, 1, "k7", "Titre", None, None, "", "", status)


@pytest.mark.parametrize(("status", "decision"), list(RULE))
def test_only_a_waiting_proposal_can_be_decided(
    status: EntryStatus, decision: curation.Decision
) -> None:
    entry = entry_with(status)
    refusal = RULE[(status, decision)]
    if refusal is None:
        assert curation.decidable(entry, 7, decision) is entry
        return
    error_type, text = refusal
    with pytest.raises(UserError) as raised:
        curation.decidable(entry, 7, decision)
    assert type(raised.value) is error_type
    assert raised.value.message == text


@pytest.mark.parametrize("decision", ["publish", "ignore"])
def test_a_missing_entry_is_not_a_proposal(decision: curation.Decision) -> None:
    with pytest.raises(NotFound) as raised:
        curation.decidable(None, 7, decision)
    assert raised.value.message == NOT_A_PROPOSAL[decision]


async def test_annonce_veille_and_reactions_follow_the_same_rule(
    bot: Bot, server: FeedServer
) -> None:
    """Entries 1 and 2 were only seen (first read): `!annonce veille` no longer publishes them."""
    server.serve("srane.xml", spip_feed(*FIVE_ITEMS))
    await bot.add_feed(server.url("srane.xml"))
    await bot.poll()
    proposal3, proposal4 = await bot.deliver(3), await bot.deliver(4)
    before = len(await posts(bot.db))

    assert await bot.ask("!annonce veille 1") == [
        "Aucun article n° 1 dans la veille. Tapez !veille propositions pour voir celles en attente."
    ]
    assert await bot.ask("!veille ignorer 2") == [
        "Aucune proposition n° 2. Tapez !veille propositions pour voir celles en attente."
    ]
    announcement = f"À lire\n\n📰 Actualité n° 3 — SRANE\n{SUMMARY}\n{LINK.format(103)}"
    # Only the posts, no answer yet: the RUPN is told where it went once the posts are delivered.
    assert await bot.ask("!annonce veille 3 À lire") == [announcement, announcement]
    published = await posts(bot.db, "announcement")
    assert [p.room_id for p in published] == list(DIFFUSION)
    assert published[0].ref == ("announcement", 1)
    await bot.react(proposal3, "✅")  # already published by the command: nothing happens
    await bot.react(proposal3, "❌")
    assert await bot.ask("!annonce veille 3") == ["L’article n° 3 a déjà été publié."]

    await bot.react(proposal4, "❌")
    assert await bot.ask("!annonce veille 4") == [
        "L’article n° 4 a été écarté ; il ne peut plus être publié."
    ]
    await bot.react(proposal4, "✅")
    assert await bot.statuses() == {
        1: "seen",
        2: "seen",
        3: "published",
        4: "ignored",
        5: "proposed",
    }
    assert len(await posts(bot.db, "announcement")) == 2
    assert len(await posts(bot.db)) == before + 2 + 4  # the announcements, four answers


async def test_a_filtered_entry_cannot_be_published(bot: Bot, server: FeedServer) -> None:
    server.serve("srane.xml", spip_feed(item(201, "Sortie scolaire", 4)))
    await bot.add_feed(server.url("srane.xml"), include=["pédagogie"])
    await bot.poll()
    assert await bot.statuses() == {1: "filtered"}
    assert await bot.ask("!annonce veille 1") == [
        "Aucun article n° 1 dans la veille. Tapez !veille propositions pour voir celles en attente."
    ]
    assert await posts(bot.db, "announcement") == []
    assert await bot.statuses() == {1: "filtered"}


# --- commands ------------------------------------------------------------------------------

EMPTY_LIST = (
    "Aucune source d’actualités n’est suivie. Ajoutez-en une avec "
    "!veille ajouter <adresse du flux> [nom], par exemple : "
    "!veille ajouter https://srane.ac-exemple.fr/spip.php?page=backend SRANE"
)
USAGE = (
    "Utilisation : !veille ajouter|liste|retirer|propositions|ignorer|ici …\n"
    "Exemple : !veille ajouter https://srane.ac-exemple.fr/spip.php?page=backend SRANE"
)


async def test_veille_commands(bot: Bot, server: FeedServer) -> None:
    url = server.url("srane.xml")
    server.serve("srane.xml", spip_feed(*FIVE_ITEMS, item(110, "Échec", 1)), script=[500] * 3)
    assert await bot.ask("!veille liste") == [EMPTY_LIST]
    assert await bot.ask("!veille ajouter ftp://exemple.fr/flux") == [
        "« ftp://exemple.fr/flux » n’est pas l’adresse d’un flux : elle doit commencer par "
        f"http:// ou https://.\n{USAGE}"
    ]
    assert await bot.ask(f"!veille ajouter {url} SRANE de l’académie") == [
        f"Source n° 1 ajoutée : SRANE de l’académie ({url}). "
        "Les derniers articles vous seront proposés à la prochaine lecture."
    ]
    assert await bot.ask(f"!veille ajouter {url}") == [
        f"Cette source est déjà suivie : n° 1, SRANE de l’académie ({url})."
    ]
    await bot.add_feed("https://eduscol.example.org/rss", name="Éduscol")
    assert await bot.ask("!veille liste") == [
        "Sources suivies (2) :\n"
        f"n° 1 · SRANE de l’académie ({url}) — ajoutée par {ADMIN} — pas encore lue\n"
        "n° 2 · Éduscol (https://eduscol.example.org/rss) — configuration — pas encore lue"
    ]
    async with bot.db.transaction():
        await bot.repos.feeds.deactivate(2)  # keep the next polls local
    for _ in range(3):
        await bot.poll()
        bot.clock.advance(3600)
    await bot.add_feed("https://eduscol.example.org/rss", name="Éduscol")
    async with bot.db.transaction():
        await bot.repos.feeds.record_success(
            2, etag=None, last_modified=None, next_fetch_at=START + timedelta(days=1), now=START
        )
    assert await bot.ask("!veille liste") == [
        "Sources suivies (2) :\n"
        f"n° 1 · SRANE de l’académie ({url}) — ajoutée par {ADMIN} — en échec depuis "
        "3 tentatives (dernière erreur : le serveur a répondu 500)\n"
        "n° 2 · Éduscol (https://eduscol.example.org/rss) — configuration — OK, lue le "
        "dimanche 22 novembre 2026 à 19h42"
    ]
    assert await bot.ask("!veille retirer 2") == [
        "La source n° 2 (Éduscol) vient du fichier de configuration : retirez-la de ce "
        "fichier (section [[feeds]]), puis redémarrez le bot."
    ]
    assert await bot.ask("!veille retirer 7") == [
        "Aucune source n° 7. Tapez !veille liste pour voir les sources suivies."
    ]
    assert await bot.ask("!veille retirer n° 1") == [
        "Source n° 1 retirée : SRANE de l’académie. Ses articles ne vous seront plus proposés."
    ]
    assert await bot.ask("!veille retirer 1") == [
        "Aucune source n° 1. Tapez !veille liste pour voir les sources suivies."
    ]
    assert await bot.ask("!veille retirer un") == [f"« un » n’est pas un numéro.\n{USAGE}"]
    assert await bot.ask("!veille") == [
        f"Précisez ce que vous voulez faire : ajouter, liste, retirer, propositions, "
        f"ignorer ou ici.\n{USAGE}"
    ]
    assert await bot.ask("!veille lire") == [
        "Action inconnue : « lire ». Actions possibles : ajouter, liste, retirer, "
        f"propositions, ignorer ou ici.\n{USAGE}"
    ]
    assert await bot.ask("!veille liste", sender=PROF) == [
        "Désolé, la commande !veille est réservée aux référents numériques (RUPN) qui "
        "administrent le bot. Tapez !aide pour voir les commandes qui vous sont ouvertes."
    ]


async def test_re_adding_a_removed_feed_reads_it_as_new(bot: Bot, server: FeedServer) -> None:
    url = server.url("srane.xml")
    served = server.serve("srane.xml", spip_feed(*FIVE_ITEMS))
    await bot.ask(f"!veille ajouter {url} SRANE")
    await bot.poll()
    await bot.ask("!veille retirer 1")
    served.body = spip_feed(*(item(300 + n, f"Nouvelle n° {n}", n) for n in range(9, 0, -1)))
    assert await bot.ask(f"!veille ajouter {url} SRANE") == [
        f"Source n° 1 ajoutée : SRANE ({url}). "
        "Les derniers articles vous seront proposés à la prochaine lecture."
    ]
    await bot.poll()
    assert served.statuses == [200, 200]
    assert len(await posts(bot.db, news_texts.PROPOSAL_KIND)) == 6  # 3 + the 3 latest new ones


async def test_propositions_and_ignorer(bot: Bot, server: FeedServer) -> None:
    assert await bot.ask("!veille propositions") == ["Aucune proposition en attente."]
    server.serve("srane.xml", spip_feed(*FIVE_ITEMS))
    await bot.add_feed(server.url("srane.xml"))
    await bot.poll()
    assert await bot.ask("!veille ignorer 4") == ["Proposition n° 4 écartée : Actualité n° 4."]
    assert await bot.ask("!veille ignorer 4") == ["La proposition n° 4 a déjà été écartée."]
    assert await bot.ask("!veille ignorer 1") == [
        "Aucune proposition n° 1. Tapez !veille propositions pour voir celles en attente."
    ]
    assert await bot.ask("!veille ignorer") == [
        f"Indiquez le numéro voulu, par exemple : !veille ignorer 3.\n{USAGE}"
    ]
    assert await bot.ask("!veille propositions") == [
        "Propositions en attente :\n"
        "n° 3 · SRANE — Actualité n° 3\n"
        "n° 5 · SRANE — Actualité n° 5\n"
        "Publier : !annonce veille <n°> — Écarter : !veille ignorer <n°>"
    ]
    row = await bot.db.fetchone("SELECT decided_by FROM feed_entries WHERE id = 4")
    assert row is not None and row[0] == ADMIN
    proposal = await bot.deliver(5)
    await bot.react(proposal, "✅")
    assert await bot.ask("!veille ignorer 5") == ["La proposition n° 5 a déjà été publiée."]
