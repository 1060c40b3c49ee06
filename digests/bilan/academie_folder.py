"""Read a folder of school bilan CSV files: the académie's bilan where each school runs its bot.

Each file follows the contract (csv_contract.py) that `!bilan` and `rupn-bot bilan` write.
Its school is its `uai` row (and `etablissement` for the name), or else the UAI in the
file's name (« bilan-0860001J-2025-2026.csv », « 0860001J.csv »); its year is its `annee`
row, or else the year in the file's name. Every indicator of the first bilans
(`FIRST_KEYS`) must be there once; a key added since may be missing (the school's bot is
older: it did not report it, see academie.py); keys this version does not know (a newer
bot's) are left aside. The académie's own files (`bilan-academie-…`) are skipped: the
output may be written into the same folder.

Every refusal is a `FolderError` whose French message names the file, and the line when
there is one, and says what was expected: a malformed file, a file of another year, a
school given twice.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.config import check_uai
from bot.errors import RupnError
from bot.school_year import SchoolYear, parse_school_year
from bot.schools import School
from digests.bilan.academie import SERVED_KEY, SchoolFigures
from digests.bilan.csv_contract import CSV_HEADER, NAME_KEY, UAI_KEY, YEAR_KEY, parse_value
from digests.bilan.model import BY_KEY, Value

ACADEMIE_PREFIX = "bilan-academie-"
_UAI_IN_NAME = re.compile(r"(?<![0-9])([0-9]{7}[A-Za-z])(?![A-Za-z])")
_YEAR_IN_NAME = re.compile(r"(?<![0-9])([0-9]{4}-[0-9]{4})(?![0-9])")
EXAMPLE_NAME = "bilan-0860001J-2025-2026.csv"
FIRST_KEYS = frozenset(
    {
        "annonces_publiees",
        "salons_diffusion",
        "lecteurs_median",
        "taux_lecture_median",
        "reactions",
        "lettres_envoyees",
        "lettres_lecteurs_median",
        "lettres_taux_lecture_median",
        "sources_suivies",
        "articles_recus",
        "articles_proposes",
        "articles_publies",
        "articles_ecartes",
        "cafes",
        "cafes_participants",
        "cafes_satisfaction_utile",
        "ateliers",
        "ateliers_a_la_demande",
        "ateliers_proposes",
        "ateliers_annules",
        "ateliers_tenus",
        "inscrits",
        "presents",
        "ateliers_presences_notees",
        "creneau_pause_meridienne",
        "creneau_fin_de_journee",
        "creneau_autre",
        "satisfaction_reponses",
        "satisfaction_utile",
        "satisfaction_tres_utile",
        "sondages",
        "sondages_besoins",
        "sondages_satisfaction",
        "participation_mediane",
    }
)
"""The indicators every bilan CSV has had, since the first: a file without one of them is
not a bilan of rupn-bot. Keys are never removed, so this list never changes."""


class FolderError(RupnError):
    """The folder cannot be read as school bilans; the message (French) says where and why."""


@dataclass(frozen=True)
class Found:
    """A value of section 0 and where it was read: a line, or the file's name (None)."""

    value: str
    line: int | None


@dataclass(frozen=True)
class SchoolFile:
    path: Path
    school: School
    values: dict[str, Value]
    year: SchoolYear
    year_at: int | None
    uai_at: int | None

    def where(self, line: int | None) -> str:
        return _where(self.path, line)


def _where(path: Path, line: int | None) -> str:
    """« bilan-a.csv, ligne 3 », or « bilan-a.csv (nom du fichier) » for what its name says."""
    return f"{path.name}, ligne {line}" if line else f"{path.name} (nom du fichier)"


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FolderError(
            f"{path.name} : ce fichier n’est pas en UTF-8 ; enregistrez-le au format "
            "« CSV UTF-8 », séparateur « ; »."
        ) from None
    except OSError as exc:
        raise FolderError(f"Impossible de lire {path.name} ({exc.strerror or exc}).") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    header = next(reader, None)
    if header is None or [cell.strip() for cell in header] != list(CSV_HEADER):
        found = ";".join(header) if header else "un fichier vide"
        raise FolderError(
            f"{path.name}, ligne 1 : l’en-tête attendu est « {';'.join(CSV_HEADER)} », celui "
            f"des bilans de rupn-bot (séparateur « ; »), trouvé « {found[:80]} »."
        )
    for row in reader:
        if any(cell.strip() for cell in row):
            yield reader.line_num, row


def _indicator_value(key: str, cell: str, where: str) -> Value:
    indicator = BY_KEY[key]
    try:
        value = parse_value(cell)
    except ValueError:
        raise FolderError(
            f"{where} : valeur « {cell.strip()[:40]} » illisible pour « {key} » : un nombre "
            "positif est attendu, avec une virgule décimale (par exemple 12 ou 57,1), ou une "
            "case vide s’il n’a pas été mesuré."
        ) from None
    if indicator.summed and (value is None or not isinstance(value, int)):
        raise FolderError(
            f"{where} : « {key} » est un nombre entier (un compte), trouvé « {cell.strip()} »."
        )
    if indicator.percent and value is not None and value > 100:
        raise FolderError(
            f"{where} : « {key} » est un pourcentage, au plus 100, trouvé « {cell.strip()} »."
        )
    return value


