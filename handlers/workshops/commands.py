"""`!atelier`, `!cafe`, `!ateliers`: announcing, changing and listing workshops.

Arguments are parsed in handlers/workshop_args.py, texts are built in
handlers/workshop_texts.py, sign-ups (`!inscription`, 👍) are handled in
handlers/workshop_signups.py.

An atelier or café numérique is announced in the diffusion rooms — or, when
there is none, in the room where the RUPN typed the command — as a notice
(kind "workshop-notice", ref ("workshop", n°); an m.text, since it invites
people to sign up) followed by an .ics invitation (kind "workshop-ics"). The
rooms are stored with the workshop, so changes and promotions are told where
the notice went.

Decisions:
- `!atelier annuler` and `!atelier modifier` post in every notice room, each
  signed-up person being mentioned once, in the first notice room they are a
  member of. They also send an updated .ics whose SEQUENCE is the number of
  invitations already sent for the workshop in its first room (nothing new is
  stored); a cancellation sends METHOD:CANCEL / STATUS:CANCELLED. `modifier`
  also edits the notice (m.replace) so that it shows the new date and place.
- The « Places » line of the notice follows the sign-ups: each change marks
  the workshop's notices stale in the same transaction (the repository does
  it), and the job `ateliers-places` (handlers/workshop_signups.py) edits
  them once the changes have settled for `NOTICE_SETTLE` (5 s), at most once
  every `NOTICE_EDIT_EVERY` (30 s) — a burst of 👍 makes one edit, not one
  each. Past and cancelled workshops are not edited; an edit that would show
  the same text is not sent.
- `!cafe` accepts the same optional segments as `!atelier` (lieu, places,
  minimum); its usage shows only the lieu, the common case.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.context import Context, JobContext
from bot.errors import InvalidArguments, NotFound, UserError
from bot.ics import workshop_ics, workshop_title
from bot.messenger import edit_content
from bot.router import PREFIX, Router, no_arguments
from bot.storage.posts import Post
from bot.storage.workshops import Kind, Workshop
from bot.when import parse_when
from handlers.announcements import publishing
from handlers.workshops.args import (
    MODIFY_EXAMPLE,
    AtelierArgs,
    Attendance,
    Cancel,
    Create,
    Modify,
    parse_atelier,
    parse_cafe,
)
from handlers.workshops.texts import (
    DETAILS,
    capitalized,
    icon,
    label,
    notice_text,
    people,
    place_label,
    tell,
    the,
    to_html,
    when_label,
)

log = logging.getLogger(__name__)

router = Router("atelier")

REF = "workshop"
NOTICE_KIND = "workshop-notice"
NOTICE_EDIT_KIND = "workshop-notice-edit"
ICS_KIND = "workshop-ics"
SIGNUP_KIND = "workshop-signup"
PROMOTION_KIND = "workshop-promotion"
CANCEL_KIND = "workshop-cancellation"
CHANGE_KIND = "workshop-change"

USAGE = "<quand> | <thème> [| lieu] [| places] [| minimum N]"
EXAMPLE = "!atelier jeudi 14 décembre 12h30 | Pronote : le cahier de textes | CDI | 12 places"
CAFE_USAGE = "<quand> | <thème> [| lieu]"
CAFE_EXAMPLE = "!cafe mardi 12h30 | L’IA générative en classe | salle des professeurs"

AnyContext = Context | JobContext
"""Handlers and scheduled jobs (handlers/workshop_followup.py) both announce workshops."""


# --- announcing -----------------------------------------------------------------------------


async def announcement_rooms(ctx: AnyContext, fallback_room: str | None) -> list[str]:
    """The diffusion rooms; if there are none, `fallback_room` (the room of the command)."""
    rooms = await publishing.diffusion_rooms(ctx.repos, ctx.settings)
    if rooms:
        return rooms
    return [fallback_room] if fallback_room else []


async def _ics_sequence(ctx: AnyContext, workshop: Workshop) -> int:
    """How many invitations were already sent for the workshop (in its first room)."""
    if not workshop.rooms:
        return 0
    posts = await ctx.repos.posts.by_ref(REF, workshop.id)
    return sum(1 for p in posts if p.kind == ICS_KIND and p.room_id == workshop.rooms[0])


async def _send_ics(ctx: AnyContext, workshop: Workshop, *, cancelled: bool = False) -> None:
    sequence = await _ics_sequence(ctx, workshop)
    data = workshop_ics(
        workshop, ctx.settings.tz, sequence=sequence, stamp=ctx.now, cancelled=cancelled
    )
    for room_id in workshop.rooms:
        ctx.messenger.send_file(
            room_id, f"atelier-{workshop.id}.ics", data, "text/calendar", kind=ICS_KIND,
            ref=(REF, workshop.id),
        )  # fmt: skip


async def _current_notice(ctx: AnyContext, workshop: Workshop) -> str:
    confirmed = sum(
        1 for s in await ctx.repos.workshops.signups(workshop.id) if s.status == "confirmed"
    )
    return notice_text(workshop, confirmed, ctx.settings.tz, ctx.now)


async def announce_workshop(ctx: AnyContext, workshop: Workshop) -> None:
    """Post the notice and its .ics invitation in each of the workshop's rooms."""
    text = await _current_notice(ctx, workshop)
    for room_id in workshop.rooms:
        ctx.messenger.send(
            room_id, text, html=to_html(text, bold_first=True), kind=NOTICE_KIND,
            ref=(REF, workshop.id),
        )  # fmt: skip
    await ctx.repos.workshops.notices_shown(workshop.id, edited_at=ctx.now)
    await _send_ics(ctx, workshop)
    log.info("Workshop %d announced in %d rooms", workshop.id, len(workshop.rooms))


