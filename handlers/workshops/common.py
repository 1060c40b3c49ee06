"""What the workshop modules share: finding a workshop, who is signed up and where
they are mentioned, and the notice with its .ics invitation.

Everything takes a `Scope`, so that commands and jobs call the same code.

Decisions:
- An atelier or café numérique is announced in the diffusion rooms — or, when
  there is none, in the room where the RUPN typed the command — as a notice
  (kind "workshop-notice", ref ("workshop", n°); an m.text, since it invites
  people to sign up) followed by an .ics invitation (kind "workshop-ics"). The
  rooms are stored with the workshop, so that changes, promotions and
  reminders are told where the notice went.
- An updated .ics has as SEQUENCE the number of invitations already sent for
  the workshop in its first room (nothing new is stored); a cancellation sends
  METHOD:CANCEL / STATUS:CANCELLED.
- A notice is changed by an m.replace edit showing the current date, place and
  places left; an edit that would show the text already shown can be skipped
  (`if_changed`). Either way the notices are then recorded as up to date.
- A person is told things in the first notice room they are a member of, else
  in the first notice room.
- An atelier created or rescheduled less than `DAY_BEFORE` (24 h) ahead gets
  no day-before reminder (`skip_day_reminder`): the notice or the change
  message just told everyone when it is, and the hour-before reminder follows;
  without this, one created 61 minutes ahead had its day-before reminder at
  once and the hour-before one a minute later.
- A number that does not exist has no kind: the not-found text names both
  (« Aucun atelier ni café numérique n° 3. »), whatever command was typed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.context import Scope
from bot.errors import NotFound, UserError
from bot.formatting import text_to_html
from bot.ics import workshop_ics
from bot.messenger import edit_content
from bot.storage.posts import Post
from bot.storage.workshops import Workshop
from handlers.announcements import publishing
from handlers.workshops.texts import capitalized, not_found, notice_text, tell, the

log = logging.getLogger(__name__)

REF = "workshop"
NOTICE_KIND = "workshop-notice"
NOTICE_EDIT_KIND = "workshop-notice-edit"
ICS_KIND = "workshop-ics"
DAY_BEFORE = timedelta(hours=24)  # when the day-before reminder is due


# --- finding a workshop and its people ----------------------------------------------------


async def get(ctx: Scope, workshop_id: int) -> Workshop:
    workshop = await ctx.repos.workshops.get_number(workshop_id)
    if workshop is None:
        raise NotFound(not_found(workshop_id))
    return workshop


async def skip_day_reminder(ctx: Scope, workshop: Workshop) -> None:
    """At creation or a new date: inside the day-before window, that reminder is not sent."""
    if workshop.starts_at - ctx.now < DAY_BEFORE:
        await ctx.repos.workshops.mark(workshop.id, "reminded_day")


def _is_past(workshop: Workshop, now: datetime) -> bool:
    return workshop.status == "done" or workshop.starts_at <= now


def is_open(workshop: Workshop, now: datetime) -> bool:
    """Planned and not started: sign-ups may still change."""
    return workshop.status == "planned" and not _is_past(workshop, now)


def check_changeable(workshop: Workshop, now: datetime, verb: str) -> None:
    """Refuse (« … est annulé : impossible de {verb}. ») a cancelled or past workshop."""
    if workshop.status == "cancelled":
        raise UserError(f"{capitalized(the(workshop))} est annulé : impossible de {verb}.")
    if _is_past(workshop, now):
        raise UserError(f"{capitalized(the(workshop))} a déjà eu lieu : impossible de {verb}.")


async def get_changeable(ctx: Scope, workshop_id: int, verb: str) -> Workshop:
    """The workshop, unless it is cancelled or past (« … impossible de {verb}. »)."""
    workshop = await get(ctx, workshop_id)
    check_changeable(workshop, ctx.now, verb)
    return workshop


async def signed_up(ctx: Scope, workshop: Workshop) -> list[str]:
    """Confirmed then waiting, in order."""
    signups = await ctx.repos.workshops.signups(workshop.id)
    return [s.user_id for s in signups if s.status != "cancelled"]


async def confirmed(ctx: Scope, workshop: Workshop) -> list[str]:
    signups = await ctx.repos.workshops.signups(workshop.id)
    return [s.user_id for s in signups if s.status == "confirmed"]


def by_room(ctx: Scope, rooms: Sequence[str], users: Sequence[str]) -> dict[str, list[str]]:
    """Each user in the first of `rooms` they are a member of, else in the first room.

    Every room is a key, in the order of `rooms`, even with nobody in it;
    without rooms, nobody is placed.
    """
    placed: dict[str, list[str]] = {room: [] for room in rooms}
    if not rooms:
        return placed
    members = {room: set(ctx.info.member_ids(room)) for room in rooms}
    for user in users:
        room = next((r for r in rooms if user in members[r]), rooms[0])
        placed[room].append(user)
    return placed


async def direct_room(ctx: Scope, person: str) -> str | None:
    """The direct room the bot already opened with `person`, if they joined it (no network)."""
    room = await ctx.repos.direct_rooms.get(person)
    return room if room is not None and person in ctx.info.member_ids(room) else None


async def tell_person(
    ctx: Scope, workshop: Workshop, person: str, text: str, *, kind: str, room: str
) -> None:
    """Privately when a direct room with `person` is known, else in `room`; a mention."""
    target = await direct_room(ctx, person) or room
    tell(ctx.messenger, target, text, (person,), kind=kind, ref=(REF, workshop.id))


# --- the notice and its invitation --------------------------------------------------------


async def announcement_rooms(ctx: Scope, fallback_room: str | None) -> list[str]:
    """The diffusion rooms; if there are none, `fallback_room` (the room of the command)."""
    rooms = await publishing.diffusion_rooms(ctx.repos, ctx.settings)
    if rooms:
        return rooms
    return [fallback_room] if fallback_room else []


async def _current_notice(ctx: Scope, workshop: Workshop) -> str:
    places_taken = len(await confirmed(ctx, workshop))
    return notice_text(workshop, places_taken, ctx.tz, ctx.now)


async def announce_workshop(ctx: Scope, workshop: Workshop) -> None:
    """Post the notice and its .ics invitation in each of the workshop's rooms."""
    text = await _current_notice(ctx, workshop)
    for room_id in workshop.rooms:
        ctx.messenger.send(
            room_id,
            text,
            html=text_to_html(text, bold_first=True),
            kind=NOTICE_KIND,
            ref=(REF, workshop.id),
        )
    await ctx.repos.workshops.notices_shown(workshop.id, edited_at=ctx.now)
    await send_ics(ctx, workshop)
    log.info("Workshop %d announced in %d rooms", workshop.id, len(workshop.rooms))


