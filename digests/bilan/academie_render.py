"""Render the académie's bilan: `bilan-academie-AAAA-AAAA.html/.csv/.md` and its summary.

The templates (academie*.j2 in digests/bilan/templates/) hold every word and go through the
school bilan's environments (render.TEMPLATES: one escaping rule, the same French number
formats); the charts are pygal's, loaded at the first one (academie_charts.py). The CSV keeps
the school contract (csv_contract.py): section 0 gives the year and the numbers of schools
served and active, then each indicator's key `K` (the académie's value) and
`K_etablissements` (the schools concerned).

`academie_bilan` is what the bot calls with its schools and their `Bilan`s (`!bilan
academie`, `rupn-bot bilan --academie --config`); `rupn-bot bilan --academie --csv` reads
the schools' CSV files instead (academie_folder.py) and renders the same `Academie`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup

from bot.school_year import SchoolYear
from bot.schools import School
from digests.bilan import academie_charts
from digests.bilan.academie import (
    ACADEMIE_LABELS,
    Academie,
    aggregate,
    figures_of,
    schools_key,
)
from digests.bilan.academie_phrases import ACTIVITIES, CONCERNED, SHORT
from digests.bilan.csv_contract import (
    ABOUT_LABELS,
    ABOUT_SECTION,
    YEAR_KEY,
    Row,
    csv_bytes,
    csv_value,
)
from digests.bilan.model import INDICATORS, Bilan
from digests.bilan.render import TEMPLATES, BilanFile, period_of, with_year

PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class RenderedAcademie:
    summary: str  # the message posted with the files
    files: tuple[BilanFile, ...]  # HTML, CSV, Markdown
    has_activity: bool  # False: no school did anything; say `no_activity_text`, post no file

    def file(self, extension: str) -> BilanFile:
        return next(f for f in self.files if f.name.endswith(f".{extension}"))


def files_name(year: SchoolYear) -> str:
    """« bilan-academie-2025-2026 »."""
    return f"bilan-academie-{year.label}"


def csv_rows(academie: Academie) -> list[Row]:
    """The year, the schools served and active, then `K` and `K_etablissements` for each `K`."""
    values = academie.values()
    rows: list[Row] = [(ABOUT_SECTION, YEAR_KEY, ABOUT_LABELS[YEAR_KEY], academie.year.label)]
    for key, label in ACADEMIE_LABELS.items():
        rows.append((ABOUT_SECTION, key, label, csv_value(values[key])))
    for indicator in INDICATORS:
        key, label, section = indicator.key, indicator.label, indicator.section
        own = label if indicator.summed else f"{label}, médiane des établissements"
        rows.append((section, key, own, csv_value(values[key])))
        concerned, count = schools_key(key), f"{label} : établissements concernés"
        rows.append((section, concerned, count, csv_value(values[concerned])))
    return rows


def render_academie(
    academie: Academie, made_at: datetime, tz: ZoneInfo = PARIS, title: str = ""
) -> RenderedAcademie:
    """The three files and the summary; `title` names the académie (« Académie de Poitiers »)."""
    name = files_name(academie.year)
    names = {ext: f"{name}.{ext}" for ext in ("html", "csv", "md")}
    context: dict[str, object] = {
        "a": academie,
        "title": title,
        "name": name,
        "names": names,
        "period": period_of(academie.year, made_at, tz),
        "partial": made_at < academie.year.end(tz),
        "made_on": with_year(made_at.astimezone(tz).date()),
        "concerned": CONCERNED,
        "short": SHORT,
        "activities": ACTIVITIES,
    }
    figures = {
        "concerned": academie_charts.concerned(academie),
        "announcements": academie_charts.announcements(academie),
    }
    html = TEMPLATES.render(
        "academie.html.j2",
        charts={key: Markup(svg) for key, svg in figures.items() if svg},  # noqa: S704 - pygal's SVG, text escaped by its serialiser
        **context,
    )
    markdown = TEMPLATES.render("academie.md.j2", **context)
    summary = TEMPLATES.render("academie_summary.txt.j2", **context).strip()
    return RenderedAcademie(
        summary=summary,
        files=(
            BilanFile(names["html"], html.encode("utf-8"), "text/html"),
            BilanFile(names["csv"], csv_bytes(csv_rows(academie)), "text/csv"),
            BilanFile(names["md"], markdown.encode("utf-8"), "text/markdown"),
        ),
        has_activity=academie.has_activity,
    )


def academie_bilan(
    schools_and_bilans: Iterable[tuple[School, Bilan]],
    year: SchoolYear,
    *,
    now: datetime | None = None,
    tz: ZoneInfo | None = None,
    title: str = "",
) -> RenderedAcademie:
    """The académie's bilan of `year` from each school and its bilan of that year.

    Every school the académie serves should be given, active or not (an inactive one counts
    in `etablissements_servis`). `now` and `tz` default to the latest bilan's. When no
    school had any activity (`has_activity` False), a caller answers `no_activity_text`
    instead of posting files, as `!bilan` does for a school.
    """
    pairs = list(schools_and_bilans)
    if any(bilan.year.first != year.first for _, bilan in pairs):
        raise ValueError("every bilan must be of the académie's year")
    latest = max((bilan for _, bilan in pairs), key=lambda b: b.made_at, default=None)
    if now is None:
        if latest is None:
            raise ValueError("no bilan to date the académie's: give `now`")
        now = latest.made_at
    if tz is None:
        tz = latest.tz if latest else PARIS
    return render_academie(aggregate(figures_of(pairs), year), now, tz, title)
