"""Arguments of `!atelier`, `!cafe`, `!inscription`, `!desinscription`, parsed up front.

The parsers run before the handler (bot/processor.py), with the moment of the
command and the bot's time zone (`ParseEnv`): dates arrive in the handlers as
aware datetimes, and every malformed argument, a date included, is answered by
the router in its one shape « message / Utilisation / Exemple ».

Decisions:
- A date error inside a sub-command carries that sub-command's usage and
  example (`!atelier modifier <n°> <quand> [| lieu]`, `!atelier depuis-sondage
  <n° de sondage> <quand>`). The other errors of a sub-command carry their own
  example in the message and show the usage of `!atelier`. A creation's errors
  show the usage of the command typed (`!atelier` or `!cafe`).
- The date is read last, once the other parts are known to be well formed, so
  that a message with several mistakes gets the same first answer as before
  dates were parsed here.
- The people of `!atelier presents` stay text: matching « @a » or « a » to a
  sign-up needs the database (attendance.py).
- A final « malgré-vacances » (or « malgre-vacances ») on a creation, a
  `modifier` or a `depuis-sondage` is taken off the text and becomes
  `despite_holidays`: the handler, which knows the school zone, decides whether
  the date needs it (commands.py). Anywhere else, the word is ordinary text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.arguments import MAX_NUMBER_DIGITS, parse_number
from bot.errors import InvalidArguments
from bot.router import PREFIX, ParseEnv, normalize
from bot.when import parse_when

MAX_THEME_CHARS = 200
MAX_PLACE_CHARS = 120
MAX_CAPACITY = 500  # far above any room of a school; also the largest « minimum N »

USAGE = "<quand> | <thème> [| lieu] [| places] [| minimum N]"
EXAMPLE = "!atelier jeudi 14 décembre 12h30 | Pronote : le cahier de textes | CDI | 12 places"
CAFE_USAGE = "<quand> | <thème> [| lieu]"
CAFE_EXAMPLE = "!cafe mardi 12h30 | L’IA générative en classe | salle des professeurs"
MODIFY_USAGE = f"{PREFIX}atelier modifier <n°> <quand> [| lieu]"
MODIFY_EXAMPLE = "!atelier modifier 3 jeudi 12h30 | CDI"
FROM_POLL_USAGE = f"{PREFIX}atelier depuis-sondage <n° de sondage> <quand>"
DESPITE_HOLIDAYS = "malgré-vacances"  # confirms a date on a public holiday or in the holidays


@dataclass(frozen=True)
class Create:
    when: datetime
    theme: str
    place: str | None = None
    capacity: int | None = None
    minimum: int | None = None
    despite_holidays: bool = False


@dataclass(frozen=True)
class Cancel:
    workshop_id: int


@dataclass(frozen=True)
class Modify:
    workshop_id: int
    when: datetime | None  # None: same date
    place: str | None  # None: same place
    despite_holidays: bool = False


@dataclass(frozen=True)
class Attendance:
    workshop_id: int
    arguments: str


@dataclass(frozen=True)
class FromPoll:
    poll_id: int
    when: datetime
    despite_holidays: bool = False


AtelierArgs = Create | Cancel | Modify | Attendance | FromPoll

_PLACES = re.compile(r"([0-9]+)(?:\s*places?)?", re.IGNORECASE)
_MINIMUM = re.compile(r"min(?:imum)?(?:\s*:\s*|\s+)(.*)", re.IGNORECASE)
_MENTIONS_PLACES = re.compile(r"\bplaces?$", re.IGNORECASE)
# « malgré-vacances » at the very end, after a space or a « | »; é typed or decomposed.
_DESPITE_HOLIDAYS = re.compile(
    r"(?:^|(?<=[\s|]))malgr(?:e\u0301?|é)[-\u2010\u2011]vacances\s*$", re.IGNORECASE
)


def _despite_holidays(text: str) -> tuple[str, bool]:
    """The text without a final « malgré-vacances » (nor the « | » before it); was it there?"""
    found = _DESPITE_HOLIDAYS.search(text)
    if found is None:
        return text, False
    return text[: found.start()].rstrip().removesuffix("|").rstrip(), True


def _count(word: str, what: str, example: str) -> int:
    """A number of places in 1..MAX_CAPACITY; `what` names it in the French error."""
    word = word.strip()
    if word.isascii() and word.isdigit():
        number = int(word) if len(word) <= MAX_NUMBER_DIGITS else MAX_CAPACITY + 1
        if 1 <= number <= MAX_CAPACITY:
            return number
        raise InvalidArguments(f"{what} doit être entre 1 et {MAX_CAPACITY}.")
    raise InvalidArguments(example)


def parse_atelier(text: str, env: ParseEnv) -> AtelierArgs:
    """Sub-commands by their first word; anything else creates an atelier."""
    words = text.split(maxsplit=1)
    if words:
        keyword = normalize(words[0])
        rest = words[1].strip() if len(words) > 1 else ""
        if keyword == "annuler":
            return _parse_cancel(rest)
        if keyword == "modifier":
            return _parse_modify(rest, env)
        if keyword in ("presents", "present", "presences"):
            return _parse_attendance(rest)
        if keyword == "depuis-sondage":
            return _parse_from_poll(rest, env)
    return parse_create(text, env)


_SHARED_WITH_CAFES = ("annuler", "modifier", "presents", "present", "presences")
"""Sub-commands of `!atelier` that also serve the cafés: `!cafe annuler 3` is pointed there."""


def parse_cafe(text: str, env: ParseEnv) -> Create:
    word = text.split(maxsplit=1)[0] if text.split() else ""
    if normalize(word) in _SHARED_WITH_CAFES:
        raise InvalidArguments(
            f"Un café numérique se gère avec !atelier : tapez « {PREFIX}atelier "
            f"{word.lower()[:20]} <n°> … » (voir « {PREFIX}aide atelier »)."
        )
    return parse_create(text, env)


def _when(
    text: str, env: ParseEnv, *, usage: str | None = None, example: str | None = None
) -> datetime:
    """The date, or InvalidArguments naming the sub-command (if any) it belongs to."""
    try:
        return parse_when(text, env.now, env.tz)
    except InvalidArguments as exc:
        raise InvalidArguments(exc.message, usage=usage, example=example) from exc


def parse_create(text: str, env: ParseEnv) -> Create:
    text, despite_holidays = _despite_holidays(text)
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
            minimum = _count(
                found[1],
                "Le minimum",
                f"« {segment} » : le minimum doit être un nombre entier positif, "
                "par exemple « minimum 4 ».",
            )
        elif (found := _PLACES.fullmatch(segment)) is not None or _MENTIONS_PLACES.search(segment):
            if capacity is not None:
                raise InvalidArguments("Le nombre de places est donné deux fois.")
            capacity = _count(
                found[1] if found is not None else "",
                "Le nombre de places",
                f"« {segment} » : le nombre de places doit être un nombre entier positif, "
                "par exemple « 12 places ».",
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
    return Create(_when(when, env), theme, place, capacity, minimum, despite_holidays)


def _parse_cancel(rest: str) -> Cancel:
    number = parse_number(rest)
    if number is None:
        raise InvalidArguments(
            "Donnez le numéro de l’atelier à annuler, par exemple « !atelier annuler 3 »."
        )
    return Cancel(number)


def _parse_modify(rest: str, env: ParseEnv) -> Modify:
    rest, despite_holidays = _despite_holidays(rest)
    words = rest.split(maxsplit=1)
    number = parse_number(words[0]) if words else None
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
    starts_at = _when(when, env, usage=MODIFY_USAGE, example=MODIFY_EXAMPLE) if when else None
    return Modify(number, starts_at, place or None, despite_holidays)


def _parse_attendance(rest: str) -> Attendance:
    words = rest.split(maxsplit=1)
    number = parse_number(words[0]) if words else None
    if number is None:
        raise InvalidArguments(
            "Donnez le numéro de l’atelier puis les présents, par exemple "
            "« !atelier presents 3 @a:exemple.fr @b:exemple.fr » ou « !atelier presents 3 tous »."
        )
    return Attendance(number, words[1].strip() if len(words) > 1 else "")


def _parse_from_poll(rest: str, env: ParseEnv) -> FromPoll:
    rest, despite_holidays = _despite_holidays(rest)
    words = rest.split(maxsplit=1)
    number = parse_number(words[0]) if words else None
    if number is None or len(words) < 2:
        raise InvalidArguments(
            "Donnez le numéro du sondage puis la date, par exemple "
            "« !atelier depuis-sondage 2 jeudi 12h30 »."
        )
    example = f"{PREFIX}atelier depuis-sondage {number} jeudi 12h30"
    when = _when(words[1].strip(), env, usage=FROM_POLL_USAGE, example=example)
    return FromPoll(number, when, despite_holidays)


def parse_workshop_number(text: str, env: ParseEnv) -> int:
    """`!inscription 3`, `!desinscription n°3`."""
    number = parse_number(text.strip())
    if number is None:
        raise InvalidArguments(
            "Donnez le numéro de l’atelier ou du café numérique. Tapez !ateliers pour voir "
            "les numéros."
        )
    return number
