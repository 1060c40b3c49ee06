"""`!inscription`, `!desinscription`; sign-up by 👍 on a workshop notice.

Decisions:
- A 👍 in any skin tone, with or without the variation selector, on one of
  the notices signs up; redacting that reaction cancels. Other reactions, and
  reactions on a cancelled or past workshop, are ignored silently. If someone
  already signed up with the command reacts too, the reaction is only attached
  to the sign-up (removing it then cancels).
- Each change is told in the room where it happened, mentioning the person
  (a reply for commands, a notice for reactions). A promotion from the waiting
  list is told in the first notice room the promoted person is a member of
  (else the first notice room).
- The notices show the places left: every sign-up change marks them stale
  (WorkshopsRepository, same transaction) and the job `ateliers-places`
  edits them. It waits `NOTICE_SETTLE` after the first change not shown, so
  that a burst of sign-ups makes one edit, and `NOTICE_EDIT_EVERY` after the
  previous edit (or the notice itself), so that a notice changes at most twice
  a minute however busy it is.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.context import Context
from bot.domain import IncomingReaction, IncomingRedaction
from bot.router import Router
from bot.storage.workshops import SignupChange, Workshop
from bot.work import Units
from handlers.workshops.args import parse_workshop_number
from handlers.workshops.commands import (
    NOTICE_KIND,
    PROMOTION_KIND,
    REF,
    SIGNUP_KIND,
    AnyContext,
    check_changeable,
    edit_notices,
    get,
    is_open,
)
from handlers.workshops.texts import is_thumbs_up, tell, the, to_the, when_label

log = logging.getLogger(__name__)

router = Router("inscriptions")

PLACES_TICK_S = 5.0
NOTICE_SETTLE = timedelta(seconds=5)
NOTICE_EDIT_EVERY = timedelta(seconds=30)


async def _position(ctx: AnyContext, workshop_id: int, user_id: str) -> int:
    waiting = [
        s.user_id for s in await ctx.repos.workshops.signups(workshop_id) if s.status == "waiting"
    ]
    return waiting.index(user_id) + 1 if user_id in waiting else 0


async def _signup_text(ctx: AnyContext, workshop: Workshop, change: SignupChange) -> str:
    user = change.user_id
    when = when_label(workshop.starts_at, ctx.settings.tz, ctx.now)
    if change.before is None and change.after == "confirmed":
        return f"{user} : inscription confirmée {to_the(workshop)} ({when})."
    position = await _position(ctx, workshop.id, user)
    if change.before is None:
        return (
            f"{user} : {the(workshop)} ({when}) est complet : vous êtes sur liste d’attente "
            f"(position {position})."
        )
    if change.after == "confirmed":
        return f"{user} : vous êtes déjà inscrit(e) {to_the(workshop)} ({when})."
    return f"{user} : vous êtes déjà sur liste d’attente (position {position})."


def _promotion_room(ctx: AnyContext, workshop: Workshop, user: str, fallback: str) -> str:
    for room in workshop.rooms:
        if user in ctx.info.member_ids(room):
            return room
    return workshop.rooms[0] if workshop.rooms else fallback


def _tell_promotion(ctx: AnyContext, workshop: Workshop, promoted: str, fallback: str) -> None:
    text = (
        f"{promoted} : une place s’est libérée, votre inscription {to_the(workshop)} est confirmée."
    )
    room = _promotion_room(ctx, workshop, promoted, fallback)
    tell(ctx.messenger, room, text, (promoted,), kind=PROMOTION_KIND, ref=(REF, workshop.id))


@router.command(
    "inscription",
    summary="vous inscrit à un atelier ou un café numérique (comme réagir 👍 à son annonce)",
    usage="<n°>",
    example="!inscription 3",
    parse=parse_workshop_number,
)
async def inscription(ctx: Context, workshop_id: int) -> None:
    workshop = await get(ctx, workshop_id)
    check_changeable(workshop, ctx.now, "s’y inscrire")
    change = await ctx.repos.workshops.sign_up(workshop, ctx.sender, via="command", now=ctx.now)
    text = await _signup_text(ctx, workshop, change)
    tell(ctx.messenger, ctx.room_id, text, (ctx.sender,), kind="reply", ref=(REF, workshop.id),
          reply_to=ctx.event_id)  # fmt: skip


@router.command(
    "desinscription",
    summary="retire votre inscription à un atelier ou un café numérique",
    usage="<n°>",
    example="!desinscription 3",
    parse=parse_workshop_number,
)
async def desinscription(ctx: Context, workshop_id: int) -> None:
    workshop = await get(ctx, workshop_id)
    check_changeable(workshop, ctx.now, "s’en désinscrire")
    change = await ctx.repos.workshops.cancel(workshop, ctx.sender, ctx.now)
    if change.before is None:
        text = f"{ctx.sender} : vous n’étiez pas inscrit(e) {to_the(workshop)}."
    else:
        text = f"{ctx.sender} : désinscription enregistrée pour {the(workshop)}."
    tell(ctx.messenger, ctx.room_id, text, (ctx.sender,), kind="reply", ref=(REF, workshop.id),
          reply_to=ctx.event_id)  # fmt: skip
    if change.promoted is not None:
        _tell_promotion(ctx, workshop, change.promoted, ctx.room_id)


@router.on(IncomingReaction)
async def on_reaction(ctx: Context, event: IncomingReaction) -> None:
    if event.sender == ctx.settings.bot_user_id or not is_thumbs_up(event.key):
        return
    post = await ctx.repos.posts.by_event_id(event.target_event_id)
    if post is None or post.kind != NOTICE_KIND or post.ref_type != REF or post.ref_id is None:
        return
    workshop = await ctx.repos.workshops.get(post.ref_id)
    if workshop is None or not is_open(workshop, ctx.now):
        return
    change = await ctx.repos.workshops.sign_up(
        workshop, event.sender, via="reaction", now=ctx.now, reaction_event_id=event.event_id
    )
    if change.before is not None:
        return  # already signed up (by command, or with another 👍): the reaction is attached
    text = await _signup_text(ctx, workshop, change)
    tell(ctx.messenger, event.room_id, text, (event.sender,), kind=SIGNUP_KIND,
          ref=(REF, workshop.id))  # fmt: skip
    log.info("Sign-up of %s to workshop %d by reaction", event.sender, workshop.id)


@router.on(IncomingRedaction)
async def on_redaction(ctx: Context, event: IncomingRedaction) -> None:
    found = await ctx.repos.workshops.by_reaction(event.redacted_event_id)
    if found is None:
        return
    workshop_id, user = found
    workshop = await ctx.repos.workshops.get(workshop_id)
    if workshop is None or not is_open(workshop, ctx.now):
        return
    change = await ctx.repos.workshops.cancel(workshop, user, ctx.now)
    if change.before is None:
        return
    text = f"{user} : désinscription enregistrée pour {the(workshop)}."
    tell(ctx.messenger, event.room_id, text, (user,), kind=SIGNUP_KIND, ref=(REF, workshop.id))
    if change.promoted is not None:
        _tell_promotion(ctx, workshop, change.promoted, event.room_id)
    log.info("Sign-up of %s to workshop %d withdrawn (reaction removed)", user, workshop.id)


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
