"""Ateliers after their announcement: reminders and minimum (reminders.py), attendance and
feedback poll (attendance.py), ateliers created from a needs poll (from_poll.py), with the
real database, processor, Units and a FakeClock."""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.context import Context, Repositories, Settings
from bot.direct import DirectRooms
from bot.domain import IncomingMessage, IncomingPollResponse, RoomEvent
from bot.errors import HomeserverUnreachable, UserError
from bot.messenger import Outbox
from bot.router import CommandRegistry
from bot.storage.database import Database
from bot.storage.workshops import Workshop
from bot.work import Units
from handlers import ROUTERS
from handlers.workshops import from_poll
from handlers.workshops.attendance import record_attendance
from handlers.workshops.from_poll import create_from_poll
from handlers.workshops.reminders import follow_up
from tests.unit.fakes import START, FakeBotInfo, FakeClock
from tests.unit.harness import deliver, make_units, process_events

ADMIN = "@rupn:example.org"
BOT = "@bot:example.org"
A = "@alice:example.org"
B = "@bruno:example.org"
C = "@chloe:example.org"
D = "@david:example.org"
STAFF = "!staff:example.org"
VIE = "!vie:example.org"
CURATION = "!rupn:example.org"
ROOM = "!sondages:example.org"
PARIS = ZoneInfo("Europe/Paris")
SETTINGS = Settings(admins=frozenset({ADMIN}), tz=PARIS, bot_user_id=BOT, broadcast_rooms=(STAFF,))
# mardi 24 novembre 2026 à 12h30 à Paris (START is dimanche 22 novembre, 19h42)
STARTS = datetime(2026, 11, 24, 11, 30, tzinfo=UTC)
_ids = itertools.count(1)


@dataclass
class Bot:
    db: Database
    clock: FakeClock = field(default_factory=FakeClock)
    settings: Settings = SETTINGS
    info: FakeBotInfo = field(
        default_factory=lambda: FakeBotInfo(
            rooms=[STAFF, VIE, ROOM, CURATION],
            names={STAFF: "Salle des professeurs", VIE: "Vie scolaire"},
            members={STAFF: [BOT, ADMIN, A, B, C], VIE: [BOT, D], ROOM: [BOT, ADMIN, A, B, C, D]},
        )
    )

    @property
    def repos(self) -> Repositories:
        return Repositories.open(self.db)

    def units(self) -> Units:
        return make_units(self.db, self.settings, self.info, self.clock)

    async def posts(self) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT kind, content, room_id, ref_type, ref_id, txn_id FROM posts ORDER BY id"
        )
        return [
            {
                "kind": r[0],
                "content": json.loads(r[1]),
                "room": r[2],
                "ref": (r[3], r[4]),
                "txn": r[5],
            }
            for r in rows
        ]

    async def tick(self, units: Units | None = None) -> list[tuple[str, str, list[str]]]:
        """Run the job once; (room, body, mentioned) of each new post."""
        before = len(await self.posts())
        await follow_up(units or self.units())
        return [
            (p["room"], p["content"]["body"], p["content"]["m.mentions"].get("user_ids", []))
            for p in (await self.posts())[before:]
        ]

    async def workshop(self, *, people: tuple[str, ...] = (A, B), **changes: Any) -> Workshop:
        values: dict[str, Any] = {
            "kind": "atelier",
            "theme": "Pronote",
            "starts_at": STARTS,
            "place": "CDI",
            "capacity": None,
            "minimum": None,
            "organiser": ADMIN,
            "rooms": (STAFF,),
        }
        values.update(changes)
        async with self.db.transaction():
            workshop = await self.repos.workshops.create(now=START, **values)
            for person in people:
                await self.repos.workshops.sign_up(workshop, person, via="command", now=START)
        return workshop

    async def call(
        self, handler: Callable[..., Awaitable[None]], *args: Any, room: str = ROOM
    ) -> list[dict[str, Any]]:
        """Run a handler as the processor would (one transaction, posts queued at the end)."""
        before = len(await self.posts())
        outbox = Outbox()
        ctx = Context(
            sender=ADMIN,
            room_id=room,
            event_id=f"$c{next(_ids)}",
            now=self.clock(),
            is_admin=True,
            messenger=outbox,
            repos=self.repos,
            commands=CommandRegistry(ROUTERS),
            info=self.info,
            settings=self.settings,
        )
        async with self.db.transaction():
            await handler(ctx, *args)
            await self.repos.posts.queue(outbox.drain(), self.clock())
        return (await self.posts())[before:]

    async def process(self, *events: RoomEvent) -> None:
        await process_events(self.db, self.settings, self.clock, self.info, events)

    async def say(self, body: str) -> None:
        await self.process(IncomingMessage(ROOM, f"$m{next(_ids)}", ADMIN, body, self.clock()))

    async def replies(self, body: str) -> list[str]:
        """Say `body` as the RUPN; the bot's replies."""
        before = len(await self.posts())
        await self.say(body)
        return [p["content"]["body"] for p in (await self.posts())[before:] if p["kind"] == "reply"]

    async def poll(self, body: str) -> str:
        """Create a poll with `!sondage` and deliver its start event; returns that event id."""
        await self.say(body)
        [start] = [p for p in await self.posts() if p["kind"] == "poll-start"][-1:]
        event_id = f"$poll{start['ref'][1]}"
        await deliver(self.db, start["txn"], event_id, self.clock())
        return event_id

    async def vote(self, poll_event: str, sender: str, *answers: str) -> None:
        await self.process(
            IncomingPollResponse(ROOM, f"$v{next(_ids)}", sender, poll_event, answers, self.clock())
        )


