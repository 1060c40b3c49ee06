"""The annual bilan as data, and the documented list of its indicators.

`INDICATORS` is the contract of the CSV file (`section;cle;indicateur;valeur`):
each key is fixed and never reused for another meaning; a new indicator gets a new
key. The definitions are French because the HTML bilan prints them for the RUPN
(« Comment lire ces chiffres »). Values are numbers (percentages from 0 to 100),
or None when nothing could be measured (an empty cell in the CSV).

Each indicator is of one kind, which says how an académie adds schools up
(digests/bilan/academie.py): a count (`summed`: the académie's total), or a median or a
rate (`median` or `percent`: the académie takes the median of its schools, never a sum).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.school_year import SchoolYear
from bot.schools import School
from bot.storage.bilan import NO_REPAIRS, Consultations, Diffusion, Gatherings, NewsWatch, Repairs

SECTIONS: Mapping[int, str] = {
    1: "Diffuser des informations utiles",
    2: "S’informer sur l’actualité",
    3: "Organiser des échanges professionnels",
    4: "Mettre en place des mini-ateliers",
    5: "Connaître les besoins",
    6: "En résumé",
    7: "Faire réparer le matériel",  # `!panne` (issue 19), after the survey's sections
}
"""The sections of the RUPN survey, in its order; the sixth is the paragraph to paste."""


@dataclass(frozen=True, slots=True)
class Indicator:
    section: int
    key: str
    label: str
    definition: str
    percent: bool = False  # a rate from 0 to 100, shown « 38 % »
    median: bool = False  # a school's median (of its announcements, its letters…)

    @property
    def summed(self) -> bool:
        """Counts add up across schools; a median or a rate does not."""
        return not (self.percent or self.median)


_AT_LEAST = " Les accusés de lecture privés ne parviennent pas au bot : c’est un minimum."

INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        1,
        "annonces_publiees",
        "Annonces publiées",
        "Annonces parties dans les salons de diffusion (!annonce, envois programmés, "
        "articles de veille publiés), hors annonces retirées.",
    ),
    Indicator(
        1,
        "salons_diffusion",
        "Salons atteints",
        "Salons distincts où au moins une annonce est partie.",
    ),
    Indicator(
        1,
        "lecteurs_median",
        "Lecteurs par annonce (médiane, au moins)",
        "Pour chaque annonce, personnes distinctes qu’un accusé de lecture public montre "
        "l’avoir atteinte, salons additionnés ; médiane sur les annonces." + _AT_LEAST,
        median=True,
    ),
    Indicator(
        1,
        "taux_lecture_median",
        "Taux de lecture par annonce (médiane, %)",
        "Lecteurs rapportés aux membres des salons au moment de l’envoi, sans le bot ni "
        "l’auteur de l’annonce (au plus 100\u00a0%) ; médiane sur les annonces." + _AT_LEAST,
        percent=True,
    ),
    Indicator(
        1,
        "reactions",
        "Réactions aux annonces et articles",
        "Réactions (émojis) laissées sous les annonces et les articles de veille publiés, "
        "une par personne, par annonce et par émoji (👍 et 👍🏽 comptent pour un seul 👍) ; "
        "une réaction retirée ne compte plus.",
    ),
    Indicator(
        1,
        "lettres_envoyees",
        "Lettres de la semaine envoyées",
        "Semaines où la lettre est partie, quel que soit le nombre de salons.",
    ),
    Indicator(
        1,
        "lettres_lecteurs_median",
        "Lecteurs par lettre (médiane, au moins)",
        "Pour chaque lettre, lecteurs de tous ses salons ; médiane sur les lettres." + _AT_LEAST,
        median=True,
    ),
    Indicator(
        1,
        "lettres_taux_lecture_median",
        "Taux de lecture par lettre (médiane, %)",
        "Lecteurs rapportés aux membres des salons (sans le bot, au plus 100\u00a0%) ; médiane sur "
        "les lettres." + _AT_LEAST,
        percent=True,
    ),
    Indicator(
        2,
        "sources_suivies",
        "Sources suivies",
        "Flux d’actualité (sites, lettres d’information) actifs pendant l’année ou qui ont "
        "apporté des articles.",
    ),
    Indicator(
        2,
        "articles_recus",
        "Articles reçus",
        "Articles nouveaux apparus dans les flux, y compris ceux que les filtres ont écartés.",
    ),
    Indicator(
        2,
        "articles_proposes",
        "Articles proposés au tri",
        "Articles retenus par les filtres et proposés au RUPN : publiés, écartés ou en attente.",
    ),
    Indicator(
        2,
        "articles_publies",
        "Articles publiés",
        "Articles publiés dans les salons de diffusion (✅, ou publication automatique).",
    ),
    Indicator(2, "articles_ecartes", "Articles écartés", "Articles écartés au tri (❌)."),
    Indicator(
        3,
        "cafes",
        "Cafés numériques organisés",
        "Cafés datés dans l’année, hors cafés annulés (tenus ou à venir).",
    ),
    Indicator(
        3,
        "cafes_participants",
        "Participants aux cafés numériques",
        "Pour les cafés tenus : les présents quand les présences ont été notées, les "
        "inscrits sinon.",
    ),
    Indicator(
        3,
        "cafes_satisfaction_utile",
        "Cafés jugés utiles (%)",
        "Part des réponses « Oui, très » et « Un peu » aux sondages de satisfaction des cafés.",
        percent=True,
    ),
    Indicator(
        4,
        "ateliers",
        "Mini-ateliers organisés",
        "Ateliers datés dans l’année, hors ateliers annulés (tenus ou à venir).",
    ),
    Indicator(
        4,
        "ateliers_a_la_demande",
        "dont ateliers « à la demande »",
        "Ateliers avec un minimum d’inscrits (« | minimum 4 ») : ils n’ont lieu que si assez "
        "de collègues s’inscrivent.",
    ),
    Indicator(
        4,
        "ateliers_proposes",
        "dont ateliers proposés",
        "Ateliers sans minimum d’inscrits, proposés à tous.",
    ),
    Indicator(
        4,
        "ateliers_annules",
        "Ateliers annulés faute d’inscrits",
        "Ateliers « à la demande » annulés alors que les inscrits n’atteignaient pas le minimum.",
    ),
    Indicator(
        4,
        "ateliers_tenus",
        "Ateliers tenus",
        "Ateliers non annulés dont l’heure de début est passée.",
    ),
    Indicator(
        4,
        "inscrits",
        "Inscrits aux ateliers tenus",
        "Inscriptions confirmées avant le début de l’atelier (liste d’attente exclue).",
    ),
    Indicator(
        4,
        "presents",
        "Présents aux ateliers tenus",
        "Personnes notées présentes avec « !atelier presents », venues sans inscription comprises.",
    ),
    Indicator(
        4,
        "ateliers_presences_notees",
        "Ateliers dont les présences ont été notées",
        "Ateliers tenus pour lesquels « !atelier presents » a été utilisé.",
    ),
    Indicator(
        4,
        "creneau_pause_meridienne",
        "Ateliers sur la pause méridienne",
        "Ateliers organisés commençant entre 11h30 et 13h59.",
    ),
    Indicator(
        4,
        "creneau_fin_de_journee",
        "Ateliers en fin de journée",
        "Ateliers organisés commençant à 16h ou plus tard.",
    ),
    Indicator(
        4,
        "creneau_autre",
        "Ateliers sur un autre créneau",
        "Les autres ateliers organisés (matinée, début d’après-midi).",
    ),
    Indicator(
        4,
        "satisfaction_reponses",
        "Réponses aux sondages de satisfaction",
        "Réponses aux sondages publiés après les ateliers (« Cet atelier vous a-t-il été "
        "utile ? »).",
    ),
    Indicator(
        4,
        "satisfaction_utile",
        "Ateliers jugés utiles (%)",
        "Part des réponses « Oui, très » et « Un peu ».",
        percent=True,
    ),
    Indicator(
        4,
        "satisfaction_tres_utile",
        "Ateliers jugés très utiles (%)",
        "Part des réponses « Oui, très ».",
        percent=True,
    ),
    Indicator(
        5,
        "sondages",
        "Sondages lancés",
        "Sondages lancés avec !sondage, sondages de besoins compris, hors sondages de "
        "satisfaction.",
    ),
    Indicator(
        5,
        "sondages_besoins",
        "dont sondages de besoins",
        "Sondages lancés avec « !sondage besoins ».",
    ),
    Indicator(
        5,
        "sondages_satisfaction",
        "Sondages de satisfaction",
        "Sondages publiés par le bot après un atelier ou un café, à part des précédents.",
    ),
    Indicator(
        5,
        "participation_mediane",
        "Participation aux sondages (médiane, %)",
        "Votants rapportés aux membres du salon (sans le bot), pour les sondages dont les "
        "membres sont connus ; médiane sur les sondages, hors sondages de satisfaction.",
        percent=True,
    ),
    Indicator(
        7,
        "pannes_signalees",
        "Pannes signalées",
        "Demandes « !panne » enregistrées dans l’année (un même matériel signalé par "
        "plusieurs collègues compte une fois).",
    ),
    Indicator(
        7,
        "pannes_resolues",
        "Pannes résolues",
        "Demandes de l’année déclarées résolues (« !panne résolue »).",
    ),
    Indicator(
        7,
        "pannes_delai_reponse_median",
        "Délai de première réponse du service d’assistance (médiane, jours)",
        "Du signalement à la première réponse reçue du service d’assistance ; médiane sur les "
        "demandes de l’année qui en ont reçu une.",
        median=True,
    ),
    Indicator(
        7,
        "pannes_delai_resolution_median",
        "Délai de résolution (médiane, jours)",
        "Du signalement à « !panne résolue » ; médiane sur les demandes de l’année résolues.",
        median=True,
    ),
)
"""Every indicator of the CSV, in its order. Keys are fixed: never rename one."""

BY_KEY: Mapping[str, Indicator] = {indicator.key: indicator for indicator in INDICATORS}

Value = int | float | None


def has_activity(values: Mapping[str, Value]) -> bool:
    """Did anything happen that an indicator counts (an announcement, a source followed,
    an atelier, a poll…)? A year without it gets a sentence, not files; an académie counts
    the schools with it as active (`etablissements_actifs`)."""
    return any(value for value in values.values())


def no_activity_text(year: SchoolYear) -> str:
    """What `!bilan` and `rupn-bot bilan` say instead of files for a year without activity."""
    return f"Aucune activité enregistrée pour {year.label}."


@dataclass(frozen=True)
class Bilan:
    """One school year's figures, made at `made_at` (before the year's end: a partial year)."""

    year: SchoolYear
    tz: ZoneInfo
    made_at: datetime
    diffusion: Diffusion
    news: NewsWatch
    ateliers: Gatherings
    cafes: Gatherings
    consultations: Consultations
    values: Mapping[str, Value]  # by key of INDICATORS, every key present
    school: School | None = None  # the établissement, named in the files when it has a UAI
    repairs: Repairs = NO_REPAIRS  # section 7, with its split by equipment category

    @property
    def partial(self) -> bool:
        """The year is not over: the figures stop at `made_at`."""
        return self.made_at < self.year.end(self.tz)

    @property
    def has_activity(self) -> bool:
        return has_activity(self.values)

    @property
    def named_school(self) -> School | None:
        """The établissement the files name: one with a UAI (not a single-school bot's)."""
        return None if self.school is None or self.school.implicit else self.school

    @property
    def name(self) -> str:
        """The files' name without extension: « bilan-2025-2026 », or with the UAI of a
        named school, « bilan-0860001J-2025-2026 » (the files of an académie's schools can
        share a folder, and `rupn-bot bilan --academie --csv` finds the school in the name)."""
        school = self.named_school
        return f"bilan-{school.key}-{self.year.label}" if school else f"bilan-{self.year.label}"

    def __getitem__(self, key: str) -> Value:
        return self.values[key]
