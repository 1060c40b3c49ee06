"""`rupn-bot demo` end to end: its own Synapse, the real bot, the scripted rooms."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.dates import format_day
from devtools.demo import (
    CLEAR,
    LETTER_WORD,
    LOCK,
    MAIL_SECTION,
    SCENARIO,
    SignUp,
    Step,
    Vote,
    Withdraw,
)
from devtools.demo_desk import MISSING as MAILBOX_MISSING

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
STAFF = "── Salon « Salle des professeurs » — vu par le client d’Inès Leroy ──"
VIE = "── Salon « Vie scolaire » — vu par le client de Paul Durand ──"
BUREAU = "── Salon « Bureau du RUPN » — vu par le client de Claire Martin (RUPN) ──"
BOTH_ROOMS = "publiée dans 2 salons : Salle des professeurs, Vie scolaire."


def _in_order(out: str, *parts: str) -> bool:
    """Every part appears in `out`, each after the previous one."""
    position = 0
    for part in parts:
        position = out.find(part, position)
        if position < 0:
            return False
        position += len(part)
    return True


def test_demo_plays_the_scenario_in_encrypted_rooms() -> None:
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
    assert "la commande !statut est réservée aux référents numériques" in out, report
    assert "Salons rejoints : 3." in out, report

    # !diffusion ajouter in « Vie scolaire », as a teacher of that room received it.
    assert _in_order(
        out, VIE, "Claire Martin (RUPN) : !diffusion ajouter",
        "rupn-bot : Le salon « Vie scolaire » recevra désormais les annonces.",
    ), report  # fmt: skip

    # The news proposal in the bureau, accepted with ✅: published in both rooms, confirmed.
    news = f"{LOCK} rupn-bot : 📰 Journée"  # the feed puts no-break spaces in « »
    assert _in_order(
        out, BUREAU, f"{LOCK} rupn-bot : 📰 Proposition n° 1 — SRANE",
        "Claire Martin (RUPN) réagit ✅ à la proposition n° 1",
        STAFF, news, VIE, news, BUREAU, f"rupn-bot : Annonce n° 1 {BOTH_ROOMS}",
    ), report  # fmt: skip

    # !annonce: received by a teacher in each room, then confirmed; then corrected.
    cafe = f"{LOCK} rupn-bot : Café numérique jeudi à 12h30 au CDI"
    corrected = f"{LOCK} rupn-bot : Café numérique vendredi à 12h30 au CDI"
    assert _in_order(
        out, BUREAU, "Claire Martin (RUPN) : !annonce Café numérique jeudi",
        STAFF, cafe, VIE, cafe, BUREAU, f"rupn-bot : Annonce n° 2 {BOTH_ROOMS}",
        "Claire Martin (RUPN) : !annonce corriger 2 Café numérique vendredi",
        STAFF, corrected, "(modifié)", VIE, corrected, "(modifié)",
        BUREAU, "rupn-bot : Annonce n° 2 corrigée dans 2 salons.",
    ), report  # fmt: skip
    assert "- n° 2 (publiée, corrigée, 2 salons)" in out, report
    assert "n° 1 · SRANE (http://127.0.0.1:" in out, report

    # A teacher may not publish.
    assert _in_order(
        out, "Paul Durand : !annonce Réunion",
        "la commande !annonce est réservée aux référents numériques",
    ), report  # fmt: skip

    # !sondage: the poll as a teacher's client received it, real poll responses shown as
    # votes (one teacher changes his mind), the results with their bars, then the end event.
    question = "Quel créneau pour le prochain café numérique ?"
    assert _in_order(
        out, STAFF, f"Claire Martin (RUPN) : !sondage {question} | Lundi midi | Mardi midi",
        f"{LOCK} rupn-bot : {question} (sondage)\n",
        "   1. Lundi midi\n", "   2. Mardi midi\n", "   3. Jeudi 17h\n",
        "rupn-bot : Sondage n° 1 lancé.",
        f"{LOCK} Paul Durand vote : Mardi midi\n",
        f"{LOCK} Inès Leroy vote : Jeudi 17h\n",
        f"{LOCK} Paul Durand change son vote : Jeudi 17h\n",
    ), report  # fmt: skip
    results = (
        "1. Lundi midi — 0 vote (0 %) ░░░░░░░░░░",
        "2. Mardi midi — 0 vote (0 %) ░░░░░░░░░░",
        "3. Jeudi 17h — 2 votes (100 %) ██████████",
        "2 votants sur 3 membres du salon (67 %)",
    )
    assert _in_order(
        out, "Claire Martin (RUPN) : !sondage résultats\n",
        f"{LOCK} rupn-bot : Résultats du sondage n° 1 — {question}\n", *results,
        "Sondage ouvert : !sondage clore 1 pour le terminer.",
        "Claire Martin (RUPN) : !sondage clore\n",
        f"{LOCK} rupn-bot : Résultats du sondage n° 1 — {question} (fin du sondage)\n",
        *results, "Sondage clos le ",
    ), report  # fmt: skip

    # !atelier: the notice as a teacher's client received it, then its encrypted .ics that
    # the client downloaded and decrypted: the invitation starts next week at 12h30, Paris time.
    atelier = "Atelier n° 1 — Pronote : le cahier de textes"
    assert _in_order(
        out, STAFF, "Claire Martin (RUPN) : !atelier ",
        f"{LOCK} rupn-bot : 🛠️ {atelier}\n", "Où : CDI\n", "Places : 2 (2 restantes)\n",
        "Pour vous inscrire : réagissez 👍 à ce message",
        f"{LOCK} rupn-bot : 📎 atelier-1.ics (invitation pour l’agenda : ",
        " 12h30–13h30, Europe/Paris)\n",
        "DTSTART;TZID=Europe/Paris:",
        "rupn-bot : Atelier n° 1 annoncé dans 2 salons : Salle des professeurs, Vie scolaire.",
    ), report  # fmt: skip
    dtstart = re.search(r"DTSTART;TZID=Europe/Paris:(\d{8})T123000 \(fichier", out)
    assert dtstart is not None, report
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    day = date.fromisoformat(dtstart.group(1))
    assert timedelta(days=6) <= day - today <= timedelta(days=13), report
    assert day.weekday() == 1, report  # a Tuesday
    assert f"Quand : mardi {day.day} " in out, report

    # Three 👍 on a 2-place atelier: two confirmed, the third on the waiting list; one
    # reaction withdrawn (a redaction): the waiting RUPN gets the place. Then !ateliers.
    notice = "à l’annonce de l’atelier n° 1"
    assert _in_order(
        out, f"{CLEAR} Paul Durand réagit 👍 {notice}",
        "rupn-bot : @prof.durand:rupn.test : inscription confirmée à l’atelier n° 1",
        f"{CLEAR} Inès Leroy réagit 👍🏽 {notice}",
        "rupn-bot : @prof.leroy:rupn.test : inscription confirmée à l’atelier n° 1",
        f"{CLEAR} Claire Martin (RUPN) réagit 👍 {notice}",
        "rupn-bot : @rupn:rupn.test : l’atelier n° 1 (",
        ") est complet : vous êtes sur liste d’attente (position 1).",
        f"{CLEAR} Paul Durand retire sa réaction 👍 {notice}",
        "rupn-bot : @prof.durand:rupn.test : désinscription enregistrée pour l’atelier n° 1.",
        "rupn-bot : @rupn:rupn.test : une place s’est libérée, votre inscription à l’atelier "
        "n° 1 est confirmée.",
        "Inès Leroy : !ateliers\n",
        "rupn-bot : Prochains ateliers et cafés numériques :\n",
        f"- 🛠️ {atelier} — ", ", CDI — 2 inscrits, 0 place restante sur 2\n",
    ), report  # fmt: skip
    # (The letter, further down, may mention the waiting list: only !ateliers' answer counts.)
    ateliers = out.split("Inès Leroy : !ateliers\n")[1].split("\n— ")[0]
    assert "liste d’attente" not in ateliers, report

    # !lettre: a line for « Le mot du RUPN », the preview answered in the RUPN's office only,
    # then !lettre envoyer: the letter in both diffusion rooms, and by e-mail.
    monday = today - timedelta(days=today.weekday())
    title = f"La lettre numérique — semaine du {format_day(monday)}"
    letter = (
        f"📬 {title}\n", "Cette semaine\n", "Café numérique vendredi à 12h30 au CDI",
        "https://matrix.to/#/!", "À venir\n",
        "• Atelier « Pronote : le cahier de textes » — ", "complet, liste d’attente",
        "Le mot du RUPN\n", f"• {LETTER_WORD}\n",
    )  # fmt: skip
    assert _in_order(
        out, BUREAU, f"Claire Martin (RUPN) : !lettre ajouter {LETTER_WORD}\n",
        f"{LOCK} rupn-bot : Ajouté au mot du RUPN (n° 1). Prochain envoi : ",
        "Claire Martin (RUPN) : !lettre aperçu\n",
        f"{LOCK} rupn-bot : Aperçu de la lettre (rien n’est envoyé). Prochain envoi : ",
        *letter, "Mot du RUPN en attente : n° 1 « Pensez à remplir",
        "Claire Martin (RUPN) : !lettre envoyer\n",
        STAFF, f"{LOCK} rupn-bot : ", *letter, VIE, f"{LOCK} rupn-bot : ", *letter,
        BUREAU, f"{LOCK} rupn-bot : Lettre envoyée dans 2 salons et par courriel.",
    ), report  # fmt: skip
    assert out.count("Aperçu de la lettre") == 1, report
    before_preview = out[: out.index("Aperçu de la lettre")]
    shown_in = max(before_preview.rfind(h) for h in (STAFF, VIE, BUREAU))
    assert before_preview.rfind(BUREAU) == shown_in, report
    assert out.count(f"{LOCK} rupn-bot : 📬 {title}\n") == 2, report  # once per room

    # The e-mail, as the local SMTP server received it: French subject, accents intact in
    # the text part, and the HTML part measured.
    mail = out[out.index(MAIL_SECTION) :]
    assert _in_order(
        mail, "de rupn@clg-exemple.fr, pour equipe@clg-exemple.fr.\n",
        "    From: rupn-bot <rupn@clg-exemple.fr>\n", "    To: equipe@clg-exemple.fr\n",
        f"    Subject: {title}\n", "    Date: ",
        "    List-Unsubscribe: <mailto:rupn@clg-exemple.fr?subject=D%C3%A9sinscription>\n",
        f"    📬 {title}\n", "    • Café numérique vendredi à 12h30 au CDI",
        "    À venir\n", "    • Atelier « Pronote : le cahier de textes » — ",
        "    Le mot du RUPN\n", f"    • {LETTER_WORD}\n",
        "    Pour voter ou vous inscrire, ouvrez le lien dans Tchap.",
        "la même lettre en HTML, ", " caractères",
    ), report  # fmt: skip
    size = r"[1-9]\d{0,2}(?:\u202f\d{3})*"  # French digit groups: 1 466
    assert re.search(f"la même lettre en HTML, {size} caractères", mail), report

    # A breakdown: the ticket as the desk's SMTP server received it, the desk's GLPI-style
    # answer put in the bot's mailbox (Dovecot), its new text alone in the report's thread.
    desk_answers = 1 if shutil.which("dovecot") else 0
    if not desk_answers:
        assert MAILBOX_MISSING in out, report  # the scene is left out, and says why
    else:
        assert _in_order(
            out, STAFF, "Inès Leroy : !panne B12 vidéoprojecteur ne s’allume plus",
            "rupn-bot : Demande n° 1 enregistrée : B12 — vidéoprojecteur — ne s’allume plus.",
            MAIL_SECTION, "de rupn@clg-exemple.fr, pour assistance@ac-exemple.fr.",
            "Subject: [rupn-bot n° 1] Collège Jean Moulin — B12 — vidéoprojecteur — "
            "ne s’allume plus", "    Salle : B12\n", "    Signalée par : prof.leroy\n",
            "Courriel du service déposé dans la boîte du bot",
            "Subject: [GLPI #0000123] Re: [rupn-bot n° 1]", STAFF,
            f"{LOCK} rupn-bot : Réponse du service d’assistance à la demande n° 1 "
            "(B12 — vidéoprojecteur) (ticket GLPI #0000123 du service d’assistance) :\n",
            "Bonjour,\n",
            "Le technicien passera jeudi à 8 h en B12 ; merci de laisser la salle ouverte.\n",
        ), report  # fmt: skip
        answer = out[out.index("Réponse du service d’assistance à la demande n° 1") :]
        assert "Cordialement" not in answer and "a écrit" not in answer, report

    # Every message and poll event decrypted by a real client; only the reactions (nio sends
    # them in clear) and the redaction (never encrypted) not. Votes, poll starts and ends are
    # events, counted apart from messages.
    summary = re.search(
        r"(\d+) messages et (\d+) événements de sondage, tous chiffrés de bout en bout", out
    )
    assert summary is not None, report
    messages, poll_events = int(summary.group(1)), int(summary.group(2))
    votes = sum(isinstance(action, Vote) for action in SCENARIO)
    assert poll_events == votes + 2, report  # the votes, the poll's start and its end
    assert out.count(f"] {LOCK} ") == messages + poll_events, report
    signups = sum(isinstance(action, SignUp) for action in SCENARIO)
    withdrawals = sum(isinstance(action, Withdraw) for action in SCENARIO)
    assert out.count(f"] {CLEAR} ") == 1 + signups + withdrawals, report
    steps = [
        action
        for action in SCENARIO
        if isinstance(action, Step) and (desk_answers or not action.sends_ticket)
    ]
    commands = len(steps)
    # One reply per command but `!sondage clore` (answered by the end event), plus the
    # confirmation of the accepted proposal. One message per sign-up and withdrawal, plus
    # the promotion.
    # The desk's answer, in the thread of the report, quotes it for clients without threads.
    replies = sum(not step.ends_poll for step in steps) + 1 + desk_answers
    assert (
        f"{commands} commandes, {1 + signups} réactions (dont {withdrawals} retirée), "
        f"{votes} votes, {replies} réponses du bot, 1 sondage lancé et 1 clos, "
        "1 atelier annoncé avec 1 invitation .ics, "
        f"{signups + withdrawals + 1} messages d’inscription, 1 proposition de veille" in out
    ), report
    assert (
        "tous chiffrés de bout en bout (les réactions et leur retrait, envoyés par "
        "matrix-nio, passent en clair)." in out
    ), report
    assert (
        "4 publications et 2 corrections dans les salons de diffusion, "
        f"2 lettres de la semaine et {1 + desk_answers} courriel" in out
    ), report
    # The bot's log goes to a file, not to the terminal.
    assert "bot.app" not in out + result.stderr, report
