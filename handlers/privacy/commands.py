"""`!mesdonnees [effacer]`: what the bot holds about the asker, and its erasure."""

from __future__ import annotations

import logging
from typing import assert_never

from bot.context import Context
from bot.errors import InvalidArguments
from bot.router import ParseEnv, Router, normalize
from bot.storage.privacy import Action
from handlers.privacy.common import (
    DATA_KIND,
    ERASED_KIND,
    erase_person,
    held_answer,
    is_private,
    summary,
)
from handlers.privacy.texts import ERASE_POINTER_TEXT, ERASED_TEXT, SHOW_POINTER_TEXT

log = logging.getLogger(__name__)

router = Router("donnees")


def parse_action(text: str, env: ParseEnv) -> Action:
    words = text.split()
    if not words:
        return "show"
    if len(words) == 1 and normalize(words[0]) == "effacer":
        return "erase"
    raise InvalidArguments(
        f"« {text.strip()[:30]} » : tapez !mesdonnees pour voir ce que le bot garde à votre "
        "sujet, ou !mesdonnees effacer pour l’effacer."
    )


@router.command(
    "mesdonnees",
    summary="vous montre en privé ce que le bot garde à votre sujet ; « effacer » pour l’effacer",
    usage="[effacer]",
    example="!mesdonnees",
    parse=parse_action,
    personal=True,
    details=(
        "Le bot vous répond en message privé : vos inscriptions aux ateliers, vos réponses "
        "aux sondages nominatifs, vos réactions, vos marqueurs de lecture. "
        "« !mesdonnees effacer » les efface ou les anonymise aussitôt (les totaux restent "
        "justes, sans votre nom) et vous le confirme en message privé."
    ),
)
async def mesdonnees(ctx: Context, action: Action) -> None:
    private = is_private(ctx.info, ctx.room_id, ctx.sender, ctx.settings.bot_user_id)
    match action:
        case "show":
            if private:
                text = await held_answer(ctx, ctx.sender, ctx.schools)
                reply_to, thread = ctx.event_id, ctx.thread_root
                ctx.messenger.send(
                    ctx.room_id, text, reply_to=reply_to, thread_root=thread, kind=DATA_KIND
                )
                return
            renew = await _invite_again_if_declined(ctx)
            await ctx.repos.privacy.request(ctx.sender, "show", ctx.now, renew=renew)
            ctx.reply(SHOW_POINTER_TEXT)
        case "erase":
            erasure = await erase_person(ctx, ctx.sender)
            if not private:
                await _invite_again_if_declined(ctx)
            # A pending erasure is replaced: the confirmation covers everything up to now.
            await ctx.repos.privacy.request(ctx.sender, "erase", ctx.now, renew=True)
            log.info("Personal data erased on request: %s", summary(erasure.changed))
            # Neither a mention nor a reply: the answer quotes none of the person's events.
            text = ERASED_TEXT if private else ERASE_POINTER_TEXT
            kind = ERASED_KIND if private else "reply"
            ctx.messenger.send(ctx.room_id, text, thread_root=ctx.thread_root, kind=kind)
        case _:
            assert_never(action)


async def _invite_again_if_declined(ctx: Context) -> bool:
    """The direct room on record is one the person is not in (they declined the invite,
    left, or have not accepted it yet: the bot only sees joined members): forgotten, so that
    the requests job opens a new one and invites them again."""
    room = await ctx.repos.direct_rooms.get(ctx.sender)
    if room is None or ctx.sender in ctx.info.member_ids(room):
        return False
    return await ctx.repos.direct_rooms.forget(ctx.sender) > 0