@pytest.fixture
def bot(db: Database) -> Bot:
    return Bot(db)


def at(bot: Bot, moment: datetime) -> None:
    bot.clock.now = moment


# --- reminders ---------------------------------------------------------------------------

DAY_TEXT = "📅 Rappel : atelier n° 1 « Pronote » demain à 12h30, CDI."
HOUR_TEXT = "⏰ Dans une heure : atelier n° 1 « Pronote » à 12h30, CDI."


async def test_reminders_fire_once_at_the_right_times_even_across_restarts(bot: Bot) -> None:
    await bot.workshop()
    assert await bot.tick() == []
    at(bot, STARTS - timedelta(hours=24, seconds=1))
    assert await bot.tick() == []
    at(bot, STARTS - timedelta(hours=24))
    assert await bot.tick() == [(STAFF, f"{DAY_TEXT}\nInscrits : {A}, {B}", [A, B])]
    assert await bot.tick() == []
    at(bot, STARTS - timedelta(hours=3))
    restarted = Units(
        bot.db, Repositories.open(bot.db), SETTINGS, bot.info, bot.clock, lambda: None
    )
    assert await bot.tick(restarted) == []
    at(bot, STARTS - timedelta(hours=1, seconds=1))
    assert await bot.tick() == []
    at(bot, STARTS - timedelta(hours=1))
    assert await bot.tick() == [(STAFF, f"{HOUR_TEXT}\nInscrits : {A}, {B}", [A, B])]
    assert await bot.tick() == []
    at(bot, STARTS - timedelta(minutes=30))
    assert await bot.tick(restarted) == []
    at(bot, STARTS + timedelta(hours=2))
    assert await bot.tick() == []
    workshop = await bot.repos.workshops.get(1)
    assert workshop is not None
    assert (workshop.reminded_day, workshop.reminded_hour) == (True, True)


async def test_an_atelier_created_61_minutes_ahead_gets_only_the_hour_before_reminder(
    bot: Bot,
) -> None:
    await bot.say("!atelier 20h43 | Pronote | CDI")  # START is 19h42 in Paris
    workshop = await bot.repos.workshops.get(1)
    assert workshop is not None
    assert workshop.starts_at == START + timedelta(minutes=61)
    async with bot.db.transaction():
        await bot.repos.workshops.sign_up(workshop, A, via="command", now=START)
    sent = []
    while bot.clock.now < workshop.starts_at + timedelta(minutes=5):
        sent += await bot.tick()
        bot.clock.advance(30)
    hour = "⏰ Dans une heure : atelier n° 1 « Pronote » à 20h43, CDI."
    assert sent == [(STAFF, f"{hour}\nInscrits : {A}", [A])]


async def test_a_new_date_less_than_a_day_ahead_skips_the_day_before_reminder(bot: Bot) -> None:
    await bot.workshop(starts_at=STARTS + timedelta(days=7))
    at(bot, STARTS - timedelta(hours=3))
    assert await bot.replies("!atelier modifier 1 mardi 12h30") == [
        "Atelier n° 1 modifié ; 2 personnes inscrites prévenues."
    ]
    assert await bot.tick() == []
    at(bot, STARTS - timedelta(hours=1))
    assert await bot.tick() == [(STAFF, f"{HOUR_TEXT}\nInscrits : {A}, {B}", [A, B])]


