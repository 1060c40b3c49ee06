"""The desk's answers through the reply sink: every way a mail is matched to its request,
two schools with the same request number, a mail read twice, mails matched to nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial

import pytest

from bot.context import Repositories
from bot.direct import DirectRooms
from bot.schools import School
from bot.storage.assistance import AssistanceRepository
from bot.storage.database import Database
from bot.work import Units
from handlers.assistance.replies import DeskReplies, NobodyToTell
from handlers.assistance.ticket import message_id, tag
from tests.unit.assistance_bot import (
    ALICE,
    BRUNO,
    CURATION,
    DESK,
    SETTINGS,
    STAFF,
    AssistanceBot,
    desk_reply,
)
from tests.unit.fakes import FakeBotInfo, FakeClock
from tests.unit.harness import make_units

TICKET = "panne-etab-1@clg-exemple.fr"
GLPI_SUBJECT = "[GLPI #0000123] Re: [rupn-bot n° 1] Collège Jean Moulin — B12"
ANSWER = (
    "Réponse du service d’assistance à la demande n° 1 (B12 — vidéoprojecteur) (ticket GLPI "
    "#0000123 du service d’assistance) :\n\n{}"
)


def bodies(posts: list[dict[str, object]]) -> list[tuple[str, str]]:
    return [(str(p["room"]), str(p["content"]["body"])) for p in posts]  # type: ignore[index]


@pytest.fixture
async def reported(db: Database) -> AssistanceBot:
    bot = AssistanceBot(db)
    await bot.say("!panne B12 vidéoprojecteur ne s’allume plus")
    await bot.say("!panne b12 vidéoprojecteur écran noir", sender=BRUNO)
    return bot


async def test_matched_by_in_reply_to_posted_to_reporter_and_colleague(
    reported: AssistanceBot,
) -> None:
    posts = await reported.answer(
        desk_reply("a1@glpi", "Pris en charge.", refers_to=(TICKET,), subject=GLPI_SUBJECT)
    )
    assert bodies(posts) == [(STAFF, ANSWER.format("Pris en charge."))] * 2
    assert [p["content"]["m.mentions"]["user_ids"] for p in posts] == [[ALICE], [BRUNO]]
    assert [p["content"]["m.relates_to"]["event_id"] for p in posts] != [None, None]
    assert {p["kind"] for p in posts} == {"assistance-answer"}


async def test_matched_by_references_of_a_precision(reported: AssistanceBot) -> None:
    await reported.say("!panne 1 le voyant clignote")
    posts = await reported.answer(
        desk_reply("a2@glpi", "Merci.", refers_to=("x@elsewhere", "panne-etab-1-2@clg-exemple.fr"))
    )
    assert [body for _, body in bodies(posts)] == [
        "Réponse du service d’assistance à la demande n° 1 (B12 — vidéoprojecteur) :\n\nMerci."
    ] * 2


async def test_matched_by_the_bot_s_tag_then_by_the_desk_s_ticket(reported: AssistanceBot) -> None:
    first = await reported.answer(desk_reply("a1@glpi", "Reçu.", subject=GLPI_SUBJECT))
    assert bodies(first)[0] == (STAFF, ANSWER.format("Reçu."))
    # Later mails of the desk carry only its own ticket number.
    later = await reported.answer(
        desk_reply("a2@glpi", "Pièce commandée.", subject="[GLPI #0000123] Suivi")
    )
    assert bodies(later)[0] == (STAFF, ANSWER.format("Pièce commandée."))
    row = await reported.db.fetchone("SELECT desk_ticket, first_answer_at FROM assistance_requests")
    assert row is not None and row[0] == "[GLPI #0000123]" and row[1] is not None


async def test_a_mail_read_twice_is_posted_once(reported: AssistanceBot) -> None:
    reply = desk_reply("a1@glpi", "Pris en charge.", refers_to=(TICKET,))
    assert len(await reported.answer(reply)) == 2
    assert await reported.answer(reply) == []
    assert await reported.answer(replace(reply, refers_to=())) == []


async def test_an_unmatched_mail_goes_to_the_rupn_only(reported: AssistanceBot) -> None:
    posts = await reported.answer(
        desk_reply(
            "x1@glpi", "Bonjour, quel ticket ?", subject="[GLPI #999] Question", sender="x@ac"
        )
    )
    assert bodies(posts) == [
        (
            CURATION,
            "Un courriel reçu dans la boîte du bot ne correspond à aucune demande de panne "
            "connue ; le voici pour que vous le transmettiez.\nDe : x@ac\nObjet : [GLPI #999] "
            "Question\n\nBonjour, quel ticket ?",
        )
    ]
    assert posts[0]["kind"] == "assistance-unmatched"
    # An unknown number with the bot's tag is not someone else's request either.
    posts = await reported.answer(desk_reply("x2@glpi", "?", subject="Re: [rupn-bot n° 7] B12"))
    assert [room for room, _ in bodies(posts)] == [CURATION]
    assert await reported.answer(desk_reply("x2@glpi", "?", subject="Re: [rupn-bot n° 7]")) == []


# --- two schools -----------------------------------------------------------------------------

JM = School("0860001J", "Collège Jean Moulin", frozenset({"@rupn-a:ac-exemple.fr"}), "A")
CG = School("0170002K", "Lycée Camille Guérin", frozenset({"@rupn-b:ac-exemple.fr"}), "B")
DRANE = "@drane:ac-exemple.fr"


async def _two_schools(db: Database) -> tuple[DeskReplies, AssistanceBot]:
    """Request n° 1 in both schools, each reported in its own room."""
    bot = AssistanceBot(db)
    now = datetime(2026, 11, 30, 8, tzinfo=UTC)
    async with db.transaction():
        for school, room in ((JM, "!salle-a:x"), (CG, "!salle-b:x")):
            await AssistanceRepository(db, school.key).create(
                room_id=room, report_event=f"$r-{school.key}", thread_root=f"$r-{school.key}",
                reporter=f"@prof-{school.key}:x", location="B12", equipment="vidéoprojecteur",
                symptom="noir", dedup_key="b12|videoprojecteur", category="", desk=DESK.to,
                message_id_of=partial(message_id, DESK, school.key), now=now,
            )  # fmt: skip
    settings = replace(SETTINGS, curation_rooms=(), academie_admins=frozenset({DRANE}))

    async def create_room(user: str, name: str) -> str:
        return f"!direct-{user.strip('@').split(':')[0]}:x"

    units = Units(
        db, Repositories.open(db), settings, FakeBotInfo(), FakeClock(), lambda: None,
        direct_rooms=DirectRooms(db, create_room), schools=(JM, CG),
    )  # fmt: skip
    return DeskReplies(db, units), bot


async def _posted(bot: AssistanceBot, sink: DeskReplies, *replies: object) -> list[tuple[str, str]]:
    before = len(await bot.posts())
    for reply in replies:
        await sink.accept(reply)  # type: ignore[arg-type]
    rows = await bot.db.fetchall("SELECT room_id, school, content FROM posts ORDER BY id")
    return [(r[0], r[1]) for r in rows[before:] if "body" in json.loads(r[2])]


async def test_the_same_number_in_two_schools_is_told_apart(db: Database) -> None:
    sink, bot = await _two_schools(db)
    assert tag(CG.key, 1) == "[rupn-bot 0170002K n° 1]"
    by_id = desk_reply("a@glpi", "Pour B.", refers_to=("panne-0170002K-1@clg-exemple.fr",))
    by_tag = desk_reply("b@glpi", "Pour A.", subject="Re: [rupn-bot 0860001J n° 1] B12")
    assert await _posted(bot, sink, by_id, by_tag) == [
        ("!salle-b:x", CG.key),
        ("!salle-a:x", JM.key),
    ]


async def test_a_desk_ticket_known_in_two_schools_goes_to_the_academie(db: Database) -> None:
    sink, bot = await _two_schools(db)
    for school in (JM, CG):
        mid = f"panne-{school.key}-1@clg-exemple.fr"
        await sink.accept(
            desk_reply(f"c-{school.key}@glpi", "x", refers_to=(mid,), subject="[GLPI #5]")
        )
    posted = await _posted(bot, sink, desk_reply("e@glpi", "Lequel ?", subject="[GLPI #5] Suivi"))
    assert posted == [("!direct-drane:x", "")]


async def test_a_bare_number_in_a_shared_bot_matches_no_school(db: Database) -> None:
    sink, bot = await _two_schools(db)
    bare = desk_reply("f@glpi", "?", subject="Re: [rupn-bot n° 1] B12")
    assert await _posted(bot, sink, bare) == [("!direct-drane:x", "")]
    # The school's tag with an unknown number: its RUPN only.
    tagged = desk_reply("g@glpi", "?", subject="Re: [rupn-bot 0860001J n° 9]")
    assert await _posted(bot, sink, tagged) == [("!direct-rupn-a:x", JM.key)]


async def test_with_no_room_to_tell_the_rupn_the_mail_stays_unread(
    reported: AssistanceBot,
) -> None:
    lonely = replace(reported.settings, curation_rooms=())
    sink = DeskReplies(reported.db, make_units(reported.db, lonely, reported.info, reported.clock))
    mail = desk_reply("x1@glpi", "Quel ticket ?", subject="Question")
    with pytest.raises(NobodyToTell):
        await sink.accept(mail)
    assert (
        await reported.db.fetchone("SELECT 1 FROM assistance_mails WHERE message_id = 'x1@glpi'")
        is None
    )
    # Offered again once the RUPN can be told: posted, once.
    assert [room for room, _ in bodies(await reported.answer(mail))] == [CURATION]
    assert await reported.answer(mail) == []
