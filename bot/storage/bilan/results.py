"""What the bilan's queries return: frozen dataclasses of figures, never a person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

WorkshopKind = Literal["atelier", "cafe"]


@dataclass(frozen=True, slots=True)
class MonthCount:
    year: int
    month: int
    announcements: int  # the RUPN's own
    news: int  # news entries published as announcements


@dataclass(frozen=True, slots=True)
class KeyCount:
    """An answer of polls (a need, a degree of satisfaction) and its votes."""

    label: str
    count: int


@dataclass(frozen=True, slots=True)
class Reading:
    """Distinct readers of a kind of post, per item (all its rooms added up)."""

    items: int  # items with an engagement record
    readers_median: float | None
    rate_median: float | None  # percent of the audience, 0–100


@dataclass(frozen=True, slots=True)
class Diffusion:
    months: tuple[MonthCount, ...]
    rooms: int
    announcements: Reading
    reactions: int
    letters: int
    letter_reading: Reading

    @property
    def published(self) -> int:
        return sum(m.announcements + m.news for m in self.months)

    @property
    def news(self) -> int:
        return sum(m.news for m in self.months)


@dataclass(frozen=True, slots=True)
class SourceCounts:
    name: str
    received: int
    proposed: int
    published: int
    set_aside: int


@dataclass(frozen=True, slots=True)
class NewsWatch:
    sources: tuple[SourceCounts, ...]  # most published first

    def total(self, field: Literal["received", "proposed", "published", "set_aside"]) -> int:
        return sum(getattr(source, field) for source in self.sources)


@dataclass(frozen=True, slots=True)
class ThemeCount:
    theme: str
    sessions: int
    participants: int


@dataclass(frozen=True, slots=True)
class Satisfaction:
    polls: int
    respondents: int
    answers: tuple[KeyCount, ...]  # in the polls' order: « Oui, très », « Un peu »…

    def share(self, *positions: int) -> float | None:
        """Percent of the votes given to the answers at `positions` (None: no vote)."""
        total = sum(answer.count for answer in self.answers)
        if not total:
            return None
        chosen = sum(self.answers[i].count for i in positions if i < len(self.answers))
        return 100.0 * chosen / total


@dataclass(frozen=True, slots=True)
class Gatherings:
    """Ateliers or cafés numériques dated in the year."""

    kind: WorkshopKind
    organised: int  # not cancelled (held, or still to come)
    held: int  # not cancelled, started before the cut-off
    on_demand: int  # organised with a minimum of sign-ups (« à la demande »)
    cancelled: int
    cancelled_lacking: int  # cancelled while short of their minimum
    signed_up: int  # confirmed before the start, for the ones held
    present: int  # marked present (`!atelier presents`), for the ones held
    attendance_recorded: int
    participants: int  # present where attendance was recorded, else signed up
    midday: int
    end_of_day: int
    other_slot: int
    themes: tuple[ThemeCount, ...]
    satisfaction: Satisfaction


@dataclass(frozen=True, slots=True)
class Consultations:
    polls: int  # started with `!sondage` (needs polls included), satisfaction polls apart
    needs_polls: int
    feedback_polls: int
    measured: int  # polls whose participation is known (members counted)
    participation_median: float | None  # percent, 0–100
    needs_themes: tuple[KeyCount, ...]  # the leading themes of the needs polls
