"""Arguments of `!sondage`, parsed completely before the handler runs.

`parse_sondage` returns one `SondageArgs` variant; the end date is an aware
datetime (`bot.when.parse_when`) and the reminder moment is computed and
checked here, so a handler never sees a date as text. Every problem raises
`InvalidArguments`; the router adds the usage and the example.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.arguments import parse_number, quote_hint, split_word, unquoted
from bot.errors import InvalidArguments
from bot.router import PREFIX, ParseEnv, normalize
from bot.when import parse_when

MIN_CHOICES = 2
MAX_CHOICES = 20  # MSC3381
MAX_REMINDER_HOURS = 24 * 14

USAGE = "<question> | <choix 1> | <choix 2> [| …] [| option …]"
NEEDS_USAGE = f"{PREFIX}sondage besoins [| option …]"
NEEDS_EXAMPLE = f"{PREFIX}sondage besoins | fin : vendredi 17h"
EXAMPLE = (
    "!sondage Quel atelier en décembre ? | Pronote | ENT | Tablettes | plusieurs "
    "| fin : vendredi 17h"
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
    "seulement\n"
    "Une question qui commence par l’un de ces mots (besoins, résultats, clore, export) "
    's’écrit entre guillemets : !sondage "Export des notes : quel format ?" | CSV | PDF'
)


@dataclass(frozen=True)
class Options:
    multiple: bool = False
    anonymous: bool = False
    deadline: datetime | None = None  # aware, after the command
    reminder_at: datetime | None = None  # after the command, before the deadline


@dataclass(frozen=True)
class Create:
    """`!sondage <question> | <choix> | … [| option …]`: a new poll."""

    question: str
    choices: tuple[str, ...]
    options: Options = Options()


@dataclass(frozen=True)
class Needs:
    """`!sondage besoins [| option …]`: the training needs poll (multiple choice)."""

    options: Options = Options()


@dataclass(frozen=True)
class Results:
    """`!sondage résultats [n°]`; no number: the room's latest poll (so for Close, Export)."""

    poll_id: int | None = None


@dataclass(frozen=True)
class Close:
    """`!sondage clore [n°]`."""

    poll_id: int | None = None


@dataclass(frozen=True)
class Export:
    """`!sondage export [n°]`."""

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


def parse_sondage(text: str, env: ParseEnv) -> SondageArgs:
    """A sub-command when the first word names one (bot/arguments.py), whatever follows;
    otherwise a new poll (its question between quotation marks if it starts with such a
    word)."""
    text = text.strip()
    if not text:
        raise InvalidArguments("Écrivez la question puis les choix, séparés par des barres « | ».")
    segments = text.split("|")
    word, head_rest = split_word(segments[0])
    keyword = normalize(word)
    if keyword in _NUMBERED:
        return _numbered(keyword, word, text[len(word) :].strip())  # text starts with word
    if keyword == "besoins":
        if head_rest:
            raise InvalidArguments(
                f"Après « {word} », seules des options sont attendues, chacune après une barre "
                f"« | ». {quote_hint(PREFIX + 'sondage', word, 'une question', 'la')}",
                usage=NEEDS_USAGE,
                example=NEEDS_EXAMPLE,
            )
        return Needs(_options(segments[1:], env, multiple=True))
    quoted = unquoted(segments[0])
    if quoted is not None:
        segments[0] = quoted
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
    return Create(question, tuple(choices), _options(option_segments, env))


def _numbered(keyword: str, word: str, rest: str) -> Results | Close | Export:
    """`résultats`, `clore` or `export`, then a poll number or nothing."""
    if not rest:
        return _NUMBERED[keyword]()
    number = parse_number(rest)
    if number is None:
        line = f"{PREFIX}sondage {word.lower()}"
        raise InvalidArguments(
            f"Donnez le numéro du sondage après « {word[:30]} », ou rien pour le dernier "
            "sondage du salon. "
            f"{quote_hint(PREFIX + 'sondage', word, 'une question', 'la')}",
            usage=f"{line} [n°]",
            example=f"{line} 3",
        )
    return _NUMBERED[keyword](number)


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


def _options(segments: list[str], env: ParseEnv, *, multiple: bool = False) -> Options:
    """Every option's syntax first, then the dates (as `!sondage` always checked them)."""
    anonymous = False
    deadline_text: str | None = None
    reminder_hours: int | None = None
    for segment in segments:
        key = normalize(segment.strip())
        if key == "plusieurs":
            multiple = True
        elif key == "anonyme":
            anonymous = True
        elif _DEADLINE.fullmatch(key):
            if deadline_text is not None:
                raise InvalidArguments("L’option « fin » figure deux fois.")
            deadline_text = _after_colon(segment, key)
            if not deadline_text:
                raise InvalidArguments(
                    "Précisez la date de fin après « fin : », par exemple « fin : vendredi 17h »."
                )
        elif (match := _REMINDER.fullmatch(key)) is not None:
            if reminder_hours is not None:
                raise InvalidArguments("L’option « rappel » figure deux fois.")
            hours = _HOURS.fullmatch(match[1].strip())
            if hours is None or not 1 <= int(hours[1]) <= MAX_REMINDER_HOURS:
                raise InvalidArguments(
                    "Écrivez le rappel en heures avant la fin, de 1 à "
                    f"{MAX_REMINDER_HOURS}, par exemple « rappel : 24h »."
                )
            reminder_hours = int(hours[1])
        elif key:
            raise InvalidArguments(
                f"Option inconnue : « {_clean(segment)} ». Options possibles : plusieurs, "
                "anonyme, fin : <quand>, rappel : <N>h."
            )
    if reminder_hours is not None and deadline_text is None:
        raise InvalidArguments(
            "L’option « rappel » demande une date de fin, par exemple « fin : vendredi 17h »."
        )
    if deadline_text is None:
        return Options(multiple, anonymous)
    deadline = _deadline(deadline_text, env)
    if reminder_hours is None:
        return Options(multiple, anonymous, deadline)
    reminder_at = deadline - timedelta(hours=reminder_hours)
    if reminder_at <= env.now:
        raise InvalidArguments(
            f"Le rappel {reminder_hours} h avant la fin tomberait dans le passé : "
            "choisissez un rappel plus proche de la fin."
        )
    return Options(multiple, anonymous, deadline, reminder_at)


def _deadline(text: str, env: ParseEnv) -> datetime:
    """`parse_when`'s sentence, saying which date is wrong: the choices may be dates too."""
    try:
        return parse_when(text, env.now, env.tz)
    except InvalidArguments as exc:
        raise InvalidArguments(
            f"La date de fin ne convient pas : {_lower_first(exc.message)}"
        ) from exc


def _lower_first(sentence: str) -> str:
    """« Cette date… » → « cette date… » after a colon; « ENT… » stays as it is."""
    word = sentence.split(" ", 1)[0]
    return sentence[:1].lower() + sentence[1:] if not word.isupper() else sentence
