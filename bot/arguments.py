"""Pieces shared by the commands' argument parsers (handlers/*/args.py).

Decisions:
- A word that names a sub-command always means it (`!annonce retirer …`, `!sondage
  clore …`, `!lettre envoyer`): when what follows is malformed, the command is refused
  with that sub-command's usage and nothing is done. A text or a question that must
  start with such a word is written between quotation marks (`!annonce "Retirer les
  tablettes…"`): `unquoted` gives it back without them.
- A number is ASCII digits, at most `MAX_NUMBER_DIGITS` of them, optionally after « n° »
  or « # » (`3`, `n°3`, `n° 3`, `#3`). « ² », « ٣ » or a 20-digit number are not numbers:
  every item number fits in SQLite's integers, and `int()` never sees a Unicode digit
  it cannot store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import InvalidArguments

MAX_NUMBER_DIGITS = 9
"""Item numbers (announcements, polls, ateliers…) stay far below a billion."""

_NUMBER = re.compile(rf"(?:n°|#)?\s*([0-9]{{1,{MAX_NUMBER_DIGITS}}})", re.IGNORECASE)
_QUOTES = {'"': '"', "«": "»", "“": "”"}  # typographic quotes are typed too


@dataclass(frozen=True)
class SubCommand:
    """A sub-command's usage line and example, shown with each of its argument errors."""

    usage: str
    example: str

    def invalid(self, message: str) -> InvalidArguments:
        return InvalidArguments(message, usage=self.usage, example=self.example)


def parse_number(text: str) -> int | None:
    """`3`, `n°3`, `n° 3`, `#3` → 3; None for anything else (see the module's decisions)."""
    match = _NUMBER.fullmatch(text.strip())
    return int(match[1]) if match is not None else None


def leading_number(text: str) -> tuple[int, str] | None:
    """The number at the start of `text` (followed by a space or the end) and the rest."""
    match = _NUMBER.match(text)
    if match is None or (match.end() < len(text) and not text[match.end()].isspace()):
        return None
    return int(match[1]), text[match.end() :].strip()


def split_word(text: str) -> tuple[str, str]:
    """The first word as typed and the rest (stripped), split at any white space."""
    parts = text.strip().split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], parts[1].strip() if len(parts) == 2 else ""


def unquoted(text: str) -> str | None:
    """The text inside quotation marks that enclose all of `text`; None if they do not."""
    text = text.strip()
    closing = _QUOTES.get(text[:1])
    if closing is None or len(text) < 2 or not text.endswith(closing):
        return None
    return text[1:-1].strip()


def quote_hint(command: str, word: str, what: str, pronoun: str = "le") -> str:
    """How to write `what` (« publier un texte ») that starts with a sub-command's word:
    between quotation marks."""
    return (
        f"Pour {what} qui commence par « {word[:30]} », mettez-{pronoun} entre guillemets : "
        f'{command} "{word[:30]} …".'
    )
