"""`!sondage`: the argument parser and every text the polls show (pure, no I/O)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.dates import format_when
from bot.errors import InvalidArguments
from bot.router import ParseEnv, normalize
from bot.storage.polls import Poll
from bot.tally import Tally

MIN_CHOICES = 2
MAX_CHOICES = 20  # MSC3381
MAX_REMINDER_HOURS = 24 * 14
BAR_CELLS = 10

USAGE = "<question> | <choix 1> | <choix 2> [| …] [| option …]"
EXAMPLE = (
    "!sondage Quel atelier en décembre ? | Pronote | ENT | Tablettes | plusieurs "
    "| fin : vendredi 17h"
)

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

DETAILS = (
    "Séparez la question, les choix (de 2 à 20) et les options par des barres « | ». "
    "Options, dans n’importe quel ordre après les choix :\n"
    "- plusieurs — chacun peut cocher plusieurs choix\n"
    "- anonyme — les résultats et l’export ne nomment personne, et le bot oublie qui a "
    "répondu quoi à la clôture (les réponses restent visibles dans l’historique du salon)\n"
    "- fin : <quand> — clôture automatique, par exemple « fin : vendredi 17h » ou "
    "« fin : 12/12 18h »\n"
    "- rappel : <N>h — rappel dans le salon N heures avant la fin (demande « fin »), "
    "avec le nombre de réponses, sans nommer personne\n"
    "\n"
    "On répond avec les boutons du sondage ; sans boutons, en répondant au sondage avec "
    "le ou les numéros des choix (« 2 » ou « 1 3 »). Seule la dernière réponse de chacun "
    "compte ; supprimer sa réponse du salon ne la retire pas : changez-la plutôt.\n"
    "\n"
    "- !sondage besoins [| option …] — sondage à choix multiples des besoins de formation\n"
    "- !sondage résultats [n°] — comptes, pourcentages et participation (par défaut : le "
    "dernier sondage du salon)\n"
    "- !sondage clore [n°] — clôt le sondage et publie les résultats (son auteur ou un "
    "administrateur)\n"
    "- !sondage export [n°] — résultats en fichier CSV (séparateur « ; », UTF-8), comptes "
    "seulement"
)


@dataclass(frozen=True)
class Options:
    multiple: bool = False
    anonymous: bool = False
    deadline: str | None = None  # French text, read by bot.when.parse_when
    reminder_hours: int | None = None


@dataclass(frozen=True)
class Create:
    question: str
    choices: tuple[str, ...]
    options: Options = Options()


@dataclass(frozen=True)
class Needs:
    options: Options = Options()


@dataclass(frozen=True)
class Results:
    poll_id: int | None = None


@dataclass(frozen=True)
class Close:
    poll_id: int | None = None


@dataclass(frozen=True)
class Export:
    poll_id: int | None = None


SondageArgs = Create | Needs | Results | Close | Export

_NUMBERED: dict[str, type[Results] | type[Close] | type[Export]] = {
    "resultats": Results,
    "resultat": Results,
    "clore": Close,
    "export": Export,
}
_DEADLINE = re.compile(r"fin\s*:\s*(.*)", re.DOTALL)
_REMINDER = re.compile(r"rappel\s*:\s*(.*)", re.DOTALL)
_HOURS = re.compile(r"([0-9]{1,4})\s*h(?:eures?)?")


def _clean(text: str) -> str:
    return " ".join(text.split())


def _poll_number(text: str) -> int | None:
    word = text.strip().removeprefix("n°").removeprefix("#").strip()
    return int(word) if word.isascii() and word.isdigit() and len(word) < 10 else None


def parse_sondage(text: str, env: ParseEnv) -> SondageArgs:
    """The sub-commands when their shape is complete; otherwise a new poll."""
    text = text.strip()
    if not text:
        raise InvalidArguments("Écrivez la question puis les choix, séparés par des barres « | ».")
    head, _, rest = text.partition(" ")
    keyword = normalize(head)
    if keyword in _NUMBERED and "|" not in text:
        if not rest.strip():
            return _NUMBERED[keyword]()
        number = _poll_number(rest)
        if number is None:
            raise InvalidArguments(
                f"Donnez le numéro du sondage après « {head} », par exemple "
                f"« !sondage {head} 3 », ou rien pour le dernier sondage du salon."
            )
        return _NUMBERED[keyword](number)
    segments = text.split("|")
    if normalize(segments[0].strip()) == "besoins":
        return Needs(_options(segments[1:], multiple=True))
    if len(segments) == 1:
        raise InvalidArguments("Séparez la question et les choix par des barres verticales « | ».")
    question = _clean(segments[0])
    if not question:
        raise InvalidArguments("La question est vide : écrivez-la avant la première barre « | ».")
    choices: list[str] = []
    option_segments: list[str] = []
    for position, segment in enumerate(segments[1:], start=1):
        if _is_option(segment):
            option_segments.append(segment)
            continue
        choice = _clean(segment)
        if not choice:
            raise InvalidArguments(
                f"Le choix n° {position} est vide : retirez la barre « | » en trop."
            )
        choices.append(choice)
    if len(choices) < MIN_CHOICES:
        raise InvalidArguments(
            f"Un sondage demande au moins {MIN_CHOICES} choix (vous en avez donné {len(choices)})."
        )
    if len(choices) > MAX_CHOICES:
        raise InvalidArguments(
            f"Un sondage accepte au plus {MAX_CHOICES} choix (vous en avez donné {len(choices)})."
        )
    seen: set[str] = set()
    for choice in choices:
        key = normalize(choice)
        if key in seen:
            raise InvalidArguments(f"Le choix « {choice} » figure deux fois.")
        seen.add(key)
    return Create(question, tuple(choices), _options(option_segments))


def _is_option(segment: str) -> bool:
    key = normalize(segment.strip())
    return (
        key in ("plusieurs", "anonyme")
        or _DEADLINE.fullmatch(key) is not None
        or _REMINDER.fullmatch(key) is not None
    )


def _after_colon(segment: str, key: str) -> str:
    """The text after « fin : », from the original segment when its colon is a plain one."""
    if ":" in segment:
        return _clean(segment.split(":", 1)[1])
    return _clean(key.split(":", 1)[1])


def _options(segments: list[str], *, multiple: bool = False) -> Options:
    anonymous = False
    deadline: str | None = None
    reminder: int | None = None
    for segment in segments:
        key = normalize(segment.strip())
        if key == "plusieurs":
            multiple = True
        elif key == "anonyme":
            anonymous = True
        elif _DEADLINE.fullmatch(key):
            if deadline is not None:
                raise InvalidArguments("L’option « fin » figure deux fois.")
            deadline = _after_colon(segment, key)
            if not deadline:
                raise InvalidArguments(
                    "Précisez la date de fin après « fin : », par exemple « fin : vendredi 17h »."
                )
        elif (match := _REMINDER.fullmatch(key)) is not None:
            if reminder is not None:
                raise InvalidArguments("L’option « rappel » figure deux fois.")
            hours = _HOURS.fullmatch(match[1].strip())
            if hours is None or not 1 <= int(hours[1]) <= MAX_REMINDER_HOURS:
                raise InvalidArguments(
                    "Écrivez le rappel en heures avant la fin, de 1 à "
                    f"{MAX_REMINDER_HOURS}, par exemple « rappel : 24h »."
                )
            reminder = int(hours[1])
        elif key:
            raise InvalidArguments(
                f"Option inconnue : « {_clean(segment)} ». Options possibles : plusieurs, "
                "anonyme, fin : <quand>, rappel : <N>h."
            )
    if reminder is not None and deadline is None:
        raise InvalidArguments(
            "L’option « rappel » demande une date de fin, par exemple « fin : vendredi 17h »."
        )
    return Options(multiple, anonymous, deadline, reminder)


# --- texts -------------------------------------------------------------------------------


def when(moment: datetime, now: datetime, tz: ZoneInfo) -> str:
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


def plural(count: int, word: str) -> str:
    """French: 0 and 1 are singular."""
    return f"{count} {word}{'s' if count > 1 else ''}"


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
    lines = [f"Résultats du sondage n° {poll.id} — {poll.question}"]
    for number, answer in enumerate(poll.answers, start=1):
        votes = counts.get(answer.id, 0)
        lines.append(
            f"{number}. {answer.text} — {plural(votes, 'vote')} ({percent(votes, voters)} %) "
            f"{bar(votes, voters)}"
        )
    participation = plural(voters, "votant")
    if members:
        participation += f" sur {plural(members, 'membre')} du salon ({percent(voters, members)} %)"
    lines.append(participation)
    if poll.max_selections > 1:
        lines.append(
            "Plusieurs réponses possibles : chaque pourcentage est calculé sur les votants."
        )
    if record["spoiled"]:
        spoiled = record["spoiled"]
        lines.append(
            f"{plural(spoiled, 'réponse')} non valable{'s' if spoiled > 1 else ''} "
            "(choix inconnu), non comptée" + ("s." if spoiled > 1 else ".")
        )
    if poll.status == "closed" and poll.closed_at is not None:
        lines.append(f"Sondage clos le {when(poll.closed_at, now, tz)}.")
    elif poll.deadline is not None:
        lines.append(f"Fin prévue : {when(poll.deadline, now, tz)}.")
    else:
        lines.append(f"Sondage ouvert : !sondage clore {poll.id} pour le terminer.")
    return "\n".join(lines)


def reminder_text(poll: Poll, voters: int, now: datetime, tz: ZoneInfo) -> str:
    deadline = when(poll.deadline or now, now, tz)
    return (
        f"⏰ Rappel : le sondage « {poll.question} » se termine le {deadline} ; "
        f"{plural(voters, 'réponse')} pour l’instant. Répondez avec les boutons du sondage."
    )


def export_csv(poll: Poll, record: dict[str, Any], now: datetime, tz: ZoneInfo) -> bytes:
    """Counts only (never a voter), `;`-separated, UTF-8 with BOM for French spreadsheets."""
    counts: dict[str, int] = record["counts"]
    voters: int = record["voters"]
    members: int = record["members"]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([f"Sondage n° {poll.id}", poll.question])
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
