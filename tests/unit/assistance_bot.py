"""A school with `[assistance]` for the unit tests of `!panne`: the real processor,
database, jobs and reply sink under a fake clock."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Desk
from bot.context import Repositories, Settings
from bot.domain import IncomingMessage
from bot.mailbox.model import DeskReply
from bot.storage.database import Database
from handlers.assistance.replies import DeskReplies
from tests.unit.fakes import FakeBotInfo, FakeClock
from tests.unit.harness import deliver, make_units, process_events, queued_posts

RUPN = "@rupn:clg-exemple.fr"
BOT = "@bot:clg-exemple.fr"
ALICE = "@alice.martin:clg-exemple.fr"
BRUNO = "@bruno.petit:clg-exemple.fr"
STAFF = "!staff:clg-exemple.fr"
CURATION = "!rupn:clg-exemple.fr"
DIRECT = "!direct-alice:clg-exemple.fr"
PARIS = ZoneInfo("Europe/Paris")
DESK_ADDRESS = "assistance@ac-exemple.fr"
NETWORK_DESK = "reseau@region-exemple.fr"
MAILBOX = "rupn-bot@clg-exemple.fr"
DESK = Desk(
    to=DESK_ADDRESS,
    reply_to=MAILBOX,
    categories=(("réseau", NETWORK_DESK),),
    school_name="Collège Jean Moulin",
    uai="0860001J",
)
SETTINGS = Settings(
    admins=frozenset({RUPN}),
    tz=PARIS,
    bot_user_id=BOT,
    curation_rooms=(CURATION,),
    assistance=DESK,
)
MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=PARIS)
TICKET_LINES = [  # lines 5 to 11 of the ticket of Alice's `!panne B12 vidéoprojecteur…`
    "Établissement : Collège Jean Moulin (UAI 0860001J)",
    "Salle : B12",
    "Matériel : vidéoprojecteur",
    "Ce qui se passe : ne s’allume plus",
    "Signalée le : 30/11/2026 à 08:00",
    "Signalée par : alice.martin",
    "Personnes ayant signalé cette panne : 1",
]
_ids = itertools.count(1)


@dataclass
class AssistanceBot:
    db: Database
    clock: FakeClock = field(default_factory=lambda: FakeClock(MONDAY.astimezone(UTC)))
    settings: Settings = SETTINGS
    info: FakeBotInfo = field(
        default_factory=lambda: FakeBotInfo(
            rooms=[STAFF, CURATION, DIRECT],
            names={STAFF: "Salle des professeurs"},
            members={STAFF: [BOT, RUPN, ALICE, BRUNO], CURATION: [BOT, RUPN], DIRECT: [BOT, ALICE]},
        )
    )

    @property
    def repos(self) -> Repositories:
        return Repositories.open(self.db)

    def at(self, moment: datetime) -> None:
        self.clock.now = moment.astimezone(UTC)

    async def posts(self, *kinds: str) -> list[dict[str, Any]]:
        return await queued_posts(self.db, *kinds)

    async def say(self, body: str, sender: str = ALICE, room: str = STAFF) -> list[str]:
        """`sender` types `body` (event id `$<n>`): the bodies of the bot's replies."""
        before = len(await self.posts())
        event = f"${next(_ids)}"
        await process_events(
            self.db, self.settings, self.clock, self.info,
            [IncomingMessage(room, event, sender, body, self.clock())],
        )  # fmt: skip
        new = (await self.posts())[before:]
        for post in new:
            if post["action"] != "mail":
                await deliver(self.db, post["txn"], f"$ev-{post['txn']}", self.clock())
        return [p["content"]["body"] for p in new if p["kind"] == "reply"]

    async def mails(self) -> list[dict[str, Any]]:
        return [p["content"] for p in await self.posts() if p["action"] == "mail"]

    def sink(self) -> DeskReplies:
        return DeskReplies(self.db, make_units(self.db, self.settings, self.info, self.clock))

    async def answer(self, reply: DeskReply) -> list[dict[str, Any]]:
        """The desk's mail through the reply sink: the chat posts it queued."""
        before = len(await self.posts())
        await self.sink().accept(reply)
        return (await self.posts())[before:]


def desk_reply(
    message_id: str,
    text: str,
    *,
    refers_to: tuple[str, ...] = (),
    subject: str = "Re: votre demande",
    sender: str = DESK_ADDRESS,
    at: datetime = MONDAY,
) -> DeskReply:
    return DeskReply(message_id, refers_to, subject, sender, at, text)
