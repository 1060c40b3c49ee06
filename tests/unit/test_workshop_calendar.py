"""`!atelier` and `!cafe` on a public holiday or in the school holidays, and « malgré-vacances ».

The calendar is the real one (bot/school_calendar.py): in 2026–2027 the Christmas holidays
run from 19 December to 3 January in every zone, the winter holidays from 13 to 28 February
in zone A and from 20 February to 7 March in zone B.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import DigestSettings
from bot.context import Repositories, Settings
from bot.domain import IncomingMessage, IncomingPollResponse, RoomEvent
from bot.storage.database import Database
from bot.storage.workshops import Workshop
from handlers.workshops.args import Cancel, Create, FromPoll, Modify, parse_atelier
from tests.unit.fakes import PARSE_ENV, FakeBotInfo, FakeClock
from tests.unit.harness import deliver, process_events

ADMIN = "@rupn:example.org"
BOT = "@rupn-bot:example.org"
P1 = "@prof1:example.org"
STAFF = "!staff:example.org"
BUREAU = "!bureau:example.org"
PARIS = ZoneInfo("Europe/Paris")
INFO = FakeBotInfo(
    rooms=[STAFF, BUREAU],
    names={STAFF: "Salle des professeurs", BUREAU: "Bureau"},
    members={STAFF: [ADMIN, BOT, P1], BUREAU: [ADMIN, BOT, P1]},
)
NO_ZONE = Settings(admins=frozenset({ADMIN}), tz=PARIS, broadcast_rooms=(STAFF,), bot_user_id=BOT)
ZONE_A = dataclasses.replace(NO_ZONE, digest=DigestSettings(enabled=False, zone="A"))
ZONE_B = dataclasses.replace(NO_ZONE, digest=DigestSettings(enabled=False, zone="B"))
CONFIRM = (
    " : choisissez un autre jour, ou confirmez en ajoutant « malgré-vacances » à la fin de "
    "la commande."
)
CHRISTMAS = "Le vendredi 25 décembre 2026 est férié (Noël)" + CONFIRM
ASCENSION = "Le jeudi 6 mai 2027 est férié (Ascension)" + CONFIRM
DECEMBER_22_B = "Le mardi 22 décembre 2026 tombe pendant les vacances de Noël (zone B)" + CONFIRM
_ids = itertools.count(1)

# PARSE_ENV is Sunday 22 November 2026, 19h42 in Paris.
DECEMBER_1 = datetime(2026, 12, 1, 12, 30, tzinfo=PARIS)
DECEMBER_22 = datetime(2026, 12, 22, 12, 30, tzinfo=PARIS)


class Bot:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.clock = FakeClock()  # START: Sunday 22 November 2026

    async def posts(self) -> list[dict[str, Any]]:
        rows = await self.db.fetchall("SELECT kind, content, txn_id FROM posts ORDER BY id")
        return [{"kind": r[0], "content": json.loads(r[1]), "txn": r[2]} for r in rows]

    async def process(self, event: RoomEvent) -> list[dict[str, Any]]:
        before = len(await self.posts())
        await process_events(self.db, self.settings, self.clock, INFO, [event])
        return (await self.posts())[before:]

    async def say(self, body: str) -> list[dict[str, Any]]:
        return await self.process(
            IncomingMessage(BUREAU, f"$m{next(_ids)}", ADMIN, body, self.clock())
        )

    async def ask(self, body: str) -> list[str]:
        """The bot's replies to `body`."""
        return [p["content"]["body"] for p in await self.say(body) if p["kind"] == "reply"]

    async def workshop(self, workshop_id: int = 1) -> Workshop | None:
        return await Repositories.open(self.db).workshops.get(workshop_id)


def announced(replies: list[str], label: str = "Atelier n° 1") -> bool:
    return len(replies) == 1 and replies[0].startswith(f"{label} annoncé dans 1 salon")


