"""The desk's answers, from the mailbox reader to the people who reported (`ReplySink`).

A reply is matched to its request, in this order: its In-Reply-To/References against
the Message-IDs of the request's mails; the bot's tag in its subject (« [rupn-bot
0860001J n° 12] »: numbers are per school, the tag names the school in a shared
deployment); the desk's ticket number learnt from an earlier answer (`ticket_pattern`).
The reply is recorded (once: a mail read twice is posted once) and its chat messages
queued in one transaction. A mail matched to nothing goes to the RUPN of the school it
names, else to the académie's admins (the RUPN of a single-school bot): never to anyone
else.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict

from bot.config import Desk
from bot.context import Scope
from bot.mailbox.model import DeskReply
from bot.rupn_rooms import rupn_rooms
from bot.schools import IMPLICIT_KEY
from bot.storage.database import Database
from bot.storage.desk_mails import DeskMailIndex, Located
from bot.work import Units
from handlers.assistance import texts
from handlers.assistance.ticket import parse_tag

log = logging.getLogger(__name__)

ANSWER_KIND = "assistance-answer"
UNMATCHED_KIND = "assistance-unmatched"
MAX_ANSWER_CHARS = 4000
_OUR_ID = re.compile(r"^panne-([0-9]{7}[A-Z]|etab)-[0-9]+(?:-[0-9]+)?@")


def _clipped(text: str) -> str:
    text = text.strip() or "(réponse sans texte)"
    return text if len(text) <= MAX_ANSWER_CHARS else text[: MAX_ANSWER_CHARS - 1] + "…"


def desk_ticket(desk: Desk | None, subject: str) -> str | None:
    """The desk's own tag in a subject (« [GLPI #0000123] »), by `ticket_pattern`."""
    if desk is None:
        return None
    found = re.search(desk.ticket_pattern, subject)
    return found[0] if found is not None else None


class DeskReplies:
    """The `ReplySink` the mailbox reader hands each mail to."""

    def __init__(self, db: Database, units: Units) -> None:
        self._db = db
        self._units = units

    async def accept(self, reply: DeskReply) -> None:
        index = DeskMailIndex(self._db)
        async with self._db.transaction():
            if await index.known(reply.message_id):
                log.info("Desk mail %s already handled", reply.message_id)
                return
            located = await self._locate(index, reply)
        units = self._units.for_key(located.school) if located is not None else None
        if located is None or units is None:
            await self._unmatched(reply)
            return
        await self._post(units, located, reply)

    async def _locate(self, index: DeskMailIndex, reply: DeskReply) -> Located | None:
        found = await index.by_message_ids(reply.refers_to)
        if found is not None:
            return found
        tagged = parse_tag(reply.subject)
        if tagged is not None:
            return await index.by_number(*tagged)
        desk = self._units.settings.assistance
        ticket = desk_ticket(desk, reply.subject)
        if ticket is not None:
            domain = reply.sender.rpartition("@")[2].strip("> ").lower()
            return await index.by_desk_ticket(ticket, domain)
        return None

    async def _post(self, units: Units, located: Located, reply: DeskReply) -> None:
        text = _clipped(reply.new_text)
        async with self._db.transaction():
            followers = await units.repos.assistance.followers(located.request_id)
        # Nobody follows it any more (their data were erased): the RUPN hears it instead.
        rupn = [] if followers else sorted(units.settings.admins)
        rooms = await _rupn_rooms_or_retry(units, rupn) if rupn else ()
        async with units.unit() as scope:
            repo = scope.repos.assistance
            request = await repo.by_id(located.request_id)
            if request is None or not await repo.add_mail(
                reply.message_id, request.id, "in", text, reply.received_at
            ):
                return
            ticket = desk_ticket(scope.settings.assistance, reply.subject)
            await repo.record_news(request.id, text, reply.received_at, ticket)
            request = await repo.by_id(request.id) or request
            answer = texts.desk_answer(request, text)
            if followers:
                await _tell_followers(scope, request.id, answer)
            for room in rooms:
                scope.messenger.send(room, answer, mentions=rupn, kind=ANSWER_KIND)
        log.info("Desk answer %s posted for request %d", reply.message_id, request.number)

    async def _unmatched(self, reply: DeskReply) -> None:
        school = self._school_named(reply)
        units = self._units.for_key(school) if school is not None else None
        if units is None:
            units = self._units
            people = sorted(units.settings.academie_admins or units.settings.admins)
        else:
            people = sorted(units.settings.admins)
        rooms = await _rupn_rooms_or_retry(units, people)
        text = texts.unmatched_answer(reply.subject, reply.sender, _clipped(reply.new_text))
        async with units.unit() as scope:
            index = DeskMailIndex(self._db)
            if not await index.record_unmatched(
                reply.message_id, school, reply.new_text, reply.received_at
            ):
                return
            for room in rooms:
                scope.messenger.send(room, text, mentions=people, kind=UNMATCHED_KIND)
        log.warning("Desk mail %s matches no request: sent to %s", reply.message_id, people)

    def _school_named(self, reply: DeskReply) -> str | None:
        """The school a mail names, by our tag or one of our Message-IDs, if it is served."""
        tagged = parse_tag(reply.subject)
        keys = [tagged[0]] if tagged is not None else []
        for mid in reply.refers_to:
            ours = _OUR_ID.match(mid)
            if ours is not None:
                keys.append(IMPLICIT_KEY if ours[1] == "etab" else ours[1])
        served = {school.key for school in self._units.schools}
        return next((key for key in keys if key in served), None)


class NobodyToTell(RuntimeError):
    """No room to pass a desk's mail on in (no RUPN, or no direct room could be opened):
    the mail is not recorded, so the reader leaves it unread and offers it again later."""


async def _rupn_rooms_or_retry(units: Units, people: list[str]) -> tuple[str, ...]:
    rooms = await rupn_rooms(units, people)
    if not rooms:
        raise NobodyToTell(f"no room to tell {len(people)} RUPN in")
    return rooms


async def _tell_followers(scope: Scope, request_id: int, text: str) -> None:
    """One message per room and thread, mentioning the people who follow the request."""
    groups: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for follower in await scope.repos.assistance.followers(request_id):
        groups[(follower.room_id, follower.thread_root)].append(follower.user_id)
    for (room, thread_root), people in groups.items():
        scope.messenger.send(room, text, mentions=people, thread_root=thread_root, kind=ANSWER_KIND)
