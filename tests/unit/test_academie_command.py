"""`!bilan academie`: the académie's bilan over the schools a shared bot serves, for the
académie's admins only; `!bilan` of a school with a UAI names it in its files."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import itertools
import json
import logging
import statistics
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot import cli
from bot.domain import IncomingMessage, SyncBatch
from bot.messenger import UPLOAD_KEY
from bot.router import admin_only_text
from bot.school_year import SchoolYear
from bot.storage.bilan import BilanRepository
from bot.storage.database import Database
from digests.bilan.build import build_bilan
from digests.bilan.csv_contract import as_written, csv_value
from digests.bilan.model import INDICATORS, Value
from handlers.bilan import ACADEMIE_ONLY_TEXT
from tests.unit.academie_files import ACADEMIE, BASE, JEAN_MOULIN, write_academie
from tests.unit.two_schools import BOT, PARIS, A, B, TwoSchools, populate

DRANE = "@drane:ac-exemple.fr"
DIRECT = "!drane-direct:ac-exemple.fr"
YEAR = SchoolYear(2026, 9, 1)  # the fake clock is on 22 November 2026
_ids = itertools.count(1)


def academie_bot(db: Database) -> TwoSchools:
    bot = TwoSchools(db)
    bot.settings = replace(
        bot.settings, academie_admins=frozenset({DRANE}), academie_name="Académie de Poitiers"
    )
    bot.info.rooms.append(DIRECT)
    bot.info.members[DIRECT] = [BOT, DRANE]
    return bot


async def typed(bot: TwoSchools, sender: str, room: str, body: str) -> list[dict[str, object]]:
    """`sender` types `body` in `room`: the contents of the posts it queued there."""
    before = await bot.db.fetchone("SELECT COALESCE(MAX(id), 0) AS n FROM posts")
    event = IncomingMessage(room, f"$a{next(_ids)}", sender, body, bot.clock())
    await bot.processor().process(SyncBatch(f"a{next(_ids)}", (event,), (), False))
    rows = await bot.db.fetchall(
        "SELECT content FROM posts WHERE id > ? AND room_id = ? ORDER BY id",
        (before["n"] if before else 0, room),
    )
    return [json.loads(r["content"]) for r in rows]


def csv_of(posts: list[dict[str, object]]) -> dict[str, str]:
    [posted] = [p for p in posts if str(p["body"]).endswith(".csv")]
    upload = posted[UPLOAD_KEY]
    assert isinstance(upload, dict)
    text = base64.b64decode(upload["data"]).decode("utf-8-sig")
    return {row[1]: row[3] for row in csv.reader(io.StringIO(text), delimiter=";")}


async def test_the_academie_bilan_adds_up_the_schools_bilans(db: Database) -> None:
    bot = academie_bot(db)
    await populate(bot)
    await bot.say(B, "!annonce Une annonce de plus", "!sondage Encore ? | oui | non")
    await bot.deliver_all()

    posts = await typed(bot, DRANE, DIRECT, "!bilan academie")
    assert [p["body"] for p in posts][1:] == [
        "bilan-academie-2026-2027.html",
        "bilan-academie-2026-2027.csv",
        "bilan-academie-2026-2027.md",
    ]
    assert "Académie de Poitiers" in str(posts[0]["body"])
    academie = csv_of(posts)

    bilans = [
        await build_bilan(BilanRepository(db, s.key), YEAR, bot.clock(), PARIS, s)
        for s in (A.school, B.school)
    ]
    assert (academie["etablissements_servis"], academie["etablissements_actifs"]) == ("2", "2")
    assert (academie["annonces_publiees"], academie["sondages"]) == ("3", "5")
    for indicator in INDICATORS:
        values = [as_written(b.values[indicator.key]) for b in bilans]
        measured = [v for v in values if v is not None]
        expected: Value
        if indicator.summed:
            expected = sum(measured)
        else:
            expected = statistics.median(measured) if measured else None
        assert academie[indicator.key] == csv_value(expected), indicator.key
        concerned = sum(1 for v in measured if v > 0)
        assert academie[f"{indicator.key}_etablissements"] == str(concerned), indicator.key


async def test_the_academie_bilan_of_a_year_without_activity_is_one_sentence(
    db: Database,
) -> None:
    posts = await typed(academie_bot(db), DRANE, DIRECT, "!bilan académie 2026-2027")
    assert [p["body"] for p in posts] == ["Aucune activité enregistrée pour 2026-2027."]


async def test_only_the_academie_admins_get_the_academie_bilan(db: Database) -> None:
    bot = academie_bot(db)
    await populate(bot)
    assert await bot.say(A, "!bilan academie") == [ACADEMIE_ONLY_TEXT]
    teacher = await typed(bot, A.teacher, A.room, "!bilan academie")
    assert [p["body"] for p in teacher] == [admin_only_text("bilan")]
    # The académie's admin is no school's RUPN: a school's bilan is not theirs to ask.
    drane = await typed(bot, DRANE, DIRECT, "!bilan")
    assert [p["body"] for p in drane] == [admin_only_text("bilan")]


async def test_a_school_bilan_is_named_after_its_school(db: Database) -> None:
    bot = academie_bot(db)
    await populate(bot)
    posts = await typed(bot, A.rupn, A.room, "!bilan")
    assert [p["body"] for p in posts][1:] == [
        "bilan-0860001J-2026-2027.html",
        "bilan-0860001J-2026-2027.csv",
        "bilan-0860001J-2026-2027.md",
    ]
    assert csv_of(posts)["uai"] == "0860001J"


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """`rupn-bot bilan` installs its log handler: the next tests get the root logger back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def shared_config(directory: Path, extra: str = ACADEMIE + JEAN_MOULIN) -> Path:
    """The académie of academie_files.py, its database the `db` fixture's (tmp_path)."""
    return write_academie(directory, BASE + '[storage]\ndata_dir = "."\n' + extra)


