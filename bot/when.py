"""French date/time expressions typed by teachers → an aware datetime.

dateparser misreads too many of these (see LIBRARY-NOTES), so this is a
small explicit grammar. Case and accents are ignored, spaces are free, and
the words « le », « à », « ce », « cette » may appear anywhere.

Day part (optional, at most one of each kind; when several are given they
must agree):

* ``aujourd'hui``, ``demain``, ``après-demain`` (or ``apres demain``);
* a weekday ``lundi`` … ``dimanche``: the next such day, today included
  when the time is still ahead; ``mardi prochain`` is the next Tuesday
  *strictly after today* (said on a Sunday, it is the Tuesday two days
  later; « prochain » never skips a week);
* ``d/m``, ``d/m/yy``, ``d/m/yyyy``;
* ``d mois [yyyy]``: ``3 décembre``, ``1er décembre``, ``14 déc.``
  (abbreviations janv. févr. mars avr. mai juin juil. août sept. oct. nov. déc.);
* a weekday and a date (``jeudi 14 décembre``): they must agree.

A date without a year is in the current year if that day is today or later,
else next year, but only within the next six months (``MAX_ROLLOVER_DAYS``):
« 3/2 » typed in December is next February, as the school year goes; « 1/11 »
typed on 1 December is refused (« ce jour est passé ; précisez l’année »),
never silently moved eleven months ahead. An explicit year must lie between last year and ten years
ahead. Without any day part the day is today, and a time already past is an
error asking for a day (never a silent jump to tomorrow).

Time part (required, exactly one, before or after the day): ``12h30``,
``12h``, ``12 h 30``, ``12:30`` (``12 : 30``), ``8h05``, ``midi``, ``midi et demi(e)``,
``midi et quart``. Minutes are two digits. « minuit » is refused as
ambiguous (start or end of the day?).

Daylight saving time: the moment is built from wall-clock values with
``datetime(..., tzinfo=tz)``. A time that does not exist (spring gap, e.g.
28 March 2027 02:30 in Paris) is **refused** with the normalised time as
suggestion; a time that happens twice (autumn) is the first occurrence
(``fold=0``, summer time).

Every problem raises `InvalidArguments` with a French sentence and an example.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.dates import format_when
from bot.errors import InvalidArguments

MAX_LENGTH = 200
MAX_YEARS_AHEAD = 10

EXAMPLES = (
    "Exemples : « mardi 12h30 », « demain 12h15 », « 3/12 12h30 », « jeudi 14 décembre 12h30 »."
)

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
# Accent-free spellings (the text is compared without accents).
_MONTH_WORDS: dict[str, int] = {
    "janvier": 1,
    "janv": 1,
    "jan": 1,
    "fevrier": 2,
    "fevr": 2,
    "fev": 2,
    "mars": 3,
    "avril": 4,
    "avr": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "juil": 7,
    "aout": 8,
    "septembre": 9,
    "sept": 9,
    "sep": 9,
    "octobre": 10,
    "oct": 10,
    "novembre": 11,
    "nov": 11,
    "decembre": 12,
    "dec": 12,
}
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # leap-year maxima

_SEPARATORS = " ,;"
_MONTH_ALT = "|".join(sorted(_MONTH_WORDS, key=len, reverse=True))
_ALTERNATIVES = (
    r"(?P<today>aujourd'?\s?hui)",
    r"(?P<after_tomorrow>apres[-\s]?demain)",
    r"(?P<tomorrow>demain)",
    rf"(?P<weekday>{'|'.join(WEEKDAYS)})",
    r"(?P<next>prochaine?)",
    r"(?P<nd>[0-9]{1,2})/(?P<nm>[0-9]{1,2})(?:/(?P<ny>[0-9]{4}|[0-9]{2}))?",
    rf"(?P<td>[0-9]{{1,2}})(?:er)?\s*(?P<tm>{_MONTH_ALT})\.?(?:\s+(?P<ty>[0-9]{{4}}))?",
    r"(?P<th>[0-9]{1,2})\s*h\s*(?P<tmin>[0-9]{2})?",
    r"(?P<ch>[0-9]{1,2})\s*:\s*(?P<cmin>[0-9]{2})",
    r"(?P<noon>midi)(?:\s+et\s+(?P<noon_extra>demie?|quart))?",
    r"(?P<midnight>minuit)(?:\s+et\s+(?:demie?|quart))?",
    r"(?P<filler>le|a|ce|cette)",
)
_PAST_WORD = re.compile(r"(?:avant[-\s]?hier|hier)(?=[ ,;]|$)", re.ASCII)
"""« hier » is understood, to say that it is past (not « je n’ai pas compris »)."""
_TOKEN = re.compile("|".join(f"(?:{alt})(?=[{_SEPARATORS}]|$)" for alt in _ALTERNATIVES), re.ASCII)


@dataclass(frozen=True)
class _Weekday:
    weekday: int
    span: str
    strict: bool = False


@dataclass(frozen=True)
class _Date:
    day: int
    month: int
    year: int | None
    span: str


def parse_when(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """The moment `text` names, after `now`, as an aware datetime in `tz`.

    Raises `InvalidArguments` (French text with an example) on anything
    unknown, impossible, ambiguous, contradictory or past.
    """
    if len(text) > MAX_LENGTH:
        raise InvalidArguments(f"Ce texte est trop long pour une date. {EXAMPLES}")
    now_local = now.astimezone(tz)
    today = now_local.date()

    relatives: list[tuple[int, str]] = []
    weekdays: list[_Weekday] = []
    dates: list[_Date] = []
    clocks: list[tuple[time, str]] = []

    previous = ""
    for match, span in _tokens(text):
        kind = _kind(match)
        if kind == "today":
            relatives.append((0, span))
        elif kind == "tomorrow":
            relatives.append((1, span))
        elif kind == "after_tomorrow":
            relatives.append((2, span))
        elif kind == "weekday":
            weekdays.append(_Weekday(WEEKDAYS.index(match["weekday"]), span))
        elif kind == "next":
            if previous != "weekday":
                raise InvalidArguments(
                    f"« {span} » doit suivre un jour de la semaine, "
                    "par exemple « mardi prochain 12h30 »."
                )
            last = weekdays[-1]
            weekdays[-1] = _Weekday(last.weekday, f"{last.span} {span}", strict=True)
        elif kind == "nd":
            year = match["ny"]
            dates.append(_Date(int(match["nd"]), int(match["nm"]), _year(year), span))
        elif kind == "td":
            year = match["ty"]
            dates.append(_Date(int(match["td"]), _MONTH_WORDS[match["tm"]], _year(year), span))
        elif kind == "th":
            clocks.append((_clock(int(match["th"]), int(match["tmin"] or 0), span), span))
        elif kind == "ch":
            clocks.append((_clock(int(match["ch"]), int(match["cmin"]), span), span))
        elif kind == "noon":
            minute = {None: 0, "quart": 15}.get(match["noon_extra"], 30)
            clocks.append((time(12, minute), span))
        elif kind == "midnight":
            raise InvalidArguments(
                f"« {span} » est ambigu (début ou fin de journée ?) : écrivez plutôt "
                "« 0h » ou « 23h59 » avec le jour voulu, par exemple « mardi 23h59 »."
            )
        # fillers (« le », « à », « ce », « cette ») carry nothing
        previous = kind

    day_spans = [span for _, span in relatives] + [w.span for w in weekdays]
    day_spans += [d.span for d in dates]
    if len(relatives) > 1 or len(weekdays) > 1 or len(dates) > 1:
        raise InvalidArguments(
            f"Indiquez un seul jour ({_quoted(day_spans)}). Exemple : « mardi 12h30 »."
        )
    if len(clocks) > 1:
        raise InvalidArguments(
            f"Indiquez une seule heure ({_quoted([s for _, s in clocks])}). "
            "Exemple : « mardi 12h30 »."
        )
    if not clocks:
        if not day_spans:
            raise InvalidArguments(f"Précisez le jour et l’heure. {EXAMPLES}")
        raise InvalidArguments("Précisez l’heure, par exemple « mardi 12h30 » ou « demain 8h ».")
    clock = clocks[0][0]

    day = _resolve_day(relatives, weekdays, dates, today, clock, now_local.time())
    moment = _build(day, clock, tz)
    if moment <= now:
        if not day_spans:
            label = _clock_label(clock)
            raise InvalidArguments(
                f"Cette heure est déjà passée aujourd’hui ({label}). "
                f"Précisez le jour, par exemple « demain {label} »."
            )
        raise InvalidArguments(
            f"Cette date est déjà passée ({format_when(moment, tz, with_year=True)}). "
            "Exemple : « demain 12h15 »."
        )
    return moment


def _tokens(text: str) -> list[tuple[re.Match[str], str]]:
    """The grammar's tokens of `text`, each with its span in the original text."""
    norm = _normalise(text)
    end = len(norm.rstrip(" .!?"))
    tokens: list[tuple[re.Match[str], str]] = []
    pos = 0
    while True:
        while pos < end and norm[pos] in _SEPARATORS:
            pos += 1
        if pos >= end:
            return tokens
        past = _PAST_WORD.match(norm, pos, end)
        if past is not None:
            raise InvalidArguments(
                f"« {text[past.start() : past.end()]} » est déjà passé : la date doit être à "
                "venir. Exemple : « demain 12h15 »."
            )
        match = _TOKEN.match(norm, pos, end)
        if match is None:
            stop = pos
            while stop < end and norm[stop] not in _SEPARATORS:
                stop += 1
            raise InvalidArguments(f"Je n’ai pas compris « {text[pos:stop]} ». {EXAMPLES}")
        tokens.append((match, text[match.start() : match.end()]))
        pos = match.end()


