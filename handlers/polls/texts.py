"""What the polls show: the start event, results with bars, reminders, the CSV export.

Pure functions of a `Poll` and its results record (no I/O); `now` and the time
zone are passed in.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.dates import format_when
from bot.storage.polls import Poll
from bot.tally import Tally
from bot.wording import counted

BAR_CELLS = 10

NEEDS_QUESTION = "Sur quels thèmes aimeriez-vous être accompagné(e) cette année ?"
NEEDS_THEMES: tuple[str, ...] = (
    "Écrans numériques interactifs",
    "Tablettes",
    "Pronote",
    "ENT",
    "Moodle",
    "Apps Éducation",
    "La Digitale",
    "Pix et Pix Orga",
    "IA générative",
    "Accessibilité numérique",
    "Différenciation",
    "Évaluation par QCM",
)

HOW_TO_ANSWER = (
    "Répondez avec les boutons du sondage ; si votre application ne les affiche pas, répondez "
    "à ce message avec le numéro de votre choix (par exemple « 2 », ou « 1 3 » si plusieurs "
    "réponses sont permises)."
)
ANONYMOUS_NOTE = (
    "Sondage anonyme : les résultats ne nomment personne ; dans Matrix, vos réponses restent "
    "toutefois visibles dans l’historique du salon."
)


def when(moment: datetime, now: datetime, tz: ZoneInfo) -> str:
    """« vendredi 27 novembre à 17h00 », with the year only when it is not `now`'s."""
    return format_when(moment, tz, with_year=moment.astimezone(tz).year != now.astimezone(tz).year)


def start_text(poll: Poll, tz: ZoneInfo) -> str:
    lines = [poll.question]
    lines += [f"{number}. {answer.text}" for number, answer in enumerate(poll.answers, start=1)]
    lines += ["", HOW_TO_ANSWER]
    if poll.max_selections > 1:
        lines.append(f"Plusieurs réponses possibles (jusqu’à {poll.max_selections}).")
    if poll.anonymous:
        lines.append(ANONYMOUS_NOTE)
    if poll.deadline is not None:
        lines.append(f"Fin : {when(poll.deadline, poll.created_at, tz)}.")
    return "\n".join(lines)


def start_content(poll: Poll, tz: ZoneInfo) -> dict[str, Any]:
    kind = "undisclosed" if poll.anonymous else "disclosed"
    return {
        "org.matrix.msc3381.poll.start": {
            "question": {"org.matrix.msc1767.text": poll.question},
            "kind": f"org.matrix.msc3381.poll.{kind}",
            "max_selections": poll.max_selections,
            "answers": [{"id": a.id, "org.matrix.msc1767.text": a.text} for a in poll.answers],
        },
        "org.matrix.msc1767.text": start_text(poll, tz),
        "m.mentions": {},
    }


def percent(part: int, whole: int) -> int:
    """Rounded half up: 5/12 → 42."""
    return (200 * part + whole) // (2 * whole) if whole else 0


def bar(part: int, whole: int) -> str:
    filled = (2 * BAR_CELLS * part + whole) // (2 * whole) if whole else 0
    return "█" * filled + "░" * (BAR_CELLS - filled)


def results_record(result: Tally, members: int) -> dict[str, Any]:
    """What a closed poll keeps (counts only, never a voter)."""
    return {
        "counts": dict(result.counts),
        "voters": result.voters,
        "spoiled": result.spoiled,
        "members": members,
    }


def results_text(poll: Poll, record: dict[str, Any], now: datetime, tz: ZoneInfo) -> str:
    counts: dict[str, int] = record["counts"]
    voters: int = record["voters"]
    members: int = record["members"]
    lines = [f"Résultats du sondage n° {poll.number} — {poll.question}"]
    for number, answer in enumerate(poll.answers, start=1):
        votes = counts.get(answer.id, 0)
        lines.append(
            f"{number}. {answer.text} — {counted(votes, 'vote')} ({percent(votes, voters)} %) "
            f"{bar(votes, voters)}"
        )
    participation = counted(voters, "votant")
    if members:
        share = percent(voters, members)
        participation += f" sur {counted(members, 'membre')} du salon ({share} %)"
    lines.append(participation)
    if poll.max_selections > 1:
        lines.append(
            "Plusieurs réponses possibles : chaque pourcentage est calculé sur les votants."
        )
    if record["spoiled"]:
        spoiled = record["spoiled"]
        lines.append(
            f"{counted(spoiled, 'réponse')} non valable{'s' if spoiled > 1 else ''} "
            "(choix inconnu), non comptée" + ("s." if spoiled > 1 else ".")
        )
    if poll.status == "closed" and poll.closed_at is not None:
        lines.append(f"Sondage clos le {when(poll.closed_at, now, tz)}.")
    elif poll.deadline is not None:
        lines.append(f"Fin prévue : {when(poll.deadline, now, tz)}.")
    else:
        lines.append(f"Sondage ouvert : !sondage clore {poll.number} pour le terminer.")
    return "\n".join(lines)


def reminder_text(poll: Poll, voters: int, now: datetime, tz: ZoneInfo) -> str:
    deadline = when(poll.deadline or now, now, tz)
    return (
        f"⏰ Rappel : le sondage « {poll.question} » se termine le {deadline} ; "
        f"{counted(voters, 'réponse')} pour l’instant. Répondez avec les boutons du sondage."
    )


# Cells a spreadsheet would read as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str | int) -> str | int:
    """OWASP's rule: a text cell that a spreadsheet would evaluate gets a leading `'`.

    Only the export is neutralised; the poll keeps its texts as typed.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _SafeWriter:
    """`csv.writer` whose every cell goes through `csv_cell`."""

    def __init__(self, out: io.StringIO) -> None:
        self._writer = csv.writer(out, delimiter=";", lineterminator="\r\n")

    def writerow(self, row: list[str | int]) -> None:
        self._writer.writerow([csv_cell(cell) for cell in row])


def export_csv(poll: Poll, record: dict[str, Any], now: datetime, tz: ZoneInfo) -> bytes:
    """Counts only (never a voter), `;`-separated, UTF-8 with BOM for French spreadsheets."""
    counts: dict[str, int] = record["counts"]
    voters: int = record["voters"]
    members: int = record["members"]
    out = io.StringIO()
    writer = _SafeWriter(out)
    writer.writerow([f"Sondage n° {poll.number}", poll.question])
    writer.writerow(["Créé le", when(poll.created_at, now, tz)])
    if poll.status == "closed" and poll.closed_at is not None:
        writer.writerow(["Clos le", when(poll.closed_at, now, tz)])
    elif poll.deadline is not None:
        writer.writerow(["Fin prévue", when(poll.deadline, now, tz)])
    writer.writerow(["Votants", voters])
    writer.writerow(["Membres du salon", members])
    writer.writerow(["Participation", f"{percent(voters, members)} %"])
    writer.writerow([])
    writer.writerow(["Choix", "Votes", "Pourcentage"])
    for answer in poll.answers:
        votes = counts.get(answer.id, 0)
        writer.writerow([answer.text, votes, f"{percent(votes, voters)} %"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
