"""French texts for what tomllib and pydantic report in English."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bot.config.errors import UnechoedValueError

_BARE_KEY_RE = re.compile(r"[A-Za-z0-9_-]+")

_TOML_POSITION_RE = re.compile(
    r"^(?P<msg>.*) \(at (?:line (?P<line>\d+), column (?P<column>\d+)|end of document)\)$",
    re.DOTALL,
)

_TOML_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), french)
    for pattern, french in (
        (r"Invalid statement", "instruction invalide"),
        (
            r"Expected newline or end of document after a statement",
            "fin de ligne attendue après la valeur",
        ),
        (
            r"Expected '=' after a key in a key/value pair",
            "« = » attendu après le nom de la clé",
        ),
        (
            r"Expected '\]' at the end of a table declaration",
            "« ] » attendu à la fin de l’en-tête de section",
        ),
        (
            r"Expected '\]\]' at the end of an array declaration",
            "« ]] » attendu à la fin de l’en-tête de tableau",
        ),
        (r"Expected (?P<x>.+)", "{x} attendu"),
        (r"Found invalid character (?P<x>.+)", "caractère inattendu {x}"),
        (r"Cannot declare (?P<x>.+) twice", "section {x} déclarée deux fois"),
        (r"Cannot overwrite a value", "clé définie deux fois"),
        (
            r"Cannot mutate immutable namespace (?P<x>.+)",
            "impossible de modifier la table {x}, déjà définie",
        ),
        (r"Cannot redefine namespace (?P<x>.+)", "impossible de redéfinir la table {x}"),
        (
            r"Invalid initial character for a key part",
            "caractère invalide au début d’un nom de clé",
        ),
        (r"Unclosed array", "liste non fermée (« ] » manquant)"),
        (r"Duplicate inline table key (?P<x>.+)", "clé {x} en double dans la table"),
        (r"Unclosed inline table", "table non fermée (« } » manquant)"),
        (
            r"Unescaped '\\' in a string",
            "barre oblique inversée « \\ » non échappée dans une chaîne "
            "(écrivez « \\\\ » ou mettez la chaîne entre apostrophes droites)",
        ),
        (r"Invalid hex value", "séquence d’échappement hexadécimale invalide"),
        (
            r"Escaped character is not a Unicode scalar value",
            "séquence d’échappement hors de l’Unicode",
        ),
        (r"Unterminated string", "chaîne non terminée (guillemet fermant manquant)"),
        (
            r"Illegal character '\\n'",
            "chaîne non terminée (guillemet fermant manquant en fin de ligne)",
        ),
        (r"Illegal character (?P<x>.+)", "caractère interdit {x} dans une chaîne"),
        (r"Invalid date or datetime", "date ou heure invalide"),
        (
            r"Invalid value",
            "valeur invalide (le texte doit être entre guillemets, "
            'par exemple « timezone = "Europe/Paris" »)',
        ),
    )
)


def translate_toml_error(path: Path, message: str) -> str:
    match = _TOML_POSITION_RE.match(message)
    english = match["msg"] if match else message
    if match is None:
        where = f"{path}"
    elif match["line"] is None:
        where = f"{path}, fin du fichier"
    else:
        where = f"{path}, ligne {match['line']}, colonne {match['column']}"
    french = "syntaxe invalide"
    for pattern, template in _TOML_MESSAGES:
        found = pattern.fullmatch(english)
        if found is not None:
            french = template.format(**{k: _toml_fragment(v) for k, v in found.groupdict().items()})
            break
    return f"{where} : TOML invalide : {french}"


def _toml_fragment(value: str) -> str:
    """Render a fragment of tomllib's message (a repr, or a tuple of key parts)."""
    if value.startswith("(") and value.endswith(")"):
        parts = re.findall(r"'((?:[^'\\]|\\.)*)'", value)
        if parts:
            return "« " + ".".join(parts) + " »"
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return f"« {value} »"


def translate_validation_error(exc: ValidationError, root: type[BaseModel]) -> list[str]:
    """One French line per problem; `root` is the model validated (to suggest misspelt keys)."""
    lines: list[str] = []
    for loc, message in validation_problems(exc, root):
        line = f"{_format_loc(loc)} : {message}"
        if line not in lines:
            lines.append(line)
    return lines


def validation_problems(
    exc: ValidationError, root: type[BaseModel]
) -> list[tuple[tuple[int | str, ...], str]]:
    """Each problem's location (keys and list indexes) and French text, in pydantic's order."""
    errors = exc.errors(include_url=False)
    # A list whose items failed also fails its length check: report the items only.
    item_locs = {err["loc"][:-1] for err in errors if err["loc"]}
    return [
        (err["loc"], _french_message(err, root))
        for err in errors
        if not (err["type"] in ("too_short", "too_long") and err["loc"] in item_locs)
    ]


