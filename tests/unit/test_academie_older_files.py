"""`rupn-bot bilan --academie --csv DIR` with a school whose bot is older: its CSV lacks the
keys added since (the breakdowns of section 7). It is aggregated all the same: a key it
lacks is « not reported », not zero, and the files say over how many schools each figure
was taken."""

from __future__ import annotations

from pathlib import Path

from digests.bilan.academie import aggregate
from digests.bilan.academie_folder import read_folder
from digests.bilan.model import Value
from digests.bilan.offline import write_academie_bilan
from tests.unit.test_academie_folder import NOW, A, B, school_csv, write

CURRENT = "bilan-0860001J-2025-2026.csv"
OLDER = "bilan-0860034V-2025-2026.csv"


def older_csv(**values: Value) -> str:
    """B's CSV as its bot wrote it before section 7: no `pannes_*` key."""
    lines = school_csv(B, "2025-2026", **values).splitlines()
    return "\r\n".join(line for line in lines if ";pannes_" not in line) + "\r\n"


def test_an_older_school_csv_counts_for_what_it_reported(tmp_path: Path) -> None:
    write(tmp_path, CURRENT, school_csv(A, pannes_signalees=3, pannes_delai_reponse_median=1.5))
    write(tmp_path, OLDER, older_csv(ateliers=2))

    year, schools = read_folder(tmp_path, None)
    academie = aggregate(schools, year)

    values = academie.values()
    assert (values["ateliers"], values["ateliers_etablissements"]) == (3, 2)
    assert (values["pannes_signalees"], values["pannes_signalees_etablissements"]) == (3, 1)
    assert (values["pannes_resolues"], values["pannes_resolues_etablissements"]) == (0, 0)
    assert values["pannes_delai_reponse_median"] == 1.5
    assert academie["pannes_signalees"].reported == 1
    rendered = write_academie_bilan(tmp_path, None, NOW, tmp_path / "out").rendered
    html = rendered.file("html").data.decode("utf-8")
    assert (
        "<li>Sur 1 établissement ayant déclaré cet indicateur, 100\u00a0% ont signalé au moins "
        "une panne avec « !panne » (3 en tout ; médiane 3 par établissement concerné).</li>"
    ) in html
    assert '<td class="n">1 sur 1 ayant déclaré (100\u00a0%)</td>' in html
    text = rendered.file("md").data.decode("utf-8")
    assert (
        "- Sur 1 établissement ayant déclaré cet indicateur, 0\u00a0% ont vu au moins une "
        "panne signalée résolue.\n"
    ) in text
    assert (
        "- Jours avant la première réponse du service d’assistance : médiane 1,5, sur 1 "
        "établissement (1 établissement sur 2 a déclaré cet indicateur).\n"
    ) in text
    assert "| Pannes signalées | 3 | 3 | 1 sur 1 ayant déclaré (100\u00a0%) |\n" in text
    # The ateliers were reported by both: their sentence is that of a complete folder.
    assert "- 100\u00a0% des établissements ont proposé au moins un mini-atelier (3 en tout" in text
    assert (
        "Un indicateur absent du bilan d’un établissement (fait par une version antérieure de "
        "rupn-bot, qui ne le comptait pas encore) n’y vaut pas zéro : l’académie le calcule "
        "sur les établissements qui l’ont déclaré, et le précise."
    ) in text


def test_an_indicator_no_school_reported_is_not_a_zero(tmp_path: Path) -> None:
    write(tmp_path, OLDER, older_csv(ateliers=2))

    written = write_academie_bilan(tmp_path, None, NOW, tmp_path / "out").rendered

    text = written.file("md").data.decode("utf-8")
    assert (
        "- Pannes signalées : non déclaré (les bilans des établissements viennent d’une "
        "version antérieure de rupn-bot).\n"
    ) in text
    assert "| Pannes signalées | non déclaré | — | — |\n" in text
    rows = written.file("csv").data.decode("utf-8-sig").splitlines()
    assert "7;pannes_signalees;Pannes signalées;" in rows
    assert "7;pannes_signalees_etablissements;Pannes signalées : établissements concernés;0" in (
        rows
    )
