"""The follow-up job: a request without news for N working days is flagged to the RUPN,
once, with a suggested follow-up (the desk's answer clears the flag)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from bot.router import Router
from bot.rupn_rooms import rupn_rooms
from bot.school_calendar import SchoolCalendar
from bot.work import Units
from handlers.assistance import texts

log = logging.getLogger(__name__)

router = Router("assistance-relance")

STALE_KIND = "assistance-stale"
TICK_S = 3600.0


def working_days_between(first: date, last: date, calendar: SchoolCalendar) -> int:
    """School days after `first`, up to and including `last` (weekends and holidays out)."""
    days, day = 0, first + timedelta(days=1)
    while day <= last:
        days += calendar.is_school_day(day)
        day += timedelta(days=1)
    return days


@router.job("pannes-relance", every_seconds=lambda settings: TICK_S)
async def flag_stale(units: Units) -> None:
    desk = units.settings.assistance
    if desk is None:
        return
    calendar = SchoolCalendar(units.settings.school_zone)
    now = units.clock()
    async with units.unit() as scope:
        candidates = await scope.repos.assistance.open_unflagged()
    stale = [
        (r, since)
        for r in candidates
        for since in [r.last_news_at or r.opened_at]
        if _age(since, now, units, calendar) >= desk.follow_up_days
    ]
    if not stale:
        return
    people = sorted(units.settings.admins)
    rooms = await rupn_rooms(units, people)
    if not rooms:  # not flagged: told at a later run, once a room can be opened
        log.warning("%d request(s) without news, but no room to tell the RUPN in", len(stale))
        return
    async with units.unit() as scope:
        for request, since in stale:
            await scope.repos.assistance.flag(request.id, scope.now)
            text = texts.stale(request, desk.follow_up_days, since, scope.tz)
            for room in rooms:
                scope.messenger.send(room, text, mentions=people, kind=STALE_KIND)
    log.info("%d request(s) without news flagged to the RUPN", len(stale))


def _age(since: datetime, now: datetime, units: Units, calendar: SchoolCalendar) -> int:
    tz = units.settings.tz
    return working_days_between(since.astimezone(tz).date(), now.astimezone(tz).date(), calendar)