# --- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1/12 12h30 | ENT", Create(DECEMBER_1, "ENT")),
        ("1/12 12h30 | ENT malgré-vacances", Create(DECEMBER_1, "ENT", despite_holidays=True)),
        (
            "1/12 12h30 | ENT | CDI malgre-vacances",
            Create(DECEMBER_1, "ENT", "CDI", None, None, True),
        ),
        (
            "1/12 12h30 | ENT | CDI | malgré-vacances ",
            Create(DECEMBER_1, "ENT", "CDI", None, None, True),
        ),
        (
            "1/12 12h30 | ENT | 12 places|MALGRÉ-VACANCES",
            Create(DECEMBER_1, "ENT", None, 12, None, True),
        ),
        (
            "1/12 12h30 | ENT malgre\u0301-vacances",
            Create(DECEMBER_1, "ENT", despite_holidays=True),
        ),
        # Anywhere but at the very end, or glued to another word, it is text.
        (
            "1/12 12h30 | Cours malgré-vacances ? | CDI",
            Create(DECEMBER_1, "Cours malgré-vacances ?", "CDI"),
        ),
        ("1/12 12h30 | ENT | CDImalgré-vacances", Create(DECEMBER_1, "ENT", "CDImalgré-vacances")),
        ("modifier 3 22/12 12h30 malgré-vacances", Modify(3, DECEMBER_22, None, True)),
        ("modifier 3 22/12 12h30 | CDI malgré-vacances", Modify(3, DECEMBER_22, "CDI", True)),
        ("modifier 3 22/12 12h30", Modify(3, DECEMBER_22, None)),
        ("depuis-sondage 2 22/12 12h30 malgre-vacances", FromPoll(2, DECEMBER_22, True)),
        ("annuler 3", Cancel(3)),
    ],
)
def test_the_flag_is_taken_off_the_end(text: str, expected: object) -> None:
    assert parse_atelier(text, PARSE_ENV) == expected


async def test_the_flag_alone_is_no_command(db: Database) -> None:
    replies = await Bot(db, NO_ZONE).ask("!atelier malgré-vacances")
    assert replies[0].startswith("Donnez la date puis le thème, séparés par « | ».")
    assert (await Bot(db, NO_ZONE).ask("!atelier annuler 3 malgré-vacances"))[0].startswith(
        "Donnez le numéro de l’atelier à annuler"
    )


# --- creation -----------------------------------------------------------------------------


@pytest.mark.parametrize("settings", [NO_ZONE, ZONE_B])
async def test_a_public_holiday_is_refused_with_its_name(db: Database, settings: Settings) -> None:
    bot = Bot(db, settings)
    new = await bot.say("!atelier 25/12 12h30 | ENT | CDI")
    assert [(p["kind"], p["content"]["body"]) for p in new] == [("reply", CHRISTMAS)]
    assert await bot.workshop() is None
    # Ascension 2027 is also the « pont » of the school holidays: the public holiday is named.
    assert await bot.ask("!cafe 6/5/2027 12h30 | ENT") == [ASCENSION]
    assert await bot.workshop() is None


async def test_a_school_holiday_is_refused_with_its_name_and_zone(db: Database) -> None:
    bot = Bot(db, ZONE_B)
    assert await bot.ask("!atelier 22/12 12h30 | ENT") == [DECEMBER_22_B]
    assert await bot.ask("!cafe 22/12 12h30 | ENT") == [DECEMBER_22_B]
    assert await bot.workshop() is None
    assert await Bot(db, ZONE_A).ask("!cafe 16/2/2027 12h30 | ENT") == [
        "Le mardi 16 février 2027 tombe pendant les vacances d’hiver (zone A)" + CONFIRM
    ]
    assert await Bot(db, ZONE_B).ask("!atelier 2/3/2027 12h30 | ENT") == [
        "Le mardi 2 mars 2027 tombe pendant les vacances d’hiver (zone B)" + CONFIRM
    ]
    assert await Bot(db, ZONE_B).ask("!atelier 1/1/2027 12h30 | ENT") == [
        "Le vendredi 1er janvier 2027 est férié (Jour de l’an)" + CONFIRM
    ]
    assert await bot.workshop() is None


async def test_the_holidays_of_another_zone_do_not_count(db: Database) -> None:
    bot = Bot(db, ZONE_B)
    assert announced(await bot.ask("!atelier 16/2/2027 12h30 | ENT"))  # zone A's holidays


async def test_without_a_zone_school_holidays_are_unknown(db: Database) -> None:
    bot = Bot(db, NO_ZONE)
    assert announced(await bot.ask("!atelier 22/12 12h30 | ENT"))


async def test_weekends_are_not_refused(db: Database) -> None:
    bot = Bot(db, ZONE_B)
    assert announced(await bot.ask("!atelier samedi 28 novembre 10h | ENT"))


