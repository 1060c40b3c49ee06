"""`!atelier`, `!cafe`, `!ateliers`, `!inscription`, `!desinscription`; sign-up by 👍.

An atelier or café numérique is announced in the diffusion rooms — or, when
there is none, in the room where the RUPN typed the command — as a notice
(kind "workshop-notice", ref ("workshop", n°)) followed by an .ics
invitation (kind "workshop-ics"). The rooms are stored with the workshop,
so changes and promotions are told where the notice went.

Decisions:
- A 👍 in any skin tone, with or without the variation selector, on one of
  the notices signs up; redacting that reaction cancels. Other reactions, and
  reactions on a cancelled or past workshop, are ignored silently. If someone
  already signed up with the command reacts too, the reaction is only attached
  to the sign-up (removing it then cancels).
- Each change is told in the room where it happened, mentioning the person
  (a reply for commands, a notice for reactions). A promotion from the waiting
  list is told in the first notice room the promoted person is a member of
  (else the first notice room).
- `!atelier annuler` and `!atelier modifier` post in every notice room, each
  signed-up person being mentioned once, in the first notice room they are a
  member of. They also send an updated .ics whose SEQUENCE is the number of
  invitations already sent for the workshop in its first room (nothing new is
  stored); a cancellation sends METHOD:CANCEL / STATUS:CANCELLED. `modifier`
  also edits the notice (m.replace) so that it shows the new date and place.
- The « Places » line of the notice is the state at announcement time;
  `!ateliers` gives the live count.
- `!cafe` accepts the same optional segments as `!atelier` (lieu, places,
  minimum); its usage shows only the lieu, the common case.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.context import Context, JobContext
from bot.domain import IncomingReaction, IncomingRedaction
from bot.errors import InvalidArguments, NotFound, UserError
from bot.ics import workshop_ics, workshop_title
from bot.messenger import Messenger, Ref, notice_content
from bot.processor import usage_text
from bot.router import PREFIX, Router, no_arguments, normalize
from bot.storage.workshops import Kind, SignupChange, Workshop
from bot.when import format_when, parse_when
from handlers import publishing

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

THUMBS_UP = "\U0001f44d"
_SKIN_TONES = {chr(c) for c in range(0x1F3FB, 0x1F400)}
_VARIATION_SELECTORS = {"\ufe0e", "\ufe0f"}

MAX_THEME_CHARS = 200
MAX_PLACE_CHARS = 120
MAX_NUMBER_DIGITS = 9

USAGE = "<quand> | <thème> [| lieu] [| places] [| minimum N]"
EXAMPLE = "!atelier jeudi 14 décembre 12h30 | Pronote : le cahier de textes | CDI | 12 places"
CAFE_USAGE = "<quand> | <thème> [| lieu]"
CAFE_EXAMPLE = "!cafe mardi 12h30 | L’IA générative en classe | salle des professeurs"
MODIFY_EXAMPLE = "!atelier modifier 3 jeudi 12h30 | CDI"

AnyContext = Context | JobContext
"""Handlers and scheduled jobs (handlers/workshop_followup.py) both announce workshops."""


# --- arguments ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Create:
    when: str
    theme: str
    place: str | None = None
    capacity: int | None = None
    minimum: int | None = None


@dataclass(frozen=True)
class Cancel:
    workshop_id: int


@dataclass(frozen=True)
class Modify:
    workshop_id: int
    when: str | None  # None: same date
    place: str | None  # None: same place


@dataclass(frozen=True)
class Attendance:
    workshop_id: int
    arguments: str


@dataclass(frozen=True)
class FromPoll:
    poll_id: int
    when: str


AtelierArgs = Create | Cancel | Modify | Attendance | FromPoll

_PLACES = re.compile(r"([0-9]+)(?:\s*places?)?", re.IGNORECASE)
_MINIMUM = re.compile(r"min(?:imum)?(?:\s*:\s*|\s+)(.*)", re.IGNORECASE)
_MENTIONS_PLACES = re.compile(r"\bplaces?$", re.IGNORECASE)


def _number(word: str) -> int | None:
    word = word.removeprefix("n°").removeprefix("#")
    if word.isascii() and word.isdigit() and len(word) <= MAX_NUMBER_DIGITS:
        return int(word)
    return None


def _positive(word: str) -> int | None:
    number = _number(word)
    return number if number is not None and number > 0 else None


def parse_atelier(text: str) -> AtelierArgs:
    """Sub-commands by their first word; anything else creates an atelier."""
    words = text.split(maxsplit=1)
    if words:
        keyword = normalize(words[0])
        rest = words[1].strip() if len(words) > 1 else ""
        if keyword == "annuler":
            return _parse_cancel(rest)
        if keyword == "modifier":
            return _parse_modify(rest)
        if keyword in ("presents", "present", "presences"):
            return _parse_attendance(rest)
        if keyword == "depuis-sondage":
            return _parse_from_poll(rest)
    return parse_create(text)


def parse_cafe(text: str) -> Create:
    return parse_create(text)


def parse_create(text: str) -> Create:
    segments = [segment.strip() for segment in text.split("|")]
    if len(segments) < 2 or not segments[0] or not segments[1]:
        raise InvalidArguments("Donnez la date puis le thème, séparés par « | ».")
    when, theme = segments[0], " ".join(segments[1].split())
    if len(theme) > MAX_THEME_CHARS:
        raise InvalidArguments(f"Le thème est trop long ({MAX_THEME_CHARS} caractères au plus).")
    place: str | None = None
    capacity: int | None = None
    minimum: int | None = None
    for segment in segments[2:]:
        segment = " ".join(segment.split())
        if not segment:
            continue
        if (found := _MINIMUM.fullmatch(segment)) is not None:
            if minimum is not None:
                raise InvalidArguments("Le minimum est donné deux fois.")
            minimum = _positive(found[1].strip())
            if minimum is None:
                raise InvalidArguments(
                    f"« {segment} » : le minimum doit être un nombre entier positif, "
                    "par exemple « minimum 4 »."
                )
        elif (found := _PLACES.fullmatch(segment)) is not None or _MENTIONS_PLACES.search(segment):
            if capacity is not None:
                raise InvalidArguments("Le nombre de places est donné deux fois.")
            capacity = _positive(found[1]) if found is not None else None
            if capacity is None:
                raise InvalidArguments(
                    f"« {segment} » : le nombre de places doit être un nombre entier positif, "
                    "par exemple « 12 places »."
                )
        else:
            if place is not None:
                raise InvalidArguments(
                    f"Deux lieux sont donnés (« {place} » et « {segment} ») : un seul est attendu."
                )
            if len(segment) > MAX_PLACE_CHARS:
                raise InvalidArguments(
                    f"Le lieu est trop long ({MAX_PLACE_CHARS} caractères au plus)."
                )
            place = segment
    if minimum is not None and capacity is not None and minimum > capacity:
        raise InvalidArguments(f"Le minimum ({minimum}) dépasse le nombre de places ({capacity}).")
    return Create(when, theme, place, capacity, minimum)


def _parse_cancel(rest: str) -> Cancel:
    number = _number(rest)
    if number is None:
        raise InvalidArguments(
            "Donnez le numéro de l’atelier à annuler, par exemple « !atelier annuler 3 »."
        )
    return Cancel(number)


def _parse_modify(rest: str) -> Modify:
    words = rest.split(maxsplit=1)
    number = _number(words[0]) if words else None
    after = words[1] if len(words) > 1 else ""
    when, _, place = after.partition("|")
    when, place = " ".join(when.split()), " ".join(place.split())
    if number is None or not (when or place):
        raise InvalidArguments(
            "Donnez le numéro de l’atelier puis la nouvelle date et/ou le nouveau lieu, "
            f"par exemple « {MODIFY_EXAMPLE} » ou « !atelier modifier 3 | salle 12 »."
        )
    if "|" in place:
        raise InvalidArguments(
            f"Après la nouvelle date, donnez au plus un lieu, par exemple « {MODIFY_EXAMPLE} »."
        )
    if len(place) > MAX_PLACE_CHARS:
        raise InvalidArguments(f"Le lieu est trop long ({MAX_PLACE_CHARS} caractères au plus).")
    return Modify(number, when or None, place or None)


def _parse_attendance(rest: str) -> Attendance:
    words = rest.split(maxsplit=1)
    number = _number(words[0]) if words else None
    if number is None:
        raise InvalidArguments(
            "Donnez le numéro de l’atelier puis les présents, par exemple "
            "« !atelier presents 3 @a:exemple.fr @b:exemple.fr » ou « !atelier presents 3 tous »."
        )
    return Attendance(number, words[1].strip() if len(words) > 1 else "")


def _parse_from_poll(rest: str) -> FromPoll:
    words = rest.split(maxsplit=1)
    number = _number(words[0]) if words else None
    if number is None or len(words) < 2:
        raise InvalidArguments(
            "Donnez le numéro du sondage puis la date, par exemple "
            "« !atelier depuis-sondage 2 jeudi 12h30 »."
        )
    return FromPoll(number, words[1].strip())


def parse_workshop_number(text: str) -> int:
    """`!inscription 3`, `!desinscription n°3`."""
    number = _number(text.strip())
    if number is None:
        raise InvalidArguments(
            "Donnez le numéro de l’atelier ou du café numérique. Tapez !ateliers pour voir "
            "les numéros."
        )
    return number


# --- texts ----------------------------------------------------------------------------------


def icon(workshop: Workshop) -> str:
    return "☕" if workshop.kind == "cafe" else "🛠️"


def label(workshop: Workshop) -> str:
    """« Atelier n° 3 », « Café numérique n° 3 »."""
    return f"{'Café numérique' if workshop.kind == 'cafe' else 'Atelier'} n° {workshop.id}"


def the(workshop: Workshop) -> str:
    """« l’atelier n° 3 », « le café numérique n° 3 »."""
    return ("le café numérique" if workshop.kind == "cafe" else "l’atelier") + f" n° {workshop.id}"


def to_the(workshop: Workshop) -> str:
    """« à l’atelier n° 3 », « au café numérique n° 3 »."""
    return (
        "au café numérique" if workshop.kind == "cafe" else "à l’atelier"
    ) + f" n° {workshop.id}"


def when_label(moment: datetime, tz: ZoneInfo, now: datetime) -> str:
    """« mardi 1 décembre à 12h30 », with the year when it is not the current one."""
    return format_when(moment, tz, with_year=moment.astimezone(tz).year != now.astimezone(tz).year)


def place_label(place: str | None) -> str:
    return place or "lieu à préciser"


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _people(count: int) -> str:
    if count == 0:
        return "aucune personne inscrite à prévenir"
    if count == 1:
        return "1 personne inscrite prévenue"
    return f"{count} personnes inscrites prévenues"


def _remaining(capacity: int, confirmed: int) -> str:
    left = max(capacity - confirmed, 0)
    if left == 0:
        return "complet"
    return f"{left} restante{'s' if left > 1 else ''}"


def notice_text(workshop: Workshop, confirmed: int, tz: ZoneInfo, now: datetime) -> str:
    places = (
        "sans limite"
        if workshop.capacity is None
        else f"{workshop.capacity} ({_remaining(workshop.capacity, confirmed)})"
    )
    lines = [
        f"{icon(workshop)} {workshop_title(workshop)}",
        f"Quand : {when_label(workshop.starts_at, tz, now)}",
        f"Où : {place_label(workshop.place)}",
        f"Places : {places}",
    ]
    if workshop.minimum is not None:
        lines.append(
            f"À la demande : il aura lieu si au moins {workshop.minimum} personnes s’inscrivent."
        )
    lines.append(
        f"Pour vous inscrire : réagissez 👍 à ce message, ou tapez !inscription {workshop.id} ; "
        "pour vous désinscrire : retirez votre réaction ou tapez "
        f"!desinscription {workshop.id}."
    )
    return "\n".join(lines)


def _html(text: str, mentions: tuple[str, ...] = (), *, bold_first: bool = False) -> str:
    """Escaped text, line breaks kept, the mentioned ids as matrix.to links (pills)."""
    lines = [html.escape(line, quote=False) for line in text.split("\n")]
    if bold_first and lines:
        lines[0] = f"<strong>{lines[0]}</strong>"
    body = "<br>".join(lines)
    for user in sorted(set(mentions), key=len, reverse=True):
        escaped = html.escape(user, quote=False)
        body = body.replace(
            escaped, f'<a href="https://matrix.to/#/{html.escape(user)}">{escaped}</a>'
        )
    return f"<p>{body}</p>"


def _tell(
    messenger: Messenger,
    room_id: str,
    text: str,
    mentions: tuple[str, ...],
    *,
    kind: str,
    ref: Ref | None,
    reply_to: str | None = None,
) -> str:
    return messenger.send(
        room_id, text, html=_html(text, mentions), mentions=mentions, reply_to=reply_to,
        kind=kind, ref=ref,
    )  # fmt: skip


def is_thumbs_up(key: str) -> bool:
    """👍 in any skin tone, with or without a variation selector."""
    stripped = "".join(c for c in key.strip() if c not in _SKIN_TONES | _VARIATION_SELECTORS)
    return unicodedata.normalize("NFC", stripped) == THUMBS_UP


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


async def announce_workshop(ctx: AnyContext, workshop: Workshop) -> None:
    """Post the notice and its .ics invitation in each of the workshop's rooms."""
    confirmed = sum(
        1 for s in await ctx.repos.workshops.signups(workshop.id) if s.status == "confirmed"
    )
    text = notice_text(workshop, confirmed, ctx.settings.tz, ctx.now)
    for room_id in workshop.rooms:
        ctx.messenger.send(
            room_id, text, html=_html(text, bold_first=True), kind=NOTICE_KIND,
            ref=(REF, workshop.id),
        )  # fmt: skip
    await _send_ics(ctx, workshop)
    log.info("Workshop %d announced in %d rooms", workshop.id, len(workshop.rooms))


