"""The weekly letter's job (`lettre-hebdo`) and the report of a mail that failed.

Every `TICK_S` the job looks at last week's and this week's letters
(digests/schedule.py): one whose moment has come and that no row of
`digest_weeks` has decided yet is sent, or skipped when more than 24 h late
(the bot was down) or paused, with a log line. Sending queues the posts, the
e-mail and the week's mark in one unit (one transaction): exactly once per week,
even after kill -9. `!lettre envoyer` marks the week too.
"""

from __future__ import annotations

import logging
from functools import cache

from bot.context import Scope
from bot.router import Router
from bot.rupn_rooms import rupn_rooms
from bot.school_calendar import SchoolCalendar
from bot.storage.digests import MAIL_KIND
from bot.storage.posts import RESENDS_KEY, Post, refused_addresses
from bot.work import Units
from digests.rooms import letter_rooms
from digests.schedule import DueLetter, fallen_due, next_letter
from digests.send import REF, Letters, compose, queue_letters, week_ref
from handlers.letter import texts

log = logging.getLogger(__name__)

router = Router("lettre-hebdo")

TICK_S = 30.0
"""The letter is queued within a tick after its moment (the contract says 60 s)."""
REPORT_KIND = "digest-report"


@cache
def calendar_for(zone: str | None) -> SchoolCalendar:
    return SchoolCalendar(zone)


async def is_paused(scope: Scope) -> bool:
    return await scope.repos.digests.paused()


def upcoming(scope: Scope) -> DueLetter | None:
    settings = scope.settings
    return next_letter(scope.now, settings.digest, scope.tz, calendar_for(settings.school_zone))


async def _queue(scope: Scope, week: str, *, extra: bool) -> Letters:
    letters = await compose(scope, await letter_rooms(scope.repos, scope.settings), extra=extra)
    if not letters.empty:
        await queue_letters(scope, letters, week=week_ref(week), mail=scope.settings.mail_enabled)
    return letters


async def send_now(scope: Scope, week: str) -> int:
    """Queue this week's letters (and the e-mail); returns how many rooms get one.

    A week whose letter went out keeps its mark (see `send_extra` for a second one).
    """
    letters = await _queue(scope, week, extra=False)
    await scope.repos.digests.decide_week(
        week, "sent" if not letters.empty else "empty", scope.now, len(letters.letters)
    )
    return len(letters.letters)


async def send_extra(scope: Scope, week: str) -> int:
    """A second letter in a week whose letter went out, with only what is new since
    (`!lettre envoyer quand-même`); counted as one more letter. Returns its rooms."""
    letters = await _queue(scope, week, extra=True)
    if not letters.empty:
        await scope.repos.digests.add_extra_letter(week, scope.now, len(letters.letters))
    return len(letters.letters)


@router.job("lettre-hebdo", every_seconds=lambda settings: TICK_S)
async def weekly(units: Units) -> None:
    settings = units.settings
    if not settings.digest.enabled:
        return
    async with units.unit() as scope:
        calendar = calendar_for(settings.school_zone)
        for letter in fallen_due(scope.now, settings.digest, scope.tz, calendar):
            state = await scope.repos.digests.week_state(letter.week)
            if state.outcome is not None:
                continue
            if letter.too_late(scope.now):
                log.warning(
                    "The letter of %s was due at %s, more than 24 h ago (the bot was not "
                    "running): skipped",
                    letter.week,
                    letter.due.isoformat(),
                )
                await scope.repos.digests.decide_week(letter.week, "skipped", scope.now, 0)
                continue
            if state.paused:
                log.info("The letter of %s is paused: not sent", letter.week)
                await scope.repos.digests.decide_week(letter.week, "skipped", scope.now, 0)
                continue
            rooms = await send_now(scope, letter.week)
            if rooms:
                log.info("Letter of %s queued for %d room(s)", letter.week, rooms)
            else:
                log.info("Letter of %s: nothing to say, no letter", letter.week)


@router.on_post_settled
async def mail_settled(units: Units, post: Post) -> None:
    """A letter that could not be mailed, or not to everyone: the RUPN is told why, in the
    curation rooms or in a direct room (the staff rooms never hear about it)."""
    if post.kind != MAIL_KIND or post.ref_type != REF or post.ref_id is None:
        return
    settled = [p for p in await _posts(units, post) if p.txn_id == post.txn_id]
    if not settled:
        return
    text = _report(settled[0])
    if text is None:
        return
    targets = await rupn_rooms(units)
    async with units.unit() as scope:
        for room in targets:
            scope.messenger.send(
                room, text, mentions=sorted(units.settings.admins), kind=REPORT_KIND
            )
    log.error("The letter's mail %s: %s", settled[0].status, settled[0].error)


def _report(mail: Post) -> str | None:
    """What the RUPN must hear of a settled mail: a failure, or refused recipients."""
    if mail.status == "failed":
        return texts.mail_failed_text(mail.error, resent=RESENDS_KEY in mail.content)
    refused = refused_addresses(mail.error)
    return texts.mail_partly_refused(refused) if refused else None


async def _posts(units: Units, post: Post) -> list[Post]:
    async with units.unit() as scope:
        return await scope.repos.posts.by_ref(REF, post.ref_id or 0)
