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
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from bot.dates import format_when
from bot.router import admin_only_text
from bot.school_year import school_year_of
from bot.storage.database import loaded
from bot.tenancy import ANOTHER_SCHOOLS_ROOM_TEXT
from devtools.botprocess import BotProcess, write_bot_config
from devtools.participant import Participant, SeenMessage
from devtools.synapse import ThrowawaySynapse
from handlers.privacy.texts import ERASED_TEXT, SHOW_POINTER_TEXT
from handlers.workshops.texts import when_label
from tests.e2e.helpers import DATABASE, cells_containing, eventually, outbox_drained, query
from tests.e2e.schools_scenes import academie_expected, csv_of, uploaded_files

pytestmark = pytest.mark.e2e

POLL_START = "org.matrix.msc3381.poll.start"
POLL_END = "org.matrix.msc3381.poll.end"
POLL_RESPONSE = "org.matrix.msc3381.poll.response"
TEXT = "org.matrix.msc1767.text"
PARIS = ZoneInfo("Europe/Paris")
HELD_START = "Ce que rupn-bot garde à votre sujet :"


@dataclass
class Side:
    """One établissement of the scene."""

    uai: str
    name: str
    word: str  # in every text of this school, and in no other school's
    rupn: Participant
    prof: Participant
    room_id: str = ""

    @property
    def room_name(self) -> str:
        return f"Salle des professeurs {self.word}"


@dataclass
class Academie:
    bot_id: str
    bot: BotProcess
    workdir: Path
    a: Side  # CSV
    b: Side  # CSV
    c: Side  # TOML
    drane: Participant  # the académie's admin, a member of A's room
    newcomer: Participant  # the RUPN of a school added to the directory while the bot runs

    @property
    def sides(self) -> tuple[Side, Side, Side]:
        return self.a, self.b, self.c

    async def command(self, who: Participant, room_id: str, text: str) -> str:
        """`who` types `text` in `room_id`; the body of the bot's reply."""
        return (await who.send_and_wait_reply(room_id, text, self.bot_id, 30)).body

    async def announcement_seen(self, side: Side) -> SeenMessage:
        """Until `side`'s teacher sees their school's announcement in their room."""
        text = f"Réunion ENT des {side.word} lundi"
        return await side.prof.wait_for(
            lambda m: m.room_id == side.room_id and m.sender == self.bot_id and m.body == text
        )

    def bot_posts(self, who: Participant) -> list[SeenMessage]:
        return [m for m in who.messages if m.sender == self.bot_id]


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
    await asyncio.gather(_ateliers(academie), _letters(academie), _vote_in_b(academie))
    _, direct_room = await asyncio.gather(_bilans(academie), _shown(academie))
    await asyncio.gather(_directory(academie), _erased(academie, direct_room))


async def _ateliers(academie: Academie) -> None:
    """Each school's first atelier is its n° 1; `!inscription 1` acts on the atelier of
    the room's school. A's RUPN, a colleague in B's room, takes the one place of B's; B's
    teacher waits for it."""
    a, b = academie.a, academie.b
    starts = datetime.combine((datetime.now(PARIS) + timedelta(days=7)).date(), time(12, 30))
    starts = starts.replace(tzinfo=PARIS)
    day = f"{starts.day}/{starts.month} 12h30"
    replies = await asyncio.gather(
        *(
            academie.command(side.rupn, side.room_id, f"!atelier {day} | {what} malgré-vacances")
            for side, what in ((a, "Scratch | CDI | 12 places"), (b, "Pix | CDI | 1 place"))
        )
    )
    assert replies == [
        f"Atelier n° 1 annoncé dans 1 salon : {side.room_name}. Pour le modifier : "
        "!atelier modifier 1 <quand> [| lieu] ; pour l’annuler : !atelier annuler 1."
        for side in (a, b)
    ]
    when = when_label(starts, PARIS, datetime.now(PARIS))
    signed = ((a.prof, a), (a.rupn, b))
    replies = await asyncio.gather(
        *(academie.command(who, side.room_id, "!inscription 1") for who, side in signed)
    )
    assert replies == [
        f"{who.user_id} : inscription confirmée à l’atelier n° 1 ({when})." for who, _ in signed
    ]
    assert await academie.command(b.prof, b.room_id, "!inscription 1") == (
        f"{b.prof.user_id} : l’atelier n° 1 ({when}) est complet : vous êtes sur liste "
        "d’attente (position 1)."
    )
    signups = await query(
        academie.workdir,
        "SELECT w.school, w.theme, s.user_id, s.status FROM workshop_signups AS s"
        " JOIN workshops AS w ON w.id = s.workshop_id ORDER BY w.school, s.id",
    )
    assert signups == [
        (a.uai, "Scratch", a.prof.user_id, "confirmed"),
        (b.uai, "Pix", a.rupn.user_id, "confirmed"),
        (b.uai, "Pix", b.prof.user_id, "waiting"),
    ]


