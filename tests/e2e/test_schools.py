"""Three établissements on one shared bot: each school's rooms, numbers and posts stay its own.

Two schools come from the académie's CSV directory, one from an ``[[etablissements]]``
block; each has its RUPN, a teacher and an encrypted staff room. The RUPN of the
Tilleuls (school A) is also a member of the Curie's room (school B), where they are no
RUPN: everything they try against B is refused in French, and B's rows stay as they were.
Then, in the same scene: each school's first atelier is its n° 1; each RUPN's `!lettre
envoyer` reaches its school's room only; the DRANE's `!bilan academie` equals the sum or
median of the three schools' bilans; `!etablissements` lists them, and a school added to
the CSV is served after `!etablissements recharger`; A's RUPN, a colleague in B's room,
sees their data of both schools and erases it everywhere (B's waiting list moves up).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.router import admin_only_text
from bot.tenancy import ANOTHER_SCHOOLS_ROOM_TEXT
from devtools.botprocess import BotProcess, write_bot_config
from devtools.participant import Participant
from devtools.synapse import ThrowawaySynapse
from tests.e2e import schools_scenes as scenes
from tests.e2e.helpers import outbox_drained, query
from tests.e2e.schools_scenes import POLL_START, Academie, Side

pytestmark = pytest.mark.e2e

POLL_END = "org.matrix.msc3381.poll.end"
TEXT = "org.matrix.msc1767.text"


@pytest.fixture
async def academie(synapse: ThrowawaySynapse, tmp_path: Path) -> AsyncIterator[Academie]:
    names = ("tilleuls", "curie", "peupliers")
    bot_account, drane, newcomer, *accounts = await asyncio.gather(
        synapse.register("rupnbot.academie", "bot-secret-pw"),
        synapse.register("drane.poitiers", "pw-drane"),
        synapse.register("rupn.lilas", "pw-rupn"),
        *(
            synapse.register(f"{role}.{name}", f"pw-{role}")
            for name in names
            for role in ("rupn", "prof")
        ),
    )
    people = [
        Participant(synapse.base_url, a, tmp_path / "clients") for a in (*accounts, newcomer, drane)
    ]
    a = Side("0869991T", "Collège des Tilleuls", "Tilleuls", people[0], people[1])
    b = Side("0869992U", "Lycée Pierre et Marie Curie", "Curie", people[2], people[3])
    c = Side("0869996Y", "Collège des Peupliers", "Peupliers", people[4], people[5])
    config = write_bot_config(
        tmp_path / "bot.toml",
        homeserver=synapse.base_url,
        bot=bot_account,
        admins=[],
        data_dir=tmp_path / "botdata",
        academie={"nom": "Académie de Poitiers", "admins": [drane.user_id]},
        directory=[(s.uai, s.name, s.rupn.user_id, "A") for s in (a, b)],
        etablissements=[{"uai": c.uai, "nom": c.name, "admins": [c.rupn.user_id], "zone": "A"}],
    )
    bot = BotProcess(config, tmp_path / "bot.log")
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(bot.start())
            for person in people:
                group.create_task(person.start())
        # A's RUPN is also a member of B's room (a colleague there, not its RUPN); the
        # DRANE, of A's.
        guests = {a.room_name: [people[-1].user_id], b.room_name: [a.rupn.user_id]}
        rooms = await asyncio.gather(
            *(
                s.rupn.create_encrypted_room(
                    s.room_name, invite=[s.prof.user_id, *guests.get(s.room_name, [])]
                )
                for s in (a, b, c)
            )
        )
        for side, room_id in zip((a, b, c), rooms, strict=True):
            side.room_id = room_id
        await asyncio.gather(
            *(s.rupn.wait_joined(s.room_id, [s.prof.user_id]) for s in (a, b, c)),
            a.rupn.wait_joined(a.room_id, [people[-1].user_id]),
            b.rupn.wait_joined(b.room_id, [a.rupn.user_id]),
        )
        yield Academie(bot_account.user_id, bot, tmp_path, a, b, c, people[-1], people[-2])
    finally:
        await bot.stop()
        await asyncio.gather(*(person.stop() for person in people))


async def _rows_of(workdir: Path, uai: str) -> dict[str, list[tuple[Any, ...]]]:
    """A school's announcements, polls and rooms, as stored."""
    return {
        table: await query(workdir, f"SELECT * FROM {table} WHERE school = ? ORDER BY id", uai)  # noqa: S608 - fixed table names
        for table in ("announcements", "polls")
    } | {"rooms": await query(workdir, "SELECT * FROM rooms WHERE school = ?", uai)}


