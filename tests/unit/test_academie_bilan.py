"""The académie's bilan: the aggregation, its French sentences, its files and CSV contract.

Schools are given by hand (`School` and the values of every key of `INDICATORS`), as a
shared bot or a folder of school CSV files gives them; the figures expected are worked
out beside each school.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import uai_letter
from bot.school_year import SchoolYear
from bot.schools import School
from digests.bilan.academie import Academie, SchoolFigures, aggregate
from digests.bilan.academie_phrases import ACTIVITIES, CONCERNED, SHORT
from digests.bilan.academie_render import RenderedAcademie, render_academie
from digests.bilan.csv_contract import ABOUT_LABELS
from digests.bilan.model import INDICATORS, Value, has_activity
from tests.unit.test_lazy_imports import _imported_after

PARIS = ZoneInfo("Europe/Paris")
YEAR = SchoolYear(2025)
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=PARIS)  # the year is not over
ROOT = Path(__file__).resolve().parents[2]
USER_ID = re.compile(r"@[A-Za-z0-9._=\-/+]+:[A-Za-z0-9.\-]+")
MEDIANS = {
    "lecteurs_median",
    "lettres_lecteurs_median",
    "pannes_delai_reponse_median",
    "pannes_delai_resolution_median",
}
RATES = {i.key for i in INDICATORS if i.percent}


def school(uai: str, name: str, **values: Value) -> SchoolFigures:
    """A school whose indicators are 0 (counts) or not measured (medians, rates) but `values`."""
    base: dict[str, Value] = {i.key: (0 if i.summed else None) for i in INDICATORS}
    return SchoolFigures(School(uai, name, frozenset(), None), base | values)


JEAN_MOULIN = school(
    "0860001J", "Collège Jean Moulin",
    annonces_publiees=10, lecteurs_median=12, taux_lecture_median=50.0, ateliers=2,
    satisfaction_utile=100.0,
)  # fmt: skip
GUERIN = school(
    "0860034V", "Lycée Camille Guérin",
    annonces_publiees=4, lecteurs_median=7.5, taux_lecture_median=80.0, ateliers=3,
    satisfaction_utile=0.0,
)  # fmt: skip
ONLY_NEWS = school("0860005N", "Collège du Jardin des Plantes", articles_recus=6)
IDLE = school("0750654D", "Lycée Louis-le-Grand")  # uses the bot, did nothing with it


def academie(*schools: SchoolFigures) -> Academie:
    return aggregate(schools, YEAR)


def csv_values(rendered: RenderedAcademie) -> dict[str, str]:
    return {row[1]: row[3] for row in csv_rows(rendered)[1:]}


def csv_rows(rendered: RenderedAcademie) -> list[list[str]]:
    data = rendered.file("csv").data
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def texts(rendered: RenderedAcademie) -> Mapping[str, str]:
    found = {f.name.rsplit(".", 1)[1]: f.data.decode("utf-8-sig") for f in rendered.files}
    return found | {"summary": rendered.summary}


# --- the aggregation -----------------------------------------------------------------------


def test_counts_add_up_and_medians_and_rates_take_the_median_of_the_schools() -> None:
    a = academie(JEAN_MOULIN, GUERIN, ONLY_NEWS, IDLE)
    values = a.values()
    assert (values["etablissements_servis"], values["etablissements_actifs"]) == (4, 3)
    assert (values["annonces_publiees"], values["annonces_publiees_etablissements"]) == (14, 2)
    assert a["annonces_publiees"].median == 7  # over the 2 schools concerned, not the 4
    assert (values["ateliers"], values["ateliers_etablissements"]) == (5, 2)
    assert (values["articles_recus"], values["articles_recus_etablissements"]) == (6, 1)
    # Medians and rates: the median of the schools where it was measured (2 of 4).
    assert values["lecteurs_median"] == 9.75  # (12 + 7,5) / 2, never 19,5
    assert values["taux_lecture_median"] == 65.0
    assert a["taux_lecture_median"].measured == 2
    assert values["satisfaction_utile"] == 50.0  # 100 and 0: a rate of 0 is measured
    assert values["satisfaction_utile_etablissements"] == 1  # but only one is above zero
    assert values["participation_mediane"] is None  # measured nowhere
    assert values["participation_mediane_etablissements"] == 0
    assert values["sondages"] == 0 and a["sondages"].median is None
    assert [s.school.key for s in a.schools] == ["0750654D", "0860001J", "0860005N", "0860034V"]


def test_every_indicator_has_a_kind_and_its_words() -> None:
    assert {i.key for i in INDICATORS if i.median} == MEDIANS
    assert {i.key for i in INDICATORS if not i.summed} == MEDIANS | RATES
    assert set(CONCERNED) == {i.key for i in INDICATORS if i.summed}
    assert set(SHORT) == MEDIANS | RATES
    assert set(ACTIVITIES) <= set(CONCERNED)


def test_an_active_school_is_what_a_school_bilan_calls_activity() -> None:
    assert ONLY_NEWS.active and has_activity(ONLY_NEWS.values)  # one article received
    assert not IDLE.active and not has_activity(IDLE.values)
    rate_only = school("0860001J", "", participation_mediane=0.0)
    assert not rate_only.active  # a measured 0 % counts nothing
    assert academie(IDLE).active == 0 and not academie(IDLE).has_activity


def test_school_values_are_taken_at_the_csv_precision() -> None:
    """57,14… and 57,1 (its CSV) give the same académie: a folder matches a shared bot."""
    exact = school("0860001J", "A", taux_lecture_median=57.142857, lecteurs_median=3.25)
    written = school("0860001J", "A", taux_lecture_median=57.1, lecteurs_median=3.2)
    other = school("0860034V", "B", taux_lecture_median=33.35, lecteurs_median=2)
    assert academie(exact, other).values() == academie(written, other).values()


def test_a_school_given_twice_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="0860001J"):
        academie(JEAN_MOULIN, school("0860001J", "Collège Jean Moulin (bis)"))


# --- the French of the files ---------------------------------------------------------------


def survey_like() -> Academie:
    """100 schools: 46 with ateliers, readers' medians 10, 12 and 14 in three of them."""
    schools = [
        school(
            f"{number:07d}{uai_letter(f'{number:07d}')}",
            f"Établissement {number}",
            ateliers=2 if number < 46 else 0,
            annonces_publiees=1,
            lecteurs_median={0: 10, 1: 12, 2: 14}.get(number),
        )
        for number in range(100)
    ]
    return aggregate(schools, YEAR)


