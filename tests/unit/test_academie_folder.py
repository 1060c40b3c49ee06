"""`rupn-bot bilan --academie --csv DIR`: a folder of school CSV files gives the académie's
bilan, the same as a shared bot would; every bad file is refused in French, with its line.

The proof: three schools' years seeded in three databases (one busy, one small, one
idle), each school's bilan built and its CSV written as `!bilan` writes it; the folder's
académie equals, to the byte, the académie of the three `Bilan`s given directly.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import cli
from bot.school_year import SchoolYear
from bot.schools import School
from bot.storage.bilan import BilanRepository
from bot.storage.database import Database
from digests.bilan.academie import aggregate
from digests.bilan.academie_folder import FolderError, read_folder
from digests.bilan.academie_render import academie_bilan
from digests.bilan.build import build_bilan
from digests.bilan.csv_contract import about_rows, as_written, csv_bytes, indicator_rows
from digests.bilan.model import INDICATORS, Bilan, Value
from digests.bilan.offline import write_academie_bilan
from digests.bilan.render import render_bilan
from digests.preview import PreviewError
from tests.unit.test_bilan import R1, R2, Seeder, at, seed_year

PARIS = ZoneInfo("Europe/Paris")
YEAR = SchoolYear(2025)
NOW = datetime(2026, 9, 2, 9, 0, tzinfo=PARIS)  # the year is over
A = School("0860001J", "Collège Jean Moulin", frozenset({"@rupn-a:example.org"}), "A")
B = School("0860034V", "Lycée « Les Salines » ; site de Rochefort", frozenset(), "A")
C = School("0750654D", "Lycée Louis-le-Grand", frozenset(), "C")
ONE = "bilan-0860001J-2025-2026.csv"


async def seed_small_year(db: Database) -> None:
    """Two announcements (12 and 5 readers), an atelier with one person present, a poll."""
    s = Seeder(db)
    async with db.transaction():
        await s.announcement(1, at(2025, 10, 1, 10, 0))
        await s.post(R1, "announcement", ("announcement", 1), at(2025, 10, 1, 10, 0), (20, 1, 12))
        await s.announcement(2, at(2026, 3, 2, 10, 0))
        await s.post(R2, "announcement", ("announcement", 2), at(2026, 3, 2, 10, 0), (10, 0, 5))
        await s.workshop(1, "atelier", "Pix", at(2025, 11, 20, 12, 30), "done")
        await s.signup(1, "@ines:example.org", at(2025, 11, 18, 9, 0), attended=1)
        await s.poll(1, ["Oui", "Non"], at(2025, 12, 1, 9, 0), counts=[2, 1], members=6)


Seed = Callable[[Database], Awaitable[None]]


async def bilan_of(tmp_path: Path, school: School, seed: Seed | None) -> Bilan:
    db = await Database.open(tmp_path / f"{school.key}.db")
    try:
        if seed is not None:
            await seed(db)
        async with db.transaction():
            return await build_bilan(BilanRepository(db), YEAR, NOW, PARIS, school)
    finally:
        await db.close()


async def three_schools(tmp_path: Path) -> list[tuple[School, Bilan]]:
    seeds: dict[School, Seed | None] = {A: seed_year, B: seed_small_year, C: None}
    return [(school, await bilan_of(tmp_path, school, seed)) for school, seed in seeds.items()]


def expected_csv(bilans: list[Bilan]) -> dict[str, Value]:
    """The académie worked out from the three bilans: sums, medians, schools above zero."""
    expected: dict[str, Value] = {"etablissements_servis": 3, "etablissements_actifs": 2}
    for indicator in INDICATORS:
        values = [as_written(b[indicator.key]) for b in bilans]
        measured = [v for v in values if v is not None]
        if indicator.summed:
            expected[indicator.key] = sum(measured)
        else:
            expected[indicator.key] = statistics.median(measured) if measured else None
        expected[f"{indicator.key}_etablissements"] = sum(v > 0 for v in measured)
    return expected


async def test_a_folder_of_school_csv_files_gives_the_shared_bot_s_academie(
    tmp_path: Path,
) -> None:
    pairs = await three_schools(tmp_path)
    folder = tmp_path / "bilans"
    folder.mkdir()
    for _, bilan in pairs:
        csv_file = render_bilan(bilan).file("csv")
        (folder / csv_file.name).write_bytes(csv_file.data)
    assert sorted(p.name for p in folder.iterdir()) == [
        "bilan-0750654D-2025-2026.csv",
        "bilan-0860001J-2025-2026.csv",
        "bilan-0860034V-2025-2026.csv",
    ]
    direct = academie_bilan(pairs, YEAR)  # dated by the latest bilan: NOW
    assert direct.has_activity
    assert not academie_bilan(pairs[2:], YEAR).has_activity  # C alone did nothing
    with pytest.raises(ValueError, match="year"):
        academie_bilan(pairs, SchoolYear(2024))
    written = write_academie_bilan(folder, None, NOW, tmp_path / "sortie")
    assert written.rendered.files == direct.files  # the HTML, the CSV, the Markdown
    assert written.rendered.summary == direct.summary
    year, schools = read_folder(folder, None)
    academie = aggregate(schools, year)
    assert academie.values() == expected_csv([bilan for _, bilan in pairs])
    assert academie["annonces_publiees"].value == 3 + 2  # seed_year's 3, the small year's 2
    assert academie["lecteurs_median"].value == 5.75  # the median of 3 and 8,5 (C: none)
    assert [(s.school.key, s.school.name) for s in schools] == [
        ("0750654D", "Lycée Louis-le-Grand"),
        ("0860001J", "Collège Jean Moulin"),
        ("0860034V", "Lycée « Les Salines » ; site de Rochefort"),  # `;` quoted in the CSV
    ]
    assert [path.name for path in written.paths] == [
        "bilan-academie-2025-2026.html",
        "bilan-academie-2025-2026.csv",
        "bilan-academie-2025-2026.md",
    ]
    # Written into the same folder, the académie's files are not read as a school's.
    write_academie_bilan(folder, None, NOW, folder)
    assert write_academie_bilan(folder, 2025, NOW, folder).rendered.files == direct.files


async def test_rupn_bot_bilan_academie_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = await three_schools(tmp_path)
    folder, out = tmp_path / "bilans", tmp_path / "academie"
    folder.mkdir()
    for _, bilan in pairs:
        (folder / f"{bilan.name}.csv").write_bytes(render_bilan(bilan).file("csv").data)
    monkeypatch.setattr(cli, "system_clock", lambda: NOW)
    argv = ["bilan", "--academie", "--csv", str(folder), "--sortie", str(out)]
    assert cli.main(argv) == 0
    printed, err = capsys.readouterr()
    assert err == ""
    lines = printed.splitlines()
    assert lines[0] == (
        "📊 Bilan du numérique 2025-2026 des établissements, du 1er septembre 2025 au 31 août 2026"
    )
    assert lines[1] == (
        "Établissements : 3 établissements utilisent le bot ; 2 ont été actifs cette année "
        "(67\u00a0%)."
    )
    assert lines[-4:] == [
        f"Bilan de l’académie 2025-2026 écrit dans {out} :",
        "  bilan-academie-2025-2026.html",
        "  bilan-academie-2025-2026.csv",
        "  bilan-academie-2025-2026.md",
    ]
    assert (out / "bilan-academie-2025-2026.csv").read_bytes() == (
        academie_bilan(pairs, YEAR).file("csv").data
    )


def test_csv_goes_with_academie(capsys: pytest.CaptureFixture[str]) -> None:
    message = "--csv DOSSIER va avec --academie (le bilan de l’académie)"
    assert cli.main(["bilan", "--csv", "bilans"]) == 2
    assert capsys.readouterr().err.endswith(f"rupn-bot bilan : erreur : {message}\n")


# --- the folder's refusals -----------------------------------------------------------------


def school_csv(school: School | None = A, year: str = "2025-2026", **values: Value) -> str:
    """A school's CSV as `!bilan` writes it (its BOM taken off), with one atelier."""
    base: dict[str, Value] = {i.key: (0 if i.summed else None) for i in INDICATORS}
    rows = about_rows(year, school) + indicator_rows(base | {"ateliers": 1} | values)
    return csv_bytes(rows).decode("utf-8-sig")


