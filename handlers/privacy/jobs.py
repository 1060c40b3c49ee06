"""The jobs of `!mesdonnees` (answers in direct rooms) and of the retention."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import assert_never

from bot.context import Scope
from bot.router import Router
from bot.school_year import school_year_of
from bot.schools import School
from bot.storage.privacy import PrivacyRequest
from bot.work import Units
from handlers.privacy.common import (
    DATA_KIND,
    ERASED_KIND,
    close_erasure,
    held_answer,
    months_before,
    private_rooms,
    summary,
)
from handlers.privacy.texts import ERASED_TEXT

log = logging.getLogger(__name__)

router = Router("donnees-taches")

REQUESTS_TICK_S = 5.0
RETENTION_TICK_S = 3600.0
REQUEST_KEPT_FOR = timedelta(days=7)
OPEN_AT_ONCE_FOR = timedelta(minutes=1)
OPEN_RETRY_EVERY = timedelta(minutes=10)
RETENTION_DAY_KEY = "privacy.retention_day"


def _worth_opening(request: PrivacyRequest, now: datetime) -> bool:
    waited = now - request.requested_at
    if waited < OPEN_AT_ONCE_FOR:
        return True
    return waited.total_seconds() % OPEN_RETRY_EVERY.total_seconds() < REQUESTS_TICK_S


@router.job("donnees-demandes", every_seconds=lambda settings: REQUESTS_TICK_S, per_school=False)
async def answer_requests(units: Units) -> None:
    """Answer `!mesdonnees` in a direct room once the person is in it: the person's data
    in every school, whichever school's room they typed it in."""
    bot = units.settings.bot_user_id
    async with units.unit() as ctx:
        pending = await _drop_stale(ctx, await ctx.repos.privacy.requests())
    if not pending:
        return
    to_open = [
        r.user_id
        for r in pending
        if not private_rooms(units.info, r.user_id, bot) and _worth_opening(r, units.clock())
    ]
    if to_open and units.direct_rooms is not None:
        await units.direct_rooms.ensure(to_open)  # network: outside any unit
    async with units.unit() as ctx:
        requests = await ctx.repos.privacy.requests()
        known = await ctx.repos.direct_rooms.known(r.user_id for r in requests)
        for request in requests:
            await _answer_request(ctx, request, known.get(request.user_id), units.schools)


async def _answer_request(
    ctx: Scope, request: PrivacyRequest, known: str | None, schools: Sequence[School]
) -> None:
    user, bot = request.user_id, ctx.settings.bot_user_id
    rooms = private_rooms(ctx.info, user, bot)
    if request.action == "erase":
        confirmed = await ctx.repos.privacy.confirmed_erasure(
            user, rooms, ERASED_KIND, request.requested_at
        )
        if confirmed is not None:  # by the command itself, typed in a private room
            await close_erasure(ctx, user, request.requested_at, (confirmed,))
            return
    room = known if known in rooms else next(iter(rooms), None)
    if room is None:
        return  # not joined yet
    match request.action:
        case "show":
            text = await held_answer(ctx, user, schools)
            ctx.messenger.send(room, text, kind=DATA_KIND)
            await ctx.repos.privacy.answered(request.id)
            log.info("Personal data shown in a direct room (request %d)", request.id)
        case "erase":
            ctx.messenger.send(room, ERASED_TEXT, kind=ERASED_KIND)
            await close_erasure(ctx, user, request.requested_at, (room,))
            log.info("Erasure confirmed in a direct room (request %d)", request.id)
        case _:
            assert_never(request.action)


async def _drop_stale(ctx: Scope, requests: Iterable[PrivacyRequest]) -> list[PrivacyRequest]:
    kept: list[PrivacyRequest] = []
    dropped = 0
    for request in requests:
        if ctx.now - request.requested_at < REQUEST_KEPT_FOR:
            kept.append(request)
            continue
        dropped += 1
        if request.action == "erase":
            await close_erasure(ctx, request.user_id, request.requested_at, None)
        else:
            await ctx.repos.privacy.answered(request.id)
    if dropped:
        log.warning("Dropped %d privacy requests: the direct room was never joined", dropped)
    return kept


@router.job(
    "donnees-conservation", every_seconds=lambda settings: RETENTION_TICK_S, per_school=False
)
async def retention(units: Units) -> None:
    """Once per local day: anonymise what is older than the retention."""
    async with units.unit() as ctx:
        today = ctx.now.astimezone(ctx.tz).date().isoformat()
        if await ctx.repos.state.get(RETENTION_DAY_KEY) == today:
            return
        months = ctx.settings.retention_months
        before = months_before(ctx.now, months, ctx.tz)
        year = school_year_of(ctx.now, ctx.tz, *ctx.settings.year_start)
        changed = await ctx.repos.privacy.expire(before, year_start=year.start(ctx.tz))
        await ctx.repos.state.set(RETENTION_DAY_KEY, today)
    log.info(
        "Retention of %d months (before %s): %s anonymised, deleted or pruned",
        months,
        before.date().isoformat(),
        summary(changed),
    )
