"""Build: a school year's `Bilan` from the figures SQLite computes (bot/storage/bilan/).

Reading happens here (one call per section of the survey); turning figures into
the indicators of the CSV is pure (`indicator_values`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.anonymise import masked as mask_people
from bot.school_year import SchoolYear
from bot.schools import School
from bot.storage.bilan import (
    BilanRepository,
    Consultations,
    Diffusion,
    Gatherings,
    KeyCount,
    NewsWatch,
    Repairs,
    Satisfaction,
    ThemeCount,
)
from digests.bilan.model import INDICATORS, Bilan, Value

VERY_USEFUL, USEFUL = 0, 1
"""Positions of « Oui, très » and « Un peu » in the satisfaction polls' answers."""

MASKED = "[identifiant masqué]"
"""What replaces a Matrix user id typed in a theme, an answer or a feed's name: the
bilan keeps what the RUPN typed, but never names anyone (nor shows the token an erased or
expired user id became)."""


async def build_bilan(
    repo: BilanRepository,
    year: SchoolYear,
    now: datetime,
    tz: ZoneInfo,
    school: School | None = None,
) -> Bilan:
    """The bilan of `year` as it stands at `now` (figures of a year not over stop at now);
    the files name `school` when it has a UAI."""
    since, until = year.start(tz), year.end(tz)
    cutoff = min(max(now, since), until)
    diffusion = await repo.diffusion(since, until, tz)
    news = await repo.news(since, until)
    gatherings = await repo.gatherings(since, until, cutoff, tz)
    consultations = await repo.consultations(since, until)
    repairs = await repo.repairs(since, until)
    news = NewsWatch(tuple(replace(s, name=masked(s.name)) for s in news.sources))
    ateliers, cafes = (
        _masked_gatherings(gatherings["atelier"]),
        _masked_gatherings(gatherings["cafe"]),
    )
    consultations = replace(consultations, needs_themes=_masked_counts(consultations.needs_themes))
    return Bilan(
        year=year,
        tz=tz,
        made_at=now,
        diffusion=diffusion,
        news=news,
        ateliers=ateliers,
        cafes=cafes,
        consultations=consultations,
        values=indicator_values(diffusion, news, ateliers, cafes, consultations, repairs),
        school=school,
        repairs=repairs,
    )


def masked(text: str) -> str:
    return mask_people(text, MASKED)


def _masked_counts(counts: tuple[KeyCount, ...]) -> tuple[KeyCount, ...]:
    return tuple(KeyCount(masked(c.label), c.count) for c in counts)


def _masked_gatherings(gatherings: Gatherings) -> Gatherings:
    satisfaction = gatherings.satisfaction
    return replace(
        gatherings,
        themes=tuple(
            ThemeCount(masked(t.theme), t.sessions, t.participants) for t in gatherings.themes
        ),
        satisfaction=Satisfaction(
            satisfaction.polls, satisfaction.respondents, _masked_counts(satisfaction.answers)
        ),
    )


def indicator_values(
    diffusion: Diffusion,
    news: NewsWatch,
    ateliers: Gatherings,
    cafes: Gatherings,
    consultations: Consultations,
    repairs: Repairs,
) -> dict[str, Value]:
    """Every indicator of `INDICATORS`, by key."""
    values: dict[str, Value] = {
        "annonces_publiees": diffusion.published,
        "salons_diffusion": diffusion.rooms,
        "lecteurs_median": diffusion.announcements.readers_median,
        "taux_lecture_median": diffusion.announcements.rate_median,
        "reactions": diffusion.reactions,
        "lettres_envoyees": diffusion.letters,
        "lettres_lecteurs_median": diffusion.letter_reading.readers_median,
        "lettres_taux_lecture_median": diffusion.letter_reading.rate_median,
        "sources_suivies": len(news.sources),
        "articles_recus": news.total("received"),
        "articles_proposes": news.total("proposed"),
        "articles_publies": news.total("published"),
        "articles_ecartes": news.total("set_aside"),
        "cafes": cafes.organised,
        "cafes_participants": cafes.participants,
        "cafes_satisfaction_utile": cafes.satisfaction.share(VERY_USEFUL, USEFUL),
        "ateliers": ateliers.organised,
        "ateliers_a_la_demande": ateliers.on_demand,
        "ateliers_proposes": ateliers.organised - ateliers.on_demand,
        "ateliers_annules": ateliers.cancelled_lacking,
        "ateliers_tenus": ateliers.held,
        "inscrits": ateliers.signed_up,
        "presents": ateliers.present,
        "ateliers_presences_notees": ateliers.attendance_recorded,
        "creneau_pause_meridienne": ateliers.midday,
        "creneau_fin_de_journee": ateliers.end_of_day,
        "creneau_autre": ateliers.other_slot,
        "satisfaction_reponses": ateliers.satisfaction.respondents,
        "satisfaction_utile": ateliers.satisfaction.share(VERY_USEFUL, USEFUL),
        "satisfaction_tres_utile": ateliers.satisfaction.share(VERY_USEFUL),
        "sondages": consultations.polls,
        "sondages_besoins": consultations.needs_polls,
        "sondages_satisfaction": consultations.feedback_polls,
        "participation_mediane": consultations.participation_median,
        "pannes_signalees": repairs.opened,
        "pannes_resolues": repairs.closed,
        "pannes_delai_reponse_median": repairs.first_answer_median_days,
        "pannes_delai_resolution_median": repairs.resolution_median_days,
    }
    missing = {indicator.key for indicator in INDICATORS} ^ set(values)
    if missing:  # pragma: no cover - a programming error, caught by the unit tests
        raise AssertionError(f"indicators without a value or a definition: {sorted(missing)}")
    return values