@pytest.mark.parametrize(
    "body",
    [
        "!atelier 22/12 12h30 | ENT | CDI | 12 places malgré-vacances",
        "!atelier 22/12 12h30 | ENT | CDI | 12 places | malgre-vacances",
    ],
)
async def test_malgre_vacances_confirms_the_date(db: Database, body: str) -> None:
    bot = Bot(db, ZONE_B)
    new = await bot.say(body)
    assert [p["kind"] for p in new] == ["workshop-notice", "workshop-ics", "reply"]
    workshop = await bot.workshop()
    assert workshop is not None
    assert (workshop.starts_at, workshop.theme, workshop.place, workshop.capacity) == (
        DECEMBER_22,
        "ENT",
        "CDI",
        12,
    )


async def test_malgre_vacances_on_a_public_holiday_and_a_cafe(db: Database) -> None:
    bot = Bot(db, NO_ZONE)
    assert announced(
        await bot.ask("!cafe 25/12 12h30 | ENT malgré-vacances"), "Café numérique n° 1"
    )


# --- modifier -----------------------------------------------------------------------------


async def test_modifier_to_a_holiday_is_refused_then_confirmed(db: Database) -> None:
    bot = Bot(db, ZONE_B)
    assert announced(await bot.ask("!atelier 1/12 12h30 | ENT | CDI"))
    assert await bot.ask("!atelier modifier 1 22/12 12h30") == [DECEMBER_22_B]
    assert await bot.ask("!atelier modifier 1 25/12 12h30 | salle 12") == [CHRISTMAS]
    workshop = await bot.workshop()
    assert workshop is not None
    assert (workshop.starts_at, workshop.place) == (DECEMBER_1, "CDI")
    # A new place alone never asks.
    assert await bot.ask("!atelier modifier 1 | salle 12") == [
        "Atelier n° 1 modifié ; aucune personne inscrite à prévenir."
    ]
    assert await bot.ask("!atelier modifier 1 22/12 12h30 malgré-vacances") == [
        "Atelier n° 1 modifié ; aucune personne inscrite à prévenir."
    ]
    workshop = await bot.workshop()
    assert workshop is not None
    assert (workshop.starts_at, workshop.place) == (DECEMBER_22, "salle 12")
    # The day was confirmed: another time or place that day needs no confirmation again.
    assert await bot.ask("!atelier modifier 1 22/12 14h | CDI") == [
        "Atelier n° 1 modifié ; aucune personne inscrite à prévenir."
    ]
    # Moving to another holiday day does.
    assert await bot.ask("!atelier modifier 1 23/12 14h") == [
        "Le mercredi 23 décembre 2026 tombe pendant les vacances de Noël (zone B)" + CONFIRM
    ]


# --- depuis-sondage -----------------------------------------------------------------------


async def test_depuis_sondage_on_a_holiday(db: Database) -> None:
    bot = Bot(db, ZONE_B)
    await bot.say("!sondage Quel thème ? | ENT | Pronote")
    [start] = [p for p in await bot.posts() if p["kind"] == "poll-start"]
    await deliver(db, start["txn"], "$poll1", bot.clock())
    await bot.process(IncomingPollResponse(BUREAU, "$v1", P1, "$poll1", ("a2",), bot.clock()))

    assert await bot.ask("!atelier depuis-sondage 1 22/12 12h30") == [DECEMBER_22_B]
    assert await bot.workshop() is None
    new = await bot.say("!atelier depuis-sondage 1 22/12 12h30 malgré-vacances")
    assert "workshop-notice" in [p["kind"] for p in new]
    workshop = await bot.workshop()
    assert workshop is not None
    assert (workshop.theme, workshop.starts_at, workshop.poll_id) == ("Pronote", DECEMBER_22, 1)


# --- help ---------------------------------------------------------------------------------


async def test_the_help_tells_the_flag_and_the_usage_is_unchanged(db: Database) -> None:
    bot = Bot(db, NO_ZONE)
    [atelier] = await bot.ask("!aide atelier")
    assert "!atelier <quand> | <thème> [| lieu] [| places] [| minimum N]" in atelier
    assert "ajoutez « malgré-vacances » à la fin de la commande" in atelier
    [cafe] = await bot.ask("!aide cafe")
    assert "!cafe <quand> | <thème> [| lieu]" in cafe
    assert "« malgré-vacances » à la fin pour maintenir un jour férié" in cafe