# --- commands -------------------------------------------------------------------------------


@router.command(
    "atelier",
    summary="annonce un atelier (inscription par 👍, places, liste d’attente, invitation .ics), "
    "le modifie, l’annule ou enregistre les présents",
    usage=USAGE,
    example=EXAMPLE,
    admin=True,
    parse=parse_atelier,
    details=DETAILS,
)
async def atelier(ctx: Context, args: AtelierArgs) -> None:
    if isinstance(args, Create):
        await _create(ctx, args, "atelier")
    elif isinstance(args, Cancel):
        await _cancel(ctx, args.workshop_id)
    elif isinstance(args, Modify):
        await _modify(ctx, args)
    else:
        # Imported here: the follow-up module imports this one (announce_workshop).
        from handlers.workshops import followup as workshop_followup

        if isinstance(args, Attendance):
            await workshop_followup.record_attendance(ctx, args.workshop_id, args.arguments)
        else:
            await workshop_followup.create_from_poll(ctx, args.poll_id, args.when)


@router.command(
    "cafe",
    summary="annonce un café numérique (mêmes inscriptions et invitation que !atelier)",
    usage=CAFE_USAGE,
    example=CAFE_EXAMPLE,
    admin=True,
    parse=parse_cafe,
    details=(
        "Comme !atelier : on peut ajouter « | 12 places » et « | minimum 4 ». Pour le modifier "
        "ou l’annuler : !atelier modifier <n°> …, !atelier annuler <n°>."
    ),
)
async def cafe(ctx: Context, args: Create) -> None:
    await _create(ctx, args, "cafe")


def _invalid(message: str, kind: Kind) -> InvalidArguments:
    if kind == "cafe":
        return InvalidArguments(message, usage=f"{PREFIX}cafe {CAFE_USAGE}", example=CAFE_EXAMPLE)
    return InvalidArguments(message, usage=f"{PREFIX}atelier {USAGE}", example=EXAMPLE)


