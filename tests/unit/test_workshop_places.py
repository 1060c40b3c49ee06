"""The places left on a workshop notice follow the sign-ups: the job `ateliers-places`
edits the notices once a burst of changes has settled, at most once every 30 s
(real processor, real database, Units under a FakeClock)."""

from __future__ import annotations

from typing import Any

from bot.context import Repositories
from bot.storage.database import Database
from handlers.workshops.reminders import refresh_notices
from tests.unit.harness import make_units
from tests.unit.test_workshops import INFO, P1, P2, P3, STAFF, VIE, Bot, bodies

P4 = "@prof4:example.org"
ANNOUNCE = "!atelier 1/12 12h30 | ENT | CDI | 5 places"


def notice(places: str) -> str:
    return (
        "🛠️ Atelier n° 1 — ENT\n"
        "Quand : mardi 1 décembre à 12h30\n"
        "Où : CDI\n"
        f"Places : {places}\n"
        "Pour vous inscrire : réagissez 👍 à ce message, ou tapez !inscription 1 ; pour vous "
        "désinscrire : retirez votre réaction ou tapez !desinscription 1."
    )


async def tick(bot: Bot) -> list[dict[str, Any]]:
    """Run the job once; the posts it queued."""
    before = len(await bot.posts())
    await refresh_notices(make_units(bot.db, bot.settings, INFO, bot.clock))
    return (await bot.posts())[before:]


def edited(new: list[dict[str, Any]]) -> list[str]:
    return [
        p["content"]["m.new_content"]["body"] for p in new if p["kind"] == "workshop-notice-edit"
    ]


async def test_quick_sign_ups_make_one_edit_then_edits_are_paced(db: Database) -> None:
    bot = Bot(db)
    new = await bot.say(ANNOUNCE)
    notice_txn = next(p["txn"] for p in new if p["kind"] == "workshop-notice")
    notice_event = await bot.deliver(new)
    bot.clock.advance(60)

    await bot.react(notice_event, P1)
    bot.clock.advance(1)
    await bot.react(notice_event, P2, "👍🏽")
    bot.clock.advance(1)
    await bot.say("!inscription 1", P3, room=STAFF)
    assert await tick(bot) == []  # still settling: more sign-ups may follow

    bot.clock.advance(3)  # 5 s after the first sign-up
    [edit] = await tick(bot)
    assert (edit["room"], edit["kind"], edit["ref"]) == (
        STAFF,
        "workshop-notice-edit",
        ("workshop", 1),
    )
    assert edit["target"] == notice_txn
    assert edit["content"]["msgtype"] == "m.text"  # that of the notice
    assert edit["content"]["m.relates_to"] == {"rel_type": "m.replace"}
    assert edit["content"]["m.mentions"] == {}
    assert edited([edit]) == [notice("5 (2 restantes)")]
    assert edit["content"]["body"] == "* " + notice("5 (2 restantes)")
    assert edit["content"]["m.new_content"]["formatted_body"].startswith(
        "<p><strong>🛠️ Atelier n° 1 — ENT</strong><br>"
    )
    assert await tick(bot) == []

    bot.clock.advance(10)
    await bot.react(notice_event, P4)
    bot.clock.advance(5)
    assert await tick(bot) == []  # settled, but only 15 s since the previous edit
    bot.clock.advance(14)
    assert await tick(bot) == []  # 29 s
    bot.clock.advance(1)
    new = await tick(bot)  # 30 s
    assert edited(new) == [notice("5 (1 restante)")]
    assert await tick(bot) == []


async def test_the_first_edit_waits_30_seconds_after_the_notice(db: Database) -> None:
    bot = Bot(db)
    notice_event = await bot.announce(ANNOUNCE)
    bot.clock.advance(2)
    await bot.react(notice_event, P1)
    bot.clock.advance(20)
    assert await tick(bot) == []
    bot.clock.advance(8)
    assert edited(await tick(bot)) == [notice("5 (4 restantes)")]


async def test_every_notice_room_is_edited_and_a_full_workshop_says_so(db: Database) -> None:
    bot = Bot(db)
    await bot.say("!diffusion ajouter", room=VIE)
    new = await bot.say("!atelier 1/12 12h30 | ENT | CDI | 2 places")
    notice_event = await bot.deliver(new)
    bot.clock.advance(30)
    await bot.react(notice_event, P1)
    await bot.react(notice_event, P2)
    await bot.react(notice_event, P3)  # waiting list
    bot.clock.advance(5)
    new = await tick(bot)
    assert [p["room"] for p in new] == [STAFF, VIE]
    assert edited(new) == [notice("2 (complet)")] * 2


async def test_no_edit_when_the_notice_already_shows_the_count(db: Database) -> None:
    bot = Bot(db)
    notice_event = await bot.announce(ANNOUNCE)
    bot.clock.advance(60)
    reaction, _ = await bot.react(notice_event, P1)
    await bot.unreact(reaction, P1)  # changed their mind at once: still 5 places left
    bot.clock.advance(5)
    assert await tick(bot) == []
    workshop = await Repositories.open(db).workshops.get(1)
    assert workshop is not None and workshop.notice_stale_since is None

    await bot.react(notice_event, P2)  # a real change afterwards is still shown
    bot.clock.advance(5)
    assert edited(await tick(bot)) == [notice("5 (4 restantes)")]


async def test_cancelled_and_past_workshops_are_not_edited(db: Database) -> None:
    bot = Bot(db)
    first = await bot.announce(ANNOUNCE)
    second = await bot.announce("!atelier 2/12 12h30 | Pix | CDI | 5 places")
    bot.clock.advance(60)
    await bot.react(first, P1)
    await bot.react(second, P1)
    assert bodies(await bot.say("!atelier annuler 2"), "reply") == [
        "Atelier n° 2 annulé ; 1 personne inscrite prévenue."
    ]
    bot.clock.advance(5)
    assert [p["ref"] for p in await tick(bot)] == [("workshop", 1)]

    await bot.react(first, P2)
    bot.clock.now = bot.clock.now.replace(month=12, day=1, hour=12)  # 13h00 in Paris: started
    assert await tick(bot) == []


async def test_a_modification_shows_the_count_and_restarts_the_pace(db: Database) -> None:
    bot = Bot(db)
    notice_event = await bot.announce(ANNOUNCE)
    bot.clock.advance(60)
    await bot.react(notice_event, P1)
    new = await bot.say("!atelier modifier 1 | salle 12")
    assert edited(new) == [notice("5 (4 restantes)").replace("CDI", "salle 12")]
    bot.clock.advance(40)
    assert await tick(bot) == []  # the modification already showed it
    await bot.react(notice_event, P2)
    bot.clock.advance(5)
    assert edited(await tick(bot)) == [notice("5 (3 restantes)").replace("CDI", "salle 12")]