def _format_loc(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = part if _BARE_KEY_RE.fullmatch(part) else f'"{part}"'
            text += f".{key}" if text else key
    return text or "(racine)"


def _french_message(err: ErrorDetails, root: type[BaseModel]) -> str:
    kind = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    loc = err["loc"]

    if kind == "missing":
        return "clé obligatoire absente"
    if kind == "extra_forbidden":
        # Never echo the value: it may be a misspelt password.
        return "clé inconnue" + _suggest_key(loc, root)
    if kind in ("value_error", "assertion_error"):
        error = ctx.get("error")
        message = str(error) if error is not None else err["msg"]
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    else:
        message = _TYPE_MESSAGES.get(kind, "valeur invalide")
        if kind in _CONTEXT_MESSAGES:
            message = _CONTEXT_MESSAGES[kind](ctx)
    echo = not isinstance(ctx.get("error"), UnechoedValueError)
    if echo and kind not in _NO_INPUT_ECHO and not _is_secret(loc):
        message += f" (reçu : {_describe_input(err.get('input'))})"
    return message


def _is_secret(loc: tuple[int | str, ...]) -> bool:
    return any(isinstance(part, str) and "password" in part.lower() for part in loc)


def _suggest_key(loc: tuple[int | str, ...], root: type[BaseModel]) -> str:
    model: type[BaseModel] | None = root
    for part in loc[:-1]:
        if isinstance(part, int):  # an item of a list of sections, e.g. etablissements[0]
            continue
        field = model.model_fields.get(part) if model else None
        model = _section_model(field.annotation if field else None)
    if model is None or not loc or not isinstance(loc[-1], str):
        return ""
    known = list(model.model_fields)
    close = difflib.get_close_matches(loc[-1], known, n=1, cutoff=0.6)
    if close:
        return f" (vouliez-vous dire « {close[0]} » ?)"
    return " (clés possibles : " + ", ".join(known) + ")"


def _section_model(annotation: object) -> type[BaseModel] | None:
    """The model of a section, of an optional one or of a list of them."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _section_model(arg)
        if found is not None:
            return found
    return None


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _describe_input(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value == "":
        return "une chaîne vide"
    if value in ([], ()):
        return "une liste vide"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "…"
        return f"« {shown} »"
    if isinstance(value, datetime | date | time):
        return f"la date {value.isoformat()}"
    if isinstance(value, list | tuple):
        return "une liste"
    if isinstance(value, Mapping):
        return "une table"
    return "une valeur d’un autre type"


def _plural(count: object, singular: str, plural: str) -> str:
    # Both nouns used here are masculine: « un élément », « un caractère ».
    if count == 1:
        return f"un {singular}"
    return f"{count} {singular if count == 0 else plural}"


_NO_INPUT_ECHO = frozenset({"missing", "extra_forbidden", "model_type", "dict_type"})

_TYPE_MESSAGES: dict[str, str] = {
    "string_type": "doit être du texte entre guillemets",
    "string_too_short": "ne doit pas être vide",
    "float_type": "doit être un nombre",
    "float_parsing": "doit être un nombre",
    "finite_number": "doit être un nombre fini",
    "int_type": "doit être un nombre entier",
    "int_parsing": "doit être un nombre entier",
    "int_from_float": "doit être un nombre entier",
    "bool_type": "doit valoir true ou false",
    "bool_parsing": "doit valoir true ou false",
    "list_type": 'doit être une liste, par exemple ["@rupn:example.org"]',
    "tuple_type": 'doit être une liste, par exemple ["@rupn:example.org"]',
    "model_type": "doit être une section (table TOML)",
    "model_attributes_type": "doit être une section (table TOML)",
    "dict_type": "doit être une section (table TOML)",
    "path_type": "doit être un chemin de dossier entre guillemets",
    "url_type": "doit être une adresse web entre guillemets",
    "url_parsing": "adresse web invalide",
    "url_syntax_violation": "adresse web invalide",
    "url_scheme": "doit commencer par https:// (ou http://)",
    "url_too_long": "adresse web trop longue",
}


def _french_choices(expected: str) -> str:
    """Pydantic's "'salon' or 'prive'" → « salon » ou « prive »."""
    return re.sub(r"'([^']*)'", r"« \1 »", expected).replace(" or ", " ou ")


_CONTEXT_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    "literal_error": lambda ctx: (
        "valeur attendue : " + _french_choices(str(ctx.get("expected", "")))
    ),
    "greater_than": lambda c: (
        "doit être un nombre strictement positif"
        if c.get("gt") == 0
        else f"doit être strictement supérieur à {_number(c.get('gt'))}"
    ),
    "greater_than_equal": lambda c: f"doit être supérieur ou égal à {_number(c.get('ge'))}",
    "less_than": lambda c: f"doit être strictement inférieur à {_number(c.get('lt'))}",
    "less_than_equal": lambda c: f"doit être inférieur ou égal à {_number(c.get('le'))}",
    "too_short": lambda c: (
        "doit contenir au moins " + _plural(c.get("min_length"), "élément", "éléments")
    ),
    "too_long": lambda c: (
        "doit contenir au plus " + _plural(c.get("max_length"), "élément", "éléments")
    ),
    "string_too_short": lambda c: (
        "ne doit pas être vide"
        if c.get("min_length") == 1
        else "doit contenir au moins " + _plural(c.get("min_length"), "caractère", "caractères")
    ),
    "string_too_long": lambda c: (
        "doit contenir au plus " + _plural(c.get("max_length"), "caractère", "caractères")
    ),
}
