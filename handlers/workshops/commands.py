"""`!atelier`, `!cafe`, `!ateliers`: announcing, changing, cancelling and listing workshops.

`!atelier` dispatches its sub-commands here: creation, `modifier` and
`annuler` are handled in this module, `presents` in attendance.py and
`depuis-sondage` in from_poll.py. Arguments, dates included, are parsed in
args.py before the handler runs; the notice and its .ics are in common.py.

Decisions:
- `!atelier annuler` and `!atelier modifier` post in every notice room, each
  signed-up person (confirmed or waiting) being mentioned once, in the first
  notice room they are a member of; a room with nobody to mention still gets
  the message. Both send an updated .ics (see common.py); `modifier` also edits
  the notices so that they show the new date and place.
- `modifier` with the same date and place is refused (« Rien ne change »):
  nobody is disturbed for nothing.
- `!cafe` accepts the same optional segments as `!atelier` (lieu, places,
  minimum); its usage shows only the lieu, the common case.
- A date on a public holiday, or in the school holidays of the configured zone
  (`[digest] zone`; without it only public holidays are known), is refused with
  the holiday's name, unless the command ends with « malgré-vacances » (args.py
  takes the word off; this module decides, as parsers do not see the settings).
  This holds for a creation (`!atelier`, `!cafe`), `depuis-sondage`, and a
  `modifier` that moves the workshop to another day (a new time or place on the
  same day was already accepted). Weekends as such stay allowed; the usage lines
  are unchanged, the flag is told in the details of `!aide atelier` / `!aide cafe`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import assert_never

from bot.context import Context
from bot.errors import UserError
from bot.ics import workshop_title
from bot.router import Router, no_arguments
from bot.school_calendar import SchoolCalendar
from bot.storage.workshops import Kind, Workshop
from handlers.announcements import publishing
from handlers.workshops.args import (
    CAFE_EXAMPLE,
    CAFE_USAGE,
    DESPITE_HOLIDAYS,
    EXAMPLE,
    USAGE,
    AtelierArgs,
    Attendance,
    Cancel,
    Create,
    FromPoll,
    Modify,
    parse_atelier,
    parse_cafe,
)
from handlers.workshops.attendance import record_attendance
from handlers.workshops.common import (
    REF,
    announce_workshop,
    announcement_rooms,
    by_room,
    check_changeable,
    edit_notices,
    get,
    get_changeable,
    send_ics,
    signed_up,
    skip_day_reminder,
)
from handlers.workshops.from_poll import create_from_poll
from handlers.workshops.texts import (
    DETAILS,
    capitalized,
    count_of,
    icon,
    label,
    people,
    place_label,
    public_holiday_refusal,
    school_holiday_refusal,
    tell,
    the,
    when_label,
)

log = logging.getLogger(__name__)

router = Router("atelier")

CANCEL_KIND = "workshop-cancellation"
CHANGE_KIND = "workshop-change"


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
    match args:
        case Create():
            await _create(ctx, args, "atelier")
        case Cancel():
            await _cancel(ctx, args.workshop_id)
        case Modify():
            await _modify(ctx, args)
        case Attendance():
            await record_attendance(ctx, args.workshop_id, args.arguments)
        case FromPoll():
            _check_calendar(ctx, args.when, args.despite_holidays)
            await create_from_poll(ctx, args.poll_id, args.when)
        case _:
            assert_never(args)


@router.command(
    "cafe",
    summary="annonce un café numérique (mêmes inscriptions et invitation que !atelier)",
    usage=CAFE_USAGE,
    example=CAFE_EXAMPLE,
    admin=True,
    parse=parse_cafe,
    details=(
        "Comme !atelier : on peut ajouter « | 12 places » et « | minimum 4 », et "
        f"« {DESPITE_HOLIDAYS} » à la fin pour maintenir un jour férié ou de vacances scolaires. "
        "Pour le modifier ou l’annuler : !atelier modifier <n°> …, !atelier annuler <n°>."
    ),
)
async def cafe(ctx: Context, args: Create) -> None:
    await _create(ctx, args, "cafe")


def _check_calendar(ctx: Context, starts_at: datetime, despite_holidays: bool) -> None:
    """Refuse a public holiday or a school-holiday day, unless the RUPN confirmed it."""
    if despite_holidays:
        return
    day = starts_at.astimezone(ctx.tz).date()
    zone = ctx.settings.school_zone
    calendar = SchoolCalendar(zone)
    if (holiday := calendar.public_holiday(day)) is not None:
        raise UserError(public_holiday_refusal(day, holiday))
    if zone is not None and (holidays := calendar.school_holiday(day)) is not None:
        raise UserError(school_holiday_refusal(day, holidays, zone))


async def _create(ctx: Context, args: Create, kind: Kind) -> None:
    _check_calendar(ctx, args.when, args.despite_holidays)
    rooms = await announcement_rooms(ctx, ctx.room_id)
    workshop = await ctx.repos.workshops.create(
        kind=kind,
        theme=args.theme,
        starts_at=args.when,
        place=args.place,
        capacity=args.capacity,
        minimum=args.minimum,
        organiser=ctx.sender,
        rooms=rooms,
        now=ctx.now,
    )
    await skip_day_reminder(ctx, workshop)
    await announce_workshop(ctx, workshop)
    names = ", ".join(ctx.info.room_name(r) for r in rooms)
    ctx.reply(
        f"{label(workshop)} annoncé dans {publishing.rooms_label(len(rooms))} : {names}. "
        f"Pour le modifier : !atelier modifier {workshop.number} <quand> [| lieu] ; "
        f"pour l’annuler : !atelier annuler {workshop.number}."
    )


def _tell_signed_up(
    ctx: Context,
    workshop: Workshop,
    users: list[str],
    text: Callable[[list[str]], str],
    kind: str,
) -> None:
    """One message per notice room, each person signed up mentioned once (see `by_room`)."""
    for room_id, mentioned in by_room(ctx, workshop.rooms, users).items():
        tell(
            ctx.messenger,
            room_id,
            text(mentioned),
            tuple(mentioned),
            kind=kind,
            ref=(REF, workshop.id),
        )


async def _cancel(ctx: Context, workshop_id: int) -> None:
    workshop = await get(ctx, workshop_id)
    if workshop.status == "cancelled":
        raise UserError(f"{capitalized(the(workshop))} est déjà annulé.")
    check_changeable(workshop, ctx.now, "l’annuler")
    users = await signed_up(ctx, workshop)
    await ctx.repos.workshops.set_status(workshop.id, "cancelled", ctx.now)
    cancelled = await get(ctx, workshop.number)
    when = when_label(workshop.starts_at, ctx.tz, ctx.now)

    def cancellation(mentioned: list[str]) -> str:
        text = f"{icon(workshop)} {workshop_title(workshop)} ({when}) est annulé."
        if mentioned:
            text += f"\n{', '.join(mentioned)} : votre inscription est annulée, inutile de venir."
        return text

    _tell_signed_up(ctx, workshop, users, cancellation, CANCEL_KIND)
    await send_ics(ctx, cancelled, cancelled=True)
    ctx.reply(f"{label(workshop)} annulé ; {people(len(users))}.")
    log.info("Workshop %d cancelled", workshop.id)


async def _modify(ctx: Context, args: Modify) -> None:
    workshop = await get_changeable(ctx, args.workshop_id, "le modifier")
    starts_at = args.when if args.when is not None else workshop.starts_at
    place = args.place if args.place is not None else workshop.place
    if starts_at == workshop.starts_at and place == workshop.place:
        raise UserError(f"Rien ne change : {the(workshop)} est déjà prévu ainsi.")
    if starts_at.astimezone(ctx.tz).date() != workshop.starts_at.astimezone(ctx.tz).date():
        _check_calendar(ctx, starts_at, args.despite_holidays)
    await ctx.repos.workshops.reschedule(workshop.id, starts_at=starts_at, place=place, now=ctx.now)
    if starts_at == workshop.starts_at:  # a new place only: what was sent is not sent again
        if workshop.reminded_day:
            await ctx.repos.workshops.mark(workshop.id, "reminded_day")
        if workshop.reminded_hour:
            await ctx.repos.workshops.mark(workshop.id, "reminded_hour")
        if workshop.minimum_checked:
            await ctx.repos.workshops.mark(workshop.id, "minimum_checked")
    updated = await get(ctx, workshop.number)
    await skip_day_reminder(ctx, updated)
    users = await signed_up(ctx, updated)
    old_when = when_label(workshop.starts_at, ctx.tz, ctx.now)
    new_when = when_label(starts_at, ctx.tz, ctx.now)
    when_line = f"Quand : {new_when}" + (
        f" (au lieu de {old_when})" if new_when != old_when else ""
    )
    where_line = f"Où : {place_label(place)}" + (
        f" (au lieu de {place_label(workshop.place)})" if place != workshop.place else ""
    )

    def change(mentioned: list[str]) -> str:
        lines = [f"{icon(updated)} {workshop_title(updated)} : changement.", when_line, where_line]
        if mentioned:
            lines.append(
                f"{', '.join(mentioned)} : votre inscription est maintenue ; l’invitation mise "
                "à jour suit pour votre agenda."
            )
        return "\n".join(lines)

    _tell_signed_up(ctx, updated, users, change, CHANGE_KIND)
    await edit_notices(ctx, updated)
    await send_ics(ctx, updated)
    ctx.reply(f"{label(workshop)} modifié ; {people(len(users))}.")
    log.info("Workshop %d rescheduled", workshop.id)


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
        lines.append(
            f"- {icon(workshop)} {workshop_title(workshop)} — "
            f"{when_label(workshop.starts_at, ctx.tz, ctx.now)}, {place_label(workshop.place)} "
            f"— {_places(workshop, confirmed, waiting)}"
        )
    lines.append("Pour vous inscrire : réagissez 👍 à l’annonce ou tapez !inscription <n°>.")
    ctx.reply("\n".join(lines))


def _places(workshop: Workshop, confirmed: int, waiting: int) -> str:
    """« 1 inscrit, 2 places restantes sur 3 », « 0 inscrit, sans limite de places »."""
    registered = count_of(confirmed, "inscrit")
    if workshop.capacity is None:
        return f"{registered}, sans limite de places"
    left = max(workshop.capacity - confirmed, 0)
    places = (
        f"{registered}, {count_of(left, 'place')} "
        f"restante{'s' if left > 1 else ''} sur {workshop.capacity}"
    )
    if waiting:
        places += f", {waiting} en liste d’attente"
    return places
