"""The `sondages` job: polls end at their deadline, rooms are reminded once.

Registered on the `!sondage` router in handlers/polls/commands.py. Each run
is one unit of work (one transaction): the end events and reminders it
decides are queued with the writes that record them.
"""

from __future__ import annotations

from bot.context import Settings
from bot.tally import tally
from bot.work import Units
from handlers.polls.lifecycle import REF, REMINDER_KIND, close_poll
from handlers.polls.texts import reminder_text


def tick_seconds(settings: Settings) -> float:
    """A poll ends within `[bot] poll_check_seconds` of its deadline (5 s by default)."""
    return settings.poll_check_seconds


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