async def test_a_new_place_only_does_not_send_a_reminder_again(bot: Bot) -> None:
    await bot.workshop()
    at(bot, STARTS - timedelta(hours=24))
    assert len(await bot.tick()) == 1
    at(bot, STARTS - timedelta(hours=20))
    await bot.replies("!atelier modifier 1 | salle 12")
    assert await bot.tick() == []


async def test_day_before_reminder_due_while_down_is_skipped_with_less_than_an_hour_left(
    bot: Bot,
) -> None:
    await bot.workshop()
    at(bot, STARTS - timedelta(minutes=50))  # the bot was down since Sunday
    assert await bot.tick() == [(STAFF, f"{HOUR_TEXT}\nInscrits : {A}, {B}", [A, B])]
    assert await bot.tick() == []


async def test_day_before_reminder_due_while_down_is_sent_if_still_useful(bot: Bot) -> None:
    await bot.workshop()
    at(bot, STARTS - timedelta(hours=2))
    today = DAY_TEXT.replace("demain", "aujourd’hui")
    assert await bot.tick() == [(STAFF, f"{today}\nInscrits : {A}, {B}", [A, B])]
    assert await bot.tick() == []


async def test_reminders_missed_entirely_are_marked_without_sending(bot: Bot) -> None:
    await bot.workshop()
    at(bot, STARTS + timedelta(minutes=5))
    assert await bot.tick() == []
    workshop = await bot.repos.workshops.get(1)
    assert workshop is not None
    assert (workshop.reminded_day, workshop.reminded_hour) == (True, True)


async def test_reminders_mention_each_participant_once_in_a_room_they_are_in(bot: Bot) -> None:
    await bot.workshop(people=(A, D, C), rooms=(STAFF, VIE), place=None, kind="cafe")
    at(bot, STARTS - timedelta(hours=1))
    text = "⏰ Dans une heure : café numérique n° 1 « Pronote » à 12h30."
    assert await bot.tick() == [
        (STAFF, f"{text}\nInscrits : {A}, {C}", [A, C]),
        (VIE, f"{text}\nInscrits : {D}", [D]),
    ]


async def test_reminders_only_name_confirmed_participants(bot: Bot) -> None:
    workshop = await bot.workshop(people=(A, B, C), capacity=2)
    async with bot.db.transaction():
        await bot.repos.workshops.cancel(workshop, A, START)  # C is promoted
        await bot.repos.workshops.sign_up(workshop, D, via="command", now=START)  # waiting
    at(bot, STARTS - timedelta(hours=24))
    assert await bot.tick() == [(STAFF, f"{DAY_TEXT}\nInscrits : {B}, {C}", [B, C])]


async def test_reminders_and_the_minimum_check_are_messages_that_can_notify(bot: Bot) -> None:
    """m.text with m.mentions: the default push rules silence every m.notice, mentions too."""
    bot.settings = replace(SETTINGS, curation_rooms=(CURATION,))
    await bot.workshop(minimum=4)
    at(bot, STARTS - timedelta(hours=24))
    await bot.tick()
    at(bot, STARTS - timedelta(hours=1))
    await bot.tick()
    assert [
        (p["kind"], p["content"]["msgtype"], p["content"]["m.mentions"]) for p in await bot.posts()
    ] == [
        ("workshop-minimum", "m.text", {"user_ids": [ADMIN]}),
        ("workshop-reminder-day", "m.text", {"user_ids": [A, B]}),
        ("workshop-reminder-hour", "m.text", {"user_ids": [A, B]}),
    ]


async def test_no_reminder_without_participants_nor_for_cancelled_workshops(bot: Bot) -> None:
    await bot.workshop(people=())
    cancelled = await bot.workshop()
    async with bot.db.transaction():
        await bot.repos.workshops.set_status(cancelled.id, "cancelled", START)
    at(bot, STARTS - timedelta(hours=1))
    assert await bot.tick() == []


# --- minimum -----------------------------------------------------------------------------

MINIMUM_TEXT = (
    "L’atelier n° 1 « Pronote » n’a que 2 inscrits pour un minimum de 4. Confirmez-le en ne "
    "faisant rien, ou annulez-le : !atelier annuler 1."
)