# --- commands -------------------------------------------------------------------------------

DETAILS = (
    "Séparez la date, le thème et les options par des barres « | ». Options, dans n’importe "
    "quel ordre après le thème :\n"
    "- un lieu, par exemple « CDI »\n"
    "- un nombre de places, par exemple « 12 places » ou « 12 » (au-delà : liste d’attente, "
    "promue dans l’ordre quand une place se libère)\n"
    "- minimum N — atelier « à la demande » : s’il y a moins de N inscrits peu avant, le bot "
    "vous demande de confirmer ou d’annuler\n"
    "L’annonce part dans les salons de diffusion (ou dans ce salon s’il n’y en a aucun), avec "
    "une invitation .ics pour l’agenda. On s’inscrit en réagissant 👍 à l’annonce ou avec "
    "!inscription <n°>.\n"
    "- !atelier modifier <n°> <quand> [| lieu] — change la date et/ou le lieu "
    "(« !atelier modifier 3 | salle 12 » ne change que le lieu), prévient les inscrits et "
    "envoie l’invitation mise à jour\n"
    "- !atelier annuler <n°> — annule et prévient les inscrits\n"
    "- !atelier presents <n°> @a @b … (ou « tous ») — enregistre les présents\n"
    "- !atelier depuis-sondage <n° de sondage> <quand> — crée un atelier sur le thème en tête "
    "du sondage et invite ceux qui l’ont choisi\n"
    "Tapez !ateliers pour retrouver les numéros."
)


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
        from handlers import workshop_followup

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
        return InvalidArguments(usage_text(message, f"{PREFIX}cafe {CAFE_USAGE}", CAFE_EXAMPLE))
    return InvalidArguments(usage_text(message, f"{PREFIX}atelier {USAGE}", EXAMPLE))


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


