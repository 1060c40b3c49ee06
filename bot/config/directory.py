"""The CSV directory of établissements: ``uai;nom;rupn;zone``, one school per line.

What an académie exports from its own directory, so that hundreds of schools do not mean
hundreds of TOML tables. UTF-8 (a BOM, as spreadsheets write it, is tolerated), columns
separated by « ; », several RUPN separated by spaces, blank lines and spaces around values
ignored. Each line is validated as one ``[[etablissements]]`` entry; every bad line is
reported in French with its line and column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from bot.config.academie import SchoolSettings
from bot.config.errors import ConfigError
from bot.config.messages import validation_problems

CSV_HEADER = ("uai", "nom", "rupn", "zone")
"""The expected first line, column by column."""

_COLUMN_OF_FIELD = {"uai": "uai", "nom": "nom", "admins": "rupn", "zone": "zone"}
_MAX_REPORTED = 20


def load_directory(
    path: Path, declared: Mapping[str, int] | None = None
) -> tuple[SchoolSettings, ...]:
    """The schools of the CSV file at `path`, in file order.

    `declared` maps the UAI of the ``[[etablissements]]`` entries to their index: a school
    both there and in the CSV is an error (one place per school, no silent precedence).
    Raises `ConfigError`, one line per problem.
    """
    name = path.name
    text = _read_text(path, name)
    problems: list[str] = []
    schools: list[SchoolSettings] = []
    seen: dict[str, int] = {}
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    header_seen = False
    for row in rows:
        line = rows.line_num
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if not header_seen:
            header_seen = True
            _check_header(name, line, cells)
            continue
        if len(cells) != len(CSV_HEADER):
            problems.append(
                f"{name}, ligne {line} : {len(cells)} colonne{'s' if len(cells) > 1 else ''} "
                f"au lieu de {len(CSV_HEADER)} ({';'.join(CSV_HEADER)})"
            )
            continue
        school = _school(name, line, cells, problems)
        if school is None:
            continue
        if school.uai in seen:
            problems.append(
                f"{name}, ligne {line}, colonne uai : l’établissement {school.uai} figure déjà "
                f"ligne {seen[school.uai]}"
            )
        elif declared is not None and school.uai in declared:
            problems.append(
                f"{name}, ligne {line}, colonne uai : l’établissement {school.uai} est déjà "
                f"déclaré dans etablissements[{declared[school.uai]}] du fichier de "
                "configuration : déclarez-le à un seul endroit"
            )
        else:
            seen[school.uai] = line
            schools.append(school)
    if not header_seen:
        problems.append(
            f"{name} : fichier vide ; la première ligne doit être « {';'.join(CSV_HEADER)} »"
        )
    if problems:
        raise ConfigError(_at_most(problems))
    return tuple(schools)


def _read_text(path: Path, name: str) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"academie.etablissements : fichier des établissements introuvable : {path}"
        ) from None
    except OSError:
        raise ConfigError(
            f"academie.etablissements : fichier des établissements illisible : {path}"
        ) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{name}, ligne {line} : le fichier n’est pas encodé en UTF-8 (dans le tableur, "
            "enregistrez-le au format « CSV UTF-8 »)"
        ) from None


def _check_header(name: str, line: int, cells: list[str]) -> None:
    if tuple(cell.casefold() for cell in cells) == CSV_HEADER:
        return
    found = ";".join(cells)
    hint = ""
    if len(cells) == 1 and "," in found:
        hint = " ; les colonnes se séparent par « ; », pas par « , »"
    raise ConfigError(
        f"{name}, ligne {line} : en-tête inattendu « {found} » : la première ligne doit être "
        f"« {';'.join(CSV_HEADER)} »{hint}"
    )


def _school(name: str, line: int, cells: list[str], problems: list[str]) -> SchoolSettings | None:
    uai, nom, rupn, zone = cells
    try:
        return SchoolSettings.model_validate(
            {"uai": uai, "nom": nom, "admins": rupn.split(), "zone": zone or None}
        )
    except ValidationError as exc:
        for loc, message in validation_problems(exc, SchoolSettings):
            column = _COLUMN_OF_FIELD.get(str(loc[0]), str(loc[0])) if loc else "?"
            problems.append(f"{name}, ligne {line}, colonne {column} : {message}")
        return None


def _at_most(problems: list[str]) -> list[str]:
    if len(problems) <= _MAX_REPORTED:
        return problems
    rest = len(problems) - _MAX_REPORTED
    plural = "s" if rest > 1 else ""
    return [*problems[:_MAX_REPORTED], f"… et {rest} autre{plural} erreur{plural}"]
