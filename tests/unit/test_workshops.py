"""`!atelier`, `!cafe`, `!ateliers`, sign-ups by 👍 and by command, with the real database."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.context import Repositories, Settings
from bot.domain import IncomingMessage, IncomingReaction, IncomingRedaction, RoomEvent
from bot.errors import InvalidArguments
from bot.messenger import UPLOAD_KEY
from bot.storage.database import Database
from handlers.workshops.args import (
    MODIFY_EXAMPLE,
    MODIFY_USAGE,
    Attendance,
    Cancel,
    Create,
    FromPoll,
    Modify,
    parse_atelier,
)
from handlers.workshops.texts import is_thumbs_up
from tests.unit.fakes import PARSE_ENV, START, FakeBotInfo, FakeClock
from tests.unit.harness import deliver, process_events

ADMIN = "@rupn:example.org"
BOT = "@rupn-bot:example.org"
P1 = "@prof1:example.org"
P2 = "@prof2:example.org"
P3 = "@prof3:example.org"
STAFF = "!staff:example.org"
VIE = "!vie:example.org"
BUREAU = "!bureau:example.org"
DM3 = "!dm-prof3:example.org"  # a direct room the bot opened with P3 (for the reminders)
PARIS = ZoneInfo("Europe/Paris")
INFO = FakeBotInfo(
    rooms=[STAFF, VIE, BUREAU],
    names={STAFF: "Salle des professeurs", VIE: "Vie scolaire", BUREAU: "Bureau"},
    members={STAFF: [ADMIN, BOT, P1, P2], VIE: [BOT, P3], DM3: [BOT, P3]},
)
SETTINGS = Settings(admins=frozenset({ADMIN}), tz=PARIS, broadcast_rooms=(STAFF,), bot_user_id=BOT)
SALON = dataclasses.replace(SETTINGS, workshop_signup_notices="salon")  # the former behaviour
_ids = itertools.count(1)

NOTICE_1 = (
    "🛠️ Atelier n° 1 — ENT\n"
    "Quand : mardi 1 décembre à 12h30\n"
    "Où : CDI\n"
    "Places : 2 (2 restantes)\n"
    "Pour vous inscrire : réagissez 👍 à ce message, ou tapez !inscription 1 ; pour vous "
    "désinscrire : retirez votre réaction ou tapez !desinscription 1."
)
USAGE = (
    "\nUtilisation : !atelier <quand> | <thème> [| lieu] [| places] [| minimum N]"
    "\nExemple : !atelier jeudi 14 décembre 12h30 | Pronote : le cahier de textes | CDI "
    "| 12 places"
)


class Bot:
    def __init__(self, db: Database, settings: Settings = SETTINGS) -> None:
        self.db = db
        self.clock = FakeClock(START)  # Sunday 22 November 2026, 19h42 in Paris
        self.settings = settings

    async def posts(self) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT room_id, kind, content, txn_id, ref_type, ref_id, target_txn_id"
            " FROM posts ORDER BY id"
        )
        return [
            {
                "room": r[0],
                "kind": r[1],
                "content": json.loads(r[2]),
                "txn": r[3],
                "ref": (r[4], r[5]),
                "target": r[6],
            }
            for r in rows
        ]

    async def process(self, event: RoomEvent) -> list[dict[str, Any]]:
        before = len(await self.posts())
        await process_events(self.db, self.settings, self.clock, INFO, [event])
        return (await self.posts())[before:]

    async def say(self, body: str, sender: str = ADMIN, room: str = BUREAU) -> list[dict[str, Any]]:
        message = IncomingMessage(room, f"$m{next(_ids)}", sender, body, self.clock())
        return await self.process(message)

    async def ask(self, body: str, sender: str = ADMIN, room: str = BUREAU) -> list[str]:
        return bodies(await self.say(body, sender, room), "reply")

    async def deliver(self, new: list[dict[str, Any]], kind: str = "workshop-notice") -> str:
        """Mark the (first) post of this kind as sent; returns its event id."""
        post = next(p for p in new if p["kind"] == kind)
        event_id = f"$sent{next(_ids)}"
        await deliver(self.db, post["txn"], event_id, self.clock())
        return event_id

    async def react(
        self, target: str, sender: str, key: str = "👍", room: str = STAFF
    ) -> tuple[str, list[dict[str, Any]]]:
        event_id = f"$r{next(_ids)}"
        reaction = IncomingReaction(room, event_id, sender, target, key, self.clock())
        return event_id, await self.process(reaction)

    async def unreact(self, reaction: str, sender: str, room: str = STAFF) -> list[dict[str, Any]]:
        redaction = IncomingRedaction(room, f"$x{next(_ids)}", sender, reaction, self.clock())
        return await self.process(redaction)

    async def announce(self, body: str = "!atelier 1/12 12h30 | ENT | CDI | 2 places") -> str:
        return await self.deliver(await self.say(body))


def bodies(new: list[dict[str, Any]], kind: str) -> list[str]:
    return [p["content"]["body"] for p in new if p["kind"] == kind]


def msgtypes(new: list[dict[str, Any]]) -> dict[str, str]:
    """The msgtype of the new posts, by kind."""
    return {p["kind"]: p["content"]["msgtype"] for p in new}


def mentions(new: list[dict[str, Any]], kind: str) -> list[list[str]]:
    return [p["content"]["m.mentions"].get("user_ids", []) for p in new if p["kind"] == kind]


def ics_of(post: dict[str, Any]) -> icalendar.Calendar:
    data = base64.b64decode(post["content"][UPLOAD_KEY]["data"])
    return icalendar.Calendar.from_ical(data)


def vevent(calendar: icalendar.Calendar) -> icalendar.Event:
    [event] = calendar.walk("VEVENT")
    assert isinstance(event, icalendar.Event)
    return event


# --- parsing ------------------------------------------------------------------------------

# PARSE_ENV is Sunday 22 November 2026, 19h42 in Paris.
TUESDAY = datetime(2026, 11, 24, 12, 30, tzinfo=PARIS)  # « mardi 12h30 »
THURSDAY = datetime(2026, 11, 26, 12, 30, tzinfo=PARIS)  # « jeudi 12h30 »
DECEMBER_1 = datetime(2026, 12, 1, 12, 30, tzinfo=PARIS)  # « 1/12 12h30 »


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mardi 12h30 | ENT", Create(TUESDAY, "ENT")),
        ("1/12 12h30 | ENT | CDI | 12 places", Create(DECEMBER_1, "ENT", "CDI", 12)),
        ("1/12 12h30 | ENT | 12 | CDI", Create(DECEMBER_1, "ENT", "CDI", 12)),
        ("1/12 12h30|ENT|CDI|1 place|minimum 1", Create(DECEMBER_1, "ENT", "CDI", 1, 1)),
        ("1/12 12h30|ENT|500 places|minimum 500", Create(DECEMBER_1, "ENT", None, 500, 500)),
        ("1/12 12h30 | ENT | | 8 places | min: 3", Create(DECEMBER_1, "ENT", None, 8, 3)),
        ("1/12 12h30 | ENT | Minerve", Create(DECEMBER_1, "ENT", "Minerve")),
        ("annuler 3", Cancel(3)),
        ("Annuler n°3", Cancel(3)),
        ("modifier 3 jeudi 12h30", Modify(3, THURSDAY, None)),
        ("modifier 3 jeudi 12h30 | salle 12", Modify(3, THURSDAY, "salle 12")),
        ("modifier 3 | salle 12", Modify(3, None, "salle 12")),
        ("présents 3 @a:x.fr @b:x.fr", Attendance(3, "@a:x.fr @b:x.fr")),
        ("presents 3 tous", Attendance(3, "tous")),
        ("depuis-sondage 2 jeudi 12h30", FromPoll(2, THURSDAY)),
    ],
)
def test_parse_atelier(text: str, expected: object) -> None:
    parsed = parse_atelier(text, PARSE_ENV)
    assert parsed == expected
    when = getattr(parsed, "when", None)
    assert when is None or (isinstance(when, datetime) and when.tzinfo is not None)


@pytest.mark.parametrize(
    ("text", "usage", "example"),
    [
        ("modifier 3 31/11 12h30", MODIFY_USAGE, MODIFY_EXAMPLE),
        ("modifier 3 31/11 12h30 | CDI", MODIFY_USAGE, MODIFY_EXAMPLE),
        (
            "depuis-sondage 2 31/11 12h30",
            "!atelier depuis-sondage <n° de sondage> <quand>",
            "!atelier depuis-sondage 2 jeudi 12h30",
        ),
        ("31/11 12h30 | ENT", None, None),  # a creation: the usage of the command typed
    ],
)
def test_a_bad_date_names_its_sub_command(
    text: str, usage: str | None, example: str | None
) -> None:
    with pytest.raises(InvalidArguments) as raised:
        parse_atelier(text, PARSE_ENV)
    assert (raised.value.usage, raised.value.example) == (usage, example)


@given(st.text())
def test_parse_atelier_only_raises_invalid_arguments(text: str) -> None:
    with contextlib.suppress(InvalidArguments):
        parse_atelier(text, PARSE_ENV)


@pytest.mark.parametrize(
    "key",
    ["👍", "👍\ufe0f", "👍🏻", "👍🏼", "👍🏽", "👍🏾", "👍🏿", "👍🏽\ufe0f", " 👍 "],
)
def test_thumbs_up_in_every_skin_tone(key: str) -> None:
    assert is_thumbs_up(key)


@pytest.mark.parametrize("key", ["👎", "❤️", "👍👍", "+1", "", "🏽"])
def test_other_reactions(key: str) -> None:
    assert not is_thumbs_up(key)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("!atelier", "Donnez la date puis le thème, séparés par « | »."),
        ("!atelier mardi 12h30", "Donnez la date puis le thème, séparés par « | »."),
        ("!atelier mardi 12h30 |  ", "Donnez la date puis le thème, séparés par « | »."),
        ("!atelier 1/12 12h30 | ENT | 0 places", "Le nombre de places doit être entre 1 et 500."),
        (
            "!atelier 1/12 12h30 | ENT | 999999999999 places",
            "Le nombre de places doit être entre 1 et 500.",
        ),
        ("!atelier 1/12 12h30 | ENT | 501", "Le nombre de places doit être entre 1 et 500."),
        ("!atelier 1/12 12h30 | ENT | minimum 0", "Le minimum doit être entre 1 et 500."),
        (
            "!atelier 1/12 12h30 | ENT | minimum 99999999999999",
            "Le minimum doit être entre 1 et 500.",
        ),
        (
            "!atelier 1/12 12h30 | ENT | douze places",
            "« douze places » : le nombre de places doit être un nombre entier positif, "
            "par exemple « 12 places ».",
        ),
        (
            "!atelier 1/12 12h30 | ENT | minimum quatre",
            "« minimum quatre » : le minimum doit être un nombre entier positif, "
            "par exemple « minimum 4 ».",
        ),
        (
            "!atelier 1/12 12h30 | ENT | 6 places | minimum 8",
            "Le minimum (8) dépasse le nombre de places (6).",
        ),
        (
            "!atelier 1/12 12h30 | ENT | CDI | salle 12",
            "Deux lieux sont donnés (« CDI » et « salle 12 ») : un seul est attendu.",
        ),
        ("!atelier 1/12 12h30 | ENT | 6 | 8", "Le nombre de places est donné deux fois."),
        (  # the other parts are checked before the date
            "!atelier 3/11/2026 12h30 | ENT | 6 | 8",
            "Le nombre de places est donné deux fois.",
        ),
        (
            "!atelier 3/11/2026 12h30 | ENT",
            "Cette date est déjà passée (mardi 3 novembre 2026 à 12h30). "
            "Exemple : « demain 12h15 ».",
        ),
        (
            "!atelier 12h30 | ENT",
            "Cette heure est déjà passée aujourd’hui (12h30). "
            "Précisez le jour, par exemple « demain 12h30 ».",
        ),
    ],
)
async def test_malformed_atelier_is_explained(db: Database, body: str, message: str) -> None:
    bot = Bot(db)
    new = await bot.say(body)
    assert bodies(new, "reply") == [message + USAGE]
    assert [p for p in new if p["kind"] != "reply"] == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "!atelier annuler",
            "Donnez le numéro de l’atelier à annuler, par exemple « !atelier annuler 3 ».",
        ),
        (
            "!atelier modifier 3",
            "Donnez le numéro de l’atelier puis la nouvelle date et/ou le nouveau lieu, par "
            "exemple « !atelier modifier 3 jeudi 12h30 | CDI » ou « !atelier modifier 3 | "
            "salle 12 ».",
        ),
        (
            "!atelier depuis-sondage 2",
            "Donnez le numéro du sondage puis la date, par exemple "
            "« !atelier depuis-sondage 2 jeudi 12h30 ».",
        ),
        (
            "!atelier presents",
            "Donnez le numéro de l’atelier puis les présents, par exemple « !atelier presents "
            "3 @a:exemple.fr @b:exemple.fr » ou « !atelier presents 3 tous ».",
        ),
    ],
)
async def test_malformed_sub_commands(db: Database, body: str, message: str) -> None:
    assert await Bot(db).ask(body) == [message + USAGE]


async def test_cafe_usage_in_its_errors(db: Database) -> None:
    assert await Bot(db).ask("!cafe mardi") == [
        "Donnez la date puis le thème, séparés par « | ».\n"
        "Utilisation : !cafe <quand> | <thème> [| lieu]\n"
        "Exemple : !cafe mardi 12h30 | L’IA générative en classe | salle des professeurs"
    ]


async def test_inscription_needs_a_number(db: Database) -> None:
    assert await Bot(db).ask("!inscription", P1) == [
        "Donnez le numéro de l’atelier ou du café numérique. Tapez !ateliers pour voir les "
        "numéros.\nUtilisation : !inscription <n°>\nExemple : !inscription 3"
    ]


async def test_teachers_cannot_create(db: Database) -> None:
    [reply] = await Bot(db).ask("!atelier 1/12 12h30 | ENT", P1)
    assert "réservée aux référents numériques" in reply


# --- creation -----------------------------------------------------------------------------


async def test_creation_posts_notice_and_ics(db: Database) -> None:
    bot = Bot(db)
    new = await bot.say("!atelier 1/12 12h30 | ENT | CDI | 2 places")
    assert [(p["room"], p["kind"]) for p in new] == [
        (STAFF, "workshop-notice"),
        (STAFF, "workshop-ics"),
        (BUREAU, "reply"),
    ]
    notice = new[0]
    assert notice["content"]["body"] == NOTICE_1
    assert notice["content"]["msgtype"] == "m.text"  # an invitation to sign up: it can notify
    assert notice["content"]["formatted_body"].startswith(
        "<p><strong>🛠️ Atelier n° 1 — ENT</strong><br>Quand : mardi 1 décembre à 12h30<br>"
    )
    assert notice["ref"] == ("workshop", 1)
    assert bodies(new, "reply") == [
        "Atelier n° 1 annoncé dans 1 salon : Salle des professeurs. Pour le modifier : "
        "!atelier modifier 1 <quand> [| lieu] ; pour l’annuler : !atelier annuler 1."
    ]

    ics = new[1]
    assert ics["ref"] == ("workshop", 1)
    assert ics["content"]["body"] == "atelier-1.ics"
    assert ics["content"]["info"]["mimetype"] == "text/calendar"
    calendar = ics_of(ics)
    assert str(calendar["PRODID"]) == "-//rupn-bot//FR"
    event = vevent(calendar)
    assert str(event["UID"]) == "rupn-bot-workshop-1@rupn-bot"
    start = event.decoded("DTSTART")
    assert start == datetime(2026, 12, 1, 12, 30, tzinfo=PARIS)
    assert start.astimezone(UTC) == datetime(2026, 12, 1, 11, 30, tzinfo=UTC)
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert event.decoded("DTEND") - start == timedelta(hours=1)
    assert str(event["SUMMARY"]) == "Atelier n° 1 — ENT"
    assert str(event["LOCATION"]) == "CDI"
    assert "!inscription 1" in str(event["DESCRIPTION"])
    assert int(str(event["SEQUENCE"])) == 0
    assert calendar.walk("VTIMEZONE")


async def test_cafe_without_places_and_without_diffusion_room(db: Database) -> None:
    bot = Bot(db, Settings(admins=frozenset({ADMIN}), tz=PARIS, bot_user_id=BOT))
    new = await bot.say("!café jeudi 12h30 | L’IA en classe | minimum 3", room=VIE)
    assert [(p["room"], p["kind"]) for p in new] == [
        (VIE, "workshop-notice"),
        (VIE, "workshop-ics"),
        (VIE, "reply"),
    ]
    assert bodies(new, "workshop-notice") == [
        "☕ Café numérique n° 1 — L’IA en classe\n"
        "Quand : jeudi 26 novembre à 12h30\n"
        "Où : lieu à préciser\n"
        "Places : sans limite\n"
        "À la demande : il aura lieu si au moins 3 personnes s’inscrivent.\n"
        "Pour vous inscrire : réagissez 👍 à ce message, ou tapez !inscription 1 ; pour vous "
        "désinscrire : retirez votre réaction ou tapez !desinscription 1."
    ]
    assert bodies(new, "reply")[0].startswith("Café numérique n° 1 annoncé dans 1 salon : Vie")


# --- sign-up by reaction -------------------------------------------------------------------


async def test_three_reactions_on_two_places_then_one_withdrawn(db: Database) -> None:
    bot = Bot(db, SALON)
    notice = await bot.announce()

    r1, new = await bot.react(notice, P1)
    assert [(p["room"], p["kind"]) for p in new] == [(STAFF, "workshop-signup")]
    assert bodies(new, "workshop-signup") == [
        f"{P1} : inscription confirmée à l’atelier n° 1 (mardi 1 décembre à 12h30)."
    ]
    assert mentions(new, "workshop-signup") == [[P1]]
    assert msgtypes(new) == {"workshop-signup": "m.notice"}  # the person has just reacted
    assert new[0]["content"]["formatted_body"] == (
        f'<p><a href="https://matrix.to/#/{P1}">{P1}</a> : inscription confirmée à l’atelier '
        "n° 1 (mardi 1 décembre à 12h30).</p>"
    )
    _, new = await bot.react(notice, P2, "👍🏽")
    assert bodies(new, "workshop-signup") == [
        f"{P2} : inscription confirmée à l’atelier n° 1 (mardi 1 décembre à 12h30)."
    ]
    _, new = await bot.react(notice, P3, "👍🏿\ufe0f")
    assert bodies(new, "workshop-signup") == [
        f"{P3} : l’atelier n° 1 (mardi 1 décembre à 12h30) est complet : vous êtes sur liste "
        "d’attente (position 1)."
    ]
    assert mentions(new, "workshop-signup") == [[P3]]

    assert await bot.ask("!ateliers", P1) == [
        "Prochains ateliers et cafés numériques :\n"
        "- 🛠️ Atelier n° 1 — ENT — mardi 1 décembre à 12h30, CDI — 2 inscrits, 0 place "
        "restante sur 2, 1 en liste d’attente\n"
        "Pour vous inscrire : réagissez 👍 à l’annonce ou tapez !inscription <n°>."
    ]

    new = await bot.unreact(r1, P1)
    assert [(p["room"], p["kind"]) for p in new] == [
        (STAFF, "workshop-signup"),
        (STAFF, "workshop-promotion"),  # not a member of it, but the only notice room
    ]
    assert bodies(new, "workshop-signup") == [
        f"{P1} : désinscription enregistrée pour l’atelier n° 1."
    ]
    assert bodies(new, "workshop-promotion") == [
        f"{P3} : une place s’est libérée, votre inscription à l’atelier n° 1 est confirmée."
    ]
    assert mentions(new, "workshop-promotion") == [[P3]]
    assert msgtypes(new) == {"workshop-signup": "m.notice", "workshop-promotion": "m.text"}
    signups = await Repositories.open(db).workshops.signups(1)
    assert [(s.user_id, s.status) for s in signups] == [
        (P2, "confirmed"),
        (P3, "confirmed"),
        (P1, "cancelled"),
    ]
    assert await bot.unreact(r1, P1) == []  # the same redaction again: nothing


async def test_discreet_sign_ups_leave_the_notice_as_the_only_public_trace(db: Database) -> None:
    bot = Bot(db)  # default: workshop_signup_notices = "discret"
    notice = await bot.announce()
    r1, new = await bot.react(notice, P1)
    assert new == []  # confirmed: the notice's places count will show it
    _, new = await bot.react(notice, P2)
    assert new == []
    _, new = await bot.react(notice, P3)
    assert [(p["room"], p["kind"]) for p in new] == [(STAFF, "workshop-signup")]
    assert bodies(new, "workshop-signup") == [
        f"{P3} : l’atelier n° 1 (mardi 1 décembre à 12h30) est complet : vous êtes sur liste "
        "d’attente (position 1)."
    ]
    assert mentions(new, "workshop-signup") == [[P3]]
    new = await bot.unreact(r1, P1)
    assert [(p["room"], p["kind"]) for p in new] == [(STAFF, "workshop-promotion")]
    assert bodies(new, "workshop-promotion") == [
        f"{P3} : une place s’est libérée, votre inscription à l’atelier n° 1 est confirmée."
    ]
    assert mentions(new, "workshop-promotion") == [[P3]]
    assert f"{P1}" not in json.dumps([p["content"] for p in await bot.posts()])


async def test_discreet_sign_ups_tell_privately_when_a_direct_room_is_known(db: Database) -> None:
    bot = Bot(db)
    async with db.transaction():
        await Repositories.open(db).state.set(f"direct_room:{P3}", DM3)
    notice = await bot.announce()
    r1, _ = await bot.react(notice, P1)
    await bot.react(notice, P2)
    _, new = await bot.react(notice, P3)
    assert [(p["room"], p["kind"]) for p in new] == [(DM3, "workshop-signup")]
    assert mentions(new, "workshop-signup") == [[P3]]
    new = await bot.unreact(r1, P1)
    assert [(p["room"], p["kind"]) for p in new] == [(DM3, "workshop-promotion")]
    assert msgtypes(new) == {"workshop-promotion": "m.text"}


async def test_discreet_commands_still_get_a_reply(db: Database) -> None:
    bot = Bot(db)
    await bot.announce()
    assert await bot.ask("!inscription 1", P1) == [
        f"{P1} : inscription confirmée à l’atelier n° 1 (mardi 1 décembre à 12h30)."
    ]
    assert await bot.ask("!desinscription 1", P1) == [
        f"{P1} : désinscription enregistrée pour l’atelier n° 1."
    ]


async def test_promotion_goes_to_the_notice_room_the_person_is_in(db: Database) -> None:
    bot = Bot(db)
    notice = await bot.announce("!atelier 1/12 12h30 | ENT | CDI | 1 place")
    await bot.react(notice, P1)
    await bot.react(notice, P2)
    new = await bot.say("!desinscription 1", P1, room=BUREAU)
    assert [(p["room"], p["kind"]) for p in new] == [
        (BUREAU, "reply"),
        (STAFF, "workshop-promotion"),
    ]
    assert bodies(new, "reply") == [f"{P1} : désinscription enregistrée pour l’atelier n° 1."]


async def test_ignored_reactions(db: Database) -> None:
    bot = Bot(db, SALON)
    notice = await bot.announce()
    assert (await bot.react(notice, P1, "❤️"))[1] == []
    assert (await bot.react(notice, BOT))[1] == []
    assert (await bot.react("$unknown", P1))[1] == []
    _, new = await bot.react(notice, P1)
    assert len(new) == 1
    assert (await bot.react(notice, P1, "👍🏻"))[1] == []  # already signed up: silent
    assert await bot.unreact("$some-message", P1) == []


async def test_reactions_on_cancelled_or_past_workshops_are_ignored(db: Database) -> None:
    bot = Bot(db)
    notice = await bot.announce()
    r1, _ = await bot.react(notice, P1)
    bot.clock.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 13h00 in Paris: started
    assert (await bot.react(notice, P2))[1] == []
    assert await bot.unreact(r1, P1) == []
    assert await bot.ask("!inscription 1", P2) == [
        "L’atelier n° 1 a déjà eu lieu : impossible de s’y inscrire."
    ]
    assert await bot.ask("!ateliers", P2) == [
        "Aucun atelier ni café numérique n’est prévu pour l’instant."
    ]


# --- sign-up by command ---------------------------------------------------------------------


async def test_inscription_and_desinscription_commands(db: Database) -> None:
    bot = Bot(db)
    await bot.announce("!atelier 1/12 12h30 | ENT | CDI | 1 place")
    new = await bot.say("!inscription 1", P1, room=STAFF)
    assert bodies(new, "reply") == [
        f"{P1} : inscription confirmée à l’atelier n° 1 (mardi 1 décembre à 12h30)."
    ]
    assert mentions(new, "reply") == [[P1]]
    assert msgtypes(new) == {"reply": "m.notice"}
    assert await bot.ask("!inscription n°1", P1) == [
        f"{P1} : vous êtes déjà inscrit(e) à l’atelier n° 1 (mardi 1 décembre à 12h30)."
    ]
    assert await bot.ask("!Inscription 1", P2) == [
        f"{P2} : l’atelier n° 1 (mardi 1 décembre à 12h30) est complet : vous êtes sur liste "
        "d’attente (position 1)."
    ]
    assert await bot.ask("!inscription 1", P2) == [
        f"{P2} : vous êtes déjà sur liste d’attente (position 1)."
    ]
    assert await bot.ask("!désinscription 1", P3) == [
        f"{P3} : vous n’étiez pas inscrit(e) à l’atelier n° 1."
    ]
    new = await bot.say("!desinscription 1", P1, room=STAFF)
    assert bodies(new, "reply") == [f"{P1} : désinscription enregistrée pour l’atelier n° 1."]
    assert bodies(new, "workshop-promotion") == [
        f"{P2} : une place s’est libérée, votre inscription à l’atelier n° 1 est confirmée."
    ]
    assert await bot.ask("!inscription 7", P1) == [
        "Aucun atelier ni café numérique n° 7. Tapez !ateliers pour voir les prochains."
    ]


# --- cancelling and changing -----------------------------------------------------------------


async def test_annuler_notifies_everyone_signed_up(db: Database) -> None:
    bot = Bot(db)
    notice = await bot.announce()
    for teacher in (P1, P2, P3):
        await bot.react(notice, teacher)
    new = await bot.say("!atelier annuler 1")
    assert [(p["room"], p["kind"]) for p in new] == [
        (STAFF, "workshop-cancellation"),
        (STAFF, "workshop-ics"),
        (BUREAU, "reply"),
    ]
    assert bodies(new, "workshop-cancellation") == [
        "🛠️ Atelier n° 1 — ENT (mardi 1 décembre à 12h30) est annulé.\n"
        f"{P1}, {P2}, {P3} : votre inscription est annulée, inutile de venir."
    ]
    assert mentions(new, "workshop-cancellation") == [sorted([P1, P2, P3])]
    assert msgtypes(new) == {
        "workshop-cancellation": "m.text",
        "workshop-ics": "m.file",
        "reply": "m.notice",
    }
    assert bodies(new, "reply") == ["Atelier n° 1 annulé ; 3 personnes inscrites prévenues."]
    event = vevent(ics_of(new[1]))
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(str(event["SEQUENCE"])) == 1

    assert await bot.ask("!atelier annuler 1") == ["L’atelier n° 1 est déjà annulé."]
    assert await bot.ask("!inscription 1", P1) == [
        "L’atelier n° 1 est annulé : impossible de s’y inscrire."
    ]
    assert await bot.ask("!atelier modifier 1 mercredi 12h30") == [
        "L’atelier n° 1 est annulé : impossible de le modifier."
    ]
    assert (await bot.react(notice, "@prof4:example.org"))[1] == []
    assert await bot.ask("!ateliers", P1) == [
        "Aucun atelier ni café numérique n’est prévu pour l’instant."
    ]


async def test_modifier_notifies_and_sends_updated_ics(db: Database) -> None:
    bot = Bot(db)
    notice = await bot.announce()
    await bot.react(notice, P1)
    new = await bot.say("!atelier modifier 1 2/12 12h30 | salle 12")
    assert [(p["room"], p["kind"]) for p in new] == [
        (STAFF, "workshop-change"),
        (STAFF, "workshop-notice-edit"),
        (STAFF, "workshop-ics"),
        (BUREAU, "reply"),
    ]
    assert bodies(new, "workshop-change") == [
        "🛠️ Atelier n° 1 — ENT : changement.\n"
        "Quand : mercredi 2 décembre à 12h30 (au lieu de mardi 1 décembre à 12h30)\n"
        "Où : salle 12 (au lieu de CDI)\n"
        f"{P1} : votre inscription est maintenue ; l’invitation mise à jour suit pour votre "
        "agenda."
    ]
    assert mentions(new, "workshop-change") == [[P1]]
    assert msgtypes(new) == {
        "workshop-change": "m.text",
        "workshop-notice-edit": "m.text",  # the msgtype of the notice it edits
        "workshop-ics": "m.file",
        "reply": "m.notice",
    }
    edit = new[1]["content"]
    assert edit["m.relates_to"] == {"rel_type": "m.replace"}
    assert edit["m.new_content"]["msgtype"] == "m.text"
    assert edit["m.new_content"]["body"] == (
        NOTICE_1.replace("mardi 1", "mercredi 2")
        .replace("CDI", "salle 12")
        .replace("(2 restantes)", "(1 restante)")
    )
    event = vevent(ics_of(new[2]))
    assert event.decoded("DTSTART") == datetime(2026, 12, 2, 12, 30, tzinfo=PARIS)
    assert str(event["LOCATION"]) == "salle 12"
    assert int(str(event["SEQUENCE"])) == 1
    assert bodies(new, "reply") == ["Atelier n° 1 modifié ; 1 personne inscrite prévenue."]

    new = await bot.say("!atelier modifier 1 | CDI")
    assert bodies(new, "workshop-change") == [
        "🛠️ Atelier n° 1 — ENT : changement.\n"
        "Quand : mercredi 2 décembre à 12h30\n"
        "Où : CDI (au lieu de salle 12)\n"
        f"{P1} : votre inscription est maintenue ; l’invitation mise à jour suit pour votre "
        "agenda."
    ]
    assert int(str(vevent(ics_of(new[2]))["SEQUENCE"])) == 2
    assert await bot.ask("!atelier modifier 1 | CDI") == [
        "Rien ne change : l’atelier n° 1 est déjà prévu ainsi."
    ]
    [reply] = await bot.ask("!atelier modifier 1 3/11/2026 12h30")
    assert reply == (
        "Cette date est déjà passée (mardi 3 novembre 2026 à 12h30). Exemple : « demain 12h15 »."
        "\nUtilisation : !atelier modifier <n°> <quand> [| lieu]"
        "\nExemple : !atelier modifier 3 jeudi 12h30 | CDI"
    )
    assert await bot.ask("!atelier annuler 9") == [
        "Aucun atelier ni café numérique n° 9. Tapez !ateliers pour voir les prochains."
    ]


async def test_a_bad_date_in_modifier_shows_the_modifier_usage(db: Database) -> None:
    bot = Bot(db)
    await bot.announce()
    usage = (
        "\nUtilisation : !atelier modifier <n°> <quand> [| lieu]"
        "\nExemple : !atelier modifier 3 jeudi 12h30 | CDI"
    )
    # Parsed before the handler: the same answer whether the atelier exists or not.
    for number in (1, 9):
        new = await bot.say(f"!atelier modifier {number} 3/11/2026 12h30 | salle 12")
        assert bodies(new, "reply") == [
            "Cette date est déjà passée (mardi 3 novembre 2026 à 12h30). "
            "Exemple : « demain 12h15 »." + usage
        ]
        assert [p for p in new if p["kind"] != "reply"] == []
    workshop = await Repositories.open(db).workshops.get(1)
    assert workshop is not None and workshop.place == "CDI"


async def test_not_found_and_refusals_for_a_cafe(db: Database) -> None:
    bot = Bot(db)
    await bot.say("!cafe jeudi 12h30 | IA")
    missing = "Aucun atelier ni café numérique n° 2. Tapez !ateliers pour voir les prochains."
    for body in (
        "!atelier presents 2 tous",
        "!atelier annuler 2",
        "!atelier modifier 2 | CDI",
        "!inscription 2",
        "!desinscription 2",
    ):
        assert await bot.ask(body) == [missing], body
    assert await bot.ask("!atelier presents 1 tous") == [
        "Café numérique n° 1 n’a pas encore commencé : notez les présences après."
    ]
    assert await bot.ask("!atelier annuler 1") == [
        "Café numérique n° 1 annulé ; aucune personne inscrite à prévenir."
    ]
    assert await bot.ask("!atelier annuler 1") == ["Le café numérique n° 1 est déjà annulé."]
    assert await bot.ask("!inscription 1", P1) == [
        "Le café numérique n° 1 est annulé : impossible de s’y inscrire."
    ]
    assert await bot.ask("!atelier presents 1 tous") == [
        "Café numérique n° 1 a été annulé : pas de présences à noter."
    ]


async def test_ateliers_listing(db: Database) -> None:
    bot = Bot(db)
    assert await bot.ask("!ateliers", P1) == [
        "Aucun atelier ni café numérique n’est prévu pour l’instant."
    ]
    await bot.say("!cafe jeudi 12h30 | IA")
    notice = await bot.announce("!atelier 1/12 12h30 | ENT | CDI | 3 places")
    await bot.react(notice, P1)
    await bot.say("!atelier 15/1/2027 8h | Pix | salle 12")
    assert await bot.ask("!ateliers", P1) == [
        "Prochains ateliers et cafés numériques :\n"
        "- ☕ Café numérique n° 1 — IA — jeudi 26 novembre à 12h30, lieu à préciser — "
        "0 inscrit, sans limite de places\n"
        "- 🛠️ Atelier n° 2 — ENT — mardi 1 décembre à 12h30, CDI — 1 inscrit, 2 places "
        "restantes sur 3\n"
        "- 🛠️ Atelier n° 3 — Pix — vendredi 15 janvier 2027 à 8h00, salle 12 — 0 inscrit, "
        "sans limite de places\n"
        "Pour vous inscrire : réagissez 👍 à l’annonce ou tapez !inscription <n°>."
    ]
