"""A post is its room's school's when a school owns that room, else the queueing unit's:
metrics and the outbox's round-robin between schools count it there (bot/messenger.py)."""

from __future__ import annotations

import pytest

from bot.storage.database import Database
from bot.storage.digests import LETTER_KIND
from tests.unit.test_privacy_schools import DIRECT, TEACHER, two_schools_with_her, type_as
from tests.unit.two_schools import BOT, A, B, TwoSchools


@pytest.mark.parametrize("room", [A.room, DIRECT], ids=["salle-A", "salon-prive"])
async def test_an_erasure_promotes_bs_waiting_list_in_bs_name(db: Database, room: str) -> None:
    """Typed in A's room, or in her direct room (a room of no school): the promotion
    posted in B's room is B's post; the answer in the room she typed in is that room's."""
    bot = await two_schools_with_her(db)
    bot.info.rooms.append(DIRECT)
    bot.info.members[DIRECT] = [BOT, TEACHER]
    await db.execute(
        "INSERT INTO bot_state (key, value) VALUES (?, ?)", (f"direct_room:{TEACHER}", DIRECT)
    )
    before = await db.fetchone("SELECT MAX(id) AS n FROM posts")
    assert before is not None

    await type_as(bot, TEACHER, room, "!mesdonnees effacer")

    rows = await db.fetchall(
        "SELECT room_id, kind, school FROM posts WHERE id > ? ORDER BY id", (before["n"],)
    )
    promotions = {(r["room_id"], r["school"]) for r in rows if r["kind"] == "workshop-promotion"}
    assert promotions == {(A.room, A.school.key), (B.room, B.school.key)}
    typed_in = {r["school"] for r in rows if r["room_id"] == room}
    # Her own room with the bot belongs to no school: the bot's own school answers there.
    assert typed_in == {A.school.key if room == A.room else bot.settings.school.key}


async def test_a_jobs_post_to_another_schools_room_is_that_schools(db: Database) -> None:
    bot = TwoSchools(db)
    for side in (A, B):
        await bot.invite(side)
    async with bot.units(A).unit() as scope:
        scope.messenger.send(B.room, "📬 La lettre numérique", kind=LETTER_KIND)
        scope.messenger.send(A.room, "📬 La lettre numérique", kind=LETTER_KIND)
        scope.messenger.send("!salle-sans-ecole:ac-exemple.fr", "Bonjour", kind="message")
        scope.messenger.send_mail("Lettre", "texte", "", kind="digest-mail")
    rows = await db.fetchall("SELECT room_id, school FROM posts ORDER BY id DESC LIMIT 4")
    assert [(r["room_id"], r["school"]) for r in reversed(rows)] == [
        (B.room, B.school.key),
        (A.room, A.school.key),
        ("!salle-sans-ecole:ac-exemple.fr", A.school.key),
        ("", A.school.key),
    ]
