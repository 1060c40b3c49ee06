"""`!panne` and `!pannes` through the real processor and database: reports, duplicates,
précisions, closing, the list, the bot without `[assistance]`, the follow-up job."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from bot.school_calendar import SchoolCalendar
from bot.storage.database import Database
from handlers.assistance.followup import flag_stale, working_days_between
from tests.unit.assistance_bot import (
    ALICE,
    BRUNO,
    CURATION,
    DESK_ADDRESS,
    DIRECT,
    NETWORK_DESK,
    PARIS,
    RUPN,
    SETTINGS,
    STAFF,
    TICKET_LINES,
    AssistanceBot,
    desk_reply,
)
from tests.unit.harness import make_units

REPORTED = (
    "Demande n° 1 enregistrée : B12 — vidéoprojecteur — ne s’allume plus.\nElle part par "
    "courriel au service d’assistance (assistance@ac-exemple.fr). Sa réponse vous sera "
    "transmise ici. Pour ajouter une précision : !panne 1 <précision> ; une fois réparé : "
    "!panne résolue 1."
)


async def test_a_report_is_numbered_mailed_once_and_answered(db: Database) -> None:
    bot = AssistanceBot(db)
    assert await bot.say("!panne B12 vidéoprojecteur ne s’allume plus") == [REPORTED]
    [ticket] = await bot.mails()
    assert ticket["subject"] == (
        "[rupn-bot n° 1] Collège Jean Moulin — B12 — vidéoprojecteur — ne s’allume plus"
    )
    assert ticket["envelope"] == {
        "to": [DESK_ADDRESS],
        "message_id": "panne-etab-1@clg-exemple.fr",
        "reply_to": "rupn-bot@clg-exemple.fr",
        "cc": [],
        "in_reply_to": None,
        "references": [],
    }
    assert ticket["text"].splitlines()[4:11] == TICKET_LINES
    assert await bot.say("!panne C3 | imprimante | bourrage", sender=BRUNO) == [
        REPORTED.replace("n° 1", "n° 2")
        .replace("!panne 1", "!panne 2")
        .replace("résolue 1", "résolue 2")
        .replace("B12 — vidéoprojecteur — ne s’allume plus", "C3 — imprimante — bourrage")
    ]


async def test_the_same_room_and_equipment_is_attached_not_sent_again(db: Database) -> None:
    bot = AssistanceBot(db)
    await bot.say("!panne B12 vidéoprojecteur ne s’allume plus")
    assert await bot.say("!panne b12 | Vidéo-projecteur | écran noir", sender=BRUNO) == [
        "Déjà signalé, n° 1 (B12 — vidéoprojecteur) : je vous ajoute aux personnes prévenues. "
        "La réponse du service d’assistance vous sera transmise ici."
    ]
    assert await bot.say("!panne B12 videoprojecteur toujours noir", sender=BRUNO) == [
        "Déjà signalé, n° 1 (B12 — vidéoprojecteur) : vous faites déjà partie des personnes "
        "prévenues."
    ]
    assert len(await bot.mails()) == 1
    # Closed, the same breakdown is a new request.
    await bot.say("!panne résolue 1")
    assert (await bot.say("!panne B12 vidéoprojecteur encore"))[0].startswith(
        "Demande n° 2 enregistrée : B12 — vidéoprojecteur — encore."
    )


async def test_a_category_goes_to_its_own_desk(db: Database) -> None:
    bot = AssistanceBot(db)
    reply = await bot.say("!panne CDI | Réseau Wi-Fi | pas d’Internet")
    assert "au service d’assistance (reseau@region-exemple.fr)" in reply[0]
    [ticket] = await bot.mails()
    assert ticket["envelope"]["to"] == [NETWORK_DESK]


async def test_precision_and_closing_thread_on_the_desk_side(db: Database) -> None:
    bot = AssistanceBot(db)
    await bot.say("!panne B12 vidéoprojecteur ne s’allume plus")
    await bot.answer(
        desk_reply(
            "glpi-1@ac-exemple.fr",
            "Pris en charge.",
            refers_to=("panne-etab-1@clg-exemple.fr",),
            subject="[GLPI #0000123] Re: [rupn-bot n° 1] B12",
        )
    )
    assert await bot.say("!panne 1 le voyant orange clignote") == [
        "Précision ajoutée à la demande n° 1 (ticket GLPI #0000123 du service d’assistance) ; "
        "elle part au service d’assistance."
    ]
    assert await bot.say("!panne résolue 1", sender=BRUNO) == [
        "Seuls la personne qui a signalé la panne n° 1 et le RUPN peuvent la déclarer résolue."
    ]
    assert await bot.say("!panne résolue 1", sender=RUPN) == [
        "Demande n° 1 (B12 — vidéoprojecteur) close : le service d’assistance en est informé. "
        "Merci !"
    ]
    _, detail, closing = await bot.mails()
    assert detail["subject"].startswith("Re: [GLPI #0000123] [rupn-bot n° 1] ")
    assert "Précision apportée : le voyant orange clignote" in detail["text"]
    assert detail["envelope"]["message_id"] == "panne-etab-1-2@clg-exemple.fr"
    assert detail["envelope"]["in_reply_to"] == "panne-etab-1@clg-exemple.fr"
    assert closing["envelope"]["in_reply_to"] == "panne-etab-1-2@clg-exemple.fr"
    assert closing["envelope"]["references"] == [
        "panne-etab-1@clg-exemple.fr",
        "panne-etab-1-2@clg-exemple.fr",
    ]
    assert "La panne est résolue" in closing["text"]
    assert await bot.say("!panne 1 encore une chose") == [
        "La demande n° 1 (B12 — vidéoprojecteur) est déjà close."
    ]
    assert await bot.say("!panne 7 encore une chose") == [
        "Aucune demande n° 7 dans votre établissement (tapez !pannes pour la liste). Pour "
        "signaler une panne dans une salle numérotée, utilisez la forme longue : !panne 7 | "
        "vidéoprojecteur | ne s’allume plus"
    ]


async def test_pannes_lists_the_school_s_for_the_rupn_and_one_s_own_otherwise(
    db: Database,
) -> None:
    bot = AssistanceBot(db)
    await bot.say("!panne B12 vidéoprojecteur ne s’allume plus")
    await bot.say("!panne C3 imprimante bourrage", sender=BRUNO)
    bot.at(datetime(2026, 12, 3, 9, 0, tzinfo=PARIS))
    await bot.answer(
        desk_reply(
            "glpi-1@ac-exemple.fr", "Un technicien passe jeudi.",
            refers_to=("panne-etab-1@clg-exemple.fr",), subject="[GLPI #0000123] Re: B12",
        )
    )  # fmt: skip
    assert await bot.say("!pannes", sender=RUPN) == [
        "Demandes de panne de l’établissement :\n"
        "- n° 1 · B12 — vidéoprojecteur · en cours, signalée il y a 3 jours (ticket GLPI "
        "#0000123 du service d’assistance) — dernière nouvelle : Un technicien passe jeudi.\n"
        "- n° 2 · C3 — imprimante · en cours, signalée il y a 3 jours"
    ]
    assert await bot.say("!pannes", sender=BRUNO) == [
        "Vos demandes de panne :\n- n° 2 · C3 — imprimante · en cours, signalée il y a 3 jours"
    ]
    assert await bot.say("!pannes", sender="@claire:clg-exemple.fr") == [
        "Vous n’avez signalé aucune panne en cours."
    ]


async def test_without_assistance_the_bot_says_whom_to_ask(db: Database) -> None:
    bot = AssistanceBot(db, settings=replace(SETTINGS, assistance=None))
    expected = (
        "Le signalement des pannes n’est pas encore configuré pour votre établissement. "
        "Signalez la panne à votre référent numérique (RUPN) : @rupn:clg-exemple.fr ; il peut "
        "activer cette commande (section [assistance] de la configuration du bot)."
    )
    assert await bot.say("!panne B12 vidéoprojecteur ne s’allume plus") == [expected]
    assert await bot.say("!pannes") == [expected]
    assert await bot.mails() == []


async def test_in_a_direct_room_answers_come_without_a_thread(db: Database) -> None:
    bot = AssistanceBot(db)
    await bot.say("!panne B12 vidéoprojecteur ne s’allume plus", room=DIRECT)
    await bot.say("!panne B12 vidéoprojecteur pareil", sender=BRUNO, room=STAFF)
    posts = await bot.answer(
        desk_reply("glpi-1@ac", "Réparé demain.", refers_to=("panne-etab-1@clg-exemple.fr",))
    )
    by_room = {p["room"]: p["content"] for p in posts}
    assert set(by_room) == {DIRECT, STAFF}
    assert "m.relates_to" not in by_room[DIRECT]
    assert by_room[DIRECT]["m.mentions"] == {"user_ids": [ALICE]}
    assert by_room[STAFF]["m.relates_to"]["rel_type"] == "m.thread"
    assert by_room[STAFF]["m.mentions"] == {"user_ids": [BRUNO]}


def test_working_days_skip_weekends_and_holidays() -> None:
    calendar = SchoolCalendar("B")
    # Friday 18 December 2026 → Monday 4 January 2027: the Christmas holidays between.
    assert working_days_between(date(2026, 12, 18), date(2027, 1, 4), calendar) == 1
    assert working_days_between(date(2026, 11, 30), date(2026, 12, 7), calendar) == 5


async def test_a_request_without_news_is_flagged_once_to_the_rupn(db: Database) -> None:
    bot = AssistanceBot(db)
    await bot.say("!panne B12 vidéoprojecteur ne s’allume plus")  # Monday 30 November
    units = make_units(db, bot.settings, bot.info, bot.clock)
    bot.at(datetime(2026, 12, 4, 18, 0, tzinfo=PARIS))  # 4 working days
    await flag_stale(units)
    assert await bot.posts("assistance-stale") == []
    bot.at(datetime(2026, 12, 7, 8, 0, tzinfo=PARIS))  # 5 working days
    await flag_stale(units)
    await flag_stale(units)
    [flag] = await bot.posts("assistance-stale")
    assert flag["room"] == CURATION
    assert flag["content"]["body"] == (
        "Demande n° 1 (B12 — vidéoprojecteur) : aucune nouvelle du service d’assistance depuis "
        "5 jours ouvrés (le 30/11/2026 ; pas encore de ticket). Suggestion de relance : "
        "« !panne 1 Bonjour, pouvez-vous nous dire où en est cette demande ? Le matériel est "
        "toujours en panne. Merci. »"
    )
    assert flag["content"]["m.mentions"] == {"user_ids": [RUPN]}


async def test_without_a_room_for_the_rupn_the_flag_waits(db: Database) -> None:
    bot = AssistanceBot(db)
    await bot.say("!panne B12 vidéoprojecteur ne s’allume plus")
    bot.at(datetime(2026, 12, 7, 8, 0, tzinfo=PARIS))
    lonely = replace(bot.settings, curation_rooms=())
    await flag_stale(make_units(db, lonely, bot.info, bot.clock))
    assert await bot.posts("assistance-stale") == []
    await flag_stale(make_units(db, bot.settings, bot.info, bot.clock))
    assert [p["room"] for p in await bot.posts("assistance-stale")] == [CURATION]
