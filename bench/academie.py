"""The synthetic académie the multi-school benchmarks share: its établissements.

1,000 schools of three rooms each, as the largest académies: valid UAI (with their check
letter), plausible French names, a RUPN each.
"""

from __future__ import annotations

import random

from bot.config import uai_letter
from bot.schools import School

SCHOOLS = 1_000
ROOMS_PER_SCHOOL = 3
KINDS = ("Collège", "Lycée", "Lycée professionnel", "Collège", "Collège")
NAMES = ("Jean Moulin", "Camille Guérin", "Louise Michel", "Victor Hugo", "Marie Curie")
TOWNS = ("Poitiers", "Niort", "La Rochelle", "Angoulême", "Châtellerault", "Saintes")
ZONES = ("A", "B", "C")


def uai(number: int) -> str:
    digits = f"{860000 + number:07d}"
    return digits + uai_letter(digits)


def school_name(rng: random.Random) -> str:
    return f"{rng.choice(KINDS)} {rng.choice(NAMES)}, {rng.choice(TOWNS)}"


def synthetic_school(
    number: int,
    rng: random.Random,
    admins: frozenset[str] = frozenset(),
    zone: str | None = None,
) -> School:
    """School `number` of the académie (its UAI derives from the number, its name from `rng`)."""
    return School(uai(number), school_name(rng), admins, zone)
