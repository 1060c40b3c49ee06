"""The words of the académie's bilan that depend on the indicator, as the RUPN survey puts it.

A count reads « 46 % des établissements ont proposé au moins un mini-atelier »: `CONCERNED`
holds what follows « des établissements », for every count of `INDICATORS`. A median or a
rate reads « lecteurs par annonce : médiane 12 »: `SHORT` holds its name. The templates
(academie*.j2) put the figures around them; tests/unit/test_academie_bilan.py checks that
every indicator has its words.
"""

from __future__ import annotations

from collections.abc import Mapping

CONCERNED: Mapping[str, str] = {
    "annonces_publiees": "ont publié au moins une annonce",
    "salons_diffusion": "ont diffusé dans au moins un salon",
    "reactions": "ont reçu au moins une réaction à leurs annonces",
    "lettres_envoyees": "ont envoyé au moins une lettre de la semaine",
    "sources_suivies": "ont suivi au moins une source d’actualité",
    "articles_recus": "ont reçu au moins un article de veille",
    "articles_proposes": "ont trié au moins un article de veille",
    "articles_publies": "ont publié au moins un article de veille",
    "articles_ecartes": "ont écarté au moins un article de veille",
    "cafes": "ont organisé au moins un café numérique",
    "cafes_participants": "ont réuni au moins un participant à un café numérique",
    "ateliers": "ont proposé au moins un mini-atelier",
    "ateliers_a_la_demande": "ont proposé au moins un atelier « à la demande »",
    "ateliers_proposes": "ont proposé au moins un atelier sans minimum d’inscrits",
    "ateliers_annules": "ont annulé au moins un atelier faute d’inscrits",
    "ateliers_tenus": "ont tenu au moins un mini-atelier",
    "inscrits": "ont compté au moins un inscrit à un atelier tenu",
    "presents": "ont compté au moins un présent à un atelier tenu",
    "ateliers_presences_notees": "ont noté les présences d’au moins un atelier",
    "creneau_pause_meridienne": "ont proposé au moins un atelier sur la pause méridienne",
    "creneau_fin_de_journee": "ont proposé au moins un atelier en fin de journée",
    "creneau_autre": "ont proposé au moins un atelier sur un autre créneau",
    "satisfaction_reponses": "ont reçu au moins une réponse à un sondage de satisfaction",
    "sondages": "ont lancé au moins un sondage",
    "sondages_besoins": "ont lancé au moins un sondage de besoins",
    "sondages_satisfaction": "ont publié au moins un sondage de satisfaction",
    "pannes_signalees": "ont signalé au moins une panne avec « !panne »",
    "pannes_resolues": "ont vu au moins une panne signalée résolue",
}
"""For every count: « N % des établissements » + this."""

SHORT: Mapping[str, str] = {
    "lecteurs_median": "lecteurs par annonce",
    "taux_lecture_median": "taux de lecture par annonce",
    "lettres_lecteurs_median": "lecteurs par lettre",
    "lettres_taux_lecture_median": "taux de lecture par lettre",
    "cafes_satisfaction_utile": "cafés jugés utiles",
    "satisfaction_utile": "ateliers jugés utiles",
    "satisfaction_tres_utile": "ateliers jugés très utiles",
    "participation_mediane": "participation aux sondages",
    "pannes_delai_reponse_median": "jours avant la première réponse du service d’assistance",
    "pannes_delai_resolution_median": "jours avant la résolution d’une panne",
}
"""For every median and rate: this + « : médiane 12 »."""

ACTIVITIES: Mapping[str, str] = {
    "annonces_publiees": "Annonces",
    "lettres_envoyees": "Lettre de la semaine",
    "sources_suivies": "Veille",
    "cafes": "Cafés numériques",
    "ateliers": "Mini-ateliers",
    "sondages": "Sondages",
}
"""The key figures: the chart of the schools concerned, the columns of the table per school."""
