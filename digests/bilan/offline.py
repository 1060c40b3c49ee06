"""`rupn-bot bilan`: the same three files as `!bilan`, written to a directory, offline;
`rupn-bot bilan --academie --csv DIR`: the académie's, from a folder of school CSV files;
`rupn-bot bilan --academie --config …`: the académie's, from a shared bot's database (the
same files as `!bilan academie`).

The bot's database is only read (`Database.open_read_only`, through the letter's
preview: digests/preview.py): the bot may be running (WAL lets a reader in) or not,
the data_dir lock is not taken, nothing is queued nor sent. The figures are those
`!bilan` would post: they come from the database alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.config import Config
from bot.context import Settings
from bot.school_year import SchoolYear, school_year_of
from bot.schools import schools_of
from bot.storage.bilan import BilanRepository
from digests.bilan.academie import aggregate
from digests.bilan.academie_folder import FolderError, read_folder
from digests.bilan.academie_render import RenderedAcademie, academie_bilan, render_academie
from digests.bilan.build import build_bilan
from digests.bilan.model import no_activity_text
from digests.bilan.render import BilanFile, RenderedBilan, render_bilan
from digests.preview import PreviewError, read_only_database, settings_of


@dataclass(frozen=True)
class Written:
    year: SchoolYear
    rendered: RenderedBilan | RenderedAcademie
    paths: tuple[Path, ...]


def school_year(settings: Settings, first: int | None, now: datetime) -> SchoolYear:
    """The year asked for (`--annee`), or the current one; with `[bilan] year_start`."""
    month, day = settings.year_start
    if first is None:
        return school_year_of(now, settings.tz, month, day)
    return SchoolYear(first, month, day)


def _write(files: Sequence[BilanFile], directory: Path) -> tuple[Path, ...]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for file in files:
        path = directory / file.name
        path.write_bytes(file.data)
        paths.append(path)
    return tuple(paths)


async def write_bilan(config: Config, first: int | None, now: datetime, directory: Path) -> Written:
    """Build the bilan of the year from the bot's database and write its three files.

    `PreviewError` (French, with what to do) when the database cannot be read, the year
    has not begun or has no activity, or the files cannot be written.
    """
    settings = settings_of(config)  # the bot's own Settings: the same year and zone
    tz = settings.tz
    year = _begun_year(settings, first, now)
    schools = schools_of(config)
    school = schools[0] if len(schools) == 1 else None  # named in the files if it has a UAI
    async with read_only_database(config) as db:
        bilan = await build_bilan(BilanRepository(db), year, now, tz, school)
    if not bilan.has_activity:
        raise PreviewError(no_activity_text(year))  # as `!bilan` says: no empty files
    rendered = render_bilan(bilan)
    paths = await asyncio.to_thread(_write_or_say, rendered.files, directory)
    return Written(year, rendered, paths)


async def write_academie_from_database(
    config: Config, first: int | None, now: datetime, directory: Path
) -> Written:
    """The académie's bilan of a shared bot: each school's bilan from the database (read
    only), added up, as `!bilan academie` posts it. `PreviewError` as `write_bilan`, and
    for a configuration that serves one school only."""
    if not config.shared:
        raise PreviewError(
            "Le bilan de l’académie réunit les établissements de [[etablissements]] ou de "
            "l’annuaire de [academie] : cette configuration n’en sert qu’un. Tapez « rupn-bot "
            "bilan » sans --academie, ou --academie --csv DOSSIER avec les bilans CSV des "
            "établissements."
        )
    settings = settings_of(config)
    tz = settings.tz
    year = _begun_year(settings, first, now)
    async with read_only_database(config) as db:
        pairs = [
            (school, await build_bilan(BilanRepository(db, school.key), year, now, tz, school))
            for school in schools_of(config)
        ]
    rendered = academie_bilan(pairs, year, now=now, tz=tz, title=settings.academie_name)
    if not rendered.has_activity:
        raise PreviewError(no_activity_text(year))
    paths = await asyncio.to_thread(_write_or_say, rendered.files, directory)
    return Written(year, rendered, paths)


def _begun_year(settings: Settings, first: int | None, now: datetime) -> SchoolYear:
    year = school_year(settings, first, now)
    if year.start(settings.tz) > now:
        raise PreviewError(f"L’année scolaire {year.label} n’a pas encore commencé : pas de bilan.")
    return year


def _write_or_say(files: Sequence[BilanFile], directory: Path) -> tuple[Path, ...]:
    try:
        return _write(files, directory)
    except OSError as exc:
        raise PreviewError(
            f"Impossible d’écrire les fichiers du bilan dans {directory} ({exc.strerror or exc})."
        ) from None


def write_academie_bilan(
    folder: Path, first: int | None, now: datetime, directory: Path
) -> Written:
    """The académie's bilan from the school CSV files of `folder`, written to `directory`.

    `FolderError` for a file that cannot be read as a school's bilan (its name and line),
    of another year, or a school given twice; `PreviewError` when no school had any
    activity (no files, as for a school) or the files cannot be written.
    """
    year, schools = read_folder(folder, first)
    rendered = render_academie(aggregate(schools, year), now)
    if not rendered.has_activity:
        raise PreviewError(no_activity_text(year))
    return Written(year, rendered, _write_or_say(rendered.files, directory))


__all__ = [
    "FolderError",
    "Written",
    "write_academie_bilan",
    "write_academie_from_database",
    "write_bilan",
]