async def _create(ctx: Context, args: Create, kind: Kind) -> None:
    try:
        starts_at = parse_when(args.when, ctx.now, ctx.tz)
    except InvalidArguments as exc:
        raise _invalid(exc.message, kind) from exc
    rooms = await announcement_rooms(ctx, ctx.room_id)
    workshop = await ctx.repos.workshops.create(
        kind=kind, theme=args.theme, starts_at=starts_at, place=args.place,
        capacity=args.capacity, minimum=args.minimum, organiser=ctx.sender, rooms=rooms,
        now=ctx.now,
    )  # fmt: skip
    await announce_workshop(ctx, workshop)
    names = ", ".join(ctx.info.room_name(r) for r in rooms)
    ctx.reply(
        f"{label(workshop)} annoncé dans {publishing.rooms_label(len(rooms))} : {names}. "
        f"Pour le modifier : !atelier modifier {workshop.id} <quand> [| lieu] ; "
        f"pour l’annuler : !atelier annuler {workshop.id}."
    )


async def get(ctx: AnyContext, workshop_id: int) -> Workshop:
    workshop = await ctx.repos.workshops.get(workshop_id)
    if workshop is None:
        raise NotFound(
            f"Aucun atelier ni café numérique n° {workshop_id}. "
            "Tapez !ateliers pour voir les prochains."
        )
    return workshop


def _is_past(workshop: Workshop, now: datetime) -> bool:
    return workshop.status == "done" or workshop.starts_at <= now


def is_open(workshop: Workshop, now: datetime) -> bool:
    return workshop.status == "planned" and not _is_past(workshop, now)


def check_changeable(workshop: Workshop, now: datetime, verb: str) -> None:
    if workshop.status == "cancelled":
        raise UserError(f"{capitalized(the(workshop))} est annulé : impossible de {verb}.")
    if _is_past(workshop, now):
        raise UserError(f"{capitalized(the(workshop))} a déjà eu lieu : impossible de {verb}.")


async def _signed_up(ctx: AnyContext, workshop: Workshop) -> list[str]:
    """Confirmed then waiting, in order."""
    signups = await ctx.repos.workshops.signups(workshop.id)
    return [s.user_id for s in signups if s.status != "cancelled"]


def _by_room(ctx: AnyContext, rooms: tuple[str, ...], users: list[str]) -> dict[str, list[str]]:
    """Each user in the first of `rooms` they are a member of (else the first room)."""
    assigned: dict[str, list[str]] = {room: [] for room in rooms}
    members = {room: set(ctx.info.member_ids(room)) for room in rooms}
    for user in users:
        room = next((r for r in rooms if user in members[r]), rooms[0])
        assigned[room].append(user)
    return assigned


async def _cancel(ctx: Context, workshop_id: int) -> None:
    workshop = await get(ctx, workshop_id)
    if workshop.status == "cancelled":
        raise UserError(f"{capitalized(the(workshop))} est déjà annulé.")
    check_changeable(workshop, ctx.now, "l’annuler")
    users = await _signed_up(ctx, workshop)
    await ctx.repos.workshops.set_status(workshop.id, "cancelled", ctx.now)
    cancelled = await get(ctx, workshop.id)
    when = when_label(workshop.starts_at, ctx.tz, ctx.now)
    for room_id, mentioned in _by_room(ctx, workshop.rooms, users).items():
        text = f"{icon(workshop)} {workshop_title(workshop)} ({when}) est annulé."
        if mentioned:
            text += f"\n{', '.join(mentioned)} : votre inscription est annulée, inutile de venir."
        tell(ctx.messenger, room_id, text, tuple(mentioned), kind=CANCEL_KIND,
              ref=(REF, workshop.id))  # fmt: skip
    await _send_ics(ctx, cancelled, cancelled=True)
    ctx.reply(f"{label(workshop)} annulé ; {people(len(users))}.")
    log.info("Workshop %d cancelled", workshop.id)


