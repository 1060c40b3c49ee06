"""`rupn-bot etablissements` and what `rupn-bot check-config` says about the schools."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import cli
from bot.school_listing import NEVER_RUN
from bot.storage.database import DATABASE_FILE, Database, stored
from tests.unit.academie_files import BASE, JEAN_MOULIN, write_academie


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_etablissements_lists_the_schools_in_aligned_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_academie(tmp_path)
    code, out, err = run(capsys, "etablissements", "--config", str(path))
    assert (code, err) == (0, "")
    assert out == (
        "Académie de Poitiers : 3 établissements, 2 administrateurs de l’académie.\n"
        "UAI       Nom                   Zone  RUPN\n"
        "0860001J  Collège Jean Moulin   A     1\n"
        "0860034V  Lycée Camille Guérin  A     2\n"
        "0750654D  Lycée Louis-le-Grand  C     1\n"
        f"{NEVER_RUN}\n"
    )


def test_etablissements_without_academie_nor_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = (BASE + JEAN_MOULIN).replace('zone = "A"\n', "")
    code, out, _ = run(capsys, "etablissements", "--config", str(write_academie(tmp_path, toml)))
    assert code == 0
    assert out == (
        "Établissements : 1 établissement.\n"
        "UAI       Nom                  Zone  RUPN\n"
        "0860001J  Collège Jean Moulin  —     1\n"
        f"{NEVER_RUN}\n"
    )


def test_etablissements_of_a_single_school_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = BASE.replace("[bot]\n", '[bot]\nadmins = ["@rupn:example.org", "@cpe:example.org"]\n')
    code, out, _ = run(
        capsys, "etablissements", "--config", str(write_academie(tmp_path, toml, csv=None))
    )
    assert code == 0
    assert out == (
        "Configuration d’un seul établissement (sans [academie] ni [[etablissements]]) : "
        "2 administrateurs dans [bot] admins.\n"
    )


async def _bot_ran(data_dir: Path) -> None:
    """What the bot wrote for Jean Moulin: a room, a post sent and one failed, a letter."""
    db = await Database.open(data_dir / DATABASE_FILE)
    at = stored(datetime(2026, 12, 4, 15, 30, tzinfo=UTC))
    try:
        async with db.transaction():
            for key in ("0860001J", "0860034V"):
                await db.execute("INSERT INTO schools (key, added_at) VALUES (?, ?)", (key, at))
            await db.execute(
                "INSERT INTO rooms (room_id, school, claimed_at) VALUES (?, '0860001J', ?)",
                ("!salle:ex.org", at),
            )
            for n, status in enumerate(("sent", "failed")):
                await db.execute(
                    "INSERT INTO posts (room_id, action, event_type, content, kind, txn_id,"
                    " status, created_at, school) VALUES ('!salle:ex.org', 'send',"
                    " 'm.room.message', '{}', 'announcement', ?, ?, ?, '0860001J')",
                    (f"txn{n}", status, at),
                )
            await db.execute(
                "INSERT INTO digest_weeks (week, outcome, decided_at, rooms, school)"
                " VALUES ('2026-W49', 'sent', ?, 1, '0860001J')",
                (at,),
            )
    finally:
        await db.close()


def test_etablissements_shows_each_schools_state_once_the_bot_ran(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_academie(tmp_path)
    asyncio.run(_bot_ran(tmp_path / "data"))
    code, out, err = run(capsys, "etablissements", "--config", str(path))
    assert (code, err) == (0, "")
    assert out.splitlines()[1:] == [
        "UAI       Nom                   Zone  RUPN  Salons  En attente  En échec  Dernière lettre",
        "0860001J  Collège Jean Moulin   A     1     1       0           1         04/12/2026",
        "0860034V  Lycée Camille Guérin  A     2     0       0           0         —",
        "0750654D  Lycée Louis-le-Grand  C     1     0       0           0         —",
    ]


def test_etablissements_reports_a_bad_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_academie(tmp_path, csv="uai;nom;rupn;zone\n0860034V;Lycée;;E\n")
    code, out, err = run(capsys, "etablissements", "--config", str(path))
    assert (code, out) == (2, "")
    assert err == (
        f"Configuration invalide ({path}) :\n"
        "  etablissements.csv, ligne 2, colonne zone : valeur attendue : « A », « B » ou « C » "
        "(reçu : « E »)\n"
    )


def test_check_config_shows_the_academie_and_a_few_schools(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = "uai;nom;rupn;zone\n" + "".join(
        f"{uai};{name};@rupn{n}:example.org;A\n"
        for n, (uai, name) in enumerate(
            [
                ("0869991T", "Collège des Tilleuls"),
                ("0869992U", "Lycée Curie"),
                ("0799993H", "Collège du Marais"),
                ("0179994W", "Lycée de l’Océan"),
            ]
        )
    )
    path = write_academie(tmp_path, csv=csv)
    code, out, _ = run(capsys, "check-config", "--config", str(path))
    assert code == 0
    lines = out.splitlines()
    assert lines[3:8] == [
        "  académie : Académie de Poitiers",
        "  administrateurs de l’académie : 2",
        "  établissements : 5 (1 dans le fichier de configuration, 4 dans le fichier CSV) : "
        "Collège Jean Moulin, Collège des Tilleuls, Lycée Curie et 2 autres",
        "  RUPN : 5",
        f"  dossier de données (data_dir) : {tmp_path / 'data'}",
    ]
    assert not any(line.startswith("  administrateurs :") for line in lines)


def test_etablissements_is_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "    etablissements\n" in out
    assert "lister les établissements servis par le bot" in out
    assert "  rupn-bot etablissements --config config.toml\n" in out