async def test_minimum_is_checked_once_48_hours_before_in_the_curation_rooms(bot: Bot) -> None:
    bot.settings = replace(SETTINGS, curation_rooms=(CURATION,))
    bot.clock.now = STARTS - timedelta(hours=60)
    await bot.workshop(minimum=4)
    at(bot, STARTS - timedelta(hours=48, seconds=1))
    assert await bot.tick() == []
    at(bot, STARTS - timedelta(hours=48))
    assert await bot.tick() == [(CURATION, MINIMUM_TEXT, [ADMIN])]
    assert await bot.tick() == []
    at(bot, STARTS - timedelta(hours=30))
    restarted = Units(
        bot.db, Repositories.open(bot.db), bot.settings, bot.info, bot.clock, lambda: None
    )
    assert await bot.tick(restarted) == []


async def test_minimum_message_goes_to_the_first_notice_room_without_curation_rooms(
    bot: Bot,
) -> None:
    await bot.workshop(minimum=4, people=(A,), rooms=(VIE, STAFF))
    at(bot, STARTS - timedelta(hours=47))
    [(room, text, mentioned)] = await bot.tick()
    assert (room, mentioned) == (VIE, [ADMIN])
    assert text.startswith("L’atelier n° 1 « Pronote » n’a que 1 inscrit pour un minimum de 4.")


async def test_minimum_reached_sends_nothing(bot: Bot) -> None:
    await bot.workshop(minimum=2)
    at(bot, STARTS - timedelta(hours=47))
    assert await bot.tick() == []
    workshop = await bot.repos.workshops.get(1)
    assert workshop is not None and workshop.minimum_checked


# --- attendance and feedback -------------------------------------------------------------


async def test_attendance_with_mentions_marks_done_and_posts_the_feedback_poll(bot: Bot) -> None:
    await bot.workshop(people=(A, B, C), rooms=(STAFF, VIE))
    at(bot, STARTS + timedelta(hours=1))
    new = await bot.call(record_attendance, 1, f"{A}, @bruno {D}")
    [start] = [p for p in new if p["kind"] == "poll-start"]
    [reply] = [p["content"]["body"] for p in new if p["kind"] == "reply"]
    assert reply == (
        "Présences enregistrées pour l’atelier n° 1 : 3 présents sur 3 inscrits. "
        "Sondage de satisfaction n° 1 publié dans « Salle des professeurs » (anonyme, 7 jours)."
    )
    assert start["room"] == STAFF
    assert start["ref"] == ("poll", 1)
    content = start["content"]["org.matrix.msc3381.poll.start"]
    assert content["question"]["org.matrix.msc1767.text"] == "Cet atelier vous a-t-il été utile ?"
    assert [a["org.matrix.msc1767.text"] for a in content["answers"]] == [
        "Oui, très",
        "Un peu",
        "Pas vraiment",
    ]
    assert content["kind"] == "org.matrix.msc3381.poll.undisclosed"
    assert content["max_selections"] == 1
    poll = await bot.repos.polls.get(1)
    assert poll is not None
    assert poll.anonymous and poll.room_id == STAFF
    assert poll.deadline == STARTS + timedelta(days=7, hours=1)
    assert poll.start_txn == start["txn"]
    workshop = await bot.repos.workshops.get(1)
    assert workshop is not None
    assert (workshop.status, workshop.feedback_poll_id) == ("done", 1)
    attended = {s.user_id: s.attended for s in await bot.repos.workshops.signups(1)}
    assert attended == {A: True, B: True, C: False, D: True}

    # A correction records again, without a second poll.
    new = await bot.call(record_attendance, 1, "tous")
    assert [p["kind"] for p in new] == ["reply"]
    assert new[0]["content"]["body"] == (
        "Présences enregistrées pour l’atelier n° 1 : 4 présents sur 4 inscrits."
    )


async def test_attendance_tous_counts_every_confirmed_sign_up(bot: Bot) -> None:
    workshop = await bot.workshop(people=(A, B, C), capacity=2)  # C is waiting
    async with bot.db.transaction():
        await bot.repos.workshops.sign_up(workshop, D, via="command", now=START)
    at(bot, STARTS + timedelta(hours=1))
    new = await bot.call(record_attendance, 1, "Tous")
    [reply] = [p["content"]["body"] for p in new if p["kind"] == "reply"]
    assert reply.startswith(
        "Présences enregistrées pour l’atelier n° 1 : 2 présents sur 2 inscrits."
    )
    attended = {s.user_id: s.attended for s in await bot.repos.workshops.signups(1)}
    assert attended == {A: True, B: True, C: None, D: None}