async def _get(ctx: AnyContext, workshop_id: int) -> Workshop:
    workshop = await ctx.repos.workshops.get(workshop_id)
    if workshop is None:
        raise NotFound(
            f"Aucun atelier ni café numérique n° {workshop_id}. "
            "Tapez !ateliers pour voir les prochains."
        )
    return workshop


def _is_past(workshop: Workshop, now: datetime) -> bool:
    return workshop.status == "done" or workshop.starts_at <= now


def _open(workshop: Workshop, now: datetime) -> bool:
    return workshop.status == "planned" and not _is_past(workshop, now)


def _check_changeable(workshop: Workshop, now: datetime, verb: str) -> None:
    if workshop.status == "cancelled":
        raise UserError(f"{_capitalized(the(workshop))} est annulé : impossible de {verb}.")
    if _is_past(workshop, now):
        raise UserError(f"{_capitalized(the(workshop))} a déjà eu lieu : impossible de {verb}.")


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
    workshop = await _get(ctx, workshop_id)
    if workshop.status == "cancelled":
        raise UserError(f"{_capitalized(the(workshop))} est déjà annulé.")
    _check_changeable(workshop, ctx.now, "l’annuler")
    users = await _signed_up(ctx, workshop)
    await ctx.repos.workshops.set_status(workshop.id, "cancelled", ctx.now)
    cancelled = await _get(ctx, workshop.id)
    when = when_label(workshop.starts_at, ctx.tz, ctx.now)
    for room_id, mentioned in _by_room(ctx, workshop.rooms, users).items():
        text = f"{icon(workshop)} {workshop_title(workshop)} ({when}) est annulé."
        if mentioned:
            text += f"\n{', '.join(mentioned)} : votre inscription est annulée, inutile de venir."
        _tell(ctx.messenger, room_id, text, tuple(mentioned), kind=CANCEL_KIND,
              ref=(REF, workshop.id))  # fmt: skip
    await _send_ics(ctx, cancelled, cancelled=True)
    ctx.reply(f"{label(workshop)} annulé ; {_people(len(users))}.")
    log.info("Workshop %d cancelled", workshop.id)


