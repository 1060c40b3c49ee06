"""`rupn-bot bilan`: the same three files as `!bilan`, written to a directory, offline.

The bot's database is only read (`Database.open_read_only`, through the letter's
preview: digests/preview.py): the bot may be running (WAL lets a reader in) or not,
the data_dir lock is not taken, nothing is queued nor sent. The figures are those
`!bilan` would post: they come from the database alone.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.config import Config
from bot.context import Settings
from bot.school_year import SchoolYear, school_year_of
from bot.storage.bilan import BilanRepository
from digests.bilan.build import build_bilan
from digests.bilan.model import no_activity_text
from digests.bilan.render import RenderedBilan, render_bilan
from digests.preview import PreviewError, read_only_database, settings_of


@dataclass(frozen=True)
class Written:
    year: SchoolYear
    rendered: RenderedBilan
    paths: tuple[Path, ...]


def school_year(settings: Settings, first: int | None, now: datetime) -> SchoolYear:
    """The year asked for (`--annee`), or the current one; with `[bilan] year_start`."""
    month, day = settings.year_start
    if first is None:
        return school_year_of(now, settings.tz, month, day)
    return SchoolYear(first, month, day)


def _write(rendered: RenderedBilan, directory: Path) -> tuple[Path, ...]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for file in rendered.files:
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
    year = school_year(settings, first, now)
    if year.start(tz) > now:
        raise PreviewError(f"L’année scolaire {year.label} n’a pas encore commencé : pas de bilan.")
    async with read_only_database(config) as db:
        bilan = await build_bilan(BilanRepository(db), year, now, tz)
    if not bilan.has_activity:
        raise PreviewError(no_activity_text(year))  # as `!bilan` says: no empty files
    rendered = render_bilan(bilan)
    try:
        paths = await asyncio.to_thread(_write, rendered, directory)
    except OSError as exc:
        raise PreviewError(
            f"Impossible d’écrire les fichiers du bilan dans {directory} ({exc.strerror or exc})."
        ) from None
    return Written(year, rendered, paths)