def _in_name(path: Path, pattern: re.Pattern[str]) -> Found | None:
    match = pattern.search(path.stem)
    return Found(match[1], None) if match else None


def read_school_file(path: Path) -> SchoolFile:
    """One school's CSV file: its school, year and values (`FolderError` when it cannot)."""
    values: dict[str, Value] = {}
    about: dict[str, Found] = {}
    seen: dict[str, int] = {}
    for line, row in _rows(path):
        where = _where(path, line)
        if len(row) != len(CSV_HEADER):
            raise FolderError(
                f"{where} : {len(CSV_HEADER)} colonnes attendues ({';'.join(CSV_HEADER)}), "
                f"{len(row)} trouvée{'s' if len(row) > 1 else ''}."
            )
        key, cell = row[1].strip(), row[3]
        if key == SERVED_KEY:
            raise FolderError(
                f"{where} : ce fichier est un bilan d’académie, pas celui d’un établissement."
            )
        if key in seen:
            raise FolderError(f"{where} : la clé « {key} » figure déjà ligne {seen[key]}.")
        seen[key] = line
        if key in (YEAR_KEY, UAI_KEY, NAME_KEY):
            about[key] = Found(cell.strip(), line)
        elif key in BY_KEY:
            values[key] = _indicator_value(key, cell, where)
    missing = [key for key in BY_KEY if key in FIRST_KEYS and key not in values]
    if missing:
        names = ", ".join(f"« {key} »" for key in missing[:5])
        more = f" et {len(missing) - 5} autres" if len(missing) > 5 else ""
        raise FolderError(
            f"{path.name} : il manque les indicateurs {names}{more} : ce fichier n’est pas un "
            "bilan complet de rupn-bot."
        )
    uai = _uai_of(path, about.get(UAI_KEY))
    year = _year_of(path, about.get(YEAR_KEY))
    name = about[NAME_KEY].value if NAME_KEY in about else ""
    school = School(key=uai.value, name=name, admins=frozenset(), zone=None)
    return SchoolFile(path, school, values, parse_school_year(year.value), year.line, uai.line)


def _uai_of(path: Path, row: Found | None) -> Found:
    named = _in_name(path, _UAI_IN_NAME)
    found = row or named
    if found is None:
        raise FolderError(
            f"{path.name} : établissement inconnu : ajoutez la ligne « 0;uai;UAI de "
            "l’établissement;0860001J » (avec son UAI), ou mettez son UAI dans le nom du fichier, "
            f"par exemple {EXAMPLE_NAME}."
        )
    where = _where(path, found.line)
    try:
        uai = check_uai(found.value)
    except ValueError as error:
        raise FolderError(f"{where}, UAI « {found.value} » : {error}.") from None
    if row is not None and named is not None and named.value.upper() != uai:
        raise FolderError(
            f"{where} : l’UAI {uai} ne correspond pas à celui du nom du fichier "
            f"({named.value.upper()})."
        )
    return Found(uai, found.line)


def _year_of(path: Path, row: Found | None) -> Found:
    found = row or _in_name(path, _YEAR_IN_NAME)
    if found is None:
        raise FolderError(
            f"{path.name} : année scolaire inconnue : ajoutez la ligne « 0;annee;Année "
            f"scolaire;2025-2026 », ou mettez l’année dans le nom du fichier, par exemple "
            f"{EXAMPLE_NAME}."
        )
    try:
        parse_school_year(found.value)
    except ValueError as error:
        raise FolderError(f"{_where(path, found.line)} : {error}") from None
    return found


def read_folder(directory: Path, first: int | None) -> tuple[SchoolYear, list[SchoolFigures]]:
    """The year (`first`, or the files') and every school of the folder's CSV files."""
    if not directory.is_dir():
        raise FolderError(f"Le dossier {directory} n’existe pas.")
    paths = sorted(
        path
        for path in directory.iterdir()
        if path.suffix.lower() == ".csv" and not path.name.startswith(ACADEMIE_PREFIX)
    )
    if not paths:
        raise FolderError(
            f"Aucun bilan d’établissement (fichier .csv) dans le dossier {directory}."
        )
    files = [read_school_file(path) for path in paths]
    year = SchoolYear(first) if first is not None else files[0].year
    reference = (
        f"le bilan demandé est celui de {year.label}"
        if first is not None
        else f"{files[0].path.name} est de {year.label}"
    )
    by_uai: dict[str, SchoolFile] = {}
    for file in files:
        if file.year.first != year.first:
            raise FolderError(
                f"{file.where(file.year_at)} : bilan de l’année {file.year.label}, alors que "
                f"{reference} : un bilan d’académie ne réunit que des bilans de la même année."
            )
        other = by_uai.get(file.school.key)
        if other is not None:
            raise FolderError(
                f"{file.where(file.uai_at)} : l’établissement {file.school.key} a déjà son "
                f"bilan dans {other.path.name} : un seul fichier par établissement."
            )
        by_uai[file.school.key] = file
    return year, [SchoolFigures(file.school, file.values) for file in files]
