"""Starting and closing a poll, for `!sondage`, its deadline job and other features.

A poll's events are bot posts in the outbox, found again by kind and ref
(« poll », n°): the start event (its stored txn lets the end event and the
fallback replies point at it), the end event with the results, the reminder,
the CSV export. `start_poll` is the entry point for other features (the
workshop feedback poll); it is re-exported by `handlers.polls`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.context import Scope
from bot.storage.polls import Answer, Poll
from bot.tally import tally
from handlers.polls.args import MAX_CHOICES, MIN_CHOICES
from handlers.polls.texts import results_record, results_text, start_content

log = logging.getLogger(__name__)

START_KIND = "poll-start"
END_KIND = "poll-end"
REMINDER_KIND = "poll-reminder"
EXPORT_KIND = "poll-export"
REF = "poll"
START_EVENT = "org.matrix.msc3381.poll.start"
END_EVENT = "org.matrix.msc3381.poll.end"


async def start_poll(
    scope: Scope,
    room_id: str,
    *,
    creator: str,
    question: str,
    answers: Sequence[str],
    multiple: bool = False,
    anonymous: bool = False,
    deadline: datetime | None = None,
    reminder_at: datetime | None = None,
    template: str | None = None,
) -> Poll:
    """Create the poll and queue its MSC3381 start event in `room_id`; returns the poll.

    `multiple` lets each voter tick every answer. The deadline job closes the
    poll at `deadline` and reminds the room once at `reminder_at`. The caller
    has checked its input (answers from 2 to 20, distinct; dates in the
    future); breaking that is a programming error (`ValueError`).
    """
    if not MIN_CHOICES <= len(answers) <= MAX_CHOICES:
        raise ValueError(f"a poll needs {MIN_CHOICES} to {MAX_CHOICES} answers, not {answers!r}")
    if reminder_at is not None and (deadline is None or reminder_at > deadline):
        raise ValueError("a poll's reminder comes before its deadline")
    poll = await scope.repos.polls.create(
        room_id=room_id,
        creator=creator,
        question=question,
        answers=[Answer(f"a{n}", text) for n, text in enumerate(answers, start=1)],
        max_selections=len(answers) if multiple else 1,
        anonymous=anonymous,
        deadline=deadline,
        reminder_at=reminder_at,
        template=template,
        now=scope.now,
    )
    txn = scope.messenger.send_event(
        room_id, START_EVENT, start_content(poll, scope.tz), kind=START_KIND, ref=(REF, poll.id)
    )
    await scope.repos.polls.set_start_txn(poll.id, txn)
    log.info("Poll %d created in %s", poll.id, room_id)
    return dataclasses.replace(poll, start_txn=txn)


async def current_record(scope: Scope, poll: Poll) -> dict[str, Any]:
    """The frozen results of a closed poll, or the current ones of an open poll."""
    if poll.status == "closed" and poll.final_results is not None:
        return poll.final_results
    result = tally(
        await scope.repos.polls.responses(poll.id),
        poll.answer_ids,
        poll.max_selections,
        until=poll.deadline,
    )
    members = set(scope.info.member_ids(poll.room_id)) - {scope.settings.bot_user_id}
    return results_record(result, len(members))


async def close_poll(scope: Scope, poll: Poll, *, closed_by: str | None) -> None:
    """Freeze the results, forget anonymous voters, send the end event with the results.

    `closed_by` is None when the deadline closed it.
    """
    record = await current_record(scope, poll)
    await scope.repos.polls.close(
        poll.id, results=record, closed_by=closed_by, now=scope.now, forget_voters=poll.anonymous
    )
    closed = await scope.repos.polls.get(poll.id)
    assert closed is not None  # noqa: S101 - just updated in this transaction
    text = results_text(closed, record, scope.now, scope.tz)
    scope.messenger.send_event(
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
