"""What ``rupn-bot etablissements`` and ``rupn-bot check-config`` say about the schools."""

from __future__ import annotations

from collections.abc import Sequence

from bot.config import Config
from bot.schools import School, academie_admins, schools_of

_SHOWN_NAMES = 3


def _count(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number <= 1 else plural}"


def school_table(schools: Sequence[School]) -> list[str]:
    """One aligned line per school, after a header: UAI, name, zone, number of RUPN."""
    rows = [("UAI", "Nom", "Zone", "RUPN")] + [
        (school.key, school.name, school.zone or "—", str(len(school.admins))) for school in schools
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + f"  {row[3]}"
        for row in rows
    ]


def listing(config: Config) -> list[str]:
    """The whole output of ``rupn-bot etablissements``."""
    schools = schools_of(config)
    if not config.shared:
        [school] = schools
        return [
            "Configuration d’un seul établissement (sans [academie] ni [[etablissements]]) : "
            f"{_count(len(school.admins), 'administrateur', 'administrateurs')} dans "
            "[bot] admins."
        ]
    title = config.academie.nom if config.academie is not None else "Établissements"
    admins = len(academie_admins(config))
    summary = f"{title} : {_count(len(schools), 'établissement', 'établissements')}"
    if config.academie is not None:
        summary += f", {_count(admins, 'administrateur', 'administrateurs')} de l’académie"
    return [f"{summary}.", *school_table(schools)]


def check_lines(config: Config) -> list[str]:
    """The lines of ``rupn-bot check-config`` about the schools (none for a single school)."""
    if not config.shared:
        return []
    schools = schools_of(config)
    names = ", ".join(school.name for school in schools[:_SHOWN_NAMES])
    rest = len(schools) - _SHOWN_NAMES
    if rest > 0:
        names += f" et {_count(rest, 'autre', 'autres')}"
    lines = []
    if config.academie is not None:
        lines.append(f"  académie : {config.academie.nom}")
        lines.append(f"  administrateurs de l’académie : {len(academie_admins(config))}")
    from_csv = len(config.directory)
    lines.append(
        f"  établissements : {len(schools)} ({len(schools) - from_csv} dans le fichier de "
        f"configuration, {from_csv} dans le fichier CSV) : {names}"
    )
    lines.append(f"  RUPN : {len({a for school in schools for a in school.admins})}")
    return lines