async def _modify(ctx: Context, args: Modify) -> None:
    workshop = await get(ctx, args.workshop_id)
    check_changeable(workshop, ctx.now, "le modifier")
    starts_at = workshop.starts_at
    if args.when is not None:
        try:
            starts_at = parse_when(args.when, ctx.now, ctx.tz)
        except InvalidArguments as exc:
            raise InvalidArguments(
                exc.message,
                usage=f"{PREFIX}atelier modifier <n°> <quand> [| lieu]",
                example=MODIFY_EXAMPLE,
            ) from exc
    place = args.place if args.place is not None else workshop.place
    if starts_at == workshop.starts_at and place == workshop.place:
        raise UserError(f"Rien ne change : {the(workshop)} est déjà prévu ainsi.")
    await ctx.repos.workshops.reschedule(workshop.id, starts_at=starts_at, place=place, now=ctx.now)
    updated = await get(ctx, workshop.id)
    users = await _signed_up(ctx, updated)
    old_when = when_label(workshop.starts_at, ctx.tz, ctx.now)
    new_when = when_label(starts_at, ctx.tz, ctx.now)
    when_line = f"Quand : {new_when}" + (
        f" (au lieu de {old_when})" if new_when != old_when else ""
    )
    where_line = f"Où : {place_label(place)}" + (
        f" (au lieu de {place_label(workshop.place)})" if place != workshop.place else ""
    )
    for room_id, mentioned in _by_room(ctx, updated.rooms, users).items():
        lines = [f"{icon(updated)} {workshop_title(updated)} : changement.", when_line, where_line]
        if mentioned:
            lines.append(
                f"{', '.join(mentioned)} : votre inscription est maintenue ; l’invitation mise "
                "à jour suit pour votre agenda."
            )
        text = "\n".join(lines)
        tell(ctx.messenger, room_id, text, tuple(mentioned), kind=CHANGE_KIND,
              ref=(REF, workshop.id))  # fmt: skip
    await edit_notices(ctx, updated)
    await _send_ics(ctx, updated)
    ctx.reply(f"{label(workshop)} modifié ; {people(len(users))}.")
    log.info("Workshop %d rescheduled", workshop.id)


async def edit_notices(ctx: AnyContext, workshop: Workshop, *, if_changed: bool = False) -> int:
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
            post.room_id, "m.room.message",
            edit_content(post.content, text, html=to_html(text, bold_first=True)),
            kind=NOTICE_EDIT_KIND, ref=(REF, workshop.id), relates_to_txn=post.txn_id,
        )  # fmt: skip
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


@router.command(
    "ateliers",
    summary="liste les prochains ateliers et cafés numériques, avec les places restantes",
    parse=no_arguments,
)
async def ateliers(ctx: Context, _: None) -> None:
    upcoming = await ctx.repos.workshops.upcoming(ctx.now)
    if not upcoming:
        ctx.reply("Aucun atelier ni café numérique n’est prévu pour l’instant.")
        return
    lines = ["Prochains ateliers et cafés numériques :"]
    for workshop in upcoming:
        signups = await ctx.repos.workshops.signups(workshop.id)
        confirmed = sum(1 for s in signups if s.status == "confirmed")
        waiting = sum(1 for s in signups if s.status == "waiting")
        registered = f"{confirmed} inscrit{'s' if confirmed > 1 else ''}"
        if workshop.capacity is None:
            places = f"{registered}, sans limite de places"
        else:
            left = max(workshop.capacity - confirmed, 0)
            places = (
                f"{registered}, {left} place{'s' if left > 1 else ''} "
                f"restante{'s' if left > 1 else ''} sur {workshop.capacity}"
            )
            if waiting:
                places += f", {waiting} en liste d’attente"
        lines.append(
            f"- {icon(workshop)} {workshop_title(workshop)} — "
            f"{when_label(workshop.starts_at, ctx.tz, ctx.now)}, {place_label(workshop.place)} "
            f"— {places}"
        )
    lines.append("Pour vous inscrire : réagissez 👍 à l’annonce ou tapez !inscription <n°>.")
    ctx.reply("\n".join(lines))
