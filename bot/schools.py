"""The établissements a bot serves: who they are, whatever the configuration says.

Today's single-school configuration is one implicit établissement (no UAI, the admins of
`[bot]`, the zone of `[digest]`). A shared deployment (issue 18) names several, each with
its UAI (the school's official code), name, admins (RUPN) and school-holiday zone: the
``[[etablissements]]`` of the TOML file first, in their order, then the lines of the CSV
directory (``[academie] etablissements``). A UAI in both places is a configuration error,
not a silent override: one school, one place. The engine only sees `School` values.

`reload_schools` re-reads the CSV directory (SIGHUP, ``!etablissements recharger``): the
caller keeps its current list when the outcome carries errors.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.config import (
    Config,
    ConfigError,
    DeskOverride,
    DigestSettings,
    EmailSettings,
    FeedSettings,
)
from bot.config.academie import SchoolSettings
from bot.config.loading import read_directory

log = logging.getLogger(__name__)

IMPLICIT_KEY = ""
"""The key of the one établissement of a single-school configuration (it has no UAI)."""


@dataclass(frozen=True)
class School:
    """One établissement: a tenant whose data no other school ever sees."""

    key: str  # its UAI (e.g. « 0860001J »), or IMPLICIT_KEY for a single-school bot
    name: str  # « Collège Jean Moulin »; empty when the configuration does not name it
    admins: frozenset[str]  # its RUPN (Matrix user ids)
    zone: str | None  # school-holiday zone « A », « B » or « C », if known
    # Its own settings, when its [[etablissements]] entry has them; None: the bot-wide ones.
    digest: DigestSettings | None = None
    email: EmailSettings | None = None
    feeds: tuple[FeedSettings, ...] = ()  # besides the bot-wide [[feeds]]
    assistance: DeskOverride | None = None  # its own helpdesk; None: [assistance]'s

    @property
    def implicit(self) -> bool:
        return self.key == IMPLICIT_KEY


def schools_of(config: Config) -> tuple[School, ...]:
    """The établissements `config` serves, in a stable order (never empty)."""
    if not config.shared:
        return (
            School(
                key=IMPLICIT_KEY,
                name="",
                admins=frozenset(config.bot.admins),
                zone=config.digest.zone,
            ),
        )
    return tuple(_school(entry, config) for entry in (*config.etablissements, *config.directory))


def _school(entry: SchoolSettings, config: Config) -> School:
    own_zone = entry.digest.zone if entry.digest is not None else None
    return School(
        key=entry.uai,
        name=entry.nom,
        admins=frozenset(entry.admins),
        # An académie lies in one zone: [digest] zone is the default of its schools.
        zone=entry.zone or own_zone or config.digest.zone,
        digest=entry.digest,
        email=entry.email,
        feeds=entry.feeds,
        assistance=entry.assistance,
    )


def mail_of(config: Config, schools: Sequence[School], key: str) -> EmailSettings | None:
    """The ``[email]`` a school's letter is mailed with: a named school's own (none without
    one: never another school's recipients), the bot's ``[email]`` for the implicit one."""
    if key == IMPLICIT_KEY:
        return config.email
    return next((school.email for school in schools if school.key == key), None)


def academie_admins(config: Config) -> frozenset[str]:
    """The académie's admins (e.g. the DRANE): empty without an ``[academie]`` section."""
    return frozenset(config.academie.admins) if config.academie is not None else frozenset()


@dataclass(frozen=True)
class SchoolsReload:
    """What re-reading the directory gave: the new list, or why the current one stays."""

    config: Config | None  # the configuration with its new directory; None on error
    schools: tuple[School, ...] | None
    errors: tuple[str, ...]
    added: tuple[School, ...] = ()
    removed: tuple[School, ...] = ()

    @property
    def message(self) -> str:
        """The outcome in French, for the log and for ``!etablissements recharger``."""
        if self.schools is None:
            return "\n".join(
                (
                    "Annuaire des établissements non rechargé ; la liste actuelle est conservée :",
                    *(f"  {error}" for error in self.errors),
                )
            )
        count = len(self.schools)
        changes = [
            f"{len(found)} {word}{'s' if len(found) > 1 else ''}"
            for found, word in ((self.added, "ajouté"), (self.removed, "retiré"))
            if found
        ]
        detail = f" ({', '.join(changes)})" if changes else " (aucun ajouté ni retiré)"
        return (
            f"Annuaire des établissements rechargé : {count} établissement"
            f"{'s' if count > 1 else ''}{detail}."
        )


def reload_schools(config: Config, current: Sequence[School]) -> SchoolsReload:
    """Re-read `config`'s CSV directory; `current` is the list in use (for the summary).

    Only reads the file: nothing changes until the caller adopts the outcome.
    """
    try:
        reread = read_directory(config)
    except ConfigError as error:
        return SchoolsReload(config=None, schools=None, errors=error.problems)
    schools = schools_of(reread)
    old_keys = {school.key for school in current}
    new_keys = {school.key for school in schools}
    return SchoolsReload(
        config=reread,
        schools=schools,
        errors=(),
        added=tuple(s for s in schools if s.key not in old_keys),
        removed=tuple(s for s in current if s.key not in new_keys),
    )


class SchoolDirectory:
    """The schools in use by a running bot, replaced only by a successful reload.

    Created by the composition root (bot/app.py); SIGHUP and ``!etablissements recharger``
    call `reload`, the engine reads `schools`.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.schools = schools_of(config)

    def reload(self) -> SchoolsReload:
        """Re-read the CSV directory; keep the current list when it has errors."""
        outcome = reload_schools(self.config, self.schools)
        if outcome.config is not None and outcome.schools is not None:
            self.config, self.schools = outcome.config, outcome.schools
        return outcome

    def reload_and_log(self) -> None:
        """What SIGHUP does: reload, and say in the log what came of it."""
        outcome = self.reload()
        if outcome.errors:
            log.error("%s", outcome.message)
        else:
            log.info("%s", outcome.message)
