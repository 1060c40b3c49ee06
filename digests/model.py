"""The letter as data: what `collect` gathers and what `build` decides (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Literal


@dataclass(frozen=True, slots=True)
class Published:
    """An announcement or a published news entry, as posted in one room."""

    room_id: str
    event_id: str
    published_at: datetime
    title: str
    source: str | None  # the feed's name; None for the RUPN's own announcements
    link: str | None  # the article, for news


@dataclass(frozen=True, slots=True)
class OpenPoll:
    room_id: str
    question: str
    deadline: datetime | None
    voters: int
    event_id: str | None


@dataclass(frozen=True, slots=True)
class Upcoming:
    kind: Literal["atelier", "cafe"]
    theme: str
    starts_at: datetime
    place: str | None
    capacity: int | None
    confirmed: int
    notices: tuple[tuple[str, str], ...]  # (room id, event id)


@dataclass(frozen=True, slots=True)
class Word:
    id: int
    body: str


@dataclass(frozen=True)
class Source:
    """Everything the letters of all rooms are built from, gathered at `now`."""

    now: datetime
    since: datetime  # the earliest room's window start (each room's: its previous letter)
    last_letter: datetime | None  # the previous letter that went out, if any
    published: tuple[Published, ...] = ()  # newest first
    polls: tuple[OpenPoll, ...] = ()
    upcoming: tuple[Upcoming, ...] = ()  # soonest first
    words: tuple[Word, ...] = ()

    @cached_property
    def published_by_room(self) -> dict[str, list[Published]]:
        """Grouped once for all rooms' letters (newest first in each)."""
        grouped: dict[str, list[Published]] = {}
        for item in self.published:
            grouped.setdefault(item.room_id, []).append(item)
        return grouped

    @cached_property
    def polls_by_room(self) -> dict[str, list[OpenPoll]]:
        grouped: dict[str, list[OpenPoll]] = {}
        for poll in self.polls:
            grouped.setdefault(poll.room_id, []).append(poll)
        return grouped

    @cached_property
    def notices(self) -> tuple[dict[str, str], ...]:
        """For each of `upcoming`, its notice's event id by room."""
        return tuple(dict(u.notices) for u in self.upcoming)


# --- what the templates receive --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewsLine:
    title: str
    source: str | None
    link: str


@dataclass(frozen=True, slots=True)
class PollLine:
    question: str
    deadline: datetime | None
    voters: int
    members: int | None  # joined members without the bot; None when unknown (CLI preview)
    link: str | None


@dataclass(frozen=True, slots=True)
class EventLine:
    kind: Literal["atelier", "cafe"]
    theme: str
    starts_at: datetime
    place: str | None
    places_left: int | None  # None: no limit
    link: str | None


@dataclass(frozen=True)
class Letter:
    """One room's letter: every list already cut to fit on a phone screen."""

    room_id: str
    week_monday: date
    covers_from: date | None  # set when the letter covers more than a week (after a break)
    news: tuple[NewsLine, ...] = ()
    more_news: int = 0
    polls: tuple[PollLine, ...] = ()
    more_polls: int = 0
    events: tuple[EventLine, ...] = ()
    more_events: int = 0
    words: tuple[str, ...] = ()
    word_ids: tuple[int, ...] = field(default=())  # the words shown, deleted once sent
    extra: bool = False  # a second letter in a week whose letter went out: what is new

    @property
    def empty(self) -> bool:
        return not (self.news or self.polls or self.events or self.words)