async def test_attendance_refusals(bot: Bot) -> None:
    await bot.workshop()
    with pytest.raises(UserError, match="n’a pas encore commencé"):
        await bot.call(record_attendance, 1, "tous")
    at(bot, STARTS + timedelta(hours=1))
    with pytest.raises(UserError) as not_found:
        await bot.call(record_attendance, 9, "tous")
    assert not_found.value.message == (
        "Aucun atelier ni café numérique n° 9. Tapez !ateliers pour voir les prochains."
    )
    with pytest.raises(UserError, match="« @inconnu » n’est pas un inscrit connu"):
        await bot.call(record_attendance, 1, "@inconnu")
    with pytest.raises(UserError, match="Indiquez qui est venu"):
        await bot.call(record_attendance, 1, "  ")
    assert await bot.posts() == []


# --- from a needs poll -------------------------------------------------------------------


def invitations(new: list[dict[str, Any]]) -> list[tuple[str, str, list[str]]]:
    return [
        (p["room"], p["content"]["body"], p["content"]["m.mentions"].get("user_ids", []))
        for p in new
        if p["kind"] == from_poll.INVITATION_KIND
    ]


async def test_create_from_poll_mentions_exactly_the_voters_of_the_leading_theme(
    bot: Bot,
) -> None:
    poll = await bot.poll("!sondage Quel thème ? | ENT | Pronote | Tablettes | plusieurs")
    await bot.vote(poll, A, "a2")
    await bot.vote(poll, B, "a1", "a2")
    await bot.vote(poll, C, "a1")
    await bot.vote(poll, D, "a3")
    await bot.vote(poll, D, "a2")  # changed her mind: only the latest response counts
    new = await bot.call(create_from_poll, 1, STARTS)
    assert invitations(new) == [
        (
            ROOM,
            f"Atelier n° 1 sur « Pronote » créé d’après le sondage n° 1 : {A}, {B}, {D}, vous "
            "aviez choisi ce thème, inscrivez-vous avec 👍.",
            [A, B, D],
        )
    ]
    assert [(p["room"], p["kind"]) for p in new if p["kind"] != "workshop-poll-invitation"] == [
        (STAFF, "workshop-notice"),
        (STAFF, "workshop-ics"),
    ]
    assert [p["content"]["msgtype"] for p in new] == ["m.text", "m.file", "m.text"]
    workshop = await bot.repos.workshops.get(1)
    assert workshop is not None
    assert (workshop.theme, workshop.starts_at, workshop.poll_id) == ("Pronote", STARTS, 1)
    assert (workshop.rooms, workshop.organiser, workshop.kind) == ((STAFF,), ADMIN, "atelier")


async def test_create_from_poll_tie_goes_to_the_first_theme_in_the_poll(bot: Bot) -> None:
    poll = await bot.poll("!sondage Quel thème ? | ENT | Pronote | Tablettes")
    await bot.vote(poll, A, "a2")
    await bot.vote(poll, B, "a1")
    await bot.say("!sondage clore 1")  # a closed, non-anonymous poll keeps its voters
    new = await bot.call(create_from_poll, 1, STARTS, room=VIE)
    [reply] = [p["content"]["body"] for p in new if p["kind"] == "reply"]
    assert reply == (
        "Atelier n° 1 annoncé dans 1 salon : Salle des professeurs ; les votants sont invités "
        "dans le salon du sondage n° 1."
    )
    assert invitations(new) == [
        (
            ROOM,
            f"Atelier n° 1 sur « ENT » créé d’après le sondage n° 1 : {B}, vous aviez choisi "
            "ce thème, inscrivez-vous avec 👍.",
            [B],
        )
    ]


