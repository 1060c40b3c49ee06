"""The bilan's CSV contract, shared by a school's file, the académie's and the folder reader.

`section;cle;indicateur;valeur`, `;` separated, UTF-8 with a BOM (Excel opens it as
UTF-8), CRLF line ends. `valeur` is a bare number with a decimal comma (one decimal at
most) or an empty cell (not measured). Rows of section 0 say what the file is about:
`annee` (the school year, « 2025-2026 ») in every file, `uai` and `etablissement` (the
school's UAI and name) in a named school's file. Keys are fixed: a new figure gets a new
key, and the README's key table lists them all.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping

from bot.schools import School
from digests.bilan.model import INDICATORS, Value

CSV_HEADER = ("section", "cle", "indicateur", "valeur")
ABOUT_SECTION = 0
YEAR_KEY, UAI_KEY, NAME_KEY = "annee", "uai", "etablissement"
ABOUT_LABELS: Mapping[str, str] = {
    YEAR_KEY: "Année scolaire",
    UAI_KEY: "UAI de l’établissement",
    NAME_KEY: "Nom de l’établissement",
}
"""The rows of section 0, in their order; their values are text, not numbers."""

Row = tuple[int, str, str, str]
_NUMBER = re.compile(r"[0-9]+(,[0-9]+)?")


def csv_value(value: Value) -> str:
    """A bare number with a decimal comma (one decimal at most); empty when not measured."""
    if value is None:
        return ""
    rounded = round(float(value), 1)
    if rounded.is_integer():
        return str(int(rounded))
    return f"{rounded:.1f}".replace(".", ",")


def as_written(value: Value) -> Value:
    """`value` at the CSV's precision (one decimal): what a reader of the file gets back."""
    if value is None or isinstance(value, int):
        return value
    rounded = round(float(value), 1)
    return int(rounded) if rounded.is_integer() else rounded


def parse_value(text: str) -> Value:
    """The number a `valeur` cell holds (« 57,1 », « 12 », empty); ValueError otherwise."""
    cell = text.strip()
    if not cell:
        return None
    if _NUMBER.fullmatch(cell) is None:
        raise ValueError(cell)
    return as_written(float(cell.replace(",", ".")) if "," in cell else int(cell))


def about_rows(year_label: str, school: School | None) -> list[Row]:
    """Section 0: the year, and the school's UAI and name when it has a UAI."""
    rows = [(ABOUT_SECTION, YEAR_KEY, ABOUT_LABELS[YEAR_KEY], year_label)]
    if school is not None and not school.implicit:
        rows.append((ABOUT_SECTION, UAI_KEY, ABOUT_LABELS[UAI_KEY], school.key))
        rows.append((ABOUT_SECTION, NAME_KEY, ABOUT_LABELS[NAME_KEY], school.name))
    return rows


def indicator_rows(values: Mapping[str, Value]) -> list[Row]:
    """One row per indicator of `INDICATORS`, in its order."""
    return [(i.section, i.key, i.label, csv_value(values[i.key])) for i in INDICATORS]


def csv_bytes(rows: Iterable[Row]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
