"""Arguments of `!panne`, parsed before the handler runs.

Decisions:
- The long form has three parts separated by « | »: `!panne B12 | vidéoprojecteur | ne
  s'allume plus`. Without « | », the short form: the first word is the room, the second
  the equipment, the rest the symptom (`!panne B12 vidéoprojecteur ne s'allume plus`).
- A number first means a request's number (`!panne 12 le voyant clignote` adds a
  précision to request n° 12): a room named by a bare number is written in the long form
  (`!panne 104 | vidéoprojecteur | …`), which is always a report.
- `résolue` (or `resolue`, `résolu`) followed by a number closes a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.arguments import SubCommand, leading_number, parse_number, split_word
from bot.errors import InvalidArguments
from bot.router import ParseEnv, normalize

USAGE = "<salle> | <matériel> | <ce qui se passe>"
EXAMPLE = "!panne B12 | vidéoprojecteur | ne s’allume plus"
SHORT_EXAMPLE = "!panne B12 vidéoprojecteur ne s’allume plus"

DETAIL = SubCommand("!panne <n°> <précision>", "!panne 12 le voyant orange clignote")
RESOLVE = SubCommand("!panne résolue <n°>", "!panne résolue 12")

MAX_LOCATION = 40
MAX_EQUIPMENT = 60
MAX_SYMPTOM = 1000
MAX_DETAIL = 2000

_RESOLVE_WORDS = frozenset({"resolue", "resolu", "reparee", "repare"})


@dataclass(frozen=True)
class Report:
    location: str
    equipment: str
    symptom: str

    @property
    def key(self) -> str:
        """Room and equipment as compared for duplicates: case, accents, spaces and
        punctuation ignored (« B-12 » is « b12 », « vidéo-projecteur » « videoprojecteur »)."""
        return f"{_compact(self.location)}|{_compact(self.equipment)}"


@dataclass(frozen=True)
class Detail:
    number: int
    text: str


@dataclass(frozen=True)
class Resolve:
    number: int


PanneArgs = Report | Detail | Resolve


def comparable(text: str) -> str:
    """`Vidéo-Projecteur ` → `video projecteur`: what two reports must share to be one."""
    return " ".join(re.sub(r"[^\w]+", " ", normalize(text)).split())


def _compact(text: str) -> str:
    return comparable(text).replace(" ", "")


def _missing(parts: list[str]) -> str:
    names = ["la salle", "le matériel", "ce qui se passe"]
    missing = [name for name, part in zip(names, parts, strict=True) if not part]
    listed = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " et " + missing[-1]
    return f"Il manque {listed}."


def _report(location: str, equipment: str, symptom: str) -> Report:
    # One line each: they make the ticket's subject (a line break there is no header).
    parts = [" ".join(part.split()) for part in (location, equipment, symptom)]
    if not all(parts):
        raise InvalidArguments(_missing(parts), example=EXAMPLE)
    limits = (MAX_LOCATION, MAX_EQUIPMENT, MAX_SYMPTOM)
    names = ("Le nom de la salle", "Le nom du matériel", "La description")
    for part, limit, name in zip(parts, limits, names, strict=True):
        if len(part) > limit:
            raise InvalidArguments(
                f"{name} est trop long : {limit} caractères au plus.", example=EXAMPLE
            )
    return Report(parts[0], parts[1], parts[2])


def parse_panne(text: str, env: ParseEnv) -> PanneArgs:
    text = text.strip()
    word, rest = split_word(text)
    if normalize(word) in _RESOLVE_WORDS:
        number = parse_number(rest)
        if number is None:
            raise RESOLVE.invalid("Indiquez le numéro de la demande réparée.")
        return Resolve(number)
    if "|" in text:
        parts = text.split("|")
        if len(parts) > 3:
            raise InvalidArguments(
                "Trois parties sont attendues, séparées par « | » : la salle, le matériel et "
                "ce qui se passe.",
                example=EXAMPLE,
            )
        location, equipment, symptom = (*parts, "", "")[:3]
        return _report(location, equipment, symptom)
    numbered = leading_number(text)
    if numbered is not None:
        number, detail = numbered
        if not detail:
            raise DETAIL.invalid(f"Indiquez la précision à ajouter à la demande n° {number}.")
        if len(detail) > MAX_DETAIL:
            raise DETAIL.invalid(f"La précision est trop longue : {MAX_DETAIL} caractères au plus.")
        return Detail(number, detail)
    equipment, symptom = split_word(rest)
    return _report(word, equipment, symptom)
