"""`!sondage`: native MSC3381 polls with deadlines, reminders, results and CSV export.

Everything is in the database: the poll, each response (deduplicated by event
id) and the frozen results at closing; the poll's events are in the post
registry (kinds poll-start, poll-end, poll-reminder, poll-export, ref
("poll", n°)). Counting follows MSC3381 (see `bot.tally`).

Decisions:
- Fallback for clients without poll buttons: a *reply* to the poll holding
  only choice numbers (« 2 », « 1 3 ») counts as a response from that user.
  Numbered reactions are not used.
- A redacted response is ignored (MSC3381 says nothing about it): a voter
  withdraws by answering again, or with an empty response.
- Responses sent after the deadline do not count, even if the bot closes the
  poll later (it was stopped): the tally stops at the deadline.
- An anonymous poll keeps who answered what only while it is open (needed to
  count only each voter's latest response); closing deletes the responses
  and keeps only the counts. Results and exports never name anyone, for any poll.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from bot.context import Context, JobContext
from bot.domain import IncomingMessage, IncomingPollResponse
from bot.errors import InvalidArguments, NotFound, PermissionDenied, UserError
from bot.messenger import Messenger
from bot.router import PREFIX, Router, strip_reply_fallback
from bot.storage.polls import Answer, Poll
from bot.tally import tally
from bot.when import parse_when
from bot.work import Units
from handlers.polls import format as fmt
from handlers.polls.format import Close, Create, Export, Needs, Options, Results, SondageArgs

log = logging.getLogger(__name__)

router = Router("sondage")

TICK_S = 20.0
START_KIND = "poll-start"
END_KIND = "poll-end"
REMINDER_KIND = "poll-reminder"
EXPORT_KIND = "poll-export"
REF = "poll"
START_EVENT = "org.matrix.msc3381.poll.start"
END_EVENT = "org.matrix.msc3381.poll.end"

_NUMBERS = re.compile(r"[0-9]+(?:[\s,;]+[0-9]+)*")


@router.command(
    "sondage",
    summary="crée un sondage à boutons (échéance, rappel, anonymat), en donne les résultats, "
    "le clôt ou l’exporte",
    usage=fmt.USAGE,
    example=fmt.EXAMPLE,
    admin=True,
    parse=fmt.parse_sondage,
    details=fmt.DETAILS,
)
async def sondage(ctx: Context, args: SondageArgs) -> None:
    if isinstance(args, Create):
        await _create(ctx, args.question, args.choices, args.options, template=None)
    elif isinstance(args, Needs):
        themes = ctx.settings.needs_poll_themes or fmt.NEEDS_THEMES
        await _create(ctx, fmt.NEEDS_QUESTION, themes, args.options, template="besoins")
    elif isinstance(args, Results):
        poll = await _find(ctx, args.poll_id)
        record = await _record(ctx, poll)
        ctx.reply(fmt.results_text(poll, record, ctx.now, ctx.tz))
    elif isinstance(args, Close):
        await _close_command(ctx, args.poll_id)
    else:
        await _export(ctx, args)


def _invalid(message: str) -> InvalidArguments:
    return InvalidArguments(message, usage=f"{PREFIX}sondage {fmt.USAGE}", example=fmt.EXAMPLE)


async def _create(
    ctx: Context, question: str, choices: tuple[str, ...], options: Options, *,
    template: str | None,
) -> None:  # fmt: skip
    deadline = reminder_at = None
    if options.deadline is not None:
        try:
            deadline = parse_when(options.deadline, ctx.now, ctx.tz)
        except InvalidArguments as exc:
            raise _invalid(f"Date de fin : {exc.message}") from exc
    if deadline is not None and options.reminder_hours is not None:
        reminder_at = deadline - timedelta(hours=options.reminder_hours)
        if reminder_at <= ctx.now:
            raise _invalid(
                f"Le rappel {options.reminder_hours} h avant la fin tomberait dans le passé : "
                "choisissez un rappel plus proche de la fin."
            )
    answers = [Answer(f"a{n}", text) for n, text in enumerate(choices, start=1)]
    poll = await ctx.repos.polls.create(
        room_id=ctx.room_id, creator=ctx.sender, question=question, answers=answers,
        max_selections=len(answers) if options.multiple else 1, anonymous=options.anonymous,
        deadline=deadline, reminder_at=reminder_at, template=template, now=ctx.now,
    )  # fmt: skip
    txn = ctx.messenger.send_event(
        ctx.room_id, START_EVENT, fmt.start_content(poll, ctx.tz), kind=START_KIND,
        ref=(REF, poll.id),
    )  # fmt: skip
    await ctx.repos.polls.set_start_txn(poll.id, txn)
    ctx.reply(
        f"Sondage n° {poll.id} lancé. Résultats : !sondage résultats {poll.id} ; "
        f"clôture : !sondage clore {poll.id}."
    )
    log.info("Poll %d created in %s", poll.id, ctx.room_id)


async def _find(ctx: Context, poll_id: int | None) -> Poll:
    if poll_id is None:
        poll = await ctx.repos.polls.latest_in_room(ctx.room_id)
        if poll is None:
            raise NotFound(f"Aucun sondage dans ce salon. Exemple : {fmt.EXAMPLE}")
        return poll
    poll = await ctx.repos.polls.get(poll_id)
    if poll is None:
        raise NotFound(f"Aucun sondage n° {poll_id}.")
    return poll


async def _record(ctx: Context | JobContext, poll: Poll) -> dict[str, Any]:
    """The frozen results of a closed poll, or the current ones of an open poll."""
    if poll.status == "closed" and poll.final_results is not None:
        return poll.final_results
    result = tally(
        await ctx.repos.polls.responses(poll.id), poll.answer_ids, poll.max_selections,
        until=poll.deadline,
    )  # fmt: skip
    members = set(ctx.info.member_ids(poll.room_id)) - {ctx.settings.bot_user_id}
    return fmt.results_record(result, len(members))


async def close_poll(
    ctx: Context | JobContext, poll: Poll, messenger: Messenger, closed_by: str | None
) -> None:
    """Freeze the results, forget anonymous voters, send the end event with the results."""
    record = await _record(ctx, poll)
    await ctx.repos.polls.close(
        poll.id, results=record, closed_by=closed_by, now=ctx.now, forget_voters=poll.anonymous
    )
    closed = await ctx.repos.polls.get(poll.id)
    assert closed is not None  # noqa: S101 - just updated in this transaction
    text = fmt.results_text(closed, record, ctx.now, ctx.settings.tz)
    messenger.send_event(
        poll.room_id,
        END_EVENT,
        {
            "m.relates_to": {"rel_type": "m.reference"},
            END_EVENT: {},
            "org.matrix.msc1767.text": text,
            "m.mentions": {},
        },
        kind=END_KIND,
        ref=(REF, poll.id),
        relates_to_txn=poll.start_txn,
    )
    log.info("Poll %d closed", poll.id)


async def _close_command(ctx: Context, poll_id: int | None) -> None:
    poll = await _find(ctx, poll_id)
    if poll.status == "closed":
        raise UserError(f"Le sondage n° {poll.id} est déjà clos.")
    if ctx.sender != poll.creator and not ctx.is_admin:
        raise PermissionDenied(
            f"Seul l’auteur du sondage n° {poll.id} ou un administrateur peut le clore."
        )
    await close_poll(ctx, poll, ctx.messenger, ctx.sender)
    if poll.room_id != ctx.room_id:
        ctx.reply(f"Sondage n° {poll.id} clos ; les résultats sont publiés dans son salon.")


async def _export(ctx: Context, args: Export) -> None:
    poll = await _find(ctx, args.poll_id)
    record = await _record(ctx, poll)
    data = fmt.export_csv(poll, record, ctx.now, ctx.tz)
    filename = f"sondage-{poll.id}.csv"
    ctx.messenger.send_file(
        ctx.room_id, filename, data, "text/csv", kind=EXPORT_KIND, ref=(REF, poll.id)
    )
    ctx.reply(
        f"Export du sondage n° {poll.id} : {filename} (séparateur « ; », UTF-8). "
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
        ctx.reply(f"Le sondage n° {poll.id} est clos : votre réponse n’a pas été comptée.")
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


# --- deadlines and reminders --------------------------------------------------------------


@router.job("sondages", every_seconds=lambda settings: TICK_S)
async def close_and_remind(units: Units) -> None:
    """Polls past their deadline (including while the bot was down) end; reminders go once."""
    async with units.unit() as ctx:
        for poll in await ctx.repos.polls.due_for_closing(ctx.now):
            await close_poll(ctx, poll, ctx.messenger, None)
        for poll in await ctx.repos.polls.due_for_reminder(ctx.now):
            await ctx.repos.polls.mark_reminded(poll.id)
            result = tally(
                await ctx.repos.polls.responses(poll.id), poll.answer_ids, poll.max_selections,
                until=poll.deadline,
            )  # fmt: skip
            ctx.messenger.send(
                poll.room_id,
                fmt.reminder_text(poll, result.voters, ctx.now, ctx.settings.tz),
                kind=REMINDER_KIND,
                ref=(REF, poll.id),
            )
