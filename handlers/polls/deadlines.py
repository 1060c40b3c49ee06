"""The `sondages` job: polls end at their deadline, rooms are reminded once.

Registered on the `!sondage` router in handlers/polls/commands.py. Each run
is one unit of work (one transaction): the end events and reminders it
decides are queued with the writes that record them.
"""

from __future__ import annotations

from bot.tally import tally
from bot.work import Units
from handlers.polls.lifecycle import REF, REMINDER_KIND, close_poll
from handlers.polls.texts import reminder_text

TICK_S = 5.0
"""A poll ends within seconds of its deadline; the check is one indexed query."""


async def close_and_remind(units: Units) -> None:
    """Polls past their deadline (including while the bot was down) end; reminders go once."""
    async with units.unit() as scope:
        for poll in await scope.repos.polls.due_for_closing(scope.now):
            await close_poll(scope, poll, closed_by=None)
        for poll in await scope.repos.polls.due_for_reminder(scope.now):
            await scope.repos.polls.mark_reminded(poll.id)
            result = tally(
                await scope.repos.polls.responses(poll.id),
                poll.answer_ids,
                poll.max_selections,
                until=poll.deadline,
            )
            scope.messenger.send(
                poll.room_id,
                reminder_text(poll, result.voters, scope.now, scope.tz),
                kind=REMINDER_KIND,
                ref=(REF, poll.id),
            )