def write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(("\ufeff" + text).encode("utf-8"))


def line_of(text: str, key: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if f";{key};" in line)


def refusal(folder: Path, first: int | None = None) -> str:
    with pytest.raises(FolderError) as raised:
        read_folder(folder, first)
    return str(raised.value)


def test_a_file_that_is_not_a_bilan_csv_is_refused_with_its_line(tmp_path: Path) -> None:
    good = school_csv()
    ateliers = line_of(good, "ateliers")
    cases = {
        "virgules": (
            good.replace(";", ","),
            "virgules.csv, ligne 1 : l’en-tête attendu est « section;cle;indicateur;valeur », "
            "celui des bilans de rupn-bot (séparateur « ; »), trouvé « section,cle,indicateur,"
            "valeur ».",
        ),
        "colonnes": (
            good.replace("4;ateliers;Mini-ateliers organisés;1", "4;ateliers;1"),
            f"colonnes.csv, ligne {ateliers} : 4 colonnes attendues "
            "(section;cle;indicateur;valeur), 3 trouvées.",
        ),
        "point": (
            good.replace("organisés;1", "organisés;1.5"),
            f"point.csv, ligne {ateliers} : valeur « 1.5 » illisible pour « ateliers » : un "
            "nombre positif est attendu, avec une virgule décimale (par exemple 12 ou 57,1), ou "
            "une case vide s’il n’a pas été mesuré.",
        ),
        "fraction": (
            good.replace("organisés;1", "organisés;1,5"),
            f"fraction.csv, ligne {ateliers} : « ateliers » est un nombre entier (un compte), "
            "trouvé « 1,5 ».",
        ),
        "pourcentage": (
            school_csv(satisfaction_utile=130),
            f"pourcentage.csv, ligne {line_of(good, 'satisfaction_utile')} : "
            "« satisfaction_utile » est un pourcentage, au plus 100, trouvé « 130 ».",
        ),
        "double": (
            good + "4;ateliers;Mini-ateliers organisés;2\r\n",
            f"double.csv, ligne {len(good.splitlines()) + 1} : la clé « ateliers » figure déjà "
            f"ligne {ateliers}.",
        ),
        "incomplet": (  # cut before the keys every bilan has had (those added since may lack)
            "\r\n".join(good.splitlines()[:-6]),
            "incomplet.csv : il manque les indicateurs « sondages_satisfaction », "
            "« participation_mediane » : ce fichier n’est pas un bilan complet de rupn-bot.",
        ),
        "academie": (
            good + "0;etablissements_servis;Établissements qui utilisent le bot;3\r\n",
            f"academie.csv, ligne {len(good.splitlines()) + 1} : ce fichier est un bilan "
            "d’académie, pas celui d’un établissement.",
        ),
    }
    for name, (text, message) in cases.items():
        folder = tmp_path / name
        write(folder, f"{name}.csv", text)
        assert refusal(folder) == message, name


