"""The three-schools scene's cast (test_schools.py) and its scenes beyond isolation:
ateliers, letters, bilans, the directory, and a teacher of two schools erased."""

from __future__ import annotations

import asyncio
import csv
import io
import statistics
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bot.dates import format_when
from bot.school_year import school_year_of
from bot.storage.database import loaded
from devtools.botprocess import BotProcess
from devtools.participant import Participant, SeenMessage
from digests.bilan.csv_contract import as_written, csv_value, parse_value
from digests.bilan.model import INDICATORS, Value
from handlers.privacy.texts import ERASED_TEXT, SHOW_POINTER_TEXT
from handlers.workshops.texts import when_label
from tests.e2e.conftest import download
from tests.e2e.helpers import DATABASE, cells_containing, eventually, query

POLL_START = "org.matrix.msc3381.poll.start"
POLL_RESPONSE = "org.matrix.msc3381.poll.response"
PARIS = ZoneInfo("Europe/Paris")
HELD_START = "Ce que rupn-bot garde à votre sujet :"


async def uploaded_files(
    who: Participant, bot_id: str, room_id: str, text: str, name: str, after: int
) -> dict[str, bytes]:
    """`who` types `text` (a bilan command) in `room_id`: the three files whose names
    start with `name`, decrypted."""
    await who.send_text(room_id, text)
    files: dict[str, bytes] = {}

    def uploaded(message: SeenMessage) -> bool:
        return (
            message.sender == bot_id
            and message.room_id == room_id
            and message.msgtype == "m.file"
            and message.body.startswith(name)
            and message.body not in files
        )

    for _ in range(3):
        upload = await who.wait_for(uploaded, after=after, timeout=60)
        files[upload.body] = await download(who, upload)
    return files


def csv_of(files: dict[str, bytes]) -> dict[str, str]:
    """The `cle` → `valeur` of the bilan's CSV among `files`."""
    [data] = [v for k, v in files.items() if k.endswith(".csv")]
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["section", "cle", "indicateur", "valeur"]
    return {row[1]: row[3] for row in rows[1:]}


def academie_expected(schools: list[dict[str, str]]) -> dict[str, str]:
    """The académie's CSV values computed from its schools' CSVs: a count's total, the
    median of the schools measured otherwise; how many schools have each above zero."""
    expected = {"etablissements_servis": str(len(schools))}
    for indicator in INDICATORS:
        values = [parse_value(school[indicator.key]) for school in schools]
        measured = [v for v in values if v is not None]
        value: Value
        if indicator.summed:
            value = sum(measured)
        else:
            value = as_written(statistics.median(measured)) if measured else None
        expected[indicator.key] = csv_value(value)
        expected[f"{indicator.key}_etablissements"] = str(sum(1 for v in measured if v > 0))
    return expected


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


async def ateliers(academie: Academie) -> None:
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


async def letters(academie: Academie) -> None:
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


async def bilans(academie: Academie) -> None:
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


async def directory(academie: Academie) -> None:
    """The DRANE lists the schools; a school added to the CSV, then reloaded: its RUPN
    invites the bot, who obeys them."""
    drane, a_room, newcomer = academie.drane, academie.a.room_id, academie.newcomer
    listing = (await academie.command(drane, a_room, "!etablissements")).splitlines()
    # (A post may still wait in a school's outbox: « , 1 envoi en attente » after its rooms.)
    assert [line.split(", ")[0] for line in listing] == [
        "Établissements servis (3) :",
        "- Collège des Peupliers (0869996Y) : 1 salon",
        "- Collège des Tilleuls (0869991T) : 1 salon",
        "- Lycée Pierre et Marie Curie (0869992U) : 1 salon",
        "Le détail d’un établissement : !etablissements <UAI ou nom>.",
    ]
    detail = await academie.command(drane, a_room, "!etablissements tilleuls")
    assert detail.startswith("Collège des Tilleuls (0869991T) : zone A, 1 RUPN.\nSalons : 1 (« "), (
        detail
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


async def vote_in_b(academie: Academie) -> None:
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


async def shown(academie: Academie) -> str:
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


async def erased(academie: Academie, direct_room: str) -> None:
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
