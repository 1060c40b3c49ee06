"""`!panne`'s arguments: the long and short forms, précisions, closing, missing parts."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.errors import InvalidArguments
from bot.router import ParseEnv
from handlers.assistance.args import Detail, Report, Resolve, comparable, parse_panne

ENV = ParseEnv(datetime(2026, 11, 30, 8, 0, tzinfo=UTC), ZoneInfo("Europe/Paris"))


def parse(text: str) -> object:
    return parse_panne(text, ENV)


def error(text: str) -> str:
    with pytest.raises(InvalidArguments) as raised:
        parse_panne(text, ENV)
    return raised.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "B12 | vidéoprojecteur | ne s’allume plus",
            Report("B12", "vidéoprojecteur", "ne s’allume plus"),
        ),
        (
            "  B12|vidéoprojecteur|  ne   s’allume plus ",
            Report("B12", "vidéoprojecteur", "ne s’allume plus"),
        ),
        (
            "B12 vidéoprojecteur ne s’allume plus",
            Report("B12", "vidéoprojecteur", "ne s’allume plus"),
        ),
        ("CDI imprimante bourrage papier", Report("CDI", "imprimante", "bourrage papier")),
        (
            "salle\n B12 | vidéo\r\nprojecteur | noir\n\nrien",
            Report("salle B12", "vidéo projecteur", "noir rien"),
        ),
        # A numbered room is written in the long form: always a report.
        (
            "104 | tableau blanc | le stylet ne marche pas",
            Report("104", "tableau blanc", "le stylet ne marche pas"),
        ),
        (
            "salle informatique | réseau | pas d’Internet",
            Report("salle informatique", "réseau", "pas d’Internet"),
        ),
    ],
)
def test_reports_long_and_short(text: str, expected: Report) -> None:
    assert parse(text) == expected


def test_a_number_first_is_a_precision_and_resolue_closes() -> None:
    assert parse("12 le voyant orange clignote") == Detail(12, "le voyant orange clignote")
    assert parse("n° 12 le voyant clignote") == Detail(12, "le voyant clignote")
    assert parse("résolue 12") == Resolve(12)
    assert parse("Resolue n°3") == Resolve(3)
    assert parse("réparé #4") == Resolve(4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Il manque la salle, le matériel et ce qui se passe."),
        ("B12", "Il manque le matériel et ce qui se passe."),
        ("B12 vidéoprojecteur", "Il manque ce qui se passe."),
        ("B12 | vidéoprojecteur", "Il manque ce qui se passe."),
        ("| vidéoprojecteur | ne s’allume plus", "Il manque la salle."),
        ("B12 | | ne s’allume plus", "Il manque le matériel."),
        ("B12 |  | ", "Il manque le matériel et ce qui se passe."),
        (
            "B12 | vidéo | noir | encore",
            "Trois parties sont attendues, séparées par « | » : la salle, le matériel et ce "
            "qui se passe.",
        ),
        ("12", "Indiquez la précision à ajouter à la demande n° 12."),
        ("résolue", "Indiquez le numéro de la demande réparée."),
        ("résolue B12", "Indiquez le numéro de la demande réparée."),
        ("x" * 41 + " vidéo noir", "Le nom de la salle est trop long : 40 caractères au plus."),
    ],
)
def test_missing_or_wrong_parts_are_named(text: str, message: str) -> None:
    assert error(text) == message


def test_the_usage_shown_with_an_error_is_the_sub_command_s() -> None:
    with pytest.raises(InvalidArguments) as raised:
        parse("résolue")
    assert raised.value.usage == "!panne résolue <n°>"
    assert raised.value.example == "!panne résolue 12"
    with pytest.raises(InvalidArguments) as raised:
        parse("B12")
    assert raised.value.example == "!panne B12 | vidéoprojecteur | ne s’allume plus"


def test_duplicates_are_compared_without_case_accents_or_punctuation() -> None:
    first = parse("B12 Vidéoprojecteur ne s’allume plus")
    second = parse("b12 | VIDEOPROJECTEUR | écran noir")
    third = parse("B-12 | vidéo-projecteur | rien")
    assert isinstance(first, Report) and isinstance(second, Report) and isinstance(third, Report)
    assert first.key == second.key == third.key == "b12|videoprojecteur"
    other = parse_panne("B12 | tableau blanc | x", ENV)
    assert isinstance(other, Report) and other.key != first.key
    assert comparable("  Réseau  Wi-Fi ") == "reseau wi fi"
