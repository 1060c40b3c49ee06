"""What an erasure withdraws, what it leaves to the person afterwards, and the direct
room it answers in (handlers/privacy/, bot/storage/privacy/erasure.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain import IncomingPollResponse, IncomingReaction, IncomingRedaction
from bot.messenger import message_content
from bot.pseudonyms import Pseudonyms
from bot.school_year import school_year_of
from bot.storage.database import Database
from bot.storage.privacy import columns
from bot.storage.privacy.columns import PersonalColumn
from bot.tally import tally
from handlers.announcements.scheduled import publish_due
from handlers.privacy.texts import ERASE_POINTER_TEXT, ERASED_TEXT
from tests.unit.harness import make_units
from tests.unit.privacy_bot import (
    ADMIN,
    BUREAU,
    DM_A,
    PARIS,
    STAFF,
    A,
    B,
    Bot,
    holding,
    settings,
)


async def counted(bot: Bot, poll_id: int) -> tuple[dict[str, int], int]:
    poll = await bot.repos.polls.get(poll_id)
    assert poll is not None
    result = tally(await bot.repos.polls.responses(poll_id), poll.answer_ids, poll.max_selections)
    return result.counts, result.voters


async def test_a_vote_after_the_erasure_counts_once_and_the_old_one_is_gone(
    db: Database,
) -> None:
    bot = Bot(db)
    await bot.say("!sondage Quel thème ? | Pronote | ENT", sender=ADMIN)
    await bot.say("!sondage Quel jour ? | lundi | mardi", sender=ADMIN)
    sent = await bot.settle_all()
    first = (await bot.repos.posts.by_ref("poll", 1))[0].event_id
    assert first is not None
    second = sent["poll-start"]
    await bot.process(
        IncomingPollResponse(STAFF, "$open", A, first, ("a1",), bot.clock()),
        IncomingPollResponse(STAFF, "$closed", A, second, ("a2",), bot.clock()),
        IncomingPollResponse(STAFF, "$bruno", B, second, ("a1",), bot.clock()),
    )
    await bot.say("!sondage clore 2", sender=ADMIN)
    closed_before = await counted(bot, 2)

    await bot.say("!mesdonnees effacer")
    assert await counted(bot, 1) == ({"a1": 0, "a2": 0}, 0)  # withdrawn from the open poll
    assert await counted(bot, 2) == closed_before  # the closed poll keeps its count
    bot.clock.advance(60)
    await bot.process(IncomingPollResponse(STAFF, "$again", A, first, ("a2",), bot.clock()))
    assert await counted(bot, 1) == ({"a1": 0, "a2": 1}, 1)
    # Redacting the pre-erasure vote matches nothing any more.
    await bot.process(IncomingRedaction(STAFF, "$r1", A, "$open", bot.clock()))
    await bot.process(IncomingRedaction(STAFF, "$r2", A, "$closed", bot.clock()))
    assert await counted(bot, 1) == ({"a1": 0, "a2": 1}, 1)
    assert await counted(bot, 2) == closed_before


async def test_a_seat_is_given_back_on_erasure_and_a_new_sign_up_counts_once(
    db: Database,
) -> None:
    bot = Bot(db)
    await bot.say("!atelier mardi 12h30 | Pronote | CDI | 1 place", sender=ADMIN, room=BUREAU)
    notice = (await bot.settle_all())["workshop-notice"]
    await bot.process(IncomingReaction(STAFF, "$thumb", A, notice, "👍", bot.clock()))
    await bot.say("!inscription 1", sender=B)  # full: on the waiting list

    new = await bot.say("!mesdonnees effacer")
    assert [(p["kind"], p["content"]["body"]) for p in new] == [
        (
            "workshop-promotion",
            f"{B} : une place s’est libérée, votre inscription à l’atelier n° 1 est confirmée.",
        ),
        ("reply", ERASE_POINTER_TEXT),
    ]
    assert new[0]["content"]["m.mentions"] == {"user_ids": [B]}
    # Her old 👍 taken back after the erasure cancels nobody.
    await bot.process(IncomingRedaction(STAFF, "$r", A, "$thumb", bot.clock()))
    [reply] = await bot.say("!inscription 1")
    assert reply["content"]["body"] == (
        f"{A} : l’atelier n° 1 (mardi 1 décembre à 12h30) est complet : vous êtes sur liste "
        "d’attente (position 1)."
    )
    [reply] = await bot.say("!desinscription 1")
    assert reply["content"]["body"] == f"{A} : désinscription enregistrée pour l’atelier n° 1."
    live = "SELECT status, COUNT(*) FROM workshop_signups GROUP BY status ORDER BY status"
    assert [tuple(r) for r in await db.fetchall(live)] == [("cancelled", 2), ("confirmed", 1)]


async def test_what_the_person_does_after_the_request_is_left_alone(db: Database) -> None:
    bot = Bot(db)
    await bot.say("!mesdonnees effacer")
    bot.clock.advance(120)
    [later] = await bot.say("!inscription 7")  # a reply that names her, after the request
    assert await bot.tick() == []
    bot.join()
    [confirmation] = await bot.tick()
    assert (confirmation["room"], confirmation["content"]["body"]) == (DM_A, ERASED_TEXT)
    row = await db.fetchone("SELECT requester FROM posts WHERE txn_id = ?", (later["txn"],))
    assert row is not None and row[0] == A
    row = await db.fetchone("SELECT requester FROM posts WHERE txn_id = ?", (confirmation["txn"],))
    assert row is not None and row[0] is None
    assert await db.fetchall("SELECT * FROM privacy_requests") == []


async def test_showing_the_data_writes_no_secret(db: Database, tmp_path: Path) -> None:
    bot = Bot(db)
    bot.pseudonyms = Pseudonyms(tmp_path)
    bot.join()
    await bot.say("!mesdonnees", room=DM_A)
    await bot.say("!mesdonnees effacer", room=DM_A)
    assert not (tmp_path / "pseudonym-keys.json").exists()


async def test_a_declined_invite_is_sent_again_on_the_next_request(db: Database) -> None:
    bot = Bot(db)
    await bot.say("!mesdonnees")
    assert await bot.tick() == []
    assert bot.opened == [A]  # invited; she declines (never joins)
    bot.clock.advance(3600)
    await bot.say("!mesdonnees")
    assert await bot.tick() == []
    assert bot.opened == [A, A]  # a new room, a new invite
    bot.join()
    [answer] = await bot.tick()
    assert answer["room"] == DM_A and answer["kind"] == "privacy-data"


async def test_an_erased_person_is_never_mentioned() -> None:
    content = message_content("…", msgtype="m.text", mentions=("anonyme:0123456789abcdef", B))
    assert content["m.mentions"] == {"user_ids": [B]}
    content = message_content("…", msgtype="m.text", mentions=("anonyme:0123456789abcdef",))
    assert content["m.mentions"] == {}


async def test_no_event_id_of_hers_is_left_in_the_replies(db: Database) -> None:
    bot = Bot(db)
    await bot.say("!inscription 3")  # a reply quoting her command
    await bot.settle_all()
    [command] = bot.sent_by[A]
    assert await holding(db, command) == ["posts.content"]
    await bot.say("!mesdonnees effacer")
    assert [e for e in bot.sent_by[A] if await holding(db, e)] == []


async def test_a_direct_room_opened_for_something_else_is_not_forgotten(db: Database) -> None:
    """She erases in a private room she opened herself; the room the bot opened since for
    her reminders stays on record (only the confirmation's room is forgotten)."""
    bot = Bot(db)
    own = "!her-own:example.org"
    bot.info.rooms.append(own)
    bot.join(A, own)
    bot.join(A, DM_A)
    await bot.say("!mesdonnees effacer", room=own)
    async with db.transaction():
        await bot.repos.direct_rooms.record(A, DM_A)  # opened since, for the reminders
    assert await bot.tick() == []  # confirmed by the command: the job closes the erasure
    async with db.transaction():
        assert await bot.repos.direct_rooms.get(A) == DM_A
    # Erased again from the reminders' room itself: that record goes with the erasure.
    await bot.say("!mesdonnees effacer", room=DM_A)
    await bot.tick()
    async with db.transaction():
        assert await bot.repos.direct_rooms.get(A) is None
    assert await holding(db, A) == []


async def test_a_past_atelier_keeps_its_count_without_her(db: Database) -> None:
    bot = Bot(db)
    await bot.say("!atelier demain 12h30 | Pronote | CDI", sender=ADMIN, room=BUREAU)
    await bot.say("!inscription 1")
    bot.clock.advance(3 * 86400)  # the atelier is over
    await bot.say("!mesdonnees effacer")
    [(who, status)] = await db.fetchall("SELECT user_id, status FROM workshop_signups")
    assert who.startswith("anonyme:") and status == "confirmed"


async def test_a_scheduled_announcement_of_an_erased_rupn_mentions_nobody(db: Database) -> None:
    bot = Bot(db, settings=settings(A))  # Alice is a RUPN
    await bot.say("!annonce programmer demain 8h | Réunion ENT", room=BUREAU)
    await bot.say("!mesdonnees effacer", room=BUREAU)
    await bot.settle_all()
    bot.clock.advance(86400)
    await publish_due(make_units(db, bot.settings, bot.info, bot.clock, pseudonyms=bot.pseudonyms))
    await bot.settle_all()  # the confirmation is queued once the announcement is sent
    [confirmation] = [p for p in await bot.posts() if p["kind"] == "announcement-confirmation"]
    assert confirmation["content"]["body"].startswith("Annonce n° 1 publiée dans 1 salon")
    assert confirmation["content"]["m.mentions"] == {}
    assert "m.relates_to" not in confirmation["content"]  # her command's id is gone


async def test_a_reaction_kept_with_its_reactors_key_goes_with_the_erasure(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reactions on the bot's posts keep the reactor's key of the year (like read markers):
    her rows lose the key and the event id; the count stays, her old ❤ cannot be taken back."""
    present = {
        r[0]
        for r in await db.fetchall("SELECT name FROM pragma_table_info(?)", ("post_reactions",))
    }
    if "reactor_key" not in present:  # the column as another change adds it
        async with db.transaction():
            await db.execute("ALTER TABLE post_reactions ADD COLUMN reactor_key TEXT")
    reactor = PersonalColumn("post_reactions", "reactor_key", "reader_key", "reacted_at")
    if reactor not in columns.PERSONAL_COLUMNS:
        monkeypatch.setattr(columns, "PERSONAL_COLUMNS", (*columns.PERSONAL_COLUMNS, reactor))
    bot = Bot(db)
    await bot.say("!annonce Réunion ENT", sender=ADMIN, room=BUREAU)
    notice = (await bot.settle_all())["announcement"]
    await bot.process(IncomingReaction(STAFF, "$heart", A, notice, "❤️", bot.clock()))
    key = bot.pseudonyms.reader_key(A, school_year_of(bot.clock(), PARIS).label)
    async with db.transaction():
        await db.execute("UPDATE post_reactions SET reactor_key = ?", (key,))

    await bot.say("!mesdonnees effacer")
    assert await holding(db, "$heart") == []
    assert await holding(db, key) == []
    await bot.process(IncomingRedaction(STAFF, "$r", A, "$heart", bot.clock()))
    counted = "SELECT reaction_key, COUNT(*) FROM post_reactions GROUP BY 1"
    assert [tuple(r) for r in await db.fetchall(counted)] == [("❤", 1)]