def test_the_sentences_are_the_survey_s() -> None:
    found = texts(render_academie(survey_like(), NOW))
    ateliers = (
        "46\u00a0% des établissements ont proposé au moins un mini-atelier (92 en tout ; "
        "médiane 2 par établissement concerné)."
    )
    readers = "Lecteurs par annonce : médiane 12, sur 3 établissements."
    for kind in ("html", "md", "summary"):
        assert ateliers in found[kind], kind
        assert readers in found[kind], kind
    assert "<li>0\u00a0% des établissements ont lancé au moins un sondage.</li>" in found["html"]
    assert "- Taux de lecture par annonce : non mesuré." in found["md"]


def test_the_summary_says_how_many_schools_use_the_bot_and_were_active() -> None:
    rendered = render_academie(academie(JEAN_MOULIN, GUERIN, ONLY_NEWS, IDLE), NOW)
    assert rendered.summary.splitlines() == [
        "📊 Bilan du numérique 2025-2026 des établissements, du 1er septembre 2025 au "
        "15 juin 2026 (année en cours)",
        "Établissements : 4 établissements utilisent le bot ; 3 ont été actifs cette année "
        "(75\u00a0%).",
        "Diffusion : 50\u00a0% des établissements ont publié au moins une annonce (14 en tout ; "
        "médiane 7 par établissement concerné). Lecteurs par annonce : médiane 9,8, sur "
        "2 établissements.",
        "Lettre de la semaine : 0\u00a0% des établissements ont envoyé au moins une lettre de la "
        "semaine.",
        "Veille : 0\u00a0% des établissements ont suivi au moins une source d’actualité.",
        "Cafés numériques : 0\u00a0% des établissements ont organisé au moins un café numérique.",
        "Mini-ateliers : 50\u00a0% des établissements ont proposé au moins un mini-atelier "
        "(5 en tout ; médiane 2,5 par établissement concerné). Ateliers jugés utiles : médiane "
        "50\u00a0%, sur 2 établissements.",
        "Besoins : 0\u00a0% des établissements ont lancé au moins un sondage. Participation aux "
        "sondages : non mesuré.",
        "Fichiers ci-dessous : bilan-academie-2025-2026.html (à imprimer ou enregistrer en PDF), "
        "bilan-academie-2025-2026.csv (tableur), bilan-academie-2025-2026.md (à coller).",
        "Aucun nom de personne dans ce bilan : des chiffres par établissement.",
    ]
    one = render_academie(academie(IDLE), datetime(2026, 9, 2, tzinfo=PARIS), title="Académie")
    assert one.summary.splitlines()[:2] == [
        "📊 Bilan du numérique 2025-2026 des établissements — Académie, du 1er septembre 2025 au "
        "31 août 2026",
        "Établissements : 1 établissement utilise le bot ; 0 a été actif cette année (0\u00a0%).",
    ]