async def _modify(ctx: Context, args: Modify) -> None:
    workshop = await _get(ctx, args.workshop_id)
    _check_changeable(workshop, ctx.now, "le modifier")
    starts_at = workshop.starts_at
    if args.when is not None:
        try:
            starts_at = parse_when(args.when, ctx.now, ctx.tz)
        except InvalidArguments as exc:
            raise InvalidArguments(
                usage_text(
                    exc.message, f"{PREFIX}atelier modifier <n°> <quand> [| lieu]", MODIFY_EXAMPLE
                )
            ) from exc
    place = args.place if args.place is not None else workshop.place
    if starts_at == workshop.starts_at and place == workshop.place:
        raise UserError(f"Rien ne change : {the(workshop)} est déjà prévu ainsi.")
    await ctx.repos.workshops.reschedule(workshop.id, starts_at=starts_at, place=place, now=ctx.now)
    updated = await _get(ctx, workshop.id)
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
        _tell(ctx.messenger, room_id, text, tuple(mentioned), kind=CHANGE_KIND,
              ref=(REF, workshop.id))  # fmt: skip
    await _edit_notices(ctx, updated)
    await _send_ics(ctx, updated)
    ctx.reply(f"{label(workshop)} modifié ; {_people(len(users))}.")
    log.info("Workshop %d rescheduled", workshop.id)


