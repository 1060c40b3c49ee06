"""Letters and bilans to render, with one person's text wherever they could type it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.school_year import SchoolYear
from bot.schools import School
from bot.storage.bilan import (
    CategoryRepairs,
    Consultations,
    Diffusion,
    Gatherings,
    KeyCount,
    MonthCount,
    NewsWatch,
    Reading,
    Repairs,
    Satisfaction,
    SourceCounts,
    ThemeCount,
)
from digests.bilan.academie import Academie, SchoolFigures, aggregate
from digests.bilan.academie_render import RenderedAcademie
from digests.bilan.build import indicator_values
from digests.bilan.model import Bilan
from digests.bilan.render import RenderedBilan
from digests.model import EventLine, Letter, NewsLine, PollLine

PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2026, 12, 7)
NOON = datetime(2026, 12, 8, 12, 30, tzinfo=PARIS)
NOTICE = "https://matrix.to/#/!salle:example.org/$avis"
VOTE = "https://matrix.to/#/!salle:example.org/$sondage"


def letter(
    *,
    title: str = "Portes ouvertes",
    source: str | None = "Éduscol",
    link: str = "https://eduscol.education.fr/article",
    question: str = "Quel créneau ?",
    theme: str = "Pix",
    place: str | None = "CDI",
    word: str = "Bonne semaine",
    cafe_theme: str = "L’IA en classe",
) -> Letter:
    return Letter(
        room_id="!salle:example.org",
        week_monday=MONDAY,
        covers_from=None,
        news=(NewsLine(title, source, link),),
        polls=(PollLine(question, None, 1, 3, VOTE),),
        events=(
            EventLine("atelier", theme, NOON, place, 3, NOTICE),
            EventLine("cafe", cafe_theme, NOON, None, None, NOTICE),
        ),
        words=(word,),
    )


def bilan(text: str) -> Bilan:
    """A small year where every name a person typed is `text`, the school's name too."""
    reading = Reading(2, 3.0, 50.0)
    diffusion = Diffusion((MonthCount(2025, 9, 2, 1),), 2, reading, 3, 1, reading)
    news = NewsWatch((SourceCounts(text, 5, 3, 1, 1),))
    satisfaction = Satisfaction(1, 2, (KeyCount(text, 1), KeyCount("Un peu", 1)))
    ateliers = Gatherings(
        "atelier", 2, 1, 1, 0, 0, 3, 2, 1, 2, 1, 1, 0, (ThemeCount(text, 1, 2),), satisfaction
    )
    cafes = replace(ateliers, kind="cafe", themes=(ThemeCount(f"Café {text}", 1, 4),))
    consultations = Consultations(2, 1, 1, 1, 50.0, (KeyCount(text, 4), KeyCount("ENT", 2)))
    repairs = Repairs(2, 1, 1.5, 4.0, (CategoryRepairs(text, 1, 1), CategoryRepairs("", 1, 0)))
    values = indicator_values(diffusion, news, ateliers, cafes, consultations, repairs)
    made_at = datetime(2026, 6, 15, 12, 0, tzinfo=PARIS)
    school = School("0860001J", text, frozenset(), None)
    return Bilan(
        SchoolYear(2025),
        PARIS,
        made_at,
        diffusion,
        news,
        ateliers,
        cafes,
        consultations,
        values,
        school,
        repairs,
    )


def academie(text: str) -> Academie:
    """Two schools named `text` (one of them inactive) and the school bilan's figures."""
    values = bilan(text).values
    idle = dict.fromkeys(values, 0)
    schools = (
        SchoolFigures(School("0860001J", text, frozenset(), None), values),
        SchoolFigures(School("0860034V", f"Lycée {text}", frozenset(), None), idle),
    )
    return aggregate(schools, SchoolYear(2025))


def files(rendered: RenderedBilan | RenderedAcademie) -> tuple[str, str]:
    return rendered.file("html").data.decode(), rendered.file("md").data.decode()
