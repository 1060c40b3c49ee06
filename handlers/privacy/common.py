"""What the command and the jobs share: direct rooms, reader keys, the erasure itself."""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.context import BotInfo, Context, Scope
from bot.school_year import SchoolYear, school_year_of
from bot.schools import School
from bot.storage.privacy import Erasure
from bot.tenancy import school_label
from handlers.privacy.texts import held_text
from handlers.workshops.signups import withdraw_signup

DATA_KIND = "privacy-data"
ERASED_KIND = "privacy-erased"
BATCH_SLACK = timedelta(minutes=1)
"""A command's posts are queued when its sync batch commits, a little after its `now`."""


def school_names(schools: Iterable[School]) -> dict[str, str]:
    """The name each served school is shown under in `!mesdonnees`, in their order."""
    return {s.key: school_label(s) for s in schools if not s.implicit}


async def held_answer(scope: Scope, user: str, schools: Iterable[School]) -> str:
    """What `!mesdonnees` answers: the person's data in every school, each named."""
    held = await scope.repos.privacy.held(user, await reader_keys(scope, user))
    return held_text(held, school_names(schools), scope.tz, scope.settings.retention_months)


def private_rooms(info: BotInfo, user: str, bot: str) -> list[str]:
    """Joined rooms where the person is, with nobody but the bot (sorted)."""
    return sorted(r for r in info.joined_rooms() if is_private(info, r, user, bot))


def is_private(info: BotInfo, room: str, user: str, bot: str) -> bool:
    members = set(info.member_ids(room))
    return user in members and members <= {user, bot}


async def reader_keys(scope: Scope, user: str) -> list[str]:
    """The person's read-marker key in every school year markers may be from (a lookup:
    a year without a secret has no markers, and gets no secret)."""
    month, day = scope.settings.year_start
    span = await scope.repos.privacy.marker_span()
    first, last = span if span is not None else (scope.now, scope.now)
    years = range(
        school_year_of(first, scope.tz, month, day).first - 1,
        school_year_of(max(last, scope.now), scope.tz, month, day).first + 1,
    )
    labels = [SchoolYear(y, month, day).label for y in years]
    return scope.pseudonyms.existing_reader_keys(user, labels)


def school_scope(ctx: Context, key: str) -> Context | None:
    """The command's context, for the served school `key` (None: no longer served)."""
    if key == ctx.school.key:
        return ctx
    school = next((s for s in ctx.schools if s.key == key), None)
    if school is None:
        return None
    return replace(
        ctx, settings=ctx.settings.for_school(school), repos=ctx.repos.for_school(school.key)
    )


async def erase_person(ctx: Context, user: str) -> Erasure:
    """Withdraw what still counts as the person's live choice in every school (votes in
    open polls, sign-ups to workshops to come: each school's waiting list moves up, its
    first told privately if possible, else in a notice room of that school), then erase
    the rest everywhere (the direct room is kept for the confirmation)."""
    repos = ctx.repos
    events = await repos.privacy.event_ids_of(user)  # before the withdrawals clear some
    for key, workshop_ids in (await repos.privacy.coming_signups(user, ctx.now)).items():
        scope = school_scope(ctx, key)
        if scope is None:
            continue  # a school no longer served: its sign-ups are only anonymised below
        for workshop_id in workshop_ids:
            workshop = await scope.repos.workshops.get(workshop_id)
            if workshop is not None:
                # Another school's promotion never goes to this room.
                room = ctx.room_id if scope is ctx else next(iter(workshop.rooms), ctx.room_id)
                await withdraw_signup(scope, workshop, user, room)
    withdrawn = await repos.privacy.withdraw_open_votes(user)
    keys = await reader_keys(ctx, user)
    erasure = await repos.privacy.erase(user, keys, events, keep_direct_room=True)
    erasure.add("poll_responses", withdrawn)
    ctx.pseudonyms.forget(user)
    return erasure


async def close_erasure(
    scope: Scope, user: str, requested_at: datetime, confirmed_in: Collection[str] | None
) -> None:
    """Forget the request and who caused the posts up to it (those the command queued, at
    the end of its sync batch shortly after the request's own time, included), and the
    direct room on record if the confirmation went there (`confirmed_in`; None: the
    request was dropped unanswered, its room never joined). A direct room the person uses
    otherwise (opened since for the reminders) stays theirs."""
    until = requested_at + BATCH_SLACK
    await scope.repos.privacy.close_erasure(user, requested_at, until, ERASED_KIND)
    room = await scope.repos.direct_rooms.get(user)
    if room is not None and (confirmed_in is None or room in confirmed_in):
        await scope.repos.direct_rooms.forget(user)


def months_before(moment: datetime, months: int, tz: ZoneInfo) -> datetime:
    """The same local time `months` earlier (the last day of a shorter month)."""
    local = moment.astimezone(tz)
    index = local.year * 12 + local.month - 1 - months
    year, month = divmod(index, 12)
    day = min(local.day, calendar.monthrange(year, month + 1)[1])
    return local.replace(year=year, month=month + 1, day=day)


def summary(changed: Mapping[str, int]) -> str:
    """Rows per table, for the log (never a user id nor a text)."""
    total = sum(changed.values())
    details = ", ".join(f"{table} {n}" for table, n in sorted(changed.items()))
    return f"{total} rows" + (f" ({details})" if details else "")
