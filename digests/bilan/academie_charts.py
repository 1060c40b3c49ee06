"""The académie bilan's charts, drawn like the school's (charts.py: pygal loaded at the
first chart, static SVG, fixed ids, the figures in the labels of a printed page)."""

from __future__ import annotations

from babel.numbers import format_decimal

from digests.bilan.academie import Academie
from digests.bilan.academie_phrases import ACTIVITIES
from digests.bilan.charts import counted, horizontal

ANNOUNCEMENT_BANDS = ((0, 0, "Aucune annonce"), (1, 9, "1 à 9"), (10, 49, "10 à 49"))
"""How many announcements a school published: bands of the second chart (then « 50 et plus »)."""
LAST_BAND = 50


def concerned(academie: Academie) -> str | None:
    """For each activity, the share of the schools that had it: « Mini-ateliers : 46 % »."""
    if not academie.has_activity:
        return None
    figures = [academie[key] for key in ACTIVITIES]
    shares = [round(academie.share(f.schools, f.reported)) for f in figures]
    labels = [
        f"{name} : {format_decimal(share, locale='fr_FR')}\u00a0%"
        for name, share in zip(ACTIVITIES.values(), shares, strict=True)
    ]
    caption = "Part des établissements concernés (%)"
    return horizontal("academie-concernes", caption, labels, {caption: shares})


def announcements(academie: Academie) -> str | None:
    """How many schools published no announcement, 1 to 9, 10 to 49, 50 or more."""
    if not academie.has_activity:
        return None
    published = [school["annonces_publiees"] or 0 for school in academie.schools]
    rows = [
        (label, sum(low <= n <= high for n in published)) for low, high, label in ANNOUNCEMENT_BANDS
    ]
    rows.append((f"{LAST_BAND} et plus", sum(n >= LAST_BAND for n in published)))
    return counted("academie-annonces", "Établissements par nombre d’annonces publiées", rows)