async def _edit_notices(ctx: AnyContext, workshop: Workshop) -> None:
    """An m.replace edit of each notice, showing the new date and place."""
    confirmed = sum(
        1 for s in await ctx.repos.workshops.signups(workshop.id) if s.status == "confirmed"
    )
    text = notice_text(workshop, confirmed, ctx.settings.tz, ctx.now)
    new = notice_content(text, html=_html(text, bold_first=True))
    for post in await ctx.repos.posts.by_ref(REF, workshop.id):
        if post.kind != NOTICE_KIND or post.status == "failed":
            continue
        content = {
            **notice_content(f"* {text}", html=_html(f"* {text}", bold_first=True)),
            "m.new_content": new,
            "m.relates_to": {"rel_type": "m.replace"},
        }
        ctx.messenger.send_event(
            post.room_id, "m.room.message", content, kind=NOTICE_EDIT_KIND,
            ref=(REF, workshop.id), relates_to_txn=post.txn_id,
        )  # fmt: skip


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


# --- sign-up ----------------------------------------------------------------------------------


async def _position(ctx: AnyContext, workshop_id: int, user_id: str) -> int:
    waiting = [
        s.user_id for s in await ctx.repos.workshops.signups(workshop_id) if s.status == "waiting"
    ]
    return waiting.index(user_id) + 1 if user_id in waiting else 0


async def _signup_text(ctx: AnyContext, workshop: Workshop, change: SignupChange) -> str:
    user = change.user_id
    when = when_label(workshop.starts_at, ctx.settings.tz, ctx.now)
    if change.before is None and change.after == "confirmed":
        return f"{user} : inscription confirmée {to_the(workshop)} ({when})."
    position = await _position(ctx, workshop.id, user)
    if change.before is None:
        return (
            f"{user} : {the(workshop)} ({when}) est complet : vous êtes sur liste d’attente "
            f"(position {position})."
        )
    if change.after == "confirmed":
        return f"{user} : vous êtes déjà inscrit(e) {to_the(workshop)} ({when})."
    return f"{user} : vous êtes déjà sur liste d’attente (position {position})."


