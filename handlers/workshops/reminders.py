"""The workshops' periodic jobs: reminders, the « à la demande » minimum, and the
places shown on the notices.

`ateliers-suivi` (`follow_up`) sends the reminders and the minimum check that
are due, including those that fell due while the bot was down;
`ateliers-places` (`refresh_notices`) edits the notices whose sign-ups changed.

Decisions:
- Every reminder and check is marked in the database in the same unit (one
  transaction) as the posts it queues: each is sent once, even across restarts.
  With nobody confirmed, no reminder is posted (it is still marked).
- Reminders mention the confirmed participants only (not the waiting list).
  By default (`workshop_reminders = "salon"`) they are posted in the
  workshop's notice rooms, each participant mentioned once, in the first
  notice room they are a member of (the first notice room if none).
- With `workshop_reminders = "prive"`, each participant gets the reminder in a
  direct room with the bot instead. Opening a room is network work, so the
  job opens the missing ones before its unit, never inside it, for everyone
  confirmed to a workshop of the next `DIRECT_ROOMS_AHEAD` (7 days): people
  have time to join before a reminder is due. A reminder goes to a direct room
  only once the person has joined it (a message sent before could not be read
  by them); otherwise, or when the room could not be opened, it falls back to
  the notice rooms as above.
- Day before: due 24 h before the start, and not sent at all for an atelier
  created or rescheduled less than 24 h ahead (see common.py: at most one
  reminder, the hour-before one, when the announcement already said when);
  if the bot was down and less than `STILL_USEFUL` (1 h) remains, it is
  skipped (the hour-before one follows).
  Hour before: due 1 h before; skipped if the start has passed.
- Minimum: checked once, `MINIMUM_CHECK_BEFORE` (48 h) before the start — two
  days leave the RUPN time to cancel and colleagues time to rearrange; a
  workshop created later than that is checked at once. The organiser is
  mentioned in the school's RUPN rooms (bot/rupn_rooms.py; else the first
  notice room), never by a direct message of their own; opening those rooms is
  network work, so a workshop whose check must be said is followed up after
  them, outside the first unit. Nothing is sent if the start has passed or the
  minimum is reached.
- Places on the notices: each sign-up change marks the workshop's notices
  stale in the same transaction (the repository does it); the notices are
  edited once the changes have settled for `NOTICE_SETTLE` (5 s), at most once
  every `NOTICE_EDIT_EVERY` (30 s) after the previous edit or the notice
  itself — a burst of 👍 makes one edit, not one each. Past and cancelled
  workshops are not edited; an edit that would show the same text is not sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta

from bot.context import Scope
from bot.router import Router
from bot.rupn_rooms import rupn_rooms
from bot.storage.workshops import Workshop
from bot.work import Units
from handlers.workshops.common import DAY_BEFORE, REF, by_room, confirmed, edit_notices
from handlers.workshops.texts import (
    day_reminder_text,
    hour_reminder_text,
    minimum_text,
    with_people,
)

log = logging.getLogger(__name__)

router = Router("ateliers-suivi")

TICK_S = 30.0
PLACES_TICK_S = 5.0
HOUR_BEFORE = timedelta(hours=1)
STILL_USEFUL = timedelta(hours=1)  # a late day-before reminder needs at least this much left
MINIMUM_CHECK_BEFORE = timedelta(hours=48)
DIRECT_ROOMS_AHEAD = timedelta(days=7)
NOTICE_SETTLE = timedelta(seconds=5)
NOTICE_EDIT_EVERY = timedelta(seconds=30)

REMINDER_DAY_KIND = "workshop-reminder-day"
REMINDER_HOUR_KIND = "workshop-reminder-hour"
MINIMUM_KIND = "workshop-minimum"


@router.job("ateliers-places", every_seconds=lambda settings: PLACES_TICK_S)
async def refresh_notices(units: Units) -> None:
    """Edit the notices whose sign-ups changed, once settled and at most every 30 s."""
    async with units.unit() as ctx:
        for workshop in await ctx.repos.workshops.stale_notices(
            ctx.now,
            changed_before=ctx.now - NOTICE_SETTLE,
            edited_before=ctx.now - NOTICE_EDIT_EVERY,
        ):
            edits = await edit_notices(ctx, workshop, if_changed=True)
            log.info("Workshop %d: places shown on its notices (%d edits)", workshop.id, edits)


@router.job("ateliers-suivi", every_seconds=lambda settings: TICK_S)
async def follow_up(units: Units) -> None:
    """Reminders and minimum checks that are due (including those due while the bot was down)."""
    horizon = max(DAY_BEFORE, HOUR_BEFORE, MINIMUM_CHECK_BEFORE)
    direct: dict[str, str] = {}
    if units.settings.workshop_reminders == "prive" and units.direct_rooms is not None:
        async with units.unit() as ctx:
            people = [
                person
                for w in await ctx.repos.workshops.planned_before(ctx.now + DIRECT_ROOMS_AHEAD)
                if not (w.reminded_day and w.reminded_hour)
                for person in await confirmed(ctx, w)
            ]
        if people:
            direct = await units.direct_rooms.ensure(people)  # network: outside any unit
    async with units.unit() as ctx:
        postponed = await _follow_all(ctx, horizon, direct, rupn=None)
    if postponed:  # a minimum check tells the RUPN: their rooms first (network), then again
        rupn = await rupn_rooms(units)
        async with units.unit() as ctx:
            await _follow_all(ctx, horizon, direct, rupn=rupn)


async def _follow_all(
    ctx: Scope, horizon: timedelta, direct: Mapping[str, str], *, rupn: Sequence[str] | None
) -> bool:
    """Follow every workshop due; True when a minimum check waits for the RUPN's rooms."""
    postponed = False
    for workshop in await ctx.repos.workshops.planned_before(ctx.now + horizon):
        if _needs_follow_up(workshop):
            postponed |= await _follow(ctx, workshop, direct, rupn)
    return postponed


