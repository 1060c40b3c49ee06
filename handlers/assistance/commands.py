"""`!panne` (report, précision, closing) and `!pannes` (the list).

A report is stored, the ticket queued and the teacher answered in one transaction (the
processor's): the mail worker sends the ticket exactly once. A second report of the same
room and equipment while a request is open only adds the person to those who hear the
desk's answers.
"""

from __future__ import annotations

from datetime import timedelta
from typing import assert_never

from bot.config import Desk
from bot.context import Context
from bot.errors import NotFound, PermissionDenied, UserError
from bot.router import Router, no_arguments
from bot.storage.assistance import Request
from handlers.assistance import texts
from handlers.assistance.args import (
    EXAMPLE,
    USAGE,
    Detail,
    PanneArgs,
    Report,
    Resolve,
    parse_panne,
)
from handlers.assistance.ticket import category_of, message_id, queue_follow_up, queue_ticket
from handlers.privacy.common import is_private

router = Router("assistance")

RECENTLY_CLOSED = timedelta(days=30)
"""`!pannes` shows the requests closed within this span besides the open ones."""


def _desk(ctx: Context) -> Desk:
    desk = ctx.settings.assistance
    if desk is None:
        raise UserError(texts.not_set_up(sorted(ctx.settings.admins)))
    return desk


@router.command(
    "panne",
    summary="signale une panne au service d’assistance et vous transmet sa réponse",
    usage=USAGE,
    example=EXAMPLE,
    parse=parse_panne,
    details=(
        "Forme courte : « !panne B12 vidéoprojecteur ne s’allume plus » (la salle, le "
        "matériel, puis ce qui se passe). « !panne 12 <précision> » ajoute une précision à la "
        "demande n° 12 ; « !panne résolue 12 » la clôt (la personne qui l’a signalée ou le "
        "RUPN). La réponse du service d’assistance arrive dans le fil du signalement."
    ),
)
async def panne(ctx: Context, args: PanneArgs) -> None:
    desk = _desk(ctx)
    match args:
        case Report():
            await _report(ctx, desk, args)
        case Detail(number, text):
            request = await _request(ctx, number)
            await queue_follow_up(ctx, desk, request, f"Précision apportée : {text}")
            ctx.reply(texts.detail_sent(request))
        case Resolve(number):
            await _resolve(ctx, desk, await _request(ctx, number))
        case _:
            assert_never(args)


async def _report(ctx: Context, desk: Desk, report: Report) -> None:
    repo = ctx.repos.assistance
    private = is_private(ctx.info, ctx.room_id, ctx.sender, ctx.settings.bot_user_id)
    thread_root = None if private else (ctx.thread_root or ctx.event_id)
    existing = await repo.open_with_key(report.key)
    if existing is not None:
        added = await repo.follow(existing.id, ctx.sender, ctx.room_id, thread_root, ctx.now)
        ctx.reply(texts.already_reported(existing, added))
        return
    category, address = category_of(desk, report.equipment)
    request = await repo.create(
        room_id=ctx.room_id,
        report_event=ctx.event_id,
        thread_root=thread_root,
        reporter=ctx.sender,
        location=report.location,
        equipment=report.equipment,
        symptom=report.symptom,
        dedup_key=report.key,
        category=category,
        desk=address,
        message_id_of=lambda number: message_id(desk, ctx.school.key, number),
        now=ctx.now,
    )
    queue_ticket(ctx, desk, request)
    ctx.reply(texts.reported(request))


async def _request(ctx: Context, number: int) -> Request:
    request = await ctx.repos.assistance.get(number)
    if request is None:
        raise NotFound(texts.unknown_request(number))
    if request.status == "closed":
        raise UserError(texts.already_closed(request))
    return request


async def _resolve(ctx: Context, desk: Desk, request: Request) -> None:
    if ctx.sender != request.reporter and not ctx.is_admin:
        raise PermissionDenied(texts.not_yours(request))
    await queue_follow_up(
        ctx, desk, request, "La panne est résolue : vous pouvez clore ce ticket. Merci."
    )
    await ctx.repos.assistance.close(request.id, ctx.now)
    ctx.reply(texts.resolved(request))


@router.command(
    "pannes",
    summary="les demandes de panne en cours (les vôtres ; toutes pour le RUPN)",
    parse=no_arguments,
    details=(
        "Le RUPN voit les demandes en cours de l’établissement et celles closes depuis "
        "30 jours : leur âge, le numéro du ticket du service d’assistance et sa dernière "
        "nouvelle. Les autres voient les demandes qu’elles ou ils ont signalées."
    ),
)
async def pannes(ctx: Context, _: None) -> None:
    _desk(ctx)
    own = not ctx.is_admin
    requests = await ctx.repos.assistance.listed(
        ctx.now - RECENTLY_CLOSED, follower=ctx.sender if own else None
    )
    ctx.reply(texts.listed(requests, ctx.now, own=own))
