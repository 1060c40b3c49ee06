"""Collect: read what the letters need, for all rooms at once (SQL in bot/storage/)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.context import Repositories
from bot.formatting import plain_text
from bot.tally import tally
from digests.model import OpenPoll, Published, Source, Upcoming, Word

AHEAD = timedelta(days=14)
"""« À venir » shows the ateliers and cafés of the next two weeks."""
FIRST_LETTER_COVERS = timedelta(days=7)
"""With no letter before, the first one covers the last seven days."""
TITLE_MAX = 90


def title_of(body: str, entry_title: str | None = None) -> str:
    """A feed entry's title (plain already), or the first line a person reads of an
    announcement's Markdown (link text, no URL: `plain_text`), cut at TITLE_MAX."""
    for line in [entry_title] if entry_title else plain_text(body).splitlines():
        text = " ".join(line.split())
        if text:
            return text if len(text) <= TITLE_MAX else text[: TITLE_MAX - 1].rstrip() + "…"
    return "(sans titre)"


async def collect(repos: Repositories, now: datetime, rooms: Sequence[str]) -> Source:
    """What the letters of `rooms` show at `now`.

    « Cette semaine » of a room is what was delivered there after that room's previous
    letter was queued, up to `now`: two letters of a room share no item, and an item
    delivered between them is in the second (the first letter of a room starts at the
    latest letter of any room, or a week ago).
    """
    previous = await repos.digests.last_letters(rooms)
    last = previous.sent_at
    fallback = last if last is not None else now - FIRST_LETTER_COVERS
    since_by_room = {room: previous.by_room.get(room, fallback) for room in rooms}
    since = min(since_by_room.values(), default=fallback)
    titles: dict[int, str] = {}  # one announcement is one row per room: its title once
    published = tuple(
        Published(
            room_id=row.room_id,
            event_id=row.event_id,
            published_at=row.published_at,
            title=titles.get(row.announcement_id)
            or titles.setdefault(row.announcement_id, title_of(row.body, row.entry_title)),
            source=row.feed_name,
            link=row.entry_link,
        )
        for row in await repos.digests.delivered_between(since, now)
        if row.room_id in since_by_room and row.delivered_at > since_by_room[row.room_id]
    )
    polls = []
    for row in await repos.digests.open_polls(now):
        result = tally(row.responses, row.answer_ids, row.max_selections, until=row.deadline)
        polls.append(OpenPoll(row.room_id, row.question, row.deadline, result.voters, row.event_id))
    upcoming = tuple(
        Upcoming(
            kind=row.kind,
            theme=row.theme,
            starts_at=row.starts_at,
            place=row.place,
            capacity=row.capacity,
            confirmed=row.confirmed,
            notices=row.notices,
        )
        for row in await repos.digests.upcoming_between(now, now + AHEAD)
    )
    words = tuple(Word(w.id, w.body) for w in await repos.digests.words())
    return Source(now, since, last, published, tuple(polls), upcoming, words)
