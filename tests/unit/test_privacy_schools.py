"""`!mesdonnees` for a teacher of two établissements: the person's data in every school,
each named; erasure everywhere, with each school's waiting list moving up; the retention
over every school (handlers/privacy/, bot/storage/privacy/)."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest

from bot.domain import IncomingMessage, IncomingPollResponse, SyncBatch
from bot.storage.database import Database, stored
from bot.storage.feeds import FeedsRepository, NewEntry
from handlers.privacy.jobs import answer_requests, retention
from handlers.privacy.texts import ERASE_POINTER_TEXT, ERASED_TEXT
from tests.unit.privacy_bot import holding
from tests.unit.two_schools import BOT, A, B, Side, TwoSchools

TEACHER = A.teacher  # also a member of B's staff room: she teaches in both schools
DIRECT = "!direct-prof:ac-exemple.fr"
_ids = itertools.count(1)


async def type_as(bot: TwoSchools, who: str, room: str, body: str) -> list[str]:
    """`who` types `body` in `room`: the bodies of every post it queued."""
    before = await bot.db.fetchone("SELECT COALESCE(MAX(id), 0) AS n FROM posts")
    message = IncomingMessage(room, f"$p{next(_ids)}", who, body, bot.clock())
    await bot.processor().process(SyncBatch(f"sp{next(_ids)}", (message,), (), False))
    rows = await bot.db.fetchall(
        "SELECT content FROM posts WHERE id > ? ORDER BY id", (before[0] if before else 0,)
    )
    return [str(json.loads(r["content"])["body"]) for r in rows]


async def two_schools_with_her(db: Database) -> TwoSchools:
    """In each school, a one-place atelier n° 1 she holds, its teacher on the waiting list,
    and a poll n° 1 she answered."""
    bot = TwoSchools(db)
    bot.info.members[B.room].append(TEACHER)
    for side in (A, B):
        await bot.invite(side)
        await bot.say(
            side,
            f"!atelier jeudi 10 décembre 17h | Pix {side.school.key} | CDI | 1 place",
            f"!sondage Quel jour {side.school.key} ? | lundi | mardi",
        )
        await bot.deliver_all()
        await type_as(bot, TEACHER, side.room, "!inscription 1")
        waiting = B.teacher if side is B else A.rupn
        await type_as(bot, waiting, side.room, "!inscription 1")
        [start] = await db.fetchall(
            "SELECT event_id FROM posts WHERE kind = 'poll-start' AND room_id = ?", (side.room,)
        )
        vote = IncomingPollResponse(
            side.room, f"$v{next(_ids)}", TEACHER, start[0], ("a1",), bot.clock()
        )
        await bot.processor().process(SyncBatch(f"sp{next(_ids)}", (vote,), (), False))
        await bot.deliver_all()
    return bot


async def signups(db: Database, side: Side) -> list[tuple[str, str]]:
    rows = await db.fetchall(
        "SELECT s.user_id, s.status FROM workshop_signups AS s"
        " JOIN workshops AS w ON w.id = s.workshop_id WHERE w.school = ? ORDER BY s.id",
        (side.school.key,),
    )
    return [(str(r[0]), str(r[1])) for r in rows]


@pytest.mark.parametrize("room", [A.room, DIRECT], ids=["salle-A", "salon-prive"])
async def test_her_erasure_gives_her_seat_back_in_both_schools(db: Database, room: str) -> None:
    """Typed in A's room, or in her direct room with the bot (a room of no school)."""
    bot = await two_schools_with_her(db)
    bot.info.rooms.append(DIRECT)
    bot.info.members[DIRECT] = [BOT, TEACHER]
    await db.execute(
        "INSERT INTO bot_state (key, value) VALUES (?, ?)", (f"direct_room:{TEACHER}", DIRECT)
    )
    assert await signups(db, B) == [(TEACHER, "confirmed"), (B.teacher, "waiting")]

    posts = await type_as(bot, TEACHER, room, "!mesdonnees effacer")

    assert posts[-1] == (ERASE_POINTER_TEXT if room == A.room else ERASED_TEXT)
    assert [s for _, s in await signups(db, A)] == ["cancelled", "confirmed"]
    assert [s for _, s in await signups(db, B)] == ["cancelled", "confirmed"]
    promoted = await db.fetchall(
        "SELECT room_id, content FROM posts WHERE kind = 'workshop-promotion' ORDER BY id"
    )
    assert [(r["room_id"], json.loads(r["content"])["body"]) for r in promoted] == [
        (
            A.room,
            f"{A.rupn} : une place s’est libérée, votre inscription à l’atelier n° 1 est "
            "confirmée.",
        ),
        (
            B.room,
            f"{B.teacher} : une place s’est libérée, votre inscription à l’atelier n° 1 est "
            "confirmée.",
        ),
    ]
    # Nothing of her is left in any school, once the erasure is confirmed privately (by
    # the requests job, a job of the whole bot).
    await answer_requests(bot.units(A))
    confirmations = await db.fetchall("SELECT content FROM posts WHERE room_id = ?", (DIRECT,))
    assert [json.loads(r["content"])["body"] for r in confirmations] == [ERASED_TEXT]
    assert await holding(db, TEACHER) == []
    assert await holding(db, TEACHER.removeprefix("@")) == []