async def _ics_sequence(ctx: Scope, workshop: Workshop) -> int:
    """How many invitations were already sent for the workshop (in its first room)."""
    if not workshop.rooms:
        return 0
    posts = await ctx.repos.posts.by_ref(REF, workshop.id)
    return sum(1 for p in posts if p.kind == ICS_KIND and p.room_id == workshop.rooms[0])


async def send_ics(ctx: Scope, workshop: Workshop, *, cancelled: bool = False) -> None:
    """The workshop's invitation, new or updated, in each of its rooms."""
    sequence = await _ics_sequence(ctx, workshop)
    data = workshop_ics(workshop, ctx.tz, sequence=sequence, stamp=ctx.now, cancelled=cancelled)
    for room_id in workshop.rooms:
        ctx.messenger.send_file(
            room_id,
            f"atelier-{workshop.number}.ics",
            data,
            "text/calendar",
            kind=ICS_KIND,
            ref=(REF, workshop.id),
        )


async def edit_notices(ctx: Scope, workshop: Workshop, *, if_changed: bool = False) -> int:
    """An m.replace edit of each notice, showing the current date, place and places left.

    With `if_changed`, nothing is sent when the notices already show that text.
    Either way the notices are then up to date (`notices_shown`). Returns how many
    edits were queued.
    """
    text = await _current_notice(ctx, workshop)
    posts = await ctx.repos.posts.by_ref(REF, workshop.id)
    notices = [p for p in posts if p.kind == NOTICE_KIND and p.status != "failed"]
    if if_changed and _shown_text(posts) == text:
        await ctx.repos.workshops.notices_shown(workshop.id, edited_at=None)
        return 0
    for post in notices:
        ctx.messenger.send_event(
            post.room_id,
            "m.room.message",
            edit_content(post.content, text, html=text_to_html(text, bold_first=True)),
            kind=NOTICE_EDIT_KIND,
            ref=(REF, workshop.id),
            relates_to_txn=post.txn_id,
        )
    await ctx.repos.workshops.notices_shown(workshop.id, edited_at=ctx.now)
    return len(notices)


def _shown_text(posts: list[Post]) -> str | None:
    """The text the notices show: that of the latest edit, else of the notice itself."""
    for post in reversed(posts):
        if post.status == "failed":
            continue
        if post.kind == NOTICE_EDIT_KIND:
            return str(post.content.get("m.new_content", {}).get("body", ""))
        if post.kind == NOTICE_KIND:
            return str(post.content.get("body", ""))
    return None
