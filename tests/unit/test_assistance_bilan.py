"""Section 7 of the bilan: breakdowns reported, resolved, the desk's delays, by category;
the académie adds them up like the other keys."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from bot.school_year import SchoolYear
from bot.storage.bilan import BilanRepository
from bot.storage.database import Database
from digests.bilan.build import build_bilan
from digests.bilan.render import render_bilan
from tests.unit.assistance_bot import BRUNO, PARIS, RUPN, AssistanceBot, desk_reply

YEAR = SchoolYear(2026)


async def test_reported_resolved_and_the_desk_s_delays(db: Database) -> None:
    bot = AssistanceBot(db)
    await bot.say("!panne B12 vidéoprojecteur ne s’allume plus")  # Monday 30 November, 8h
    await bot.say("!panne B12 vidéoprojecteur pareil", sender=BRUNO)  # attached: counts once
    await bot.say("!panne CDI réseau coupé")  # the « réseau » category
    await bot.say("!panne C3 imprimante bourrage")
    bot.at(datetime(2026, 12, 2, 8, 0, tzinfo=PARIS))  # 2 days later
    await bot.answer(
        desk_reply("a@glpi", "Pris en charge.", refers_to=("panne-etab-1@clg-exemple.fr",),
                   at=bot.clock())
    )  # fmt: skip
    await bot.answer(
        desk_reply("b@glpi", "Vu.", refers_to=("panne-etab-2@clg-exemple.fr",), at=bot.clock())
    )
    bot.at(datetime(2026, 12, 4, 8, 0, tzinfo=PARIS))  # 4 days after the reports
    await bot.say("!panne résolue 1")
    bot.at(datetime(2026, 12, 7, 8, 0, tzinfo=PARIS))  # 7 days
    await bot.say("!panne résolue 2", sender=RUPN)

    async with db.transaction():
        bilan = await build_bilan(BilanRepository(db), YEAR, bot.clock(), PARIS)
    assert {key: bilan.values[key] for key in bilan.values if key.startswith("pannes")} == {
        "pannes_signalees": 3,
        "pannes_resolues": 2,
        "pannes_delai_reponse_median": 2.0,
        "pannes_delai_resolution_median": 5.5,
    }
    rendered = render_bilan(bilan)
    rows = csv.reader(io.StringIO(rendered.file("csv").data.decode("utf-8-sig")), delimiter=";")
    assert [row for row in rows if row[1].startswith("pannes")] == [
        ["7", "pannes_signalees", "Pannes signalées", "3"],
        ["7", "pannes_resolues", "Pannes résolues", "2"],
        ["7", "pannes_delai_reponse_median",
         "Délai de première réponse du service d’assistance (médiane, jours)", "2"],
        ["7", "pannes_delai_resolution_median", "Délai de résolution (médiane, jours)", "5,5"],
    ]  # fmt: skip
    markdown = rendered.file("md").data.decode("utf-8-sig")
    assert "## 7. Faire réparer le matériel" in markdown
    assert "| Autres (service de l’établissement) | 2 | 1 |\n| réseau | 1 | 1 |" in markdown
    html = rendered.file("html").data.decode("utf-8-sig")
    assert "<h2>7. Faire réparer le matériel</h2>" in html
    assert "alice" not in markdown + html  # no names
