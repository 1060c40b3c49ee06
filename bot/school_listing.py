"""What ``rupn-bot etablissements`` and ``rupn-bot check-config`` say about the schools."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.schools import School, academie_admins, schools_of
from bot.storage.database import DATABASE_FILE, Database
from bot.storage.school_states import NO_STATE, SchoolState, SchoolStatesRepository
from bot.wording import counted

NEVER_RUN = (
    "Le bot n’a pas encore tourné avec ce dossier de données (storage.data_dir) : ni salons "
    "ni envois à montrer."
)

_SHOWN_NAMES = 3


def school_table(
    schools: Sequence[School],
    states: Mapping[str, SchoolState] | None = None,
    tz: ZoneInfo | None = None,
) -> list[str]:
    """One aligned line per school, after a header: UAI, name, zone, number of RUPN, and
    with the database's `states`, its rooms, what waits or failed, its latest letter."""
    header = ["UAI", "Nom", "Zone", "RUPN"]
    rows = [
        [school.key, school.name, school.zone or "—", str(len(school.admins))] for school in schools
    ]
    if states is not None:
        header += ["Salons", "En attente", "En échec", "Dernière lettre"]
        for row, school in zip(rows, schools, strict=True):
            state = states.get(school.key, NO_STATE)
            letter = (
                state.last_letter.astimezone(tz).strftime("%d/%m/%Y")
                if (state.last_letter is not None)
                else "—"
            )
            row += [str(len(state.rooms)), str(state.pending), str(state.failed), letter]
    table = [header, *rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]


async def school_states(config: Config) -> dict[str, SchoolState] | None:
    """Every school's state in the bot's database (read-only, while the bot runs too);
    None when the bot never ran with this data_dir. `StorageError` (French) otherwise."""
    path = config.storage.data_dir / DATABASE_FILE
    if not path.is_file():
        return None
    db = await Database.open_read_only(path)
    try:
        return await SchoolStatesRepository(db).every_school()
    finally:
        await db.close()


def listing(config: Config, states: Mapping[str, SchoolState] | None = None) -> list[str]:
    """The whole output of ``rupn-bot etablissements``: with the database's `states` when
    the bot has run."""
    schools = schools_of(config)
    if not config.shared:
        [school] = schools
        return [
            "Configuration d’un seul établissement (sans [academie] ni [[etablissements]]) : "
            f"{counted(len(school.admins), 'administrateur', 'administrateurs')} dans "
            "[bot] admins."
        ]
    title = config.academie.nom if config.academie is not None else "Établissements"
    admins = len(academie_admins(config))
    summary = f"{title} : {counted(len(schools), 'établissement', 'établissements')}"
    if config.academie is not None:
        summary += f", {counted(admins, 'administrateur', 'administrateurs')} de l’académie"
    table = school_table(schools, states, config.bot.tz)
    return [f"{summary}.", *table, *([] if states is not None else [NEVER_RUN])]


def check_lines(config: Config) -> list[str]:
    """The lines of ``rupn-bot check-config`` about the schools (none for a single school)."""
    if not config.shared:
        return []
    schools = schools_of(config)
    names = ", ".join(school.name for school in schools[:_SHOWN_NAMES])
    rest = len(schools) - _SHOWN_NAMES
    if rest > 0:
        names += f" et {counted(rest, 'autre', 'autres')}"
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