async def test_three_schools_share_a_bot_and_nothing_else(academie: Academie) -> None:
    a, b = academie.a, academie.b
    bot_id = academie.bot_id

    # Each RUPN invites the bot into their staff room: the room becomes their school's.
    await asyncio.gather(*(s.rupn.invite(s.room_id, bot_id) for s in academie.sides))
    await asyncio.gather(
        *(who.wait_joined(s.room_id, [bot_id]) for s in academie.sides for who in (s.rupn, s.prof)),
        a.rupn.wait_joined(b.room_id, [bot_id]),
    )
    owners = await query(academie.workdir, "SELECT room_id, school FROM rooms")
    assert sorted(owners) == sorted((s.room_id, s.uai) for s in academie.sides)

    # Each RUPN's announcement reaches their school's room only, each numbered 1.
    for side in academie.sides:
        reply = await academie.command(side.rupn, side.room_id, "!diffusion ajouter")
        assert reply == f"Le salon « {side.room_name} » recevra désormais les annonces."
    replies = await asyncio.gather(
        *(
            academie.command(s.rupn, s.room_id, f"!annonce Réunion ENT des {s.word} lundi")
            for s in academie.sides
        )
    )
    assert replies == [
        f"Annonce n° 1 publiée dans 1 salon : {s.room_name}." for s in academie.sides
    ]
    await asyncio.gather(*(academie.announcement_seen(s) for s in academie.sides))

    # School B's first poll is n° 1, like A's; B has a second one.
    polls = [
        (a, "Cantine des Tilleuls ?", 1),
        (b, "Sortie des Curie ?", 1),
        (b, "Conseil des Curie ?", 2),
    ]
    for side, question, number in polls:
        text = f"!sondage {question} | Oui | Non"
        assert await academie.command(side.rupn, side.room_id, text) == (
            f"Sondage n° {number} lancé. Résultats : !sondage résultats {number} ; "
            f"clôture : !sondage clore {number}."
        )
    await outbox_drained(academie.workdir)
    b_before = await _rows_of(academie.workdir, b.uai)

    # A's RUPN names B's numbers in A's room: only A's own exist there.
    assert await academie.command(a.rupn, a.room_id, "!sondage clore 2") == "Aucun sondage n° 2."
    assert await academie.command(a.rupn, a.room_id, "!annonce retirer 2") == (
        "Aucune annonce n° 2. Tapez !annonces pour voir leurs numéros."
    )
    mark = a.prof.mark()
    await a.rupn.send_text(a.room_id, "!sondage clore 1")  # typed in its room: no reply
    end = await a.prof.wait_for(lambda m: m.event_type == POLL_END, after=mark)
    assert end.room_id == a.room_id
    assert end.body.startswith("Résultats du sondage n° 1 — Cantine des Tilleuls ?\n"), end.body
    # …names B's room: refused.
    intrusion = f"!annonce dans {b.room_id} : Intrusion des Tilleuls"
    assert await academie.command(a.rupn, a.room_id, intrusion) == (
        ANOTHER_SCHOOLS_ROOM_TEXT.format(room=b.room_id)
    )
    # …types admin commands in B's room, where they are no RUPN: refused.
    for text, name in (
        ("!annonce Intrusion des Tilleuls", "annonce"),
        ("!sondage clore 2", "sondage"),
    ):
        assert await academie.command(a.rupn, b.room_id, text) == admin_only_text(name)
    # The académie's admin publishes nothing in a school either.
    drane_text = "!annonce Message de la DRANE"
    assert await academie.command(academie.drane, a.room_id, drane_text) == (
        admin_only_text("annonce")
    )

    # Nothing of B changed; A's poll 1 is closed, B's poll 1 is still open.
    await outbox_drained(academie.workdir)
    assert await _rows_of(academie.workdir, b.uai) == b_before
    statuses = await query(
        academie.workdir, "SELECT school, number, status FROM polls ORDER BY school, number"
    )
    assert statuses == [(a.uai, 1, "closed"), (b.uai, 1, "open"), (b.uai, 2, "open")]

    # What each teacher received: their school's posts only, none naming another school.
    # A last reply in each room shows that everything before it has arrived.
    for side in academie.sides:
        last = await academie.command(side.rupn, side.room_id, "!annonces")
        assert last.startswith("Annonces :\n- n° 1 (publiée, 1 salon) : Réunion ENT des "), last
    for side in academie.sides:
        seen = academie.bot_posts(side.prof)
        assert seen
        assert {m.room_id for m in seen} == {side.room_id}
        others = [s.word for s in academie.sides if s is not side]
        assert [m.body for m in seen if any(w in m.body for w in others)] == []
        started = [
            m.content[POLL_START]["question"][TEXT] for m in seen if m.event_type == POLL_START
        ]
        assert started == [question for s, question, _ in polls if s is side]
    assert [m.body for m in academie.bot_posts(b.prof) if "Intrusion" in m.body] == []

    # Scenes that touch different rows run together; the bilans count a still database.
    await asyncio.gather(
        scenes.ateliers(academie), scenes.letters(academie), scenes.vote_in_b(academie)
    )
    _, direct_room = await asyncio.gather(scenes.bilans(academie), scenes.shown(academie))
    await asyncio.gather(scenes.directory(academie), scenes.erased(academie, direct_room))
