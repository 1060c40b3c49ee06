"""`!sondage`: the router, the command and its sub-commands, and the responses.

Native MSC3381 polls with deadlines, reminders, results and CSV export.
Everything is in the database: the poll, each response (deduplicated by event
id) and the frozen results at closing; the poll's events are in the post
registry (kinds poll-start, poll-end, poll-reminder, poll-export, ref
("poll", n°)). Counting follows MSC3381 (see `bot.tally`). Arguments are
parsed in handlers/polls/args.py, starting and closing a poll is in
handlers/polls/lifecycle.py, the deadline job in handlers/polls/deadlines.py,
the texts in handlers/polls/texts.py.

Decisions:
- Fallback for clients without poll buttons: a *reply* to the poll holding
  only choice numbers (« 2 », « 1 3 ») counts as a response from that user.
  Numbered reactions are not used.
- A redacted response is withdrawn (MSC3381 says nothing about it): its row is
  deleted in the batch's transaction, so the tally no longer counts it and the
  voter's previous response, if any, counts again. A voter also withdraws by
  answering again, or with an empty response. After closing, the results stay
  frozen; the row is deleted all the same.
- Responses sent after the deadline do not count, even if the bot closes the
  poll later (it was stopped): the tally stops at the deadline.
- An anonymous poll keeps who answered what only while it is open (needed to
  count only each voter's latest response); closing deletes the responses
  and keeps only the counts. Results and exports never name anyone, for any poll.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import assert_never

from bot.context import Context
from bot.domain import IncomingMessage, IncomingPollResponse, IncomingRedaction
from bot.errors import NotFound, PermissionDenied, UserError
from bot.router import Router, strip_reply_fallback
from bot.storage.polls import Poll
from handlers.polls.args import (
    DETAILS,
    EXAMPLE,
    USAGE,
    Close,
    Create,
    Export,
    Needs,
    Options,
    Results,
    SondageArgs,
    parse_sondage,
)
from handlers.polls.deadlines import close_and_remind, tick_seconds
from handlers.polls.lifecycle import (
    EXPORT_KIND,
    REF,
    START_KIND,
    close_poll,
    current_record,
    start_poll,
)
from handlers.polls.texts import NEEDS_QUESTION, NEEDS_THEMES, export_csv, results_text

log = logging.getLogger(__name__)

router = Router("sondage")
router.job("sondages", every_seconds=tick_seconds)(close_and_remind)

_NUMBERS = re.compile(r"[0-9]+(?:[\s,;]+[0-9]+)*")


@router.command(
    "sondage",
    summary="crée un sondage à boutons (échéance, rappel, anonymat), en donne les résultats, "
    "le clôt ou l’exporte",
    usage=USAGE,
    example=EXAMPLE,
    admin=True,
    parse=parse_sondage,
    details=DETAILS,
)
async def sondage(ctx: Context, args: SondageArgs) -> None:
    match args:
        case Create(question, choices, options):
            await _create(ctx, question, choices, options, template=None)
        case Needs(options):
            themes = ctx.settings.needs_poll_themes or NEEDS_THEMES
            await _create(ctx, NEEDS_QUESTION, themes, options, template="besoins")
        case Results(poll_id):
            await _results(ctx, poll_id)
        case Close(poll_id):
            await _close(ctx, poll_id)
        case Export(poll_id):
            await _export(ctx, poll_id)
        case _:
            assert_never(args)


async def _create(
    ctx: Context, question: str, choices: Sequence[str], options: Options, *, template: str | None
) -> None:
    poll = await start_poll(
        ctx,
        ctx.room_id,
        creator=ctx.sender,
        question=question,
        answers=choices,
        multiple=options.multiple,
        anonymous=options.anonymous,
        deadline=options.deadline,
        reminder_at=options.reminder_at,
        template=template,
    )
    ctx.reply(
        f"Sondage n° {poll.number} lancé. Résultats : !sondage résultats {poll.number} ; "
        f"clôture : !sondage clore {poll.number}."
    )


async def _find(ctx: Context, poll_id: int | None) -> Poll:
    if poll_id is None:
        poll = await ctx.repos.polls.latest_in_room(ctx.room_id)
        if poll is None:
            raise NotFound(f"Aucun sondage dans ce salon. Exemple : {EXAMPLE}")
        return poll
    poll = await ctx.repos.polls.get_number(poll_id)
    if poll is None:
        raise NotFound(f"Aucun sondage n° {poll_id}.")
    return poll


async def _results(ctx: Context, poll_id: int | None) -> None:
    poll = await _find(ctx, poll_id)
    record = await current_record(ctx, poll)
    ctx.reply(results_text(poll, record, ctx.now, ctx.tz))


async def _close(ctx: Context, poll_id: int | None) -> None:
    poll = await _find(ctx, poll_id)
    if poll.status == "closed":
        raise UserError(f"Le sondage n° {poll.number} est déjà clos.")
    if ctx.sender != poll.creator and not ctx.is_admin:
        raise PermissionDenied(
            f"Seul l’auteur du sondage n° {poll.number} ou un administrateur peut le clore."
        )
    await close_poll(ctx, poll, closed_by=ctx.sender)
    if poll.room_id != ctx.room_id:
        ctx.reply(f"Sondage n° {poll.number} clos ; les résultats sont publiés dans son salon.")


async def _export(ctx: Context, poll_id: int | None) -> None:
    poll = await _find(ctx, poll_id)
    record = await current_record(ctx, poll)
    data = export_csv(poll, record, ctx.now, ctx.tz)
    filename = f"sondage-{poll.number}.csv"
    ctx.messenger.send_file(
        ctx.room_id, filename, data, "text/csv", kind=EXPORT_KIND, ref=(REF, poll.id)
    )
    ctx.reply(
        f"Export du sondage n° {poll.number} : {filename} (séparateur « ; », UTF-8). "
        "Il ne contient que les comptes, aucun nom."
    )


# --- responses ----------------------------------------------------------------------------


async def _poll_of_start_event(ctx: Context, event_id: str, room_id: str) -> Poll | None:
    post = await ctx.repos.posts.by_event_id(event_id)
    if post is None or post.kind != START_KIND or post.ref_type != REF or post.ref_id is None:
        return None
    poll = await ctx.repos.polls.get(post.ref_id)
    return poll if poll is not None and poll.room_id == room_id else None


@router.on(IncomingPollResponse)
async def on_response(ctx: Context, event: IncomingPollResponse) -> None:
    if event.sender == ctx.settings.bot_user_id:
        return
    poll = await _poll_of_start_event(ctx, event.poll_event_id, event.room_id)
    if poll is None or poll.status != "open":
        return
    await ctx.repos.polls.add_response(
        poll.id, event.sender, event.event_id, event.answer_ids, event.timestamp, ctx.now
    )


@router.on(IncomingRedaction)
async def on_redaction(ctx: Context, event: IncomingRedaction) -> None:
    await ctx.repos.polls.delete_response_by_event(event.redacted_event_id)


@router.on(IncomingMessage)
async def on_reply(ctx: Context, event: IncomingMessage) -> None:
    """Fallback: a reply to the poll holding only choice numbers is a response."""
    if event.reply_to is None or event.sender == ctx.settings.bot_user_id:
        return
    text = strip_reply_fallback(event.body).strip()
    if not _NUMBERS.fullmatch(text):
        return
    poll = await _poll_of_start_event(ctx, event.reply_to, event.room_id)
    if poll is None:
        return
    if poll.status != "open":
        ctx.reply(f"Le sondage n° {poll.number} est clos : votre réponse n’a pas été comptée.")
        return
    numbers = [int(n) for n in re.findall(r"[0-9]+", text)]
    count = len(poll.answers)
    if any(not 1 <= n <= count for n in numbers):
        several = f", ou plusieurs séparés par des espaces (« 1 {count} »)"
        ctx.reply(
            f"Répondez avec un numéro de choix entre 1 et {count}, par exemple « 2 »"
            + (several if poll.max_selections > 1 else "")
            + "."
        )
        return
    answers = [poll.answers[n - 1].id for n in numbers]
    await ctx.repos.polls.add_response(
        poll.id, event.sender, event.event_id, answers, event.timestamp, ctx.now
    )
