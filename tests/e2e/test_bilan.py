"""The engagement log and the bilan, end to end: the real bot, a real Synapse,
encrypted rooms, nio teachers who read and react.

1. Two announcements; Inès's receipt on the second covers the first too (a marker),
   Paul's covers the first only: the readers are counted per post. Her 👍, 👍🏽, 👍\ufe0f
   and « 👍 » on the first are kept as four events and count as one 👍, her 🎉 as one.
2. `!bilan` answers its ten-line summary (exact text), then uploads three encrypted
   files the RUPN's client decrypts: the CSV with its BOM and `;`, the HTML with pygal's
   SVG and no script, and no user id anywhere.
(The erasure of a teacher's data is proven in test_privacy.py.)
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.dates import format_day
from bot.school_year import school_year_of
from devtools.botprocess import write_bot_config
from devtools.participant import Participant, SeenMessage
from devtools.synapse import ThrowawaySynapse
from tests.e2e.conftest import StaffRoom, close_staff_room, download, make_staff_room
from tests.e2e.helpers import eventually, query

THUMBS_UP = "👍"
PARIS = ZoneInfo("Europe/Paris")
MATRIX_ID = re.compile(r"@[A-Za-z0-9._=/+-]+:[A-Za-z0-9.-]+")


async def bilan_files(room: StaffRoom, rupn: Participant) -> dict[str, bytes]:
    return (await bilan_summary_and_files(room, rupn))[1]


async def bilan_summary_and_files(
    room: StaffRoom, rupn: Participant
) -> tuple[str, dict[str, bytes]]:
    mark = rupn.mark()
    summary = await rupn.send_and_wait_reply(room.room_id, "!bilan", room.bot_id, 60)
    assert summary.msgtype == "m.notice"
    files: dict[str, bytes] = {}

    def uploaded(message: SeenMessage) -> bool:
        return message.sender == room.bot_id and message.msgtype == "m.file"

    for _ in range(3):
        upload = await rupn.wait_for(
            lambda m: uploaded(m) and m.body not in files, after=mark, timeout=60
        )
        files[upload.body] = await download(rupn, upload)
    return summary.body, files


def expected_summary(today: date) -> str:
    """The summary of scene 1's year so far: the first line dated today (Paris)."""
    year = school_year_of(datetime.combine(today, time(12), PARIS), PARIS)
    name = f"bilan-{year.label}"
    return (
        f"📊 Bilan du numérique {year.label}, du 1er septembre {year.first} au "
        f"{format_day(today)} {today.year} (année en cours)\n"
        "Diffusion : 2 annonces dans 1 salon ; au moins 1 lecteur par annonce en médiane "
        "(75\u00a0% des membres) ; 2 réactions.\n"
        "Lettre de la semaine : 0 envoi.\n"
        "Veille : 0 source ; 0 article reçu, 0 proposé au tri, 0 publié, 0 écarté.\n"
        "Cafés numériques : 0 café, 0 participant.\n"
        "Mini-ateliers : 0 atelier (0 à la demande, 0 proposé), 0 annulé faute d’inscrits ; "
        "0 inscrit, 0 présent.\n"
        "Créneaux : 0 sur la pause méridienne, 0 en fin de journée, 0 autre ; satisfaction : "
        "pas de réponse.\n"
        "Besoins : 0 sondage.\n"
        f"Fichiers ci-dessous : {name}.html (à imprimer ou enregistrer en PDF), {name}.csv "
        f"(tableur), {name}.md (à coller).\n"
        "Aucun nom dans ce bilan ; les lectures sont des minimums (les accusés de lecture "
        "privés ne parviennent pas au bot)."
    )


def csv_values(data: bytes) -> dict[str, str]:
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["section", "cle", "indicateur", "valeur"]
    return {row[1]: row[3] for row in rows[1:]}