def test_a_file_not_in_utf_8_is_refused(tmp_path: Path) -> None:
    tmp_path.joinpath("ancien.csv").write_bytes(school_csv().encode("cp1252"))
    assert refusal(tmp_path) == (
        "ancien.csv : ce fichier n’est pas en UTF-8 ; enregistrez-le au format « CSV UTF-8 », "
        "séparateur « ; »."
    )


def test_a_file_of_another_year_is_refused(tmp_path: Path) -> None:
    write(tmp_path, ONE, school_csv())
    write(tmp_path, "bilan-0860034V-2024-2025.csv", school_csv(B, year="2024-2025"))
    assert refusal(tmp_path) == (
        "bilan-0860034V-2024-2025.csv, ligne 2 : bilan de l’année 2024-2025, alors que "
        f"{ONE} est de 2025-2026 : un bilan d’académie ne réunit que des bilans de la même "
        "année."
    )
    assert refusal(tmp_path, 2024) == (
        f"{ONE}, ligne 2 : bilan de l’année 2025-2026, alors que le bilan demandé est celui de "
        "2024-2025 : un bilan d’académie ne réunit que des bilans de la même année."
    )
    write(tmp_path / "sans", "0860001J.csv", school_csv().replace("annee", "annee_scolaire"))
    assert refusal(tmp_path / "sans") == (
        "0860001J.csv : année scolaire inconnue : ajoutez la ligne « 0;annee;Année "
        "scolaire;2025-2026 », ou mettez l’année dans le nom du fichier, par exemple "
        f"{ONE}."
    )
    write(tmp_path / "illisible", ONE, school_csv(year="2025"))
    assert refusal(tmp_path / "illisible") == (
        f"{ONE}, ligne 2 : « 2025 » n’est pas une année scolaire : écrivez par exemple 2025-2026."
    )