def test_the_html_and_markdown_give_each_indicator_and_each_school() -> None:
    rendered = render_academie(academie(JEAN_MOULIN, GUERIN, ONLY_NEWS, IDLE), NOW)
    html, markdown = texts(rendered)["html"], texts(rendered)["md"]
    assert [f.name for f in rendered.files] == [
        "bilan-academie-2025-2026.html",
        "bilan-academie-2025-2026.csv",
        "bilan-academie-2025-2026.md",
    ]
    assert (
        '<tr><th scope="row">Annonces publiées</th><td class="n">14</td><td class="n">7</td>'
        '<td class="n">2 (50\u00a0%)</td></tr>'
    ) in html
    assert (
        '<tr><th scope="row">Taux de lecture par annonce (médiane, %)</th><td class="n">médiane '
        '65\u00a0%</td><td class="n">—</td><td class="n">2 (50\u00a0%)</td></tr>'
    ) in html
    assert (
        "<tr><td>0860001J</td><td>Collège Jean Moulin</td><td>oui</td><td "
        'class="n">10</td><td class="n">0</td><td class="n">0</td><td class="n">0</td><td '
        'class="n">2</td><td class="n">0</td></tr>'
    ) in html
    assert "<tr><td>0750654D</td><td>Lycée Louis-le-Grand</td><td>non</td>" in html
    assert "| Annonces publiées | 14 | 7 | 2 (50\u00a0%) |" in markdown
    assert "| Lecteurs par annonce (médiane, au moins) | médiane 9,8 | — | 2 (50\u00a0%) |" in (
        markdown
    )
    assert "| 0860034V | Lycée Camille Guérin | oui | 4 | 0 | 0 | 0 | 3 | 0 |" in markdown
    assert "| UAI | Établissement | Actif | Annonces | Lettre de la semaine | Veille |" in markdown
    for text in texts(rendered).values():
        assert USER_ID.search(text) is None


def test_the_charts_are_static_and_pygal_is_loaded_only_to_draw_them() -> None:
    html = texts(render_academie(academie(JEAN_MOULIN, GUERIN, IDLE), NOW))["html"]
    assert html.count("<svg") == 2
    assert 'id="chart-bilan-academie-concernes"' in html
    assert "Mini-ateliers : 67\u00a0%" in html  # the share in the label of a printed bar
    assert "Aucune annonce : 1" in html and "1 à 9 : 1" in html and "10 à 49 : 1" in html
    assert "<script" not in html.lower() and "<!--" not in html
    assert not re.search(r"""\b(src|href)\s*=|url\(|<link|<img""", html)
    assert "<svg" not in texts(render_academie(academie(IDLE), NOW))["html"]
    lazy = "import digests.bilan.academie_render, digests.bilan.academie_folder"
    assert "pygal" not in _imported_after(f"{lazy}, digests.bilan.offline")


# --- the CSV contract ----------------------------------------------------------------------


def test_the_csv_keeps_the_school_contract() -> None:
    rendered = render_academie(academie(JEAN_MOULIN, GUERIN, ONLY_NEWS, IDLE), NOW)
    data = rendered.file("csv").data
    assert data.startswith("\ufeffsection;cle;indicateur;valeur\r\n".encode())
    rows = csv_rows(rendered)
    assert rows[1:4] == [
        ["0", "annee", "Année scolaire", "2025-2026"],
        ["0", "etablissements_servis", "Établissements qui utilisent le bot", "4"],
        ["0", "etablissements_actifs", "Établissements actifs dans l’année", "3"],
    ]
    keys = [key for i in INDICATORS for key in (i.key, f"{i.key}_etablissements")]
    assert [row[1] for row in rows[4:]] == keys
    assert [row[0] for row in rows[4::2]] == [str(i.section) for i in INDICATORS]
    assert ["1", "lecteurs_median", "Lecteurs par annonce (médiane, au moins), médiane des "
            "établissements", "9,8"] in rows  # fmt: skip
    assert ["4", "ateliers_etablissements", "Mini-ateliers organisés : établissements "
            "concernés", "2"] in rows  # fmt: skip
    values = csv_values(rendered)
    assert values["participation_mediane"] == ""  # not measured: an empty cell
    assert values["taux_lecture_median"] == "65"
    assert values["annonces_publiees"] == "14"


def test_the_readme_documents_every_key_of_both_files() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\|[^|\n]*\| `([a-z_<>]+)` \|", readme, re.M))
    rendered = render_academie(academie(JEAN_MOULIN), NOW)
    academie_keys = {key for key in csv_values(rendered) if not key.endswith("_etablissements")}
    school_keys = set(ABOUT_LABELS) | {i.key for i in INDICATORS}
    assert school_keys | academie_keys | {"<cle>_etablissements"} <= documented