async def test_create_from_poll_without_votes_is_refused(bot: Bot) -> None:
    await bot.poll("!sondage Quel thème ? | ENT | Pronote")
    with pytest.raises(UserError, match="Le sondage n° 1 n’a reçu aucun vote"):
        await bot.call(create_from_poll, 1, STARTS)
    with pytest.raises(UserError, match="Aucun sondage n° 7"):
        await bot.call(create_from_poll, 7, STARTS)
    # A bad date is answered before the handler runs, with the sub-command's usage.
    assert await bot.replies("!atelier depuis-sondage 1 3/11/2026 12h30") == [
        "Cette date est déjà passée (mardi 3 novembre 2026 à 12h30). Exemple : « demain 12h15 »."
        "\nUtilisation : !atelier depuis-sondage <n° de sondage> <quand>"
        "\nExemple : !atelier depuis-sondage 1 jeudi 12h30"
    ]
    assert await bot.repos.workshops.get(1) is None


async def test_create_from_an_anonymous_closed_poll_explains_voters_are_unknown(
    bot: Bot,
) -> None:
    poll = await bot.poll("!sondage Quel thème ? | ENT | Pronote | anonyme")
    await bot.vote(poll, A, "a2")
    await bot.vote(poll, B, "a2")
    await bot.vote(poll, C, "a1")
    await bot.say("!sondage clore 1")
    new = await bot.call(create_from_poll, 1, STARTS)
    assert invitations(new) == [
        (
            ROOM,
            "Atelier n° 1 sur « Pronote » créé d’après le sondage n° 1. Ce sondage était "
            "anonyme et clos : le bot a oublié qui avait voté quoi, il ne peut donc pas inviter "
            "ceux qui avaient choisi ce thème. Inscrivez-vous avec 👍 sur l’annonce de "
            "l’atelier.",
            [],
        )
    ]
    workshop = await bot.repos.workshops.get(1)
    assert workshop is not None and workshop.theme == "Pronote"


async def test_create_from_an_open_anonymous_poll_names_nobody(bot: Bot) -> None:
    poll = await bot.poll("!sondage Quel thème ? | ENT | Pronote | anonyme")
    await bot.vote(poll, A, "a1")
    new = await bot.call(create_from_poll, 1, STARTS)
    [(_room, text, mentioned)] = invitations(new)
    assert mentioned == [] and A not in text
    assert "Ce sondage est anonyme : le bot ne nomme pas ses votants" in text


# --- reminders by direct message -------------------------------------------------------------


async def test_reminders_by_direct_message_open_each_room_once(bot: Bot) -> None:
    opened: list[str] = []

    async def create_room(user: str, name: str) -> str:
        opened.append(user)
        return f"!direct-{user.strip('@').split(':')[0]}:example.org"

    bot.settings = replace(SETTINGS, workshop_reminders="prive")
    direct = DirectRooms(bot.db, create_room)

    def units() -> Units:
        return make_units(bot.db, bot.settings, bot.info, bot.clock, direct_rooms=direct)

    def dm(user: str) -> str:
        return f"!direct-{user.strip('@').split(':')[0]}:example.org"

    await bot.workshop()
    # A week ahead the rooms are opened; B has joined hers, A not yet.
    at(bot, STARTS - timedelta(days=6))
    assert await bot.tick(units()) == []
    assert sorted(opened) == sorted([A, B])
    bot.info.members[dm(B)] = [BOT, B]
    at(bot, STARTS - timedelta(hours=24))
    [(room_b, body_b, mentioned_b), (room_staff, _, mentioned_staff)] = await bot.tick(units())
    assert (room_b, mentioned_b) == (dm(B), [B])
    assert body_b.startswith(DAY_TEXT)
    assert (room_staff, mentioned_staff) == (STAFF, [A])  # not joined yet: in the room instead
    bot.info.members[dm(A)] = [BOT, A]
    at(bot, STARTS - timedelta(hours=1))
    hour = await bot.tick(units())
    assert sorted(room for room, _, _ in hour) == sorted([dm(A), dm(B)])
    assert sorted(opened) == sorted([A, B])  # each room opened once, then remembered


async def test_direct_message_falls_back_to_the_room_when_it_cannot_be_opened(bot: Bot) -> None:
    async def cannot(user: str, name: str) -> str:
        raise HomeserverUnreachable("ClientConnectorError")

    bot.settings = replace(SETTINGS, workshop_reminders="prive")
    direct = DirectRooms(bot.db, cannot)
    await bot.workshop()
    at(bot, STARTS - timedelta(hours=24))
    units = make_units(bot.db, bot.settings, bot.info, bot.clock, direct_rooms=direct)
    [(room, body, mentioned)] = await bot.tick(units)
    assert body.startswith(DAY_TEXT)
    assert room == STAFF
    assert sorted(mentioned) == sorted([A, B])
