"""Build: one room's letter from the collected `Source` (pure: `now` is in the source).

What goes in, so that the letter fits on one phone screen (at most `MAX_LINES`
non-empty lines in the text version, title and footer included):
- « Cette semaine »: what was delivered in that room since that room's previous
  letter (digests/collect.py), newest first, at most `MAX_NEWS`, then « et N autres ».
- « Sondages en cours »: that room's open polls, soonest deadline first, at most
  `MAX_POLLS`; participation is voters / joined members without the bot.
- « À venir »: ateliers and cafés of the next 14 days whose notice was posted in
  that room, at most `MAX_EVENTS`.
- « Le mot du RUPN »: the oldest `MAX_WORDS` queued lines; later ones wait for the
  next letter.
A room with nothing in any section gets no letter. An extra letter in the same
week (`news_only`) has only the first and the last sections: what is new.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from digests.model import EventLine, Letter, NewsLine, PollLine, Source

MAX_NEWS = 5
MAX_POLLS = 3
MAX_EVENTS = 4
MAX_WORDS = 3
MAX_LINES = 25
"""Title 1 + news 7 + polls 5 + events 6 + words 4 + footer 1 = 24 at most."""
WEEK_AND_A_DAY = timedelta(days=8)


def permalink(base: str, room_id: str, event_id: str, via: str | None) -> str:
    """`base` + room id / event id (+ ?via=server): one click to the event."""
    safe = "!:@$"
    link = f"{base}{quote(room_id, safe=safe)}/{quote(event_id, safe=safe)}"
    return f"{link}?via={quote(via, safe='')}" if via else link


def server_of(user_id: str) -> str | None:
    """`@rupn-bot:example.org` → `example.org`."""
    _, _, server = user_id.partition(":")
    return server or None


def week_monday(moment: datetime, tz: ZoneInfo) -> date:
    local = moment.astimezone(tz).date()
    return local - timedelta(days=local.weekday())


def covers_from(source: Source, tz: ZoneInfo) -> date | None:
    """The day after the previous letter, when it is more than a week old (after a break)."""
    if source.last_letter is None or source.now - source.last_letter <= WEEK_AND_A_DAY:
        return None
    return source.last_letter.astimezone(tz).date() + timedelta(days=1)


def build_letter(
    source: Source,
    room_id: str,
    *,
    tz: ZoneInfo,
    members: int | None,
    permalink_base: str,
    via: str | None,
    news_only: bool = False,
) -> Letter:
    """The letter for `room_id` (check `Letter.empty` before sending it).

    `news_only`: publications and words only (an extra letter in the same week).
    """

    def link(event_id: str) -> str:
        return permalink(permalink_base, room_id, event_id, via)

    published = source.published_by_room.get(room_id, [])
    news = [NewsLine(p.title, p.source, p.link or link(p.event_id)) for p in published[:MAX_NEWS]]
    polls = [
        PollLine(
            p.question, p.deadline, p.voters, members, link(p.event_id) if p.event_id else None
        )
        for p in source.polls_by_room.get(room_id, [])
        if not news_only
    ]
    events = []
    for u, notices in zip(source.upcoming, source.notices, strict=True):
        if news_only or room_id not in notices:
            continue
        left = None if u.capacity is None else max(0, u.capacity - u.confirmed)
        events.append(
            EventLine(u.kind, u.theme, u.starts_at, u.place, left, link(notices[room_id]))
        )
    words = source.words[:MAX_WORDS]
    return Letter(
        room_id=room_id,
        week_monday=week_monday(source.now, tz),
        covers_from=covers_from(source, tz),
        extra=news_only,
        news=tuple(news),
        more_news=max(0, len(published) - MAX_NEWS),
        polls=tuple(polls[:MAX_POLLS]),
        more_polls=max(0, len(polls) - MAX_POLLS),
        events=tuple(events[:MAX_EVENTS]),
        more_events=max(0, len(events) - MAX_EVENTS),
        words=tuple(w.body for w in words),
        word_ids=tuple(w.id for w in words),
    )
