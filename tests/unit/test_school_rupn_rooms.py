"""Every feature tells a named school's RUPN in the same rooms (bot/rupn_rooms.py): the
room chosen with `!veille ici`, else a direct room with each of its RUPN; never the config
file's curation room, which is the implicit school's (issue 18)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime

from bot.context import Settings
from bot.direct import DirectRooms
from bot.domain import KeyWithheld, SyncBatch
from bot.storage.database import Database
from bot.storage.digests import MAIL_KIND
from bot.storage.posts import PostsRepository
from bot.work import Units
from digests.send import REF
from handlers.decryption import ALERT_KIND, alert_text
from handlers.letter.weekly import mail_settled
from handlers.workshops.reminders import MINIMUM_KIND, follow_up
from tests.unit.harness import make_units
from tests.unit.two_schools import BOT, A, B, TwoSchools

SORTING_B = "!tri-b:ac-exemple.fr"  # a room of B's RUPN with the bot, without teachers
CONFIG_CURATION = "!tri-config:ac-exemple.fr"  # [bot] curation_room: the implicit school's
DIRECT_B = "!direct-rupn-b:ac-exemple.fr"
# Thursday 10 December 17h (Paris), the atelier's start, less 48 hours: its minimum is checked.
MINIMUM_CHECK = datetime(2026, 12, 8, 16, 0, tzinfo=UTC)
MINIMUM_TEXT = (
    "L’atelier n° 1 « Pix » n’a que 0 inscrit pour un minimum de 4. Confirmez-le en ne "
    "faisant rien, ou annulez-le : !atelier annuler 1."
)
_ids = itertools.count(1)


async def _open(user: str, name: str) -> str:
    assert (user, name) == (B.rupn, "rupn-bot")
    return DIRECT_B


def school_b(bot: TwoSchools) -> Units:
    """B's units in a bot serving both schools, able to open direct rooms."""
    units = make_units(
        bot.db, bot.settings, bot.info, bot.clock, direct_rooms=DirectRooms(bot.db, _open)
    )
    units.serve((A.school, B.school))
    return units.for_school(B.school)


async def both_schools(db: Database, *, b_sorts_in_its_room: bool) -> TwoSchools:
    """The config file names a curation room (the implicit school's); B announced an atelier
    « Pix » with a minimum of 4 in its staff room, and chose `SORTING_B` with `!veille ici`
    when told."""
    bot = TwoSchools(db)
    bot.settings = Settings(
        admins=frozenset(), tz=bot.settings.tz, bot_user_id=BOT,
        assistance=bot.settings.assistance, curation_rooms=(CONFIG_CURATION,),
    )  # fmt: skip
    bot.info.rooms += [SORTING_B, DIRECT_B]
    bot.info.members[SORTING_B] = [BOT, B.rupn]
    bot.info.members[DIRECT_B] = [BOT, B.rupn]
    bot.info.names[SORTING_B] = "Tri de la veille"
    await bot.invite(B)
    replies = await bot.say(
        B, "!diffusion ajouter", "!atelier jeudi 10 décembre 17h | Pix | CDI | minimum 4"
    )
    assert len(replies) == 2
    if b_sorts_in_its_room:
        assert await bot.say(B, "!veille ici", room=SORTING_B) == [
            "Le salon « Tri de la veille » recevra désormais les propositions de la veille "
            "(articles à publier ou à écarter) et les alertes sur les sources."
        ]
    await bot.deliver_all()
    return bot


async def posts_of(db: Database, kind: str) -> list[tuple[str, str]]:
    rows = await db.fetchall(
        "SELECT room_id, content FROM posts WHERE kind = ? ORDER BY id", (kind,)
    )
    return [(str(r["room_id"]), str(json.loads(r["content"])["body"])) for r in rows]


async def withhold_keys(bot: TwoSchools) -> None:
    """B's teacher's app refuses the bot its keys in B's staff room."""
    event = KeyWithheld(B.room, B.teacher, "s1", "m.unverified", "", bot.clock())
    await bot.processor().process(SyncBatch(f"k{next(_ids)}", (event,), (), False))


async def fail_a_letter_mail(bot: TwoSchools) -> None:
    """B's letter could not be mailed (the relay refused the login): the hook runs."""
    units = school_b(bot)
    async with units.unit() as scope:
        txn = scope.messenger.send_mail("Lettre", "Un mot", "", kind=MAIL_KIND, ref=(REF, 1))
    async with bot.db.transaction():
        row = await bot.db.fetchone("SELECT id FROM posts WHERE txn_id = ?", (txn,))
        assert row is not None
        await PostsRepository(bot.db).mark_failed(int(row[0]), "SMTP_AUTH")
        [post] = await PostsRepository(bot.db).by_ref(REF, 1)
    await mail_settled(units, post)


async def test_a_named_school_is_told_in_the_room_its_rupn_chose(db: Database) -> None:
    bot = await both_schools(db, b_sorts_in_its_room=True)
    await withhold_keys(bot)
    bot.clock.now = MINIMUM_CHECK
    await follow_up(school_b(bot))
    await fail_a_letter_mail(bot)
    alert = alert_text(
        KeyWithheld(B.room, B.teacher, "s1", "m.unverified", "", bot.clock()),
        "Salle des profs B",
        (B.rupn,),
    )
    assert await posts_of(db, ALERT_KIND) == [(SORTING_B, alert)]
    assert await posts_of(db, MINIMUM_KIND) == [(SORTING_B, MINIMUM_TEXT)]
    [(room, report)] = await posts_of(db, "digest-report")
    assert room == SORTING_B
    assert report.startswith("La lettre n’a pas pu partir par courriel : ")


async def test_a_named_school_without_a_sorting_room_tells_its_rupn_directly(
    db: Database,
) -> None:
    bot = await both_schools(db, b_sorts_in_its_room=False)
    bot.clock.now = MINIMUM_CHECK
    await follow_up(school_b(bot))  # opens the direct room with B's RUPN
    await withhold_keys(bot)  # an event cannot open one: it uses the one now open
    await fail_a_letter_mail(bot)
    assert [room for room, _ in await posts_of(db, MINIMUM_KIND)] == [DIRECT_B]
    assert [room for room, _ in await posts_of(db, ALERT_KIND)] == [DIRECT_B]
    assert [room for room, _ in await posts_of(db, "digest-report")] == [DIRECT_B]
    # The direct room of a RUPN of B only is B's: commands typed there act for B.
    owner = await db.fetchone("SELECT school FROM rooms WHERE room_id = ?", (DIRECT_B,))
    assert owner is not None and owner["school"] == B.school.key
