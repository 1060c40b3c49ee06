"""Every room belongs to one établissement; numbers are per school; a command acts for
the school of its room (or, in a room of no school, for the sender's one school)."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.config import DigestSettings
from bot.context import Settings
from bot.domain import IncomingMessage, SyncBatch
from bot.storage.database import Database
from bot.tenancy import NO_SCHOOL_TEXT, ROOM_OF_ANOTHER_SCHOOL_TEXT
from handlers.announcements import scheduled
from handlers.privacy.jobs import answer_requests
from tests.unit.two_schools import BOT, PARIS, A, B, TwoSchools, populate, secret

DIRECT = "!direct:ac-exemple.fr"


async def test_school_b_first_poll_workshop_and_announcement_are_number_1(db: Database) -> None:
    bot = TwoSchools(db)
    await bot.invite(A)
    await bot.invite(B)
    await bot.say(A, "!diffusion ajouter", "!sondage Quel jour ? | lundi | mardi")
    await bot.say(A, "!sondage Quel thème ? | ENT | Pix")
    replies = await bot.say(
        B,
        "!diffusion ajouter",
        "!sondage Quel jour ? | lundi | mardi",
        "!atelier jeudi 10 décembre 17h | Pronote | CDI | 12 places",
        "!annonce programmer lundi 8h | Conseil pédagogique",
    )
    assert replies[1] == (
        "Sondage n° 1 lancé. Résultats : !sondage résultats 1 ; clôture : !sondage clore 1."
    )
    assert replies[2].startswith("Atelier n° 1 annoncé dans 1 salon : Salle des profs B.")
    assert replies[3].startswith("Annonce n° 1 programmée pour le lundi 23 novembre à 8h00")
    # A's second poll is A's n° 2; B's n° 2 does not exist.
    assert (await bot.say(A, "!sondage résultats 2"))[0].startswith(
        "Résultats du sondage n° 2 — Quel thème ?"
    )
    assert await bot.say(B, "!sondage résultats 2") == ["Aucun sondage n° 2."]


async def test_after_a_reload_the_new_rupn_of_a_school_acts_for_it(db: Database) -> None:
    bot = TwoSchools(db)
    await bot.invite(A)
    processor = bot.processor()
    newcomer = "@nouveau-rupn:ac-exemple.fr"
    ask = IncomingMessage(
        A.room, "$q1", newcomer, "!sondage Quel jour ? | lundi | mardi", bot.clock()
    )
    await processor.process(SyncBatch("s-before", (ask,), (), False))
    processor.serve((replace(A.school, admins=frozenset({newcomer})), B.school))
    again = replace(ask, event_id="$q2")
    await processor.process(SyncBatch("s-after", (again,), (), False))
    rows = await db.fetchall("SELECT content FROM posts WHERE kind = 'reply' ORDER BY id")
    bodies = [str(json.loads(r["content"])["body"]) for r in rows]
    assert bodies[0].startswith("Désolé, la commande !sondage est réservée")
    assert bodies[1].startswith("Sondage n° 1 lancé.")


async def test_a_room_of_one_school_is_refused_to_another(db: Database) -> None:
    bot = TwoSchools(db)
    assert await bot.invite(A) is None
    # B's RUPN invites the bot into A's room: declined with this reason.
    async with db.transaction():
        refusal = await bot.tenancy.claim(A.room, B.rupn, bot.clock())
    assert refusal == ROOM_OF_ANOTHER_SCHOOL_TEXT
    await bot.invite(B)
    assert await bot.say(B, f"!diffusion ajouter {A.alias}") == [ROOM_OF_ANOTHER_SCHOOL_TEXT]
    assert await bot.say(B, f"!diffusion retirer {A.alias}") == [
        "Le salon #salle-a:ac-exemple.fr appartient à un autre établissement servi par "
        "rupn-bot : vous ne pouvez agir que dans les salons de votre établissement."
    ]
    assert await db.fetchall("SELECT * FROM broadcast_rooms") == []
    owners = await db.fetchall("SELECT room_id, school FROM rooms ORDER BY room_id")
    assert [tuple(r) for r in owners] == [(A.room, A.school.key), (B.room, B.school.key)]


async def _ask_in_direct_room(bot: TwoSchools, sender: str, body: str) -> list[str]:
    before = len(await bot.db.fetchall("SELECT id FROM posts"))
    message = IncomingMessage(DIRECT, "$d1", sender, body, bot.clock())
    await bot.processor().process(SyncBatch("s-direct", (message,), (), False))
    rows = await bot.db.fetchall("SELECT content FROM posts ORDER BY id")
    return [str(json.loads(r["content"])["body"]) for r in rows[before:]]


async def test_a_direct_room_acts_for_the_school_whose_rooms_the_sender_shares(
    db: Database,
) -> None:
    bot = TwoSchools(db)
    await bot.invite(A)
    await bot.invite(B)
    await bot.say(A, "!atelier jeudi 10 décembre 17h | Pronote | CDI | 12 places")
    await bot.say(B, "!atelier vendredi 11 décembre 12h30 | Pix | CDI | 12 places")
    bot.info.rooms.append(DIRECT)
    [reply] = await _ask_in_direct_room(bot, A.teacher, "!ateliers")
    assert "Pronote" in reply
    assert "Pix" not in reply  # B's workshop
    # Someone in both schools' rooms must say which school: the command is refused.
    bot.info.members[B.room].append(A.teacher)
    [reply] = await _ask_in_direct_room(bot, A.teacher, "!ateliers")
    assert reply == (
        "Vous êtes rattaché(e) à plusieurs établissements servis par rupn-bot "
        "(Collège Jean Moulin (0860001J), Lycée Camille Guérin (0170002K)) : tapez cette "
        "commande dans un salon de l’établissement concerné."
    )
    # Someone in no school's room gets told why nothing happens.
    [reply] = await _ask_in_direct_room(bot, "@inconnu:ac-exemple.fr", "!ateliers")
    assert reply == NO_SCHOOL_TEXT


async def test_statut_counts_the_rooms_and_posts_of_its_school(db: Database) -> None:
    bot = TwoSchools(db)
    await bot.invite(A)
    await bot.invite(B)
    await bot.say(B, "!sondage Quel jour ? | lundi | mardi", "!sondage Quel thème ? | ENT | Pix")
    await bot.deliver_all()
    [status] = await bot.say(A, "!statut")
    assert status.splitlines()[1:3] == [
        "Salons rejoints : 1.",
        "Messages envoyés : 0 ; en attente : 0 ; en échec : 0.",
    ]


async def test_a_school_bilan_counts_only_its_own_activity(db: Database) -> None:
    bot = TwoSchools(db)
    await populate(bot)  # the same activity in both schools
    await bot.say(A, "!bilan")
    row = await db.fetchone("SELECT content FROM posts WHERE kind = 'bilan-summary'")
    assert row is not None
    lines = json.loads(row["content"])["body"].splitlines()
    assert lines[1] == "Diffusion : 1 annonce dans 1 salon ; lectures non mesurées ; 0 réaction."
    assert lines[4] == "Cafés numériques : 1 café, 0 participant."
    assert lines[5].startswith("Mini-ateliers : 1 atelier (0 à la demande, 1 proposé)")
    assert lines[7] == "Besoins : 2 sondages."


def test_a_named_school_has_its_own_admins_and_zone_and_none_of_the_config_rooms() -> None:
    base = Settings(
        admins=frozenset({"@rupn:ac-exemple.fr"}), tz=PARIS, broadcast_rooms=("!config:x",),
        digest_rooms=("!lettre:x",), curation_rooms=("!tri:x",), mail_enabled=True,
    )  # fmt: skip
    named = base.for_school(B.school)
    assert (named.school, named.admins, named.school_zone) == (B.school, B.school.admins, "B")
    assert (named.broadcast_rooms, named.digest_rooms, named.curation_rooms) == ((), (), ())
    assert not named.mail_enabled
    implicit = base.for_school(base.school)
    assert implicit == replace(base, tenant=base.school)


def test_a_named_school_letter_rooms_given_as_aliases_are_resolved_like_the_bot_ones() -> None:
    """`[[etablissements]] digest.rooms` may name rooms by alias, as `[digest] rooms` does:
    the aliases resolved at start-up become room ids; one that did not resolve is left
    out (it was logged), never sent to as an alias."""
    own = DigestSettings(rooms=("#lettre-b:ac-exemple.fr", "!direct:x", "#inconnu:x"))
    school = replace(B.school, digest=own)
    base = Settings(
        admins=frozenset(), tz=PARIS,
        room_aliases=(("#lettre-b:ac-exemple.fr", "!lettre-b:x"), ("#lettre-a:x", "!a:x")),
    )  # fmt: skip
    assert base.for_school(school).digest_rooms == ("!lettre-b:x", "!direct:x")


async def test_mesdonnees_typed_in_a_school_room_lists_her_data_of_every_school(
    db: Database,
) -> None:
    """A teacher of both schools (a member of both staff rooms) signed up in each: their
    `!mesdonnees` typed in A's room is answered once, privately, with their data of both
    schools, each named (the right of access is the person's, wherever the data is)."""
    bot = TwoSchools(db)
    await populate(bot)
    teacher = A.teacher
    bot.info.members[B.room].append(teacher)
    bot.info.rooms.append(DIRECT)
    bot.info.members[DIRECT] = [BOT, teacher]
    for side in (A, B):
        message = IncomingMessage(
            side.room, f"$i-{side.alias}", teacher, "!inscription 1", bot.clock()
        )
        await bot.processor().process(SyncBatch(f"s-i{side.alias}", (message,), (), False))
    asked = IncomingMessage(A.room, "$donnees", teacher, "!mesdonnees", bot.clock())
    await bot.processor().process(SyncBatch("s-donnees", (asked,), (), False))
    await answer_requests(bot.units(A))  # a job of the whole bot
    await answer_requests(bot.units(A))  # answered once
    rows = await db.fetchall("SELECT content FROM posts WHERE room_id = ? ORDER BY id", (DIRECT,))
    [answer] = [str(json.loads(r["content"])["body"]) for r in rows]
    a_part, b_part = answer.split("\n\nLycée Camille Guérin (0170002K)\n")
    assert "\n\nCollège Jean Moulin (0860001J)\n" in a_part
    assert secret(A) in a_part
    assert secret(B) not in a_part
    assert f"« Pronote {secret(B)} »" in b_part
    assert secret(A) not in b_part


async def test_the_delivery_confirmation_gives_the_school_number(db: Database) -> None:
    bot = TwoSchools(db)
    for side in (A, B):
        await bot.invite(side)
        await bot.say(side, "!diffusion ajouter", "!annonce Conseil pédagogique jeudi")
    await bot.deliver_all()
    units = bot.units(B)
    [row] = await db.fetchall("SELECT id FROM announcements WHERE school = ?", (B.school.key,))
    assert row["id"] == 2  # B's announcement n° 1 is the bot's second
    for post in await units.repos.posts.by_ref("announcement", row["id"]):
        await scheduled.confirm(units, post)
    rows = await db.fetchall(
        "SELECT content FROM posts WHERE kind = 'announcement-confirmation' ORDER BY id"
    )
    assert [json.loads(r["content"])["body"] for r in rows] == [
        "Annonce n° 1 publiée dans 1 salon : Salle des profs B."
    ]