async def _letters(academie: Academie) -> None:
    """`!lettre envoyer` by each RUPN: the school's letter, in its room only."""
    marks = [s.prof.mark() for s in academie.sides]
    replies = await asyncio.gather(
        *(academie.command(s.rupn, s.room_id, "!lettre envoyer") for s in academie.sides)
    )
    assert replies == ["Lettre envoyée dans 1 salon. Elle compte pour cette semaine."] * 3
    for side, mark in zip(academie.sides, marks, strict=True):
        letter = await side.prof.wait_for(
            lambda m: m.sender == academie.bot_id and m.body.startswith("📬 La lettre numérique"),
            after=mark,
        )
        assert letter.room_id == side.room_id
        assert f"Réunion ENT des {side.word} lundi" in letter.body
        assert [s.word for s in academie.sides if s.word in letter.body] == [side.word]
    weeks = await query(academie.workdir, "SELECT school, outcome FROM digest_weeks")
    assert sorted(weeks) == sorted((s.uai, "sent") for s in academie.sides)


async def _bilans(academie: Academie) -> None:
    """Each RUPN's `!bilan`, and the DRANE's `!bilan academie`: the académie's figures are
    the schools' totals (counts) and medians (the others)."""
    marks = [s.rupn.mark() for s in academie.sides]
    drane, bot_id, a_room = academie.drane, academie.bot_id, academie.a.room_id
    drane_mark = drane.mark()
    *schools, total = await asyncio.gather(
        *(
            uploaded_files(s.rupn, bot_id, s.room_id, "!bilan", f"bilan-{s.uai}-", mark)
            for s, mark in zip(academie.sides, marks, strict=True)
        ),
        uploaded_files(drane, bot_id, a_room, "!bilan academie", "bilan-academie-", drane_mark),
    )
    label = school_year_of(datetime.now(PARIS), PARIS).label
    assert sorted(total) == [f"bilan-academie-{label}.{ext}" for ext in ("csv", "html", "md")]
    figures = csv_of(total)
    expected = academie_expected([csv_of(files) for files in schools])
    assert {key: figures[key] for key in expected} == expected
    assert figures["annonces_publiees"] == "3"


async def _directory(academie: Academie) -> None:
    """The DRANE lists the schools; a school added to the CSV, then reloaded: its RUPN
    invites the bot, who obeys them."""
    drane, a_room, newcomer = academie.drane, academie.a.room_id, academie.newcomer
    listing = await academie.command(drane, a_room, "!etablissements")
    assert listing == (
        "Établissements servis (3) :\n"
        "- Collège des Peupliers (0869996Y) : 1 salon\n"
        "- Collège des Tilleuls (0869991T) : 1 salon\n"
        "- Lycée Pierre et Marie Curie (0869992U) : 1 salon"
    )
    csv = academie.workdir / "etablissements.csv"
    line = f"0869993V;Collège des Lilas;{newcomer.user_id};A\n"
    csv.write_text(csv.read_text(encoding="utf-8") + line, encoding="utf-8")
    assert await academie.command(drane, a_room, "!etablissements recharger") == (
        "Annuaire des établissements rechargé : 4 établissements (1 ajouté)."
    )
    room = await newcomer.create_encrypted_room("Salle des professeurs Lilas")
    await newcomer.invite(room, academie.bot_id)
    await newcomer.wait_joined(room, [academie.bot_id])
    assert await academie.command(newcomer, room, "!diffusion ajouter") == (
        "Le salon « Salle des professeurs Lilas » recevra désormais les annonces."
    )
    assert await query(academie.workdir, "SELECT school FROM rooms WHERE room_id = ?", room) == [
        ("0869993V",)
    ]


