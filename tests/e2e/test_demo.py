"""`rupn-bot demo` end to end: its own Synapse, the real bot, the scripted staff room."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.demo import LOCK, SCENARIO

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def test_demo_plays_the_scenario_in_an_encrypted_room() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=REPO,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        capture_output=True,
        encoding="utf-8",
        timeout=180,
        check=False,
    )
    report = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 0, report
    out = result.stdout
    assert "Démonstration de rupn-bot — salon chiffré « Salle des professeurs »" in out, report
    assert "Commandes de rupn-bot" in out, report
    assert "Commande inconnue : !xyz." in out, report
    assert "est réservée aux référents numériques" in out, report
    assert "Salons rejoints : 1." in out, report
    # Every command and every reply, as received and decrypted by a teacher's client.
    assert out.count(f"] {LOCK} ") == 2 * len(SCENARIO), report
    assert f"{len(SCENARIO)} commandes, {len(SCENARIO)} réponses du bot" in out, report
    assert "toutes chiffrées de bout en bout" in out, report
    # The bot's log goes to a file, not to the terminal.
    assert "bot.app" not in out + result.stderr, report
