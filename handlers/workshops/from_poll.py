"""`!atelier depuis-sondage <n° de sondage> <quand>`: an atelier on a needs poll's top theme.

Decisions:
- The theme is the answer with the most votes (ties: the first in the poll's
  order); a poll without votes is refused. Votes are counted as `!sondage`
  counts them (each voter's latest response, until the deadline), or taken
  from the frozen results of a closed poll.
- The atelier is announced like any other (common.py), without place, places
  or minimum; `!atelier modifier` can add the place.
- Voters of that theme are invited in the poll's room, mentioned, only for a
  non-anonymous poll: an anonymous poll never names anyone, and a closed one
  no longer knows its voters at all; the invitation then says why nobody is
  named. The bot itself is never mentioned.
- The RUPN is told where the notice went, unless the invitation was posted in
  the room of the command (it already says so).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from bot.context import Context
from bot.errors import NotFound, UserError
from bot.storage.polls import Answer, Poll
from bot.storage.workshops import Workshop
from bot.tally import tally
from handlers.announcements import publishing
from handlers.workshops.common import (
    REF,
    announce_workshop,
    announcement_rooms,
    skip_day_reminder,
)
from handlers.workshops.texts import label

log = logging.getLogger(__name__)

INVITATION_KIND = "workshop-poll-invitation"


async def create_from_poll(ctx: Context, poll_id: int, starts_at: datetime) -> None:
    poll = await ctx.repos.polls.get_number(poll_id)
    if poll is None:
        raise NotFound(f"Aucun sondage n° {poll_id}.")
    counts, choices = await _counts_and_choices(ctx, poll)
    leading = leading_answer(poll, counts)
    if leading is None:
        raise UserError(
            f"Le sondage n° {poll.number} n’a reçu aucun vote : impossible de choisir un thème. "
            "Attendez des réponses, ou créez l’atelier directement avec !atelier."
        )
    rooms = await announcement_rooms(ctx, ctx.room_id)
    workshop = await ctx.repos.workshops.create(
        kind="atelier",
        theme=leading.text,
        starts_at=starts_at,
        place=None,
        capacity=None,
        minimum=None,
        organiser=ctx.sender,
        rooms=rooms,
        now=ctx.now,
        poll_id=poll.id,
    )
    await skip_day_reminder(ctx, workshop)
    await announce_workshop(ctx, workshop)
    head = f"{label(workshop)} sur « {leading.text} » créé d’après le sondage n° {poll.number}"
    if choices is None:
        why = (
            "ce sondage était anonyme et clos : le bot a oublié qui avait voté quoi"
            if poll.status == "closed"
            else "ce sondage est anonyme : le bot ne nomme pas ses votants"
        )
        text = (
            f"{head}. {why[0].upper()}{why[1:]}, il ne peut donc pas inviter ceux qui avaient "
            "choisi ce thème. Inscrivez-vous avec 👍 sur l’annonce de l’atelier."
        )
        ctx.messenger.send(poll.room_id, text, kind=INVITATION_KIND, ref=(REF, workshop.id))
        _confirm(ctx, workshop, poll, rooms)
        return
    voters = [
        voter
        for voter, picked in choices.items()
        if leading.id in picked and voter != ctx.settings.bot_user_id
    ]
    text = f"{head} : {', '.join(voters)}, vous aviez choisi ce thème, inscrivez-vous avec 👍."
    ctx.messenger.send(
        poll.room_id, text, mentions=voters, kind=INVITATION_KIND, ref=(REF, workshop.id)
    )
    _confirm(ctx, workshop, poll, rooms)
    log.info("Workshop %d created from poll %d (%d invited)", workshop.id, poll.id, len(voters))


async def _counts_and_choices(
    ctx: Context, poll: Poll
) -> tuple[dict[str, int], dict[str, tuple[str, ...]] | None]:
    """Votes per answer, and each voter's choices (None when the voters may not be named)."""
    if poll.status == "closed" and poll.final_results is not None and poll.anonymous:
        return dict(poll.final_results["counts"]), None
    result = tally(
        await ctx.repos.polls.responses(poll.id),
        poll.answer_ids,
        poll.max_selections,
        until=poll.deadline,
    )
    if poll.status == "closed" and poll.final_results is not None:
        counts = dict(poll.final_results["counts"])
    else:
        counts = dict(result.counts)
    return counts, (None if poll.anonymous else result.choices)


def leading_answer(poll: Poll, counts: dict[str, int]) -> Answer | None:
    """The answer with the most votes, the first in the poll's order on a tie; None: no votes."""
    best: Answer | None = None
    for answer in poll.answers:
        votes = counts.get(answer.id, 0)
        if votes > 0 and (best is None or votes > counts.get(best.id, 0)):
            best = answer
    return best


def _confirm(ctx: Context, workshop: Workshop, poll: Poll, rooms: Sequence[str]) -> None:
    """Tell the RUPN where the notice went, unless the invitation is already in this room."""
    if poll.room_id == ctx.room_id:
        return
    names = ", ".join(ctx.info.room_name(r) for r in rooms)
    ctx.reply(
        f"{label(workshop)} annoncé dans {publishing.rooms_label(len(rooms))} : {names} ; "
        f"les votants sont invités dans le salon du sondage n° {poll.number}."
    )