async def _vote_in_b(academie: Academie) -> None:
    """A's RUPN, a colleague in B's room, answers B's poll there."""
    a, b = academie.a, academie.b
    start = next(
        m for m in a.rupn.messages if m.event_type == POLL_START and m.room_id == b.room_id
    )
    answer = {"answers": [start.content[POLL_START]["answers"][0]["id"]]}
    relation = {"rel_type": "m.reference", "event_id": start.event_id}
    await a.rupn.send_event(
        b.room_id, POLL_RESPONSE, {"m.relates_to": relation, POLL_RESPONSE: answer}
    )

    async def voted() -> bool:
        rows = await query(academie.workdir, "SELECT voter FROM poll_responses")
        return rows == [(a.rupn.user_id,)]

    await eventually(voted, what="the vote in B's poll")


async def _shown(academie: Academie) -> str:
    """Asked in B's room, what the bot holds about A's RUPN is shown privately: their
    data of both schools, each named. Returns the direct room."""
    a, b = academie.a, academie.b
    [(stored_start,)] = await query(
        academie.workdir, "SELECT starts_at FROM workshops WHERE school = ?", b.uai
    )
    mark = a.rupn.mark()
    assert await academie.command(a.rupn, b.room_id, "!mesdonnees") == SHOW_POINTER_TEXT
    held = await a.rupn.wait_for(
        lambda m: m.sender == academie.bot_id and m.body.startswith(HELD_START), after=mark
    )
    in_a, in_b = held.body.split("\n\nLycée Pierre et Marie Curie (0869992U)\n")
    assert in_a.startswith(f"{HELD_START}\n\nCollège des Tilleuls (0869991T)\n"), in_a
    assert "• Ce que vous avez créé : " in in_a
    assert "Curie" not in in_a
    assert in_b.startswith(
        "• Inscriptions aux ateliers et cafés numériques (1) :\n"
        f"  – atelier « Pix », {format_when(loaded(stored_start), PARIS, with_year=True)} : "
        "inscription confirmée\n"
        "• Réponses aux sondages (1) :\n  – « Sortie des Curie ? » : Oui ("
    ), in_b
    assert "Tilleuls" not in in_b
    return held.room_id


async def _erased(academie: Academie, direct_room: str) -> None:
    """`!mesdonnees effacer` typed in their direct room (a room of no school) erases A's
    RUPN in both schools: B's teacher gets B's place, and no cell of any table holds
    their user id."""
    a, b = academie.a, academie.b
    mark, b_mark = a.rupn.mark(), b.prof.mark()
    # Neither a reply nor a mention: the answer quotes none of the person's events.
    await a.rupn.send_text(direct_room, "!mesdonnees effacer")
    confirmation = await a.rupn.wait_for(
        lambda m: m.sender == academie.bot_id and m.body == ERASED_TEXT, after=mark
    )
    assert confirmation.room_id == direct_room
    promoted = await b.prof.wait_for(
        lambda m: m.sender == academie.bot_id and "une place s’est libérée" in m.body,
        after=b_mark,
    )
    assert (promoted.room_id, promoted.body) == (
        b.room_id,
        f"{b.prof.user_id} : une place s’est libérée, votre inscription à l’atelier n° 1 "
        "est confirmée.",
    )
    needles = [a.rupn.user_id, quote(a.rupn.user_id, safe="")]
    database = academie.workdir / DATABASE

    async def no_trace() -> bool:
        found = await asyncio.to_thread(cells_containing, database, needles)
        assert found == [], found
        return True

    await eventually(no_trace, what="no cell with their user id")
