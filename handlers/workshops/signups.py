"""`!inscription`, `!desinscription`; sign-up by 👍 on a workshop notice.

Decisions:
- A 👍 in any skin tone, with or without the variation selector, on one of
  the notices signs up; redacting that reaction cancels. Other reactions, the
  bot's own, and reactions on a cancelled or past workshop are ignored
  silently. If someone already signed up with the command reacts too, the
  reaction is only attached to the sign-up (removing it then cancels).
- `!inscription` and `!desinscription` always get a reply, mentioning the
  sender (a reply to a command is expected).
- 👍 and its withdrawal, with `workshop_signup_notices = "discret"` (the
  default): the public trace is the notice itself, whose places count is
  edited (`ateliers-places`); no line names who signed up or pulled out. Only
  what needs the person is told: a place on the waiting list, a promotion
  from it. It goes privately, in the direct room the bot already has with
  them (opened for the reminders; a handler opens none, that is network
  work), else with a mention in the room of the 👍 (waiting list) or in the
  first notice room the promoted person is a member of (else the first
  notice room, else the room of the change).
- With `"salon"` (the former behaviour), each 👍 and each withdrawal is told
  in the room where it happened, mentioning the person, and a promotion in
  the first notice room the promoted person is a member of as above.
- Cancellations and changes of a workshop (commands.py) stay public in the
  notice rooms, mentioning the people signed up, whatever the setting.
- Every sign-up change marks the notices stale (the repository does it, in
  the same transaction); the job `ateliers-places` (reminders.py) edits them.
"""

from __future__ import annotations

import logging

from bot.context import Context, Scope
from bot.domain import IncomingReaction, IncomingRedaction
from bot.router import Router
from bot.storage.workshops import SignupChange, Workshop
from handlers.workshops.args import parse_workshop_number
from handlers.workshops.common import (
    NOTICE_KIND,
    REF,
    by_room,
    direct_room,
    get_changeable,
    is_open,
    tell_person,
)
from handlers.workshops.texts import is_thumbs_up, tell, the, to_the, when_label

log = logging.getLogger(__name__)

router = Router("inscriptions")

SIGNUP_KIND = "workshop-signup"
PROMOTION_KIND = "workshop-promotion"


async def _position(ctx: Scope, workshop_id: int, user_id: str) -> int:
    waiting = [
        s.user_id for s in await ctx.repos.workshops.signups(workshop_id) if s.status == "waiting"
    ]
    return waiting.index(user_id) + 1 if user_id in waiting else 0


async def _signup_text(ctx: Scope, workshop: Workshop, change: SignupChange) -> str:
    user = change.user_id
    when = when_label(workshop.starts_at, ctx.tz, ctx.now)
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


def _discreet(ctx: Scope) -> bool:
    return ctx.settings.workshop_signup_notices != "salon"


async def _tell_promotion(ctx: Scope, workshop: Workshop, promoted: str, fallback: str) -> None:
    text = (
        f"{promoted} : une place s’est libérée, votre inscription {to_the(workshop)} est confirmée."
    )
    placed = by_room(ctx, workshop.rooms, [promoted])
    room = next((room for room, users in placed.items() if users), fallback)
    if _discreet(ctx):
        room = await direct_room(ctx, promoted) or room
    tell(ctx.messenger, room, text, (promoted,), kind=PROMOTION_KIND, ref=(REF, workshop.id))


async def withdraw_signup(scope: Scope, workshop: Workshop, person: str, room: str) -> SignupChange:
    """Cancel the person's sign-up (features other than this one call this); a freed
    place goes to the first on the waiting list, who is told (privately if possible,
    else in a notice room they are in, else in `room`)."""
    change = await scope.repos.workshops.cancel(workshop, person, scope.now)
    if change.promoted is not None:
        await _tell_promotion(scope, workshop, change.promoted, room)
    return change


def _answer(ctx: Context, workshop: Workshop, text: str) -> None:
    """A reply to the command, mentioning its sender."""
    tell(
        ctx.messenger,
        ctx.room_id,
        text,
        (ctx.sender,),
        kind="reply",
        ref=(REF, workshop.id),
        reply_to=ctx.event_id,
    )


@router.command(
    "inscription",
    summary="vous inscrit à un atelier ou un café numérique (comme réagir 👍 à son annonce)",
    usage="<n°>",
    example="!inscription 3",
    parse=parse_workshop_number,
)
async def inscription(ctx: Context, workshop_id: int) -> None:
    workshop = await get_changeable(ctx, workshop_id, "s’y inscrire")
    change = await ctx.repos.workshops.sign_up(workshop, ctx.sender, via="command", now=ctx.now)
    _answer(ctx, workshop, await _signup_text(ctx, workshop, change))


@router.command(
    "desinscription",
    summary="retire votre inscription à un atelier ou un café numérique",
    usage="<n°>",
    example="!desinscription 3",
    parse=parse_workshop_number,
)
async def desinscription(ctx: Context, workshop_id: int) -> None:
    workshop = await get_changeable(ctx, workshop_id, "s’en désinscrire")
    change = await ctx.repos.workshops.cancel(workshop, ctx.sender, ctx.now)
    if change.before is None:
        _answer(ctx, workshop, f"{ctx.sender} : vous n’étiez pas inscrit(e) {to_the(workshop)}.")
        return
    _answer(ctx, workshop, f"{ctx.sender} : désinscription enregistrée pour {the(workshop)}.")
    if change.promoted is not None:
        await _tell_promotion(ctx, workshop, change.promoted, ctx.room_id)


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
    log.info("Sign-up of %s to workshop %d by reaction", event.sender, workshop.id)
    if _discreet(ctx) and change.after == "confirmed":
        return  # the notice's places count is the public trace
    text = await _signup_text(ctx, workshop, change)
    if _discreet(ctx):
        await tell_person(ctx, workshop, event.sender, text, kind=SIGNUP_KIND, room=event.room_id)
        return
    tell(
        ctx.messenger,
        event.room_id,
        text,
        (event.sender,),
        kind=SIGNUP_KIND,
        ref=(REF, workshop.id),
    )


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
    if not _discreet(ctx):
        text = f"{user} : désinscription enregistrée pour {the(workshop)}."
        tell(ctx.messenger, event.room_id, text, (user,), kind=SIGNUP_KIND, ref=(REF, workshop.id))
    if change.promoted is not None:
        await _tell_promotion(ctx, workshop, change.promoted, event.room_id)
    log.info("Sign-up of %s to workshop %d withdrawn (reaction removed)", user, workshop.id)
