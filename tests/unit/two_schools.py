"""Two établissements served by one bot, for the isolation tests: the real processor,
registry, database and jobs, with schools built directly (not from a configuration)."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Desk
from bot.context import Repositories, Settings
from bot.domain import IncomingMessage, SyncBatch
from bot.errors import INTERNAL_ERROR_TEXT
from bot.metrics import NO_METRICS, SchoolMetrics
from bot.processor import EventProcessor
from bot.router import CommandRegistry
from bot.schools import School
from bot.storage.database import Database, stored
from bot.storage.feeds import FeedsRepository, NewEntry
from bot.storage.rooms import RoomsRepository
from bot.storage.state import StateRepository
from bot.tenancy import Tenancy
from bot.work import Units
from handlers import ROUTERS
from tests.unit.fakes import FakeBotInfo, FakeClock
from tests.unit.harness import PSEUDONYMS, make_units

BOT = "@bot:ac-exemple.fr"
DESK = Desk(to="assistance@ac-exemple.fr", reply_to="rupn-bot@ac-exemple.fr")
PARIS = ZoneInfo("Europe/Paris")
_ids = itertools.count(1)
_tokens = itertools.count(1)


@dataclass(frozen=True)
class Side:
    """One school of the pair: its RUPN, a teacher, its staff room and that room's alias."""

    school: School
    rupn: str
    teacher: str
    room: str
    alias: str


A = Side(
    School("0860001J", "Collège Jean Moulin", frozenset({"@rupn-a:ac-exemple.fr"}), "A"),
    "@rupn-a:ac-exemple.fr",
    "@prof-a:ac-exemple.fr",
    "!salle-a:ac-exemple.fr",
    "#salle-a:ac-exemple.fr",
)
B = Side(
    School("0170002K", "Lycée Camille Guérin", frozenset({"@rupn-b:ac-exemple.fr"}), "B"),
    "@rupn-b:ac-exemple.fr",
    "@prof-b:ac-exemple.fr",
    "!salle-b:ac-exemple.fr",
    "#salle-b:ac-exemple.fr",
)

TENANT_TABLES = (
    "announcements",
    "polls",
    "workshops",
    "digest_words",
    "broadcast_rooms",
    "privacy_requests",
    "post_stats",
    "digest_weeks",
    "digest_extra_letters",
    "rooms",
    "feed_entries",  # a school's own rows of its sources' entries, the académie's included
    "curation_rooms",
)