def _needs_follow_up(workshop: Workshop) -> bool:
    return not (
        workshop.reminded_day
        and workshop.reminded_hour
        and (workshop.minimum_checked or not workshop.minimum)
    )


async def _follow(
    ctx: Scope, workshop: Workshop, direct: Mapping[str, str], rupn: Sequence[str] | None
) -> bool:
    """Send what is due; `rupn`: the school's RUPN rooms, None when not looked up yet (a
    workshop whose minimum check must tell them then waits for them: True)."""
    now, repo, start = ctx.now, ctx.repos.workshops, workshop.starts_at
    people = await confirmed(ctx, workshop)

    if workshop.minimum and not workshop.minimum_checked and now >= start - MINIMUM_CHECK_BEFORE:
        below = now < start and len(people) < workshop.minimum
        if below and rupn is None:
            return True  # the whole workshop waits, so that its messages keep their order
        await repo.mark(workshop.id, "minimum_checked")
        if below:
            for room in list(rupn or ()) or list(workshop.rooms[:1]):
                ctx.messenger.send(
                    room,
                    minimum_text(workshop, len(people)),
                    mentions=(workshop.organiser,),
                    kind=MINIMUM_KIND,
                    ref=(REF, workshop.id),
                )
            log.info("Workshop %d below its minimum: organiser asked", workshop.id)

    if not workshop.reminded_day and now >= start - DAY_BEFORE:
        await repo.mark(workshop.id, "reminded_day")
        if now < start - STILL_USEFUL and people:
            text = day_reminder_text(workshop, now, ctx.tz)
            _remind(ctx, workshop, people, text, REMINDER_DAY_KIND, direct)
            log.info("Workshop %d: day-before reminder", workshop.id)

    if not workshop.reminded_hour and now >= start - HOUR_BEFORE:
        await repo.mark(workshop.id, "reminded_hour")
        if now < start and people:
            text = hour_reminder_text(workshop, ctx.tz)
            _remind(ctx, workshop, people, text, REMINDER_HOUR_KIND, direct)
            log.info("Workshop %d: hour-before reminder", workshop.id)
    return False


def _remind(
    ctx: Scope,
    workshop: Workshop,
    people: Sequence[str],
    text: str,
    kind: str,
    direct: Mapping[str, str],
) -> None:
    """In each person's direct room when configured and joined, else one message per room."""
    in_rooms: list[str] = []
    targets: list[tuple[str, list[str]]] = []
    for person in people:
        room = direct.get(person)
        if (
            ctx.settings.workshop_reminders == "prive"
            and room
            and person in ctx.info.member_ids(room)
        ):
            targets.append((room, [person]))
        else:
            in_rooms.append(person)
    targets += [(room, users) for room, users in by_room(ctx, workshop.rooms, in_rooms).items()]
    for room, mentioned in targets:
        if mentioned:
            ctx.messenger.send(
                room,
                with_people(text, mentioned),
                mentions=mentioned,
                kind=kind,
                ref=(REF, workshop.id),
            )
