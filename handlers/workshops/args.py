"""Arguments of `!atelier`, `!cafe`, `!inscription`, `!desinscription`, parsed up front."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import InvalidArguments
from bot.router import ParseEnv, normalize

MAX_THEME_CHARS = 200
MAX_PLACE_CHARS = 120
MAX_NUMBER_DIGITS = 9

MODIFY_EXAMPLE = "!atelier modifier 3 jeudi 12h30 | CDI"


@dataclass(frozen=True)
class Create:
    when: str
    theme: str
    place: str | None = None
    capacity: int | None = None
    minimum: int | None = None


@dataclass(frozen=True)
class Cancel:
    workshop_id: int


@dataclass(frozen=True)
class Modify:
    workshop_id: int
    when: str | None  # None: same date
    place: str | None  # None: same place


@dataclass(frozen=True)
class Attendance:
    workshop_id: int
    arguments: str


@dataclass(frozen=True)
class FromPoll:
    poll_id: int
    when: str


AtelierArgs = Create | Cancel | Modify | Attendance | FromPoll

_PLACES = re.compile(r"([0-9]+)(?:\s*places?)?", re.IGNORECASE)
_MINIMUM = re.compile(r"min(?:imum)?(?:\s*:\s*|\s+)(.*)", re.IGNORECASE)
_MENTIONS_PLACES = re.compile(r"\bplaces?$", re.IGNORECASE)


def _number(word: str) -> int | None:
    word = word.removeprefix("n°").removeprefix("#")
    if word.isascii() and word.isdigit() and len(word) <= MAX_NUMBER_DIGITS:
        return int(word)
    return None


def _positive(word: str) -> int | None:
    number = _number(word)
    return number if number is not None and number > 0 else None


def parse_atelier(text: str, env: ParseEnv) -> AtelierArgs:
    """Sub-commands by their first word; anything else creates an atelier."""
    words = text.split(maxsplit=1)
    if words:
        keyword = normalize(words[0])
        rest = words[1].strip() if len(words) > 1 else ""
        if keyword == "annuler":
            return _parse_cancel(rest)
        if keyword == "modifier":
            return _parse_modify(rest)
        if keyword in ("presents", "present", "presences"):
            return _parse_attendance(rest)
        if keyword == "depuis-sondage":
            return _parse_from_poll(rest)
    return parse_create(text)


def parse_cafe(text: str, env: ParseEnv) -> Create:
    return parse_create(text)


def parse_create(text: str) -> Create:
    segments = [segment.strip() for segment in text.split("|")]
    if len(segments) < 2 or not segments[0] or not segments[1]:
        raise InvalidArguments("Donnez la date puis le thème, séparés par « | ».")
    when, theme = segments[0], " ".join(segments[1].split())
    if len(theme) > MAX_THEME_CHARS:
        raise InvalidArguments(f"Le thème est trop long ({MAX_THEME_CHARS} caractères au plus).")
    place: str | None = None
    capacity: int | None = None
    minimum: int | None = None
    for segment in segments[2:]:
        segment = " ".join(segment.split())
        if not segment:
            continue
        if (found := _MINIMUM.fullmatch(segment)) is not None:
            if minimum is not None:
                raise InvalidArguments("Le minimum est donné deux fois.")
            minimum = _positive(found[1].strip())
            if minimum is None:
                raise InvalidArguments(
                    f"« {segment} » : le minimum doit être un nombre entier positif, "
                    "par exemple « minimum 4 »."
                )
        elif (found := _PLACES.fullmatch(segment)) is not None or _MENTIONS_PLACES.search(segment):
            if capacity is not None:
                raise InvalidArguments("Le nombre de places est donné deux fois.")
            capacity = _positive(found[1]) if found is not None else None
            if capacity is None:
                raise InvalidArguments(
                    f"« {segment} » : le nombre de places doit être un nombre entier positif, "
                    "par exemple « 12 places »."
                )
        else:
            if place is not None:
                raise InvalidArguments(
                    f"Deux lieux sont donnés (« {place} » et « {segment} ») : un seul est attendu."
                )
            if len(segment) > MAX_PLACE_CHARS:
                raise InvalidArguments(
                    f"Le lieu est trop long ({MAX_PLACE_CHARS} caractères au plus)."
                )
            place = segment
    if minimum is not None and capacity is not None and minimum > capacity:
        raise InvalidArguments(f"Le minimum ({minimum}) dépasse le nombre de places ({capacity}).")
    return Create(when, theme, place, capacity, minimum)


def _parse_cancel(rest: str) -> Cancel:
    number = _number(rest)
    if number is None:
        raise InvalidArguments(
            "Donnez le numéro de l’atelier à annuler, par exemple « !atelier annuler 3 »."
        )
    return Cancel(number)


def _parse_modify(rest: str) -> Modify:
    words = rest.split(maxsplit=1)
    number = _number(words[0]) if words else None
    after = words[1] if len(words) > 1 else ""
    when, _, place = after.partition("|")
    when, place = " ".join(when.split()), " ".join(place.split())
    if number is None or not (when or place):
        raise InvalidArguments(
            "Donnez le numéro de l’atelier puis la nouvelle date et/ou le nouveau lieu, "
            f"par exemple « {MODIFY_EXAMPLE} » ou « !atelier modifier 3 | salle 12 »."
        )
    if "|" in place:
        raise InvalidArguments(
            f"Après la nouvelle date, donnez au plus un lieu, par exemple « {MODIFY_EXAMPLE} »."
        )
    if len(place) > MAX_PLACE_CHARS:
        raise InvalidArguments(f"Le lieu est trop long ({MAX_PLACE_CHARS} caractères au plus).")
    return Modify(number, when or None, place or None)


def _parse_attendance(rest: str) -> Attendance:
    words = rest.split(maxsplit=1)
    number = _number(words[0]) if words else None
    if number is None:
        raise InvalidArguments(
            "Donnez le numéro de l’atelier puis les présents, par exemple "
            "« !atelier presents 3 @a:exemple.fr @b:exemple.fr » ou « !atelier presents 3 tous »."
        )
    return Attendance(number, words[1].strip() if len(words) > 1 else "")


def _parse_from_poll(rest: str) -> FromPoll:
    words = rest.split(maxsplit=1)
    number = _number(words[0]) if words else None
    if number is None or len(words) < 2:
        raise InvalidArguments(
            "Donnez le numéro du sondage puis la date, par exemple "
            "« !atelier depuis-sondage 2 jeudi 12h30 »."
        )
    return FromPoll(number, words[1].strip())


def parse_workshop_number(text: str, env: ParseEnv) -> int:
    """`!inscription 3`, `!desinscription n°3`."""
    number = _number(text.strip())
    if number is None:
        raise InvalidArguments(
            "Donnez le numéro de l’atelier ou du café numérique. Tapez !ateliers pour voir "
            "les numéros."
        )
    return number