def _normalise(text: str) -> str:
    """Lower case, no accents, plain spaces and apostrophes; same length as `text`."""
    out: list[str] = []
    for char in text:
        if char.isspace():
            out.append(" ")
            continue
        if char in "’‘ʼ`´":
            out.append("'")
            continue
        if char in "‐‑–—":
            out.append("-")
            continue
        decomposed = unicodedata.normalize("NFKD", char)
        if len(decomposed) > 1 and all(unicodedata.combining(c) for c in decomposed[1:]):
            char = decomposed[0]
        lower = char.lower()
        out.append(lower if len(lower) == 1 else char)
    return "".join(out)


def _kind(match: re.Match[str]) -> str:
    for name in ("today", "after_tomorrow", "tomorrow", "weekday", "next", "nd", "td"):
        if match[name] is not None:
            return name
    for name in ("th", "ch", "noon", "midnight"):
        if match[name] is not None:
            return name
    return "filler"


def _year(digits: str | None) -> int | None:
    if digits is None:
        return None
    return 2000 + int(digits) if len(digits) == 2 else int(digits)


def _clock(hour: int, minute: int, span: str) -> time:
    if hour > 23 or minute > 59:
        raise InvalidArguments(
            f"L’heure « {span} » n’existe pas : les heures vont de 0 à 23 et les minutes "
            "de 00 à 59. Exemple : « 12h30 »."
        )
    return time(hour, minute)


