"""Render: the bilan's summary and its three files (HTML to print, CSV, Markdown).

The jinja2 templates in digests/bilan/templates/ hold every word; this module
supplies the figures, French number formats and the charts (charts.py). The
paragraph of section 6 is a template too: the same figures give the same words.
The CSV follows the contract of csv_contract.py: `;`, UTF-8 with BOM, decimal comma, a
bare number or an empty cell, and the year (and the school, when it has a UAI) in section
0. Names people typed (themes, sources, answers) and the school's name are escaped by the
template's kind (digests/templating.py): HTML-escaped in the page, its macros included;
backslash-escaped to literal text in the Markdown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal
from markupsafe import Markup

from bot.dates import format_day
from bot.school_year import SchoolYear
from bot.schools import School
from digests.bilan import charts
from digests.bilan.csv_contract import about_rows, csv_bytes, csv_value, indicator_rows
from digests.bilan.model import INDICATORS, SECTIONS, Bilan, Indicator, Value
from digests.templating import Templates

__all__ = ["BilanFile", "RenderedBilan", "csv_value", "render_bilan"]

LOCALE = "fr_FR"
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
        if 0 <= value < 1000:  # babel writes them as they are, at 100 µs a call
            return str(int(value))
        return format_decimal(int(value), locale=LOCALE)
    return format_decimal(round(value, 1), format="#,##0.#", locale=LOCALE)


def percent(value: float) -> str:
    """« 38 % », rounded to the unit (no-break space before the sign)."""
    return f"{number(round(value))}\u00a0%"


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


def with_year(day: date) -> str:
    return f"{format_day(day)} {day.year}"


def period_of(year: SchoolYear, made_at: datetime, tz: ZoneInfo) -> str:
    """« du 1er septembre 2025 au 31 août 2026 » (to the day the bilan is made, if earlier)."""
    last = year.end_date - timedelta(days=1)
    if made_at < year.end(tz):
        last = max(made_at.astimezone(tz).date(), year.start_date)
    return f"du {with_year(year.start_date)} au {with_year(last)}"


def period(bilan: Bilan) -> str:
    return period_of(bilan.year, bilan.made_at, bilan.tz)


def school_label(school: School) -> str:
    """« Collège Jean Moulin (UAI 0860001J) », or « UAI 0860001J » for a school not named."""
    return f"{school.name} (UAI {school.key})" if school.name else f"UAI {school.key}"


# --- templates -----------------------------------------------------------------------------


TEMPLATES = Templates(
    "digests.bilan",
    filters={
        "number": number,
        "percent": percent,
        "at_least": at_least,
        "count": count,
        "listing": listing,
    },
    globals={
        "month_name": month_name,
        "school_label": school_label,
        "shown": shown,
        "indicators": INDICATORS,
        "sections": SECTIONS,
    },
    keep_trailing_newline=True,
)
"""HTML autoescaped (its macros too), Markdown escaped value by value, text as typed."""


def _render(name: str, **context: object) -> str:
    return TEMPLATES.render(name, **context)


def _one_paragraph(text: str) -> str:
    """Spaces and line breaks collapsed; no-break spaces (« 38 % ») kept."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def render_csv(bilan: Bilan) -> bytes:
    """The year (and the school), then one row per indicator: numbers, never a person."""
    about = about_rows(bilan.year.label, bilan.named_school)
    return csv_bytes(about + indicator_rows(bilan.values))


def render_bilan(bilan: Bilan) -> RenderedBilan:
    names = {ext: f"{bilan.name}.{ext}" for ext in ("html", "csv", "md")}
    context: dict[str, object] = {
        "b": bilan,
        "school": bilan.named_school,
        "period": period(bilan),
        "made_on": with_year(bilan.made_at.astimezone(bilan.tz).date()),
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
