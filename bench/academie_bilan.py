"""The académie's bilan of the largest académies: 1,000 schools aggregated and rendered.

Each synthetic school has a valid UAI, a name and a year of figures for every key of
`INDICATORS`: one in eight did nothing (it uses the bot, it was not active), the others
publish 0 to 200 announcements, organise ateliers in about half of them, measure
readers and rates in most. Timed, in this interpreter: `aggregate` (every indicator
across the schools) and `render_academie` (the summary, the HTML with its two pygal
charts and its table of 1,000 schools, the CSV and the Markdown). The first run is cold
(pygal imported, the templates compiled) and reported apart; the goal (< 2 s) is judged
on it and on the median of the warm runs. The same académie is then read back from a
folder of the 1,000 schools' CSV files (`rupn-bot bilan --academie --csv`), timed, and
checked to give the same files.

    python -m bench.academie_bilan [--runs 5] [--sortie DIR]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.academie import SCHOOLS, synthetic_school
from bot.school_year import SchoolYear
from digests.bilan.academie import SchoolFigures, aggregate
from digests.bilan.academie_folder import read_folder
from digests.bilan.academie_render import RenderedAcademie, render_academie
from digests.bilan.csv_contract import about_rows, csv_bytes, indicator_rows
from digests.bilan.model import INDICATORS, Value

GOAL_S = 2.0
TITLE = "Académie de démonstration"
PARIS = ZoneInfo("Europe/Paris")
YEAR = SchoolYear(2025)
NOW = datetime(2026, 9, 2, 9, 0, tzinfo=PARIS)


def school_values(rng: random.Random) -> dict[str, Value]:
    if rng.random() < 1 / 8:  # uses the bot, did nothing with it this year
        return {i.key: (0 if i.summed else None) for i in INDICATORS}
    values: dict[str, Value] = {}
    for indicator in INDICATORS:
        if indicator.percent:
            values[indicator.key] = rng.choice((None, round(rng.uniform(5, 100), 1)))
        elif indicator.median:
            values[indicator.key] = rng.choice((None, rng.randint(1, 40) / 2))
        elif indicator.section == 4 and rng.random() < 0.5:  # half propose no atelier
            values[indicator.key] = 0
        else:
            values[indicator.key] = int(rng.paretovariate(1.2) * 3) - 3 if rng.random() < 0.8 else 0
    return values


def synthetic_schools(rng: random.Random) -> list[SchoolFigures]:
    return [
        SchoolFigures(synthetic_school(number, rng), school_values(rng))
        for number in range(SCHOOLS)
    ]


def run(schools: list[SchoolFigures]) -> tuple[float, float, RenderedAcademie]:
    started = time.perf_counter()
    academie = aggregate(schools, YEAR)
    aggregated = time.perf_counter()
    rendered = render_academie(academie, NOW, PARIS, title=TITLE)
    return aggregated - started, time.perf_counter() - aggregated, rendered


def check(rendered: RenderedAcademie) -> None:
    html = rendered.file("html").data.decode("utf-8")
    assert "<script" not in html.lower() and html.count("<svg") == 2
    assert html.count("<tr><td>0") == SCHOOLS, "a row per school"
    lines = rendered.file("csv").data.decode("utf-8-sig").splitlines()
    assert lines[0] == "section;cle;indicateur;valeur"
    assert len(lines) == 1 + 3 + 2 * len(INDICATORS)


def write_folder(schools: list[SchoolFigures], folder: Path) -> None:
    for school in schools:
        rows = about_rows(YEAR.label, school.school) + indicator_rows(school.values)
        (folder / f"bilan-{school.school.key}-{YEAR.label}.csv").write_bytes(csv_bytes(rows))


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:7.1f} ms"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The académie bilan of 1,000 schools.")
    parser.add_argument("--runs", type=int, default=5, help="warm runs after the cold one")
    parser.add_argument("--sortie", type=Path, default=None, help="write the three files there")
    args = parser.parse_args(argv)
    schools = synthetic_schools(random.Random(2026))  # noqa: S311 - synthetic data
    cold = run(schools)
    warm = [run(schools) for _ in range(args.runs)]
    for _, _, rendered in (cold, *warm):
        check(rendered)
    totals = [a + r for a, r, _ in warm]
    median = statistics.median(totals)
    print(
        f"rupn-bot académie bilan benchmark — Python {sys.version.split()[0]}, {SCHOOLS:,} schools"
    )
    print(f"goal: aggregated and rendered (summary, HTML + CSV + Markdown) < {GOAL_S:g} s\n")
    sizes = ", ".join(f"{f.name} {len(f.data) / 1024:.0f} KiB" for f in cold[2].files)
    print(f"Files: {sizes}\n")
    print(f"  {'stage':<34}{'cold':>10}{'median':>10}{'max':>10}   ({args.runs} warm runs)")
    stages = (
        ("aggregate", cold[0], [a for a, _, _ in warm]),
        ("render_academie (charts, 3 files)", cold[1], [r for _, r, _ in warm]),
    )
    for label, cold_value, values in stages:
        print(
            f"  {label:<34}{_ms(cold_value):>10}{_ms(statistics.median(values)):>10}"
            f"{_ms(max(values)):>10}"
        )
    cold_total = cold[0] + cold[1]
    print(f"  {'total':<34}{_ms(cold_total):>10}{_ms(median):>10}{_ms(max(totals)):>10}")
    with tempfile.TemporaryDirectory(prefix="rupn-bench-academie-") as tmp:
        write_folder(schools, Path(tmp))
        started = time.perf_counter()
        year, from_files = read_folder(Path(tmp), None)
        read = time.perf_counter() - started
        again = render_academie(aggregate(from_files, year), NOW, PARIS, TITLE)
        assert again.files == cold[2].files
    print(f"\nfrom a folder of {SCHOOLS:,} school CSV files: read in {read * 1e3:.0f} ms,", end="")
    print(" the same files")
    met = cold_total < GOAL_S and median < GOAL_S
    print(
        f"\ncold {cold_total * 1e3:.0f} ms, warm median {median * 1e3:.0f} ms — "
        f"goal < {GOAL_S:g} s: {'met' if met else 'NOT met'}\n"
    )
    print(cold[2].summary)
    if args.sortie is not None:
        args.sortie.mkdir(parents=True, exist_ok=True)
        for file in cold[2].files:
            (args.sortie / file.name).write_bytes(file.data)
            print(f"written: {args.sortie / file.name}")
    if not met:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