def _clock_label(clock: time) -> str:
    return f"{clock.hour}h" if clock.minute == 0 else f"{clock.hour}h{clock.minute:02d}"


def _quoted(spans: list[str]) -> str:
    return ", ".join(f"« {span} »" for span in spans)


def _day_label(day: date) -> str:
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {MONTHS[day.month - 1]} {day.year}"


def _resolve_day(
    relatives: list[tuple[int, str]],
    weekdays: list[_Weekday],
    dates: list[_Date],
    today: date,
    clock: time,
    now_clock: time,
) -> date:
    fixed: date | None = None
    if relatives:
        fixed = today + timedelta(days=relatives[0][0])
    if dates:
        resolved = _resolve_date(dates[0], today)
        if fixed is not None and resolved != fixed:
            raise InvalidArguments(
                f"« {relatives[0][1]} » et « {dates[0].span} » ne désignent pas le même jour. "
                "Exemple : « demain 12h15 »."
            )
        fixed = resolved
    if weekdays:
        wanted = weekdays[0]
        if fixed is not None:
            if fixed.weekday() != wanted.weekday:
                raise InvalidArguments(
                    f"Le {_day_label(fixed)} est un {WEEKDAYS[fixed.weekday()]}, "
                    f"pas un {WEEKDAYS[wanted.weekday]}."
                )
            return fixed
        delta = (wanted.weekday - today.weekday()) % 7
        if delta == 0 and (wanted.strict or clock <= now_clock):
            delta = 7
        return today + timedelta(days=delta)
    return today if fixed is None else fixed


MAX_ROLLOVER_DAYS = 183
"""A day typed without its year may be at most this far ahead (half a school year)."""


def _days_until(year: int, month: int, day: int, today: date) -> int:
    try:
        return (date(year, month, day) - today).days
    except ValueError:  # 29 February of a common year: reported by the caller
        return 0


def _resolve_date(wanted: _Date, today: date) -> date:
    day, month, year = wanted.day, wanted.month, wanted.year
    if not (1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]):
        raise InvalidArguments(
            f"La date « {wanted.span} » n’existe pas. Exemple : « 28/02 12h30 »."
        )
    if year is None:
        year = today.year if (month, day) >= (today.month, today.day) else today.year + 1
        if _days_until(year, month, day, today) > MAX_ROLLOVER_DAYS:
            raise InvalidArguments(
                f"Le {wanted.span} de cette année est passé ; précisez l’année, par exemple "
                f"« {day}/{month}/{year} » s’il s’agit bien de l’an prochain."
            )
    elif not today.year - 1 <= year <= today.year + MAX_YEARS_AHEAD:
        raise InvalidArguments(
            f"L’année {year} n’est pas possible : indiquez une date entre aujourd’hui et "
            f"{today.year + MAX_YEARS_AHEAD}. Exemple : « 3/12/{today.year} 12h30 »."
        )
    try:
        return date(year, month, day)
    except ValueError:  # 29 February of a common year
        raise InvalidArguments(
            f"Le 29 février {year} n’existe pas ({year} n’est pas bissextile). "
            "Exemple : « 28/02 12h30 »."
        ) from None


def _build(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The wall-clock moment; refused if it falls in a daylight saving gap."""
    moment = datetime(day.year, day.month, day.day, clock.hour, clock.minute, tzinfo=tz)
    normalised = moment.astimezone(UTC).astimezone(tz)
    if normalised.replace(tzinfo=None) != moment.replace(tzinfo=None):
        weekday = WEEKDAYS[day.weekday()]
        raise InvalidArguments(
            f"{_clock_label(clock)} n’existe pas le {weekday} {_day_label(day)} "
            "(changement d’heure) : choisissez une autre heure, par exemple "
            f"{_clock_label(normalised.time())}."
        )
    return moment
