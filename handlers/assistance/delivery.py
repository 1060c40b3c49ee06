"""A mail to the helpdesk that could not go: the RUPN is told why, and which request."""

from __future__ import annotations

import logging

from bot.router import Router
from bot.rupn_rooms import rupn_rooms
from bot.storage.posts import Post, refused_addresses
from bot.work import Units
from handlers.assistance import texts
from handlers.assistance.ticket import MAIL_KIND, REF
from handlers.letter.texts import MAIL_FAILURES, UNEXPECTED

log = logging.getLogger(__name__)

router = Router("assistance-courriels")

REPORT_KIND = "assistance-mail-report"


@router.on_post_settled
async def ticket_settled(units: Units, post: Post) -> None:
    if post.kind != MAIL_KIND or post.ref_type != REF or post.ref_id is None:
        return
    async with units.unit() as scope:
        settled = await scope.repos.posts.by_ref(REF, post.ref_id)
        mail = next((p for p in settled if p.txn_id == post.txn_id), None)
        request = await scope.repos.assistance.by_id(post.ref_id)
    if mail is None or request is None:
        return
    refused = refused_addresses(mail.error)
    if mail.status == "failed":
        text = texts.mail_failed(request, MAIL_FAILURES.get(mail.error or "", UNEXPECTED))
    elif refused:
        text = texts.mail_partly_refused(request, refused)
    else:
        return
    people = sorted(units.settings.admins)
    rooms = await rupn_rooms(units, people)
    async with units.unit() as scope:
        for room in rooms:
            scope.messenger.send(room, text, mentions=people, kind=REPORT_KIND)
    log.error("The mail of request %d: %s (%s)", request.number, mail.status, mail.error)
