"""The HTML bilan's charts: pygal, rendered as static SVG to inline in the page.

pygal always writes a `<script>` with its configuration into the SVG, even with
`js=[]` (no external script), and comments with its URLs and the day's date. An
XML filter (pygal's own hook on the tree) takes them out before serialising, and
each chart gets a fixed id instead of a random uuid: the same figures give the
same bytes, and the page has no JavaScript and no external resource. A printed
page has no tooltips: single-series charts carry the value in their labels
(« Pause méridienne : 31 »); the others sit next to a table of the figures.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from babel.dates import format_date
from babel.numbers import format_decimal

from digests.bilan.model import Bilan

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from pygal.graph.graph import Graph
    from pygal.style import Style

    AnyGraph = Graph[Any, Any, Any]  # pygal's classes are generic in its stubs only

FONT = '"DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif'
COLORS = ("#000091", "#e1000f", "#6a6af4", "#009081", "#b34000", "#716043", "#ffca00")
WIDTH = 760


class _Pygal(NamedTuple):
    stacked: type[AnyGraph]
    horizontal: type[AnyGraph]
    style: Style


@cache
def _pygal() -> _Pygal:
    """pygal, imported at the first chart (the bilan), not when the bot starts: about
    2 MiB that a running bot would otherwise carry all year for one command."""
    import pygal
    from pygal.style import Style

    # pygal appends to sys.meta_path a finder for its map plugins that has only the legacy
    # `find_module` API: from then on, every import that fails (an optional dependency
    # tried in a try/except, as aiohttp does) warns (ImportWarning), an error under the
    # tests' `filterwarnings = error`. The bilan draws no map: the finder is taken out.
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, pygal.PluginImportFixer)]
    style = Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#1e1e1e",
        foreground_strong="#1e1e1e",
        foreground_subtle="#d0d0d0",
        font_family=FONT,
        label_font_size=13,
        major_label_font_size=13,
        value_font_size=13,
        value_label_font_size=13,
        legend_font_size=13,
        title_font_size=15,
        no_data_font_size=15,
        opacity="1",
        opacity_hover="1",
        colors=COLORS,
    )
    return _Pygal(pygal.StackedBar, pygal.HorizontalBar, style)


def _static(caption: str) -> Callable[[Element], Element]:
    """The XML filter: no script, no comment, the caption as the SVG's accessible title."""

    def clean(svg: Element) -> Element:
        for parent in svg.iter():
            for child in list(parent):
                if not isinstance(child.tag, str):  # a comment (its tag is a function)
                    parent.remove(child)
                    continue
                name = child.tag.rsplit("}", 1)[-1]
                if name == "script":
                    parent.remove(child)
                elif name == "title" and parent is svg:
                    child.text = caption
        return svg

    return clean


def _chart(
    uid: str,
    caption: str,
    *,
    horizontal: bool,
    height: int,
    show_legend: bool,
    show_y_guides: bool = True,
) -> AnyGraph:
    pygal = _pygal()
    factory = pygal.horizontal if horizontal else pygal.stacked
    chart = factory(
        js=[],
        disable_xml_declaration=True,
        width=WIDTH,
        height=height,
        style=pygal.style,
        show_legend=show_legend,
        print_values=False,
        show_y_guides=show_y_guides,
        legend_at_bottom=True,
        legend_at_bottom_columns=3,
    )
    chart.uuid = f"bilan-{uid}"  # a fixed id: the chart's CSS is scoped to it
    chart.add_xml_filter(_static(caption))  # type: ignore[arg-type]  # stubs: lxml or etree
    return chart


def _svg(chart: AnyGraph) -> str:
    svg = chart.render(is_unicode=True)
    if "<script" in svg:  # pragma: no cover - the filter above removes it
        raise AssertionError("a chart kept a script")
    return svg


def months(bilan: Bilan) -> str | None:
    """Announcements per month: the RUPN's own and the news entries, stacked."""
    rows = bilan.diffusion.months
    if not any(m.announcements or m.news for m in rows):
        return None
    chart = _chart(
        "annonces",
        "Annonces publiées par mois",
        horizontal=False,
        height=300,
        show_legend=True,
    )
    chart.x_labels = [format_date(date(m.year, m.month, 1), "MMM", locale="fr_FR") for m in rows]
    chart.add("Annonces", [m.announcements for m in rows])
    chart.add("Articles de veille", [m.news for m in rows])
    return _svg(chart)


def horizontal(uid: str, caption: str, labels: Sequence[str], series: dict[str, list[int]]) -> str:
    chart = _chart(
        uid,
        caption,
        horizontal=True,
        height=90 + 30 * len(labels) * len(series),
        show_legend=len(series) > 1,
        show_y_guides=False,
    )
    # pygal draws the first label at the bottom: reversed, the first row reads first.
    chart.x_labels = list(reversed(labels))
    chart.truncate_label = -1  # labels are short; never « Écrans numériq… »
    for title, values in series.items():
        chart.add(title, list(reversed(values)))
    return _svg(chart)


def counted(uid: str, caption: str, rows: Sequence[tuple[str, int]]) -> str:
    """One bar per row, its value in the label: « Pause méridienne : 31 »."""
    labels = [f"{label} : {format_decimal(value, locale='fr_FR')}" for label, value in rows]
    return horizontal(uid, caption, labels, {caption: [value for _, value in rows]})


def sources(bilan: Bilan) -> str | None:
    """Published and set aside per source (the figures are in the table above it)."""
    rows = [s for s in bilan.news.sources if s.published or s.set_aside][:8]
    if not rows:
        return None
    return horizontal(
        "sources",
        "Articles publiés et écartés, par source",
        [s.name for s in rows],
        {"Publiés": [s.published for s in rows], "Écartés": [s.set_aside for s in rows]},
    )


def slots(bilan: Bilan) -> str | None:
    a = bilan.ateliers
    if not a.organised:
        return None
    return counted(
        "creneaux",
        "Créneaux des mini-ateliers",
        [
            ("Pause méridienne", a.midday),
            ("Fin de journée", a.end_of_day),
            ("Autre créneau", a.other_slot),
        ],
    )


def satisfaction(bilan: Bilan) -> str | None:
    answers = bilan.ateliers.satisfaction.answers
    if not any(answer.count for answer in answers):
        return None
    return counted(
        "satisfaction",
        "Satisfaction après les mini-ateliers",
        [(answer.label, answer.count) for answer in answers],
    )


def needs(bilan: Bilan) -> str | None:
    themes = bilan.consultations.needs_themes
    if not themes:
        return None
    return counted(
        "besoins",
        "Thèmes en tête des sondages de besoins",
        [(theme.label, theme.count) for theme in themes],
    )
