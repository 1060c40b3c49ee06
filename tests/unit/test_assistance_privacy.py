"""The people of a request: `!mesdonnees` lists their requests, erasure takes them out
(the request stays, for the colleagues and the bilan), the retention after closing."""

from __future__ import annotations

from datetime import datetime

from bot.storage.database import Database
from handlers.privacy.jobs import retention
from tests.unit.assistance_bot import (
    ALICE,
    BRUNO,
    CURATION,
    DIRECT,
    PARIS,
    RUPN,
    STAFF,
    AssistanceBot,
    desk_reply,
)
from tests.unit.harness import make_units


async def test_mesdonnees_lists_the_requests_reported_and_followed(db: Database) -> None:
    bot = AssistanceBot(db)
    await bot.say("!panne B12 vidéoprojecteur ne s’allume plus")
    await bot.say("!panne C3 imprimante bourrage", sender=BRUNO)
    await bot.say("!panne C3 imprimante bourrage encore")
    await bot.say("!panne résolue 2", sender=BRUNO)
    await bot.say("!mesdonnees", room=DIRECT)
    [data] = await bot.posts("privacy-data")
    lines = data["content"]["body"].splitlines()
    start = lines.index("• Demandes de panne (!panne) (2) :")
    assert lines[start + 1 : start + 3] == [
        "  – n° 1 « B12 — vidéoprojecteur », lundi 30 novembre 2026 à 8h00 : signalée par vous, "
        "en cours",
        "  – n° 2 « C3 — imprimante », lundi 30 novembre 2026 à 8h00 : vous êtes prévenu·e de "
        "ses réponses, close",
    ]


async def test_erasure_takes_the_reporter_out_the_colleagues_still_hear(db: Database) -> None:
    bot = AssistanceBot(db)
    await bot.say("!panne B12 vidéoprojecteur ne s’allume plus")
    await bot.say("!panne B12 vidéoprojecteur pareil", sender=BRUNO)
    await bot.say("!mesdonnees effacer", room=DIRECT)
    row = await db.fetchone("SELECT reporter, report_event FROM assistance_requests")
    assert row is not None and row[0] != ALICE and row[0].startswith("@") is False
    assert row[1] is None
    followers = await db.fetchall("SELECT user_id, thread_root FROM assistance_followers")
    assert [r[0].startswith("anonyme:") for r in followers] == [True, False]
    assert [r[1] is None for r in followers] == [True, False]
    posts = await bot.answer(
        desk_reply("a1@glpi", "Réparé.", refers_to=("panne-etab-1@clg-exemple.fr",))
    )
    assert [(p["room"], p["content"]["m.mentions"]["user_ids"]) for p in posts] == [
        (STAFF, [BRUNO])
    ]


async def test_the_retention_counts_from_the_closing(db: Database) -> None:
    bot = AssistanceBot(db)
    await bot.say("!panne B12 vidéoprojecteur ne s’allume plus")
    await bot.say("!panne C3 imprimante bourrage")
    await bot.say("!panne résolue 2")
    bot.at(datetime(2028, 1, 10, 8, 0, tzinfo=PARIS))  # 13 months later and more
    await retention(make_units(db, bot.settings, bot.info, bot.clock))
    rows = await db.fetchall("SELECT number, reporter FROM assistance_requests ORDER BY number")
    assert [(r[0], r[1] == ALICE) for r in rows] == [(1, True), (2, False)]
    rows = await db.fetchall("SELECT request_id, user_id FROM assistance_followers ORDER BY 1")
    assert [(r[0], r[1] == ALICE) for r in rows] == [(1, True), (2, False)]


async def test_an_answer_nobody_follows_any_more_goes_to_the_rupn(db: Database) -> None:
    bot = AssistanceBot(db)
    await bot.say("!panne B12 vidéoprojecteur ne s’allume plus")
    await bot.say("!mesdonnees effacer", room=DIRECT)
    posts = await bot.answer(
        desk_reply("a1@glpi", "Réparé.", refers_to=("panne-etab-1@clg-exemple.fr",))
    )
    assert [(p["room"], p["content"]["m.mentions"]["user_ids"]) for p in posts] == [
        (CURATION, [RUPN])
    ]
    assert posts[0]["content"]["body"] == (
        "Réponse du service d’assistance à la demande n° 1 (B12 — vidéoprojecteur) :\n\nRéparé."
    )
