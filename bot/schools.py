"""The établissements a bot serves: who they are, whatever the configuration says.

Today's single-school configuration is one implicit établissement (no UAI, the admins of
`[bot]`, the zone of `[digest]`). A shared deployment (issue 18) names several, each with
its UAI (the school's official code), name, admins (RUPN) and school-holiday zone; the
configuration side builds them (`schools_of`), the engine only sees `School` values.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Config

IMPLICIT_KEY = ""
"""The key of the one établissement of a single-school configuration (it has no UAI)."""


@dataclass(frozen=True)
class School:
    """One établissement: a tenant whose data no other school ever sees."""

    key: str  # its UAI (e.g. « 0860001J »), or IMPLICIT_KEY for a single-school bot
    name: str  # « Collège Jean Moulin »; empty when the configuration does not name it
    admins: frozenset[str]  # its RUPN (Matrix user ids)
    zone: str | None  # school-holiday zone « A », « B » or « C », if known

    @property
    def implicit(self) -> bool:
        return self.key == IMPLICIT_KEY


def schools_of(config: Config) -> tuple[School, ...]:
    """The établissements `config` serves, in a stable order (never empty)."""
    return (
        School(
            key=IMPLICIT_KEY,
            name="",
            admins=frozenset(config.bot.admins),
            zone=config.digest.zone,
        ),
    )
