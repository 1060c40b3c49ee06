"""Arguments of `!annonce`, parsed completely before the handler runs.

A sub-command word (`programmer`, `veille`, `corriger`, `retirer`, `dans`) always
means that sub-command (bot/arguments.py): if the rest is malformed, the command is
refused with the sub-command's own usage line and example, and nothing is published.
A text that starts with one of these words is written between quotation marks
(`!annonce "Retirer les tablettes du chariot"`), which are taken off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.arguments import SubCommand, leading_number, quote_hint, split_word, unquoted
from bot.errors import InvalidArguments
from bot.router import PREFIX, ParseEnv, normalize
from bot.when import parse_when


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

_ROOMS_SEPARATOR = re.compile(r"\s*:(?=\s|$)")
"""Aliases contain ":" too, so the rooms end at the first ":" followed by a space (or the end)."""


def _is_room(word: str) -> bool:
    return (
        word == "ici"
        or (word.startswith("!") and len(word) > 1)
        or (word.startswith("#") and ":" in word)
    )


def _number(rest: str, sub: SubCommand, word: str, missing: str) -> tuple[int, str]:
    """The number at the start of `rest` (`3`, `n°3`, `n° 3`, `#3`) and what follows it."""
    if not rest:
        raise sub.invalid(missing)
    found = leading_number(rest)
    if found is None:
        raise sub.invalid(f"« {rest.split()[0][:20]} » n’est pas un numéro. {_hint(word)}")
    return found


def _hint(word: str) -> str:
    return quote_hint(f"{PREFIX}annonce", word, "publier un texte")


def parse_annonce(text: str, env: ParseEnv) -> AnnonceArgs:
    text = text.strip()
    if not text:
        raise InvalidArguments(EMPTY_TEXT)
    word, rest = split_word(text)
    match normalize(word):
        case "programmer":
            return _schedule(rest, env, word)
        case "veille":
            number, comment = _number(rest, FROM_NEWS, word, NO_ENTRY_NUMBER)
            return FromNews(number, comment or None)
        case "corriger":
            number, new_text = _number(rest, CORRECT, word, NO_ANNOUNCEMENT_NUMBER)
            if not new_text:
                raise CORRECT.invalid("Donnez le nouveau texte après le numéro de l’annonce.")
            return Correct(number, new_text)
        case "retirer":
            number, extra = _number(rest, WITHDRAW, word, NO_ANNOUNCEMENT_NUMBER)
            if extra:
                raise WITHDRAW.invalid("Seul le numéro de l’annonce est attendu.")
            return Withdraw(number)
        case _:
            return _targets(text, None)


def _schedule(rest: str, env: ParseEnv, word: str) -> Publish:
    """`<quand> | <texte>`: the date is parsed here, so the handler gets an aware datetime."""
    if "|" not in rest:
        hint = f" {_hint(word)}" if rest else ""
        raise SCHEDULE.invalid(f"Indiquez la date, puis « | » et le texte.{hint}")
    when_text, _, body = rest.partition("|")
    try:
        when = parse_when(when_text.strip(), env.now, env.tz)
    except InvalidArguments as exc:
        raise SCHEDULE.invalid(exc.message) from exc
    publish = _targets(body.strip(), SCHEDULE)
    return Publish(publish.text, publish.rooms, when)


def _targets(text: str, sub: SubCommand | None) -> Publish:
    """`dans #salle:serveur ici : texte` names the rooms; any other text goes to all, a
    text between quotation marks without them."""
    quoted = unquoted(text)
    if quoted is not None:
        text = quoted
    if not text:
        raise sub.invalid(EMPTY_TEXT) if sub else InvalidArguments(EMPTY_TEXT)
    word, rest = split_word(text)
    if quoted is not None or normalize(word) != "dans":
        return Publish(text)
    separator = _ROOMS_SEPARATOR.search(rest)
    rooms = rest[: separator.start()].split() if separator is not None else rest.split()[:1]
    for position, room in enumerate(rooms):
        if not _is_room(room):
            hint = f" {_hint(word)}" if position == 0 else ""  # « Dans le cadre… » was text
            raise ROOMS.invalid(
                f"« {room[:40]} » n’est pas un salon : donnez son adresse (#nom:serveur) ou "
                f"« ici ».{hint}"
            )
    if separator is None:
        raise ROOMS.invalid("Indiquez les salons, puis « : » et le texte.")
    body = rest[separator.end() :].strip()
    if not body:
        raise ROOMS.invalid(EMPTY_TEXT)
    return Publish(body, tuple(rooms))
