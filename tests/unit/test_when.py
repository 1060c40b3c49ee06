"""Tests of bot.when: French date/time expressions, with now = Sunday 22 November 2026 10:00."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.dates import format_when
from bot.errors import InvalidArguments
from bot.when import EXAMPLES, parse_when

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=PARIS)  # a Sunday
DECEMBER = datetime(2026, 12, 20, 10, 0, tzinfo=PARIS)  # a Sunday, for year rollover


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


VALID: list[tuple[str, datetime]] = [
    # The forms dateparser handled, and those it got wrong (LIBRARY-NOTES).
    ("mardi 12h30", at(2026, 11, 24, 12, 30)),
    ("demain 12h15", at(2026, 11, 23, 12, 15)),
    ("3/12 12h30", at(2026, 12, 3, 12, 30)),
    ("vendredi 17h", at(2026, 11, 27, 17)),
    ("lundi 8h", at(2026, 11, 23, 8)),
    ("12/12 18h", at(2026, 12, 12, 18)),
    # « prochain » = strictly after today, never a week later: on Sunday, Tuesday 24.
    ("mardi prochain à 12h30", at(2026, 11, 24, 12, 30)),
    ("lundi prochain 9h", at(2026, 11, 23, 9)),
    ("dimanche prochain 11h", at(2026, 11, 29, 11)),
    ("jeudi 3 décembre 12h30", at(2026, 12, 3, 12, 30)),
    # Weekday = today if the time is still ahead, else next week.
    ("dimanche 11h", at(2026, 11, 22, 11)),
    ("dimanche 9h", at(2026, 11, 29, 9)),
    ("dimanche 10h", at(2026, 11, 29, 10)),
    ("ce dimanche 18h", at(2026, 11, 22, 18)),
    # Relative days.
    ("aujourd'hui 18h", at(2026, 11, 22, 18)),
    ("Aujourd’hui à 18h", at(2026, 11, 22, 18)),
    ("aujourdhui 18h", at(2026, 11, 22, 18)),
    ("après-demain 8h05", at(2026, 11, 24, 8, 5)),
    ("apres demain 8h05", at(2026, 11, 24, 8, 5)),
    ("demain 0h", at(2026, 11, 23, 0)),
    ("demain lundi 8h", at(2026, 11, 23, 8)),
    ("demain 23/11 8h", at(2026, 11, 23, 8)),
    # No day: today.
    ("18h", at(2026, 11, 22, 18)),
    ("23h59", at(2026, 11, 22, 23, 59)),
    ("à 10h01", at(2026, 11, 22, 10, 1)),
    # Time spellings and positions.
    ("12h30 mardi", at(2026, 11, 24, 12, 30)),
    ("12 h 30 mardi", at(2026, 11, 24, 12, 30)),
    ("mardi 12 h", at(2026, 11, 24, 12)),
    ("mardi 12:30", at(2026, 11, 24, 12, 30)),
    ("mardi 12 : 30", at(2026, 11, 24, 12, 30)),
    ("mardi 08h05", at(2026, 11, 24, 8, 5)),
    ("mardi midi", at(2026, 11, 24, 12)),
    ("mardi midi et demi", at(2026, 11, 24, 12, 30)),
    ("mardi midi et demie", at(2026, 11, 24, 12, 30)),
    ("mardi midi et quart", at(2026, 11, 24, 12, 15)),
    ("MARDI 12H30", at(2026, 11, 24, 12, 30)),
    ("  mardi   12h30  ", at(2026, 11, 24, 12, 30)),
    ("mercredi\u00a010h", at(2026, 11, 25, 10)),
    ("mardi, 12h30.", at(2026, 11, 24, 12, 30)),
    ("le mardi à 12h30", at(2026, 11, 24, 12, 30)),
    # Dates.
    ("3 décembre 12h30", at(2026, 12, 3, 12, 30)),
    ("3 decembre 12h30", at(2026, 12, 3, 12, 30)),
    ("1er décembre 9h", at(2026, 12, 1, 9)),
    ("14 déc. 14h", at(2026, 12, 14, 14)),
    ("14 dec 14h", at(2026, 12, 14, 14)),
    ("le 14 décembre 2026 à 14h", at(2026, 12, 14, 14)),
    ("lundi 14 décembre 14h", at(2026, 12, 14, 14)),
    ("14h lundi 14 décembre", at(2026, 12, 14, 14)),
    ("3/12/2026 12h30", at(2026, 12, 3, 12, 30)),
    ("3/12/26 12h30", at(2026, 12, 3, 12, 30)),
    ("03/12 12h30", at(2026, 12, 3, 12, 30)),
    ("22/11 11h", at(2026, 11, 22, 11)),
    ("3 janv. 9h", at(2027, 1, 3, 9)),
    ("21/11/2027 9h", at(2027, 11, 21, 9)),  # a year ahead: only with its year
    ("21 mai 9h", at(2027, 5, 21, 9)),  # without a year: next year, within six months
    ("5 févr. 2027 8h", at(2027, 2, 5, 8)),
    ("29/02/2028 8h", at(2028, 2, 29, 8)),
    ("15 août 2027 10h", at(2027, 8, 15, 10)),
    # The day after the spring change is an ordinary day.
    ("29/03/2027 2h30", at(2027, 3, 29, 2, 30)),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_parse_when_valid(text: str, expected: datetime) -> None:
    moment = parse_when(text, NOW, PARIS)
    assert moment == expected
    assert moment.tzinfo is PARIS
    assert (moment.year, moment.month, moment.day, moment.hour, moment.minute) == (
        expected.year,
        expected.month,
        expected.day,
        expected.hour,
        expected.minute,
    )


INVALID: list[tuple[str, str]] = [
    ("hier", "« hier » est déjà passé : la date doit être à venir. Exemple : « demain 12h15 »."),
    (
        "avant-hier 17h",
        "« avant-hier » est déjà passé : la date doit être à venir. Exemple : « demain 12h15 ».",
    ),
    # A passed day without its year is not moved almost a year ahead (issue: « 1/11 8h »).
    (
        "21/11 9h",
        "Le 21/11 de cette année est passé ; précisez l’année, par exemple « 21/11/2027 » "
        "s’il s’agit bien de l’an prochain.",
    ),
    (
        "15 août 10h",
        "Le 15 août de cette année est passé ; précisez l’année, par exemple « 15/8/2027 » "
        "s’il s’agit bien de l’an prochain.",
    ),
    ("xyz 12h", f"Je n’ai pas compris « xyz ». {EXAMPLES}"),
    ("mardi 12h30 svp", f"Je n’ai pas compris « svp ». {EXAMPLES}"),
    ("14 12h", f"Je n’ai pas compris « 14 ». {EXAMPLES}"),
    ("mardi 8h5", f"Je n’ai pas compris « 8h5 ». {EXAMPLES}"),
    ("sam. 10h", f"Je n’ai pas compris « sam. ». {EXAMPLES}"),
    ("", f"Précisez le jour et l’heure. {EXAMPLES}"),
    ("le", f"Précisez le jour et l’heure. {EXAMPLES}"),
    ("mardi", "Précisez l’heure, par exemple « mardi 12h30 » ou « demain 8h »."),
    ("3 décembre", "Précisez l’heure, par exemple « mardi 12h30 » ou « demain 8h »."),
    ("31/02 12h", "La date « 31/02 » n’existe pas. Exemple : « 28/02 12h30 »."),
    ("30 février 12h", "La date « 30 février » n’existe pas. Exemple : « 28/02 12h30 »."),
    ("13/13 12h", "La date « 13/13 » n’existe pas. Exemple : « 28/02 12h30 »."),
    ("0/12 12h", "La date « 0/12 » n’existe pas. Exemple : « 28/02 12h30 »."),
    (
        "29/02 12h",
        "Le 29 février 2027 n’existe pas (2027 n’est pas bissextile). Exemple : « 28/02 12h30 ».",
    ),
    (
        "mardi 25h",
        "L’heure « 25h » n’existe pas : les heures vont de 0 à 23 et les minutes de 00 à 59. "
        "Exemple : « 12h30 ».",
    ),
    (
        "mardi 12h60",
        "L’heure « 12h60 » n’existe pas : les heures vont de 0 à 23 et les minutes de 00 à 59. "
        "Exemple : « 12h30 ».",
    ),
    (
        "9h",
        "Cette heure est déjà passée aujourd’hui (9h). "
        "Précisez le jour, par exemple « demain 9h ».",
    ),
    (
        "10h",
        "Cette heure est déjà passée aujourd’hui (10h). "
        "Précisez le jour, par exemple « demain 10h ».",
    ),
    (
        "aujourd'hui 9h30",
        "Cette date est déjà passée (dimanche 22 novembre 2026 à 9h30). "
        "Exemple : « demain 12h15 ».",
    ),
    (
        "22/11 9h",
        "Cette date est déjà passée (dimanche 22 novembre 2026 à 9h00). "
        "Exemple : « demain 12h15 ».",
    ),
    (
        "3/12/2025 12h",
        "Cette date est déjà passée (mercredi 3 décembre 2025 à 12h00). "
        "Exemple : « demain 12h15 ».",
    ),
    (
        "3/12/1999 12h",
        "L’année 1999 n’est pas possible : indiquez une date entre aujourd’hui et 2036. "
        "Exemple : « 3/12/2026 12h30 ».",
    ),
    ("jeudi 14 décembre 12h30", "Le 14 décembre 2026 est un lundi, pas un jeudi."),
    ("lundi 1/12 12h30", "Le 1er décembre 2026 est un mardi, pas un lundi."),
    ("demain mardi 12h", "Le 23 novembre 2026 est un lundi, pas un mardi."),
    (
        "demain 24/11 12h",
        "« demain » et « 24/11 » ne désignent pas le même jour. Exemple : « demain 12h15 ».",
    ),
    (
        "mardi mercredi 12h",
        "Indiquez un seul jour (« mardi », « mercredi »). Exemple : « mardi 12h30 ».",
    ),
    (
        "mardi 12h 13h",
        "Indiquez une seule heure (« 12h », « 13h »). Exemple : « mardi 12h30 ».",
    ),
    (
        "demain prochain 12h",
        "« prochain » doit suivre un jour de la semaine, par exemple « mardi prochain 12h30 ».",
    ),
    (
        "mardi minuit",
        "« minuit » est ambigu (début ou fin de journée ?) : écrivez plutôt « 0h » ou « 23h59 » "
        "avec le jour voulu, par exemple « mardi 23h59 ».",
    ),
    (
        "28/03/2027 2h30",
        "2h30 n’existe pas le dimanche 28 mars 2027 (changement d’heure) : "
        "choisissez une autre heure, par exemple 3h30.",
    ),
    ("x" * 201, f"Ce texte est trop long pour une date. {EXAMPLES}"),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_parse_when_invalid(text: str, message: str) -> None:
    with pytest.raises(InvalidArguments) as caught:
        parse_when(text, NOW, PARIS)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3/1 9h", at(2027, 1, 3, 9)),
        ("3 janvier 9h", at(2027, 1, 3, 9)),
        ("lundi 4 janvier 9h", at(2027, 1, 4, 9)),
        ("31/12 23h", at(2026, 12, 31, 23)),
        ("20/12 11h", at(2026, 12, 20, 11)),
        ("19/12/2027 11h", at(2027, 12, 19, 11)),
        ("3/2 8h", at(2027, 2, 3, 8)),  # next February, as the school year goes
        ("15/6 8h", at(2027, 6, 15, 8)),  # within six months
    ],
)
def test_year_rollover(text: str, expected: datetime) -> None:
    assert parse_when(text, DECEMBER, PARIS) == expected


def test_a_passed_day_more_than_six_months_ahead_needs_its_year() -> None:
    with pytest.raises(InvalidArguments) as caught:
        parse_when("1/11 8h", DECEMBER, PARIS)
    assert caught.value.message.startswith("Le 1/11 de cette année est passé ; précisez l’année")


def test_autumn_fold_is_the_first_occurrence() -> None:
    moment = parse_when("31/10/2027 2h30", NOW, PARIS)
    assert moment.utcoffset() == timedelta(hours=2)
    assert moment.astimezone(UTC) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


def test_now_in_another_zone_is_converted() -> None:
    now_utc = NOW.astimezone(UTC)  # 09:00 UTC, 10:00 in Paris
    assert parse_when("mardi 12h30", now_utc, PARIS) == at(2026, 11, 24, 12, 30)
    with pytest.raises(InvalidArguments):
        parse_when("9h30", now_utc, PARIS)


def test_format_when() -> None:
    assert format_when(at(2026, 12, 1, 12, 30), PARIS) == "mardi 1 décembre à 12h30"
    assert format_when(at(2026, 12, 1, 9, 5), PARIS, with_year=True) == (
        "mardi 1 décembre 2026 à 9h05"
    )
    assert format_when(datetime(2026, 12, 1, 11, 30, tzinfo=UTC), PARIS) == (
        "mardi 1 décembre à 12h30"
    )


def _check(text: str) -> None:
    try:
        moment = parse_when(text, NOW, PARIS)
    except InvalidArguments as exc:
        assert exc.message
        return
    assert moment.tzinfo is PARIS
    assert moment > NOW


@given(st.text(max_size=60))
def test_arbitrary_text_only_raises_invalid_arguments(text: str) -> None:
    _check(text)


VOCABULARY = [
    "le",
    "à",
    "ce",
    "prochain",
    "demain",
    "après-demain",
    "aujourd’hui",
    "lundi",
    "jeudi",
    "dimanche",
    "12h30",
    "0h",
    "23h59",
    "2h30",
    "99h",
    "12:61",
    "midi",
    "minuit",
    "3/12",
    "31/02",
    "29/02",
    "28/03/2027",
    "31/10/27",
    "1er",
    "décembre",
    "14 déc.",
    "2027",
    "0/0/0000",
    "xyz",
    "",
]


@given(st.lists(st.sampled_from(VOCABULARY), max_size=6))
def test_vocabulary_combinations_only_raise_invalid_arguments(words: list[str]) -> None:
    _check(" ".join(words))
