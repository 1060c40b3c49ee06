"""Arguments of `!veille`, parsed before the handler runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, assert_never
from urllib.parse import urlsplit

from bot.arguments import parse_number
from bot.errors import InvalidArguments
from bot.router import PREFIX, ParseEnv, normalize


@dataclass(frozen=True)
class AddFeed:
    url: str
    name: str | None


@dataclass(frozen=True)
class ListFeeds:
    pass


@dataclass(frozen=True)
class RemoveFeed:
    number: int


@dataclass(frozen=True)
class ListProposals:
    pass


@dataclass(frozen=True)
class IgnoreEntry:
    number: int


@dataclass(frozen=True)
class CurateHere:
    """`!veille ici`: the room the command is typed in becomes the school's curation room."""


VeilleAction = AddFeed | ListFeeds | RemoveFeed | ListProposals | IgnoreEntry | CurateHere

Action = Literal["ajouter", "liste", "retirer", "propositions", "ignorer", "ici"]

_ACTIONS: dict[str, Action] = {
    "ajouter": "ajouter",
    "ajout": "ajouter",
    "liste": "liste",
    "lister": "liste",
    "retirer": "retirer",
    "supprimer": "retirer",
    "propositions": "propositions",
    "proposition": "propositions",
    "ignorer": "ignorer",
    "ecarter": "ignorer",
    "ici": "ici",
}
ACTIONS_TEXT = "ajouter, liste, retirer, propositions, ignorer ou ici"


def item_number(text: str, action: str) -> int:
    """`12`, `n°12`, `n° 12` or `#12` → 12."""
    if not text.strip():
        raise InvalidArguments(f"Indiquez le numéro voulu, par exemple : !veille {action} 3.")
    number = parse_number(text)
    if number is None:
        raise InvalidArguments(f"« {text.strip()[:30]} » n’est pas un numéro.")
    return number


def parse_url(text: str) -> str:
    try:
        parts = urlsplit(text)
        hostname = parts.hostname
    except ValueError:  # « http://[ » : an unclosed IPv6 bracket
        hostname = None
    if not hostname or parts.scheme.lower() not in ("http", "https"):
        raise InvalidArguments(
            f"« {text} » n’est pas l’adresse d’un flux : elle doit commencer par "
            "http:// ou https://."
        )
    return text


def _nothing_after(word: str, rest: str) -> None:
    if rest:
        line = f"{PREFIX}veille {word.lower()}"
        raise InvalidArguments(
            f"Rien n’est attendu après « {word[:30]} ».", usage=line, example=line
        )


def parse_veille(text: str, env: ParseEnv) -> VeilleAction:
    words = text.split(maxsplit=1)
    if not words:
        raise InvalidArguments(f"Précisez ce que vous voulez faire : {ACTIONS_TEXT}.")
    action = _ACTIONS.get(normalize(words[0]))
    rest = words[1].strip() if len(words) > 1 else ""
    if action is None:
        raise InvalidArguments(
            f"Action inconnue : « {words[0]} ». Actions possibles : {ACTIONS_TEXT}."
        )
    match action:
        case "ajouter":
            if not rest:
                raise InvalidArguments("Indiquez l’adresse du flux à suivre.")
            url, *name = rest.split(maxsplit=1)
            return AddFeed(parse_url(url), name[0].strip() if name else None)
        case "liste":
            _nothing_after(words[0], rest)
            return ListFeeds()
        case "propositions":
            _nothing_after(words[0], rest)
            return ListProposals()
        case "retirer":
            return RemoveFeed(item_number(rest, "retirer"))
        case "ignorer":
            return IgnoreEntry(item_number(rest, "ignorer"))
        case "ici":
            _nothing_after(words[0], rest)
            return CurateHere()
        case _:
            assert_never(action)
