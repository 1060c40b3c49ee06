"""Arguments of `!annonce`, parsed completely before the handler runs.

A sub-command word (`programmer`, `veille`, `corriger`, `retirer`, `dans`) followed
by the start of its arguments (a day or a time, a number, a room) is that
sub-command; if the rest is then malformed, the command is refused with the
sub-command's own usage line and example, and nothing is published. Followed by
ordinary words, it is just the first word of the text (« Retirer les tablettes
du chariot », « Programmer en Python : atelier »).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.errors import InvalidArguments
from bot.router import PREFIX, ParseEnv, normalize
from bot.when import WEEKDAYS, parse_when


@dataclass(frozen=True)
class Publish:
    text: str
    rooms: tuple[str, ...] = ()  # empty: the diffusion rooms; "ici": the room of the command
    when: datetime | None = None  # None: at once


@dataclass(frozen=True)
class FromNews:
    entry_id: int
    comment: str | None


@dataclass(frozen=True)
class Correct:
    announcement_id: int
    text: str


@dataclass(frozen=True)
class Withdraw:
    announcement_id: int


AnnonceArgs = Publish | FromNews | Correct | Withdraw


@dataclass(frozen=True)
class SubCommand:
    usage: str
    example: str

    def invalid(self, message: str) -> InvalidArguments:
        return InvalidArguments(message, usage=self.usage, example=self.example)


SCHEDULE = SubCommand(
    f"{PREFIX}annonce programmer <quand> | <texte>",
    f"{PREFIX}annonce programmer lundi 8h | Réunion ENT à 17h",
)
FROM_NEWS = SubCommand(
    f"{PREFIX}annonce veille <n°> [commentaire]", f"{PREFIX}annonce veille 12 À lire avant lundi"
)
CORRECT = SubCommand(
    f"{PREFIX}annonce corriger <n°> <nouveau texte>",
    f"{PREFIX}annonce corriger 3 Réunion ENT à 17h30",
)
WITHDRAW = SubCommand(f"{PREFIX}annonce retirer <n°>", f"{PREFIX}annonce retirer 3")
ROOMS = SubCommand(
    f"{PREFIX}annonce dans <salon> [salon…] : <texte>",
    f"{PREFIX}annonce dans #vie-scolaire:serveur ici : Réunion ENT à 17h",
)

EMPTY_TEXT = "Le texte de l’annonce est vide."
NO_ANNOUNCEMENT_NUMBER = "Indiquez le numéro de l’annonce (tapez !annonces pour les voir)."
NO_ENTRY_NUMBER = (
    "Indiquez le numéro de la proposition de veille (tapez !veille propositions pour les voir)."
)

_NUMBER = re.compile(r"(?:n°|#)?\s*([0-9]+)(?=\s|$)", re.IGNORECASE)
_NUMBER_WORDS = frozenset(("deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix"))
"""Numbers in letters, taken for a mistyped number (« corriger deux … »); not « un », an article."""
_WHEN_WORDS = frozenset((*WEEKDAYS, "aujourd'hui", "demain", "apres-demain", "apres", "midi"))
_WHEN_FILLERS = frozenset(("le", "ce", "cette", "a"))
_ROOMS_SEPARATOR = re.compile(r"\s*:(?=\s|$)")
"""Aliases contain ":" too, so the rooms end at the first ":" followed by a space (or the end)."""


def _looks_like_number(rest: str) -> bool:
    """Does `rest` start with a number, even a malformed one (« 3 », « n°3 », « deux »)?"""
    first = rest.split(maxsplit=1)[0].lower() if rest else ""
    return first[:1].isdigit() or first.startswith(("n°", "#")) or normalize(first) in _NUMBER_WORDS


def _looks_like_when(rest: str) -> bool:
    """Does `rest` start with a day or a time (« lundi », « demain », « 3/12 », « 8h »…)?"""
    for word in rest.split():
        bare = normalize(word).replace("’", "'")
        if bare not in _WHEN_FILLERS:
            return bare[:1].isdigit() or bare in _WHEN_WORDS
    return False


def _is_room(word: str) -> bool:
    return (
        word == "ici"
        or (word.startswith("!") and len(word) > 1)
        or (word.startswith("#") and ":" in word)
    )


def _split_word(text: str) -> tuple[str, str]:
    """The first word (lower case) and the rest, split at any white space."""
    parts = text.split(maxsplit=1)
    return (parts[0].lower(), parts[1].strip()) if len(parts) == 2 else (text.lower(), "")


def _number(rest: str, sub: SubCommand, missing: str) -> tuple[int, str]:
    """The number at the start of `rest` (`3`, `n°3`, `n° 3`, `#3`) and what follows it."""
    if not rest:
        raise sub.invalid(missing)
    match = _NUMBER.match(rest)
    if match is None:
        raise sub.invalid(f"« {rest.split()[0]} » n’est pas un numéro.")
    return int(match.group(1)), rest[match.end() :].strip()


def parse_annonce(text: str, env: ParseEnv) -> AnnonceArgs:
    text = text.strip()
    if not text:
        raise InvalidArguments(EMPTY_TEXT)
    keyword, rest = _split_word(text)
    match keyword:
        case "programmer" if not rest or "|" in rest or _looks_like_when(rest):
            return _schedule(rest, env)
        case "veille" if not rest or _looks_like_number(rest):
            number, comment = _number(rest, FROM_NEWS, NO_ENTRY_NUMBER)
            return FromNews(number, comment or None)
        case "corriger" if not rest or _looks_like_number(rest):
            number, new_text = _number(rest, CORRECT, NO_ANNOUNCEMENT_NUMBER)
            if not new_text:
                raise CORRECT.invalid("Donnez le nouveau texte après le numéro de l’annonce.")
            return Correct(number, new_text)
        case "retirer" if not rest or _looks_like_number(rest):
            number, extra = _number(rest, WITHDRAW, NO_ANNOUNCEMENT_NUMBER)
            if extra:
                raise WITHDRAW.invalid("Seul le numéro de l’annonce est attendu.")
            return Withdraw(number)
        case _:
            return _targets(text, None)


def _schedule(rest: str, env: ParseEnv) -> Publish:
    """`<quand> | <texte>`: the date is parsed here, so the handler gets an aware datetime."""
    if "|" not in rest:
        raise SCHEDULE.invalid("Indiquez la date, puis « | » et le texte.")
    when_text, _, body = rest.partition("|")
    try:
        when = parse_when(when_text.strip(), env.now, env.tz)
    except InvalidArguments as exc:
        raise SCHEDULE.invalid(exc.message) from exc
    publish = _targets(body.strip(), SCHEDULE)
    return Publish(publish.text, publish.rooms, when)


def _targets(text: str, sub: SubCommand | None) -> Publish:
    """`dans #salle:serveur ici : texte` names the rooms; any other text goes to all."""
    if not text:
        raise sub.invalid(EMPTY_TEXT) if sub else InvalidArguments(EMPTY_TEXT)
    keyword, rest = _split_word(text)
    if keyword != "dans" or (rest and not _is_room(rest.split()[0].removesuffix(":"))):
        return Publish(text)  # « Dans le cadre du plan : … » is text
    separator = _ROOMS_SEPARATOR.search(rest)
    if separator is None:
        raise ROOMS.invalid("Indiquez les salons, puis « : » et le texte.")
    rooms = rest[: separator.start()].split()
    for word in rooms:
        if not _is_room(word):
            raise ROOMS.invalid(
                f"« {word} » n’est pas un salon : donnez son adresse (#nom:serveur) ou « ici »."
            )
    body = rest[separator.end() :].strip()
    if not body:
        raise ROOMS.invalid(EMPTY_TEXT)
    return Publish(body, tuple(rooms))