@pytest.mark.usefixtures("logging_restored")
async def test_rupn_bot_bilan_academie_reads_the_shared_database(
    db: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot = academie_bot(db)
    await populate(bot)  # A is the Collège Jean Moulin of the configuration; B is not served
    monkeypatch.setattr(cli, "system_clock", bot.clock)
    out = tmp_path / "bilans"
    argv = ["bilan", "--academie", "--config", str(shared_config(tmp_path)), "--sortie", str(out)]
    assert await asyncio.to_thread(cli.main, argv) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[-4:] == [
        f"Bilan de l’académie 2026-2027 écrit dans {out} :",
        "  bilan-academie-2026-2027.html",
        "  bilan-academie-2026-2027.csv",
        "  bilan-academie-2026-2027.md",
    ]
    text = (out / "bilan-academie-2026-2027.csv").read_bytes().decode("utf-8-sig")
    academie = {row[1]: row[3] for row in csv.reader(io.StringIO(text), delimiter=";")}
    moulin = await build_bilan(BilanRepository(db, A.school.key), YEAR, bot.clock(), PARIS)
    assert academie["etablissements_servis"] == "3"
    assert academie["annonces_publiees"] == csv_value(moulin.values["annonces_publiees"]) == "1"
    assert academie["sondages"] == csv_value(moulin.values["sondages"]) == "2"
    # Only read: nothing queued.
    assert await db.fetchall("SELECT id FROM posts WHERE kind LIKE 'bilan%'") == []
    assert "Académie de Poitiers" in (out / "bilan-academie-2026-2027.md").read_text("utf-8")


@pytest.mark.usefixtures("logging_restored")
async def test_rupn_bot_bilan_academie_needs_a_shared_configuration(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    single = BASE.replace("[bot]\n", '[bot]\nadmins = ["@rupn:example.org"]\n')
    config = write_academie(tmp_path, single + '[storage]\ndata_dir = "."\n', csv=None)
    argv = ["bilan", "--academie", "--config", str(config)]
    assert await asyncio.to_thread(cli.main, argv) == 1
    assert capsys.readouterr().err == (
        "Le bilan de l’académie réunit les établissements de [[etablissements]] ou de "
        "l’annuaire de [academie] : cette configuration n’en sert qu’un. Tapez « rupn-bot "
        "bilan » sans --academie, ou --academie --csv DOSSIER avec les bilans CSV des "
        "établissements.\n"
    )