@dataclass
class TwoSchools:
    db: Database
    clock: FakeClock = field(default_factory=FakeClock)
    settings: Settings = field(
        default_factory=lambda: Settings(
            admins=frozenset(), tz=PARIS, bot_user_id=BOT, assistance=DESK
        )
    )
    info: FakeBotInfo = field(
        default_factory=lambda: FakeBotInfo(
            rooms=[A.room, B.room],
            names={A.room: "Salle des profs A", B.room: "Salle des profs B"},
            aliases={A.alias: A.room, B.alias: B.room},
            members={A.room: [BOT, A.rupn, A.teacher], B.room: [BOT, B.rupn, B.teacher]},
        )
    )

    metrics: SchoolMetrics = NO_METRICS

    @property
    def tenancy(self) -> Tenancy:
        return Tenancy((A.school, B.school), RoomsRepository(self.db))

    async def invite(self, side: Side) -> str | None:
        """The school's RUPN invites the bot into its staff room (the room becomes its own)."""
        async with self.db.transaction():
            return await self.tenancy.claim(side.room, side.rupn, self.clock())

    async def say(self, side: Side, *bodies: str, room: str | None = None) -> list[str]:
        """The RUPN of `side` types each command (in its room unless told): the replies."""
        before = await self._last_post()
        events = tuple(
            IncomingMessage(room or side.room, f"$m{next(_ids)}", side.rupn, body, self.clock())
            for body in bodies
        )
        await self.processor().process(SyncBatch(f"s{next(_tokens)}", events, (), False))
        rows = await self.db.fetchall(
            "SELECT content FROM posts WHERE id > ? AND kind = 'reply' ORDER BY id", (before,)
        )
        return [str(json.loads(r["content"])["body"]) for r in rows]

    def processor(self) -> EventProcessor:
        return EventProcessor(
            self.db, Repositories.open(self.db), StateRepository(self.db),
            CommandRegistry(ROUTERS), self.settings, self.clock, self.info,
            pseudonyms=PSEUDONYMS, tenancy=self.tenancy, metrics=self.metrics,
        )  # fmt: skip

    def units(self, side: Side) -> Units:
        units = make_units(self.db, self.settings, self.info, self.clock)
        units.serve((A.school, B.school))
        return units.for_school(side.school)

    async def deliver_all(self) -> None:
        """Every pending post is sent (as the sender would mark it)."""
        async with self.db.transaction():
            await self.db.execute(
                "UPDATE posts SET status = 'sent', event_id = '$' || txn_id, sent_at = ?"
                " WHERE status = 'pending' AND action != 'mail'",
                (stored(self.clock()),),
            )

    async def _last_post(self) -> int:
        row = await self.db.fetchone("SELECT COALESCE(MAX(id), 0) AS n FROM posts")
        return int(row["n"]) if row else 0

    async def snapshot(self, side: Side) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of the school, and every post that went or waits for its rooms."""
        key = side.school.key
        found: dict[str, list[tuple[Any, ...]]] = {}
        for table in (*TENANT_TABLES, "assistance_requests", "assistance_mails"):
            rows = await self.db.fetchall(
                f"SELECT * FROM {table} WHERE school = ? ORDER BY rowid",  # noqa: S608
                (key,),
            )
            found[table] = [tuple(r) for r in rows]
        for table, parent, column in (
            ("poll_responses", "polls", "poll_id"),
            ("workshop_signups", "workshops", "workshop_id"),
            ("assistance_followers", "assistance_requests", "request_id"),
        ):
            rows = await self.db.fetchall(
                f"SELECT * FROM {table} WHERE {column} IN"  # noqa: S608 - constant names
                f" (SELECT id FROM {parent} WHERE school = ?) ORDER BY rowid",
                (key,),
            )
            found[table] = [tuple(r) for r in rows]
        rows = await self.db.fetchall("SELECT * FROM feeds WHERE school = ? ORDER BY id", (key,))
        found["feeds"] = [tuple(r) for r in rows]
        rows = await self.db.fetchall("SELECT * FROM schools WHERE key = ?", (key,))
        found["schools"] = [tuple(r) for r in rows]  # its letter's pause
        rows = await self.db.fetchall(
            "SELECT * FROM posts WHERE school = ?"
            " OR room_id IN (SELECT room_id FROM rooms WHERE school = ?) ORDER BY id",
            (key, key),
        )
        found["posts"] = [tuple(r) for r in rows]
        return found


def secret(side: Side) -> str:
    """A word in every text of the school, that the other school must never be shown."""
    return f"secret-{side.school.key}"


async def populate(bot: TwoSchools) -> None:
    """Each school: a diffusion room, two polls, two workshops (a teacher signed up), two
    announcements, two words for the letter, two breakdowns reported (`!panne`); all
    delivered. A goes first, so B's rows have
    other ids than their numbers."""
    for side in (A, B):
        assert await bot.invite(side) is None
        mark = secret(side)
        replies = await bot.say(
            side,
            "!diffusion ajouter",
            # Refused at once, so the jobs' reading of it needs no network.
            f"!veille ajouter http://127.0.0.1:9/{side.school.key}.xml Source {mark}",
            f"!sondage Quel jour {mark} ? | lundi | mardi",
            f"!sondage Quel thème {mark} ? | ENT | Pix",
            f"!atelier jeudi 10 décembre 17h | Pronote {mark} | CDI | 12 places",
            f"!cafe vendredi 11 décembre 12h30 | L’IA en classe {mark} | CDI",
            f"!annonce Conseil pédagogique jeudi {mark}",
            f"!annonce programmer lundi 8h | Réunion ENT {mark}",
            f"!lettre ajouter Bonne semaine {mark}",
            f"!lettre ajouter Pensez à Pix {mark}",
            f"!panne B12 | vidéoprojecteur {mark} | ne s’allume plus {mark}",
            f"!panne C3-{mark} imprimante bourrage",
        )
        assert INTERNAL_ERROR_TEXT not in replies
        await bot.deliver_all()
    async with bot.db.transaction():  # the tickets went to the desk
        await bot.db.execute("UPDATE posts SET status = 'sent' WHERE kind = 'assistance-mail'")
    await _academie_proposals(bot)


async def _academie_proposals(bot: TwoSchools) -> None:
    """An académie source read for both schools: each has its proposals n° 1 and 2 (A's
    first, so B's rows have other ids than their numbers), and A its curation room."""
    entries = [
        NewEntry(f"tag:srane,2026:{n}", f"Actualité {n}", None, None, "", "") for n in (1, 2)
    ]
    async with bot.db.transaction():
        feed = await FeedsRepository(bot.db).upsert(
            name="SRANE", url="http://127.0.0.1:9/srane.xml", origin="config", added_by=None,
            now=bot.clock(),
        )  # fmt: skip
        for side in (A, B):
            await FeedsRepository(bot.db, side.school.key).add_entries(
                feed.id, entries, "proposed", bot.clock()
            )
    assert await bot.say(A, "!veille ici") != []
    await bot.deliver_all()