async def test_her_data_in_both_schools_is_shown_to_her_each_named(db: Database) -> None:
    bot = await two_schools_with_her(db)
    bot.info.rooms.append(DIRECT)
    bot.info.members[DIRECT] = [BOT, TEACHER]

    [answer] = await type_as(bot, TEACHER, DIRECT, "!mesdonnees")

    assert answer.startswith(
        "Ce que rupn-bot garde à votre sujet :\n"
        "\n"
        "Collège Jean Moulin (0860001J)\n"
        "• Inscriptions aux ateliers et cafés numériques (1) :\n"
        "  – atelier « Pix 0860001J », jeudi 10 décembre 2026 à 17h00 : inscription confirmée\n"
        "• Réponses aux sondages (1) :\n"
        "  – « Quel jour 0860001J ? » : lundi ("
    ), answer
    assert (
        "\n\nLycée Camille Guérin (0170002K)\n"
        "• Inscriptions aux ateliers et cafés numériques (1) :\n"
        "  – atelier « Pix 0170002K », jeudi 10 décembre 2026 à 17h00 : inscription confirmée\n"
        "• Réponses aux sondages (1) :\n"
        "  – « Quel jour 0170002K ? » : lundi ("
    ) in answer
    # Her colleague of B, who shares no school with her, sees nothing of hers.
    bot.info.members[DIRECT] = [BOT, B.teacher]
    [theirs] = await type_as(bot, B.teacher, DIRECT, "!mesdonnees")
    assert "0860001J" not in theirs
    assert "Pix 0170002K" in theirs


async def test_the_retention_anonymises_every_school(db: Database) -> None:
    bot = await two_schools_with_her(db)
    bot.clock.now = bot.clock() + timedelta(days=500)
    await retention(bot.units(A))  # a job of the whole bot (per_school=False)
    assert await holding(db, TEACHER) == []
    assert await holding(db, B.teacher) == []
    assert await signups(db, B) != []  # anonymised, not deleted: counts stay


async def test_her_news_decisions_are_counted_in_the_school_of_each_entry(
    db: Database,
) -> None:
    """An académie's source has no school: each school has its own entries of it, and a
    decision is counted in the school of the entry it sorted."""
    bot = TwoSchools(db)
    both = "@rupn-ab:ac-exemple.fr"  # RUPN of both schools
    bot.info.rooms.append(DIRECT)
    bot.info.members[DIRECT] = [BOT, both]
    entries = [
        NewEntry(f"tag:srane,2026:{n}", f"Actualité {n}", None, None, "", "") for n in (1, 2)
    ]
    async with db.transaction():
        feed = await FeedsRepository(db).upsert(
            name="SRANE", url="https://srane.example/feed", origin="config", added_by=None,
            now=bot.clock(),
        )  # fmt: skip
        for side, decided in ((A, 1), (B, 2)):
            await FeedsRepository(db, side.school.key).add_entries(
                feed.id, entries, "proposed", bot.clock()
            )
            await db.execute(
                "UPDATE feed_entries SET status = 'ignored', decided_by = ?, decided_at = ?"
                " WHERE school = ? AND number <= ?",
                (both, stored(bot.clock()), side.school.key, decided),
            )

    [answer] = await type_as(bot, both, DIRECT, "!mesdonnees")

    assert (
        "Collège Jean Moulin (0860001J)\n"
        "• Réactions enregistrées : 1 proposition triée dans la veille (✅/❌ ou commande)\n"
    ) in answer, answer
    assert (
        "Lycée Camille Guérin (0170002K)\n"
        "• Réactions enregistrées : 2 propositions triées dans la veille (✅/❌ ou commande)\n"
    ) in answer, answer