async def test_readers_and_bilan(synapse: ThrowawaySynapse, tmp_path: Path) -> None:
    room = await make_staff_room(synapse, tmp_path)
    rupn, ines, paul, bot = room.rupn, room.prof1, room.prof2, room.bot_id
    try:
        write_bot_config(
            room.bot.config_path,
            homeserver=synapse.base_url,
            bot=room.bot_account,
            admins=[rupn.user_id],
            data_dir=room.workdir / "botdata",
            bot_extra={"broadcast_rooms": [room.room_id]},
        )
        await room.bot.start()
        await room.wait_bot_joined()

        # 1. Two announcements, read receipts as markers.
        await rupn.send_text(room.room_id, "!annonce Réunion ENT lundi à 17h")
        first = await ines.wait_for(lambda m: m.sender == bot and "Réunion ENT" in m.body)
        await rupn.send_text(room.room_id, "!annonce Charte des tablettes : à lire")
        second = await ines.wait_for(lambda m: m.sender == bot and "Charte" in m.body)
        await paul.wait_for(lambda m: m.event_id == second.event_id)
        await ines.client.room_read_markers(room.room_id, second.event_id, second.event_id)
        await paul.client.room_read_markers(room.room_id, first.event_id, first.event_id)
        # Her 👍 four times over (Synapse refuses only byte-identical keys), and a 🎉.
        for key in (THUMBS_UP, "👍🏽", "👍\ufe0f", "👍 ", "🎉"):
            await ines.send_event(
                room.room_id,
                "m.reaction",
                {"m.relates_to": {"rel_type": "m.annotation", "event_id": first.event_id,
                                  "key": key}},
            )  # fmt: skip

        async def reactions() -> list[tuple[str, int, int]]:
            rows = await query(
                room.workdir,
                "SELECT reaction_key, COUNT(*), TOTAL(counted) FROM post_reactions"
                " GROUP BY reaction_key ORDER BY reaction_key",
            )
            return [(str(r[0]), int(r[1]), int(r[2])) for r in rows]

        async def all_kept() -> bool:
            return sum(events for _, events, _ in await reactions()) == 5

        await eventually(all_kept, what="her five reaction events kept")
        assert await reactions() == [("🎉", 1, 1), (THUMBS_UP, 4, 1)]

        async def readers() -> list[tuple[int, int]]:
            rows = await query(
                room.workdir,
                "SELECT s.readers, s.members FROM post_stats AS s JOIN posts AS p"
                " ON p.id = s.post_id WHERE p.kind = 'announcement' ORDER BY s.post_id",
            )
            return [(int(r[0]), int(r[1])) for r in rows]

        async def counted() -> bool:
            # 3 members without the bot; the author (the RUPN) never counts as a reader.
            return await readers() == [(2, 3), (1, 3)]

        await eventually(counted, what="Inès and Paul on the first post, Inès on the second")

        # 2. The bilan: its summary, then files the RUPN's client decrypts.
        summary, files = await bilan_summary_and_files(room, rupn)
        today = datetime.now(PARIS).date()
        assert summary == expected_summary(today)
        label = school_year_of(datetime.combine(today, time(12), PARIS), PARIS).label
        assert sorted(files) == [f"bilan-{label}.{ext}" for ext in ("csv", "html", "md")]
        values = csv_values(next(v for k, v in files.items() if k.endswith(".csv")))
        assert values["annonces_publiees"] == "2"
        assert values["lecteurs_median"] == "1,5"
        assert values["reactions"] == "2"  # one 👍 and one 🎉 of Inès
        html = next(v for k, v in files.items() if k.endswith(".html")).decode()
        assert "<svg" in html and "<script" not in html.lower()
        for data in files.values():
            text = data.decode("utf-8-sig")
            for person in (rupn, ines, paul):
                assert person.user_id not in text
            assert bot not in text
            assert MATRIX_ID.search(text) is None

    finally:
        await close_staff_room(room)