def _promotion_room(ctx: AnyContext, workshop: Workshop, user: str, fallback: str) -> str:
    for room in workshop.rooms:
        if user in ctx.info.member_ids(room):
            return room
    return workshop.rooms[0] if workshop.rooms else fallback


def _tell_promotion(ctx: AnyContext, workshop: Workshop, promoted: str, fallback: str) -> None:
    text = (
        f"{promoted} : une place s’est libérée, votre inscription {to_the(workshop)} est confirmée."
    )
    room = _promotion_room(ctx, workshop, promoted, fallback)
    _tell(ctx.messenger, room, text, (promoted,), kind=PROMOTION_KIND, ref=(REF, workshop.id))


@router.command(
    "inscription",
    summary="vous inscrit à un atelier ou un café numérique (comme réagir 👍 à son annonce)",
    usage="<n°>",
    example="!inscription 3",
    parse=parse_workshop_number,
)
async def inscription(ctx: Context, workshop_id: int) -> None:
    workshop = await _get(ctx, workshop_id)
    _check_changeable(workshop, ctx.now, "s’y inscrire")
    change = await ctx.repos.workshops.sign_up(workshop, ctx.sender, via="command", now=ctx.now)
    text = await _signup_text(ctx, workshop, change)
    _tell(ctx.messenger, ctx.room_id, text, (ctx.sender,), kind="reply", ref=(REF, workshop.id),
          reply_to=ctx.event_id)  # fmt: skip


@router.command(
    "desinscription",
    summary="retire votre inscription à un atelier ou un café numérique",
    usage="<n°>",
    example="!desinscription 3",
    parse=parse_workshop_number,
)
async def desinscription(ctx: Context, workshop_id: int) -> None:
    workshop = await _get(ctx, workshop_id)
    _check_changeable(workshop, ctx.now, "s’en désinscrire")
    change = await ctx.repos.workshops.cancel(workshop, ctx.sender, ctx.now)
    if change.before is None:
        text = f"{ctx.sender} : vous n’étiez pas inscrit(e) {to_the(workshop)}."
    else:
        text = f"{ctx.sender} : désinscription enregistrée pour {the(workshop)}."
    _tell(ctx.messenger, ctx.room_id, text, (ctx.sender,), kind="reply", ref=(REF, workshop.id),
          reply_to=ctx.event_id)  # fmt: skip
    if change.promoted is not None:
        _tell_promotion(ctx, workshop, change.promoted, ctx.room_id)


@router.on(IncomingReaction)
async def on_reaction(ctx: Context, event: IncomingReaction) -> None:
    if event.sender == ctx.settings.bot_user_id or not is_thumbs_up(event.key):
        return
    post = await ctx.repos.posts.by_event_id(event.target_event_id)
    if post is None or post.kind != NOTICE_KIND or post.ref_type != REF or post.ref_id is None:
        return
    workshop = await ctx.repos.workshops.get(post.ref_id)
    if workshop is None or not _open(workshop, ctx.now):
        return
    change = await ctx.repos.workshops.sign_up(
        workshop, event.sender, via="reaction", now=ctx.now, reaction_event_id=event.event_id
    )
    if change.before is not None:
        return  # already signed up (by command, or with another 👍): the reaction is attached
    text = await _signup_text(ctx, workshop, change)
    _tell(ctx.messenger, event.room_id, text, (event.sender,), kind=SIGNUP_KIND,
          ref=(REF, workshop.id))  # fmt: skip
    log.info("Sign-up of %s to workshop %d by reaction", event.sender, workshop.id)


@router.on(IncomingRedaction)
async def on_redaction(ctx: Context, event: IncomingRedaction) -> None:
    found = await ctx.repos.workshops.by_reaction(event.redacted_event_id)
    if found is None:
        return
    workshop_id, user = found
    workshop = await ctx.repos.workshops.get(workshop_id)
    if workshop is None or not _open(workshop, ctx.now):
        return
    change = await ctx.repos.workshops.cancel(workshop, user, ctx.now)
    if change.before is None:
        return
    text = f"{user} : désinscription enregistrée pour {the(workshop)}."
    _tell(ctx.messenger, event.room_id, text, (user,), kind=SIGNUP_KIND, ref=(REF, workshop.id))
    if change.promoted is not None:
        _tell_promotion(ctx, workshop, change.promoted, event.room_id)
    log.info("Sign-up of %s to workshop %d withdrawn (reaction removed)", user, workshop.id)
