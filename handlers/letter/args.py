"""Arguments of `!lettre`, parsed before the handler runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.arguments import parse_number, split_word
from bot.errors import InvalidArguments
from bot.router import PREFIX, ParseEnv, normalize

MAX_WORD_LENGTH = 280
"""A line of « Le mot du RUPN »: one line on a phone, not an article."""


@dataclass(frozen=True)
class Simple:
    action: Literal["apercu", "courriel", "pause", "reprise"]


@dataclass(frozen=True)
class Send:
    anyway: bool = False  # `quand-même`: an extra letter after the week's one


@dataclass(frozen=True)
class AddWord:
    text: str


@dataclass(frozen=True)
class RemoveWord:
    word_id: int


LettreArgs = Simple | Send | AddWord | RemoveWord

SIMPLE = ("apercu", "courriel", "pause", "reprise")
SEND_USAGE = f"{PREFIX}lettre envoyer [quand-même]"
ANYWAY = "quand-meme"  # normalised: « quand-même », « quand même », « Quand-Meme »…
ADD_USAGE = f"{PREFIX}lettre ajouter <texte>"
ADD_EXAMPLE = f"{PREFIX}lettre ajouter Pensez à rendre vos besoins de formation avant jeudi."
REMOVE_USAGE = f"{PREFIX}lettre retirer <n°>"
REMOVE_EXAMPLE = f"{PREFIX}lettre retirer 2"
USAGE = "aperçu|envoyer|courriel|pause|reprise|ajouter|retirer …"


def parse_lettre(text: str, env: ParseEnv) -> LettreArgs:
    word, rest = split_word(text)
    if not word:
        return Simple("apercu")
    action = normalize(word)
    if action in SIMPLE:
        if rest:
            line = f"{PREFIX}lettre {word.lower()}"
            raise InvalidArguments(
                f"Rien n’est attendu après « {word[:30]} ».", usage=line, example=line
            )
        return Simple(action)  # type: ignore[arg-type]  # checked just above
    if action == "envoyer":
        return _parse_send(rest)
    if action == "ajouter":
        line = " ".join(rest.split())
        if not line:
            raise InvalidArguments(
                "Quel texte ajouter au mot du RUPN ?", usage=ADD_USAGE, example=ADD_EXAMPLE
            )
        if len(line) > MAX_WORD_LENGTH:
            raise InvalidArguments(
                f"Ce texte fait {len(line)} caractères : la lettre se lit sur un téléphone, "
                f"{MAX_WORD_LENGTH} au plus. Mettez le détail dans une annonce (!annonce).",
                usage=ADD_USAGE,
                example=ADD_EXAMPLE,
            )
        return AddWord(line)
    if action == "retirer":
        number = parse_number(rest)
        if number is None:
            raise InvalidArguments(
                "Indiquez le numéro de la ligne à retirer (voir « !lettre aperçu »).",
                usage=REMOVE_USAGE,
                example=REMOVE_EXAMPLE,
            )
        return RemoveWord(number)
    raise InvalidArguments(f"« {word[:30]} » n’est pas une action de !lettre.")


def _parse_send(rest: str) -> Send:
    if not rest:
        return Send()
    if "-".join(normalize(rest).split()) == ANYWAY:
        return Send(anyway=True)
    raise InvalidArguments(
        f"Après « envoyer », seul « quand-même » est possible, pas « {rest[:30]} ».",
        usage=SEND_USAGE,
        example=f"{PREFIX}lettre envoyer quand-même",
    )
