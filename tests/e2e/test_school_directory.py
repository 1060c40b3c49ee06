"""The établissements' directory of a running shared bot is reloaded on SIGHUP."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from devtools.botprocess import BotProcess, write_bot_config
from devtools.synapse import ThrowawaySynapse
from tests.e2e.helpers import eventually

pytestmark = pytest.mark.e2e

ACADEMIE = {"nom": "Académie de Poitiers", "admins": ["@drane:localhost"]}
MOULIN = {"uai": "0860001J", "nom": "Collège Jean Moulin", "admins": ["@rupn.moulin:localhost"]}


async def test_sighup_reloads_the_csv_and_keeps_the_list_on_error(
    synapse: ThrowawaySynapse, tmp_path: Path
) -> None:
    account = await synapse.register("rupnbotacademie", "bot-secret-pw")
    config = write_bot_config(
        tmp_path / "bot.toml",
        homeserver=synapse.base_url,
        bot=account,
        admins=[],
        data_dir=tmp_path / "botdata",
        academie=ACADEMIE,
        etablissements=[{**MOULIN, "zone": "A"}],
        directory=[("0860034V", "Lycée Camille Guérin", "", "A")],
    )
    csv = tmp_path / "etablissements.csv"
    bot = BotProcess(config, tmp_path / "bot.log")
    await bot.start()
    try:
        csv.write_text(
            "uai;nom;rupn;zone\n"
            "0860034V;Lycée Camille Guérin;;A\n"
            "0750654D;Lycée Louis-le-Grand;;C\n",
            encoding="utf-8",
        )
        os.kill(bot.pid, signal.SIGHUP)
        await eventually(
            lambda: (
                "Annuaire des établissements rechargé : 3 établissements (1 ajouté)."
                in bot.log_text()
            ),
            timeout=10,
            what="the reload's outcome in the log",
        )
        csv.write_text("uai;nom;rupn;zone\n0750654E;Lycée;;C\n", encoding="utf-8")
        os.kill(bot.pid, signal.SIGHUP)
        await eventually(
            lambda: (
                "  etablissements.csv, ligne 2, colonne uai : clé de contrôle erronée : pour "
                "0750654, la lettre attendue est « D »" in bot.log_text()
            ),
            timeout=10,
            what="the refused reload in the log",
        )
        assert "Annuaire des établissements non rechargé ; la liste actuelle est conservée :" in (
            bot.log_text()
        )
        assert bot.running
    finally:
        assert await bot.stop() == 0
