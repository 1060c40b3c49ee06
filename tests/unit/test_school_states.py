"""`!etablissements`: every school's state for the académie's admins, one school's detail,
and a summary that fits in one message however many schools the académie has."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from bot.messenger import Outbox, check_size
from bot.schools import School
from bot.storage.database import Database, stored
from bot.storage.school_states import NO_STATE, SchoolState, SchoolStatesRepository
from handlers.school_directory import FULL_LIST, TO_LOOK_AT, _summary
from tests.unit.test_school_reload import DRANE, MOULIN_ROOM, Engine

LETTER_AT = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)  # vendredi 4 décembre, 16h30 à Paris


async def _post(db: Database, school: str, status: str, n: int) -> None:
    await db.execute(
        "INSERT INTO posts (room_id, action, event_type, content, kind, txn_id, status,"
        " created_at, school) VALUES (?, 'send', 'm.room.message', '{}', 'announcement', ?,"
        " ?, ?, ?)",
        (MOULIN_ROOM, f"txn-{school}-{status}-{n}", status, stored(LETTER_AT), school),
    )


async def _seed_moulin(db: Database) -> None:
    """Moulin: 2 posts sent, 1 waiting, 1 failed, a letter sent, its letter paused."""
    async with db.transaction():
        for n, status in enumerate(("sent", "sent", "pending", "failed")):
            await _post(db, "0860001J", status, n)
        await db.execute(
            "INSERT INTO digest_weeks (week, outcome, decided_at, rooms, school)"
            " VALUES ('2026-W49', 'sent', ?, 1, '0860001J')",
            (stored(LETTER_AT),),
        )
        await db.execute("UPDATE schools SET letter_paused = 1 WHERE key = '0860001J'")


async def test_the_states_of_every_school_in_three_statements(db: Database, tmp_path: Path) -> None:
    engine = Engine(db, tmp_path)
    await engine.start()
    await _seed_moulin(db)
    states = await SchoolStatesRepository(db).every_school()
    assert states["0860001J"] == SchoolState((MOULIN_ROOM,), 1, 1, LETTER_AT, True)
    assert states["0860034V"] == NO_STATE
    assert await SchoolStatesRepository(db).sent("0860001J") == 2


async def test_the_listing_and_one_schools_detail(db: Database, tmp_path: Path) -> None:
    engine = Engine(db, tmp_path)
    await engine.start()
    await _seed_moulin(db)
    listing = await engine.say(DRANE, "!etablissements")
    assert listing.splitlines()[1] == (
        "- Collège Jean Moulin (0860001J) : 1 salon, 1 envoi en attente, 1 envoi en échec, "
        "lettre en pause"
    )
    detail = (
        "Collège Jean Moulin (0860001J) : zone A, 1 RUPN.\n"
        f"Salons : 1 (« {MOULIN_ROOM} »).\n"
        "Envois : 2 reçus dans ses salons ; 1 en attente ; 1 en échec.\n"
        "Dernière lettre : le vendredi 4 décembre 2026 à 16h30 ; lettre en pause."
    )
    assert await engine.say(DRANE, "!etablissements 0860001j") == detail  # the UAI
    assert await engine.say(DRANE, "!etablissements jean moulin") == detail  # a part of its name
    assert await engine.say(DRANE, "!etablissements Guerin") == (  # accents optional
        "Lycée Camille Guérin (0860034V) : zone A, 2 RUPN.\n"
        "Salons : 0 (son RUPN n’a pas encore invité le bot).\n"
        "Envois : 0 reçus dans ses salons ; 0 en attente ; 0 en échec.\n"
        "Dernière lettre : aucune envoyée."
    )
    assert await engine.say(DRANE, "!etablissements lycée") == (
        "2 établissements correspondent à « lycée » : Lycée Camille Guérin (0860034V), "
        "Lycée Louis-le-Grand (0750654D). Tapez l’UAI de celui que vous voulez."
    )


def _school(n: int) -> School:
    return School(f"{n:07d}X", f"Collège numéro {n}", frozenset({f"@rupn{n}:ac.fr"}), "A")


def test_a_large_academie_gets_a_summary_and_the_schools_to_look_at() -> None:
    schools = [_school(n) for n in range(1000)]
    states = {s.key: SchoolState(("!r:ac.fr",), 0, 0, LETTER_AT, False) for s in schools[:800]}
    states[schools[5].key] = SchoolState(("!r:ac.fr",), 2, 0, None, False)
    states[schools[7].key] = SchoolState(("!r:ac.fr",), 0, 3, None, False)
    text = _summary(schools, states)
    lines = text.splitlines()
    assert lines[:4] == [
        "Établissements servis (1000) : 800 avec au moins un salon, 200 sans salon (leur RUPN "
        "n’a pas encore invité le bot).",
        "Envois en attente : 2 (1 établissement) ; en échec : 3 (1 établissement).",
        "À regarder :",
        "- Collège numéro 7 (0000007X) : 1 salon, 3 envois en échec",
    ]
    assert lines[4] == "- Collège numéro 5 (0000005X) : 1 salon, 2 envois en attente"
    assert lines[5] == "- Collège numéro 800 (0000800X) : 0 salon"
    assert lines[3 + TO_LOOK_AT] == "… et 182 autres."
    assert len(lines) == 3 + TO_LOOK_AT + 2
    assert lines[-1].startswith("Le détail d’un établissement : !etablissements <UAI ou nom>.")
    assert len(schools) > FULL_LIST
    outbox = Outbox()
    outbox.send("!r:ac.fr", text)
    [post] = outbox.drain()
    check_size(json.loads(json.dumps(post.content)))  # one Matrix message, even for 1,000
