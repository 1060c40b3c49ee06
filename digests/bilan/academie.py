"""The académie's bilan: the indicators of its schools, added up (pure).

Each school brings its identity (`School`: UAI and name) and the values of every key `K`
of `INDICATORS`, whether they come from its `Bilan` (a shared bot) or from its CSV file
(`rupn-bot bilan --academie --csv`). The académie's figures, per indicator's kind:

- a count (`Indicator.summed`: announcements, ateliers, sign-ups…): `K` is the total of
  the schools; the files also give its median over the schools concerned (`K` > 0),
  « médiane 3 par établissement concerné » (a median over all the schools would be 0
  for anything fewer than half of them do);
- a school's median or a rate (`median` or `percent`: readers per announcement,
  participation…): `K` is the median of the schools where it was measured (a school
  without any value is left out; a sum of medians or of rates means nothing);
- for every `K`, `K_etablissements` counts the schools where `K` > 0 (« concernés »);
- a school whose CSV lacks `K` (its bot is older than `K`) did not report it, which is not
  zero: `K` and `K_etablissements` are over the schools that reported it (`Figure.reported`),
  and the shares of schools too; none reported it: `K` is empty;
- `etablissements_servis` counts the schools given, `etablissements_actifs` those with
  any activity (`has_activity`, as a school's own bilan decides to have files).

Values are taken at the CSV's precision (one decimal, `as_written`): a folder of school
CSV files and a shared bot give the same académie, to the byte.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from bot.school_year import SchoolYear
from bot.schools import School
from digests.bilan.csv_contract import as_written
from digests.bilan.model import INDICATORS, Bilan, Indicator, Value, has_activity

SERVED_KEY, ACTIVE_KEY = "etablissements_servis", "etablissements_actifs"
SCHOOLS_SUFFIX = "_etablissements"
ACADEMIE_LABELS: Mapping[str, str] = {
    SERVED_KEY: "Établissements qui utilisent le bot",
    ACTIVE_KEY: "Établissements actifs dans l’année",
}


def schools_key(key: str) -> str:
    """« ateliers » → « ateliers_etablissements »: how many schools have `key` > 0."""
    return f"{key}{SCHOOLS_SUFFIX}"


@dataclass(frozen=True)
class SchoolFigures:
    """One school of the académie: who it is and its values, by key of `INDICATORS`."""

    school: School
    values: Mapping[str, Value]

    @cached_property
    def active(self) -> bool:
        return has_activity(self.values)

    def __getitem__(self, key: str) -> Value:
        return self.values[key]

    def reported(self, key: str) -> bool:
        """Did the school report `key` (a school's older CSV lacks the keys added since)?"""
        return key in self.values


@dataclass(frozen=True)
class Figure:
    """One indicator across the académie."""

    indicator: Indicator
    value: Value  # `K`: the total of a count, the median of the schools for the others
    schools: int  # `K_etablissements`: schools where the value is above zero
    measured: int  # schools where it was measured (not empty)
    median: Value  # of a count: the median over the schools concerned; otherwise `value`
    reported: int  # schools that reported it (an older school's CSV may lack it)


@dataclass(frozen=True)
class Academie:
    year: SchoolYear
    schools: tuple[SchoolFigures, ...]  # by UAI
    figures: Mapping[str, Figure]  # by key of INDICATORS, in its order

    @property
    def served(self) -> int:
        return len(self.schools)

    @cached_property
    def active(self) -> int:
        return sum(school.active for school in self.schools)

    @property
    def has_activity(self) -> bool:
        return self.active > 0

    def share(self, schools: int, among: int | None = None) -> float:
        """`schools` as a percentage of `among` schools (those served unless told)."""
        among = self.served if among is None else among
        return 100 * schools / among if among else 0.0

    @property
    def fully_reported(self) -> bool:
        """Did every school report every indicator (no CSV of an older bot lacked one)?"""
        return all(figure.reported == self.served for figure in self.figures.values())

    def __getitem__(self, key: str) -> Figure:
        return self.figures[key]

    def values(self) -> dict[str, Value]:
        """The académie's CSV values, by key, in the file's order."""
        values: dict[str, Value] = {SERVED_KEY: self.served, ACTIVE_KEY: self.active}
        for key, figure in self.figures.items():
            values[key] = figure.value
            values[schools_key(key)] = figure.schools
        return values


def _median(values: list[int | float]) -> Value:
    return statistics.median(values) if values else None


def _figure(indicator: Indicator, values: list[Value]) -> Figure:
    """The figure of the schools that reported the indicator (`values`, one each)."""
    measured = [value for value in values if value is not None]
    concerned = [value for value in measured if value > 0]
    if indicator.summed:
        total = sum(measured) if values else None
        return Figure(
            indicator, total, len(concerned), len(measured), _median(concerned), len(values)
        )
    median = _median(measured)
    return Figure(indicator, median, len(concerned), len(measured), median, len(values))


def aggregate(schools: Iterable[SchoolFigures], year: SchoolYear) -> Academie:
    """The académie of `schools` (each once: a UAI given twice is a programming error)."""
    ordered = tuple(sorted(schools, key=lambda s: (s.school.key, s.school.name)))
    keys = [s.school.key for s in ordered]
    if len(set(keys)) != len(keys):
        raise ValueError(f"a school given twice: {sorted(k for k in keys if keys.count(k) > 1)}")
    figures = {
        indicator.key: _figure(
            indicator,
            [as_written(s[indicator.key]) for s in ordered if s.reported(indicator.key)],
        )
        for indicator in INDICATORS
    }
    return Academie(year, ordered, figures)


def figures_of(schools_and_bilans: Iterable[tuple[School, Bilan]]) -> list[SchoolFigures]:
    return [SchoolFigures(school, bilan.values) for school, bilan in schools_and_bilans]
