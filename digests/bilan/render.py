"""Render: the bilan's summary and its three files (HTML to print, CSV, Markdown).

The jinja2 templates in digests/bilan/templates/ hold every word; this module
supplies the figures, French number formats and the charts (charts.py). The
paragraph of section 6 is a template too: the same figures give the same words.
The CSV follows the contract of `INDICATORS` (model.py): `;`, UTF-8 with BOM,
decimal comma, a bare number or an empty cell.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import TYPE_CHECKING

from babel.dates import format_date
from babel.numbers import format_decimal
from markupsafe import Markup

from bot.dates import format_day
from digests.bilan import charts
from digests.bilan.model import INDICATORS, SECTIONS, Bilan, Indicator, Value

if TYPE_CHECKING:
    from jinja2 import Environment

LOCALE = "fr_FR"
CSV_HEADER = ("section", "cle", "indicateur", "valeur")
NOT_MEASURED = "non mesuré"


@dataclass(frozen=True)
class BilanFile:
    name: str
    data: bytes
    mimetype: str


@dataclass(frozen=True)
class RenderedBilan:
    summary: str  # the message posted in the room
    paragraph: str  # section 6, also inside the files
    files: tuple[BilanFile, ...]  # HTML, CSV, Markdown

    def file(self, extension: str) -> BilanFile:
        return next(f for f in self.files if f.name.endswith(f".{extension}"))


# --- formats -------------------------------------------------------------------------------


def number(value: float) -> str:
    """« 1 240 », « 14,5 » (a narrow no-break space between thousands)."""
    if isinstance(value, int) or float(value).is_integer():
        return format_decimal(int(value), locale=LOCALE)
    return format_decimal(round(value, 1), format="#,##0.#", locale=LOCALE)


def percent(value: float) -> str:
    """« 38 % », rounded to the unit (no-break space before the sign)."""
    return f"{format_decimal(round(value), locale=LOCALE)}\u00a0%"


def at_least(value: float) -> str:
    """A median of readers, rounded down: « au moins 14 » stays true for 14,5."""
    return number(math.floor(value))


def count(value: int, singular: str, plural: str | None = None) -> str:
    """« 0 annonce », « 1 annonce », « 182 annonces »: in French 0 and 1 are singular."""
    word = singular if value <= 1 else (plural or f"{singular}s")
    return f"{number(value)} {word}"


def shown(indicator: Indicator, value: Value) -> str:
    if value is None:
        return NOT_MEASURED
    return percent(value) if indicator.percent else number(value)


def listing(items: Sequence[str], quote: bool = True) -> str:
    """« « Pronote », « ENT » et « Pix » »."""
    words = [f"« {item} »" if quote else item for item in items]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} et {words[-1]}"


def month_name(year: int, month: int, long: bool = False) -> str:
    return format_date(date(year, month, 1), "MMMM y" if long else "MMM", locale=LOCALE)


def md_cell(text: str) -> str:
    """Text inside a Markdown table cell: no pipe, no line break."""
    return " ".join(text.replace("|", "\\|").split())


def csv_value(value: Value) -> str:
    """A bare number with a decimal comma (one decimal at most); empty when not measured."""
    if value is None:
        return ""
    rounded = round(float(value), 1)
    if rounded.is_integer():
        return str(int(rounded))
    return f"{rounded:.1f}".replace(".", ",")


def _with_year(day: date) -> str:
    return f"{format_day(day)} {day.year}"


def period(bilan: Bilan) -> str:
    """« du 1er septembre 2025 au 31 août 2026 » (to the day the bilan is made, if earlier)."""
    last = bilan.year.end_date - timedelta(days=1)
    if bilan.partial:
        last = max(bilan.made_at.astimezone(bilan.tz).date(), bilan.year.start_date)
    return f"du {_with_year(bilan.year.start_date)} au {_with_year(last)}"


# --- templates -----------------------------------------------------------------------------


@cache
def environment() -> Environment:
    # jinja2 on first render, not when the bot starts (one place: this function).
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("digests.bilan", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        number=number,
        percent=percent,
        at_least=at_least,
        count=count,
        listing=listing,
        md=md_cell,
    )
    env.globals.update(
        month_name=month_name,
        shown=shown,
        indicators=INDICATORS,
        sections=SECTIONS,
    )
    return env


def _render(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context)


def _one_paragraph(text: str) -> str:
    """Spaces and line breaks collapsed; no-break spaces (« 38 % ») kept."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def render_csv(bilan: Bilan) -> bytes:
    """One row per indicator of `INDICATORS`: fixed labels and numbers, never a person."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for indicator in INDICATORS:
        writer.writerow(
            (indicator.section, indicator.key, indicator.label, csv_value(bilan[indicator.key]))
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def render_bilan(bilan: Bilan) -> RenderedBilan:
    names = {ext: f"{bilan.name}.{ext}" for ext in ("html", "csv", "md")}
    context: dict[str, object] = {
        "b": bilan,
        "period": period(bilan),
        "made_on": _with_year(bilan.made_at.astimezone(bilan.tz).date()),
    }
    paragraph = _one_paragraph(_render("paragraph.txt.j2", **context))
    context["paragraph"] = paragraph
    figures = {
        "months": charts.months(bilan),
        "sources": charts.sources(bilan),
        "slots": charts.slots(bilan),
        "satisfaction": charts.satisfaction(bilan),
        "needs": charts.needs(bilan),
    }
    html = _render(
        "bilan.html.j2",
        charts={key: Markup(svg) for key, svg in figures.items() if svg},  # noqa: S704 - pygal's SVG, text escaped by its serialiser
        **context,
    )
    markdown = _render("bilan.md.j2", **context)
    summary = _render("summary.txt.j2", names=names, **context).strip()
    return RenderedBilan(
        summary=summary,
        paragraph=paragraph,
        files=(
            BilanFile(names["html"], html.encode("utf-8"), "text/html"),
            BilanFile(names["csv"], render_csv(bilan), "text/csv"),
            BilanFile(names["md"], markdown.encode("utf-8"), "text/markdown"),
        ),
    )