def test_a_school_given_twice_is_refused(tmp_path: Path) -> None:
    write(tmp_path, ONE, school_csv())
    write(tmp_path, "jean-moulin-bis.csv", school_csv())
    assert refusal(tmp_path) == (
        f"jean-moulin-bis.csv, ligne 3 : l’établissement 0860001J a déjà son bilan dans {ONE} : "
        "un seul fichier par établissement."
    )


def test_the_school_is_its_uai_row_or_the_uai_in_the_file_name(tmp_path: Path) -> None:
    # A school running its own bot without a UAI: its file says the year, its name the school.
    write(tmp_path, "bilan-0860034v-2025-2026.csv", school_csv(None))
    write(tmp_path, "jean-moulin.csv", school_csv())
    year, schools = read_folder(tmp_path, None)
    assert year == YEAR
    assert [(s.school.key, s.school.name) for s in schools] == [
        ("0860034V", ""),
        ("0860001J", "Collège Jean Moulin"),
    ]
    cases = {
        "bilan-2025-2026.csv": (
            school_csv(None),
            "bilan-2025-2026.csv : établissement inconnu : ajoutez la ligne « 0;uai;UAI de "
            "l’établissement;0860001J » (avec son UAI), ou mettez son UAI dans le nom du "
            f"fichier, par exemple {ONE}.",
        ),
        "bilan-0860001K-2025-2026.csv": (
            school_csv(None),
            "bilan-0860001K-2025-2026.csv (nom du fichier), UAI « 0860001K » : clé de contrôle "
            "erronée : pour 0860001, la lettre attendue est « J » ; vérifiez le code UAI dans "
            "l’annuaire de l’éducation.",
        ),
        "faute.csv": (
            school_csv().replace(";0860001J", ";086001J"),
            "faute.csv, ligne 3, UAI « 086001J » : doit être un code UAI : sept chiffres et une "
            "lettre, par exemple « 0860001J ».",
        ),
        "bilan-0860034V-2025-2026.csv": (
            school_csv(),
            "bilan-0860034V-2025-2026.csv, ligne 3 : l’UAI 0860001J ne correspond pas à celui "
            "du nom du fichier (0860034V).",
        ),
    }
    for name, (text, message) in cases.items():
        folder = tmp_path / name.removesuffix(".csv")
        write(folder, name, text)
        assert refusal(folder) == message, name


def test_a_folder_without_school_files(tmp_path: Path) -> None:
    assert refusal(tmp_path / "absent") == f"Le dossier {tmp_path / 'absent'} n’existe pas."
    write(tmp_path, "bilan-academie-2025-2026.csv", school_csv())  # the académie's own: skipped
    assert refusal(tmp_path) == (
        f"Aucun bilan d’établissement (fichier .csv) dans le dossier {tmp_path}."
    )


def test_the_cli_names_the_file_and_line_of_a_refusal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, ONE, school_csv().replace("organisés;1", "organisés;trois"))
    argv = ["bilan", "--academie", "--csv", str(tmp_path), "--sortie", str(tmp_path / "out")]
    assert cli.main(argv) == 1
    assert capsys.readouterr().err.startswith(f"{ONE}, ligne {line_of(school_csv(), 'ateliers')} ")
    assert not (tmp_path / "out").exists()


def test_a_folder_of_idle_schools_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path, ONE, school_csv(ateliers=0))
    with pytest.raises(PreviewError, match=r"^Aucune activité enregistrée pour 2025-2026\.$"):
        write_academie_bilan(tmp_path, None, NOW, tmp_path / "out")
    assert not (tmp_path / "out").exists()
