"""Ateliers after their announcement: reminders, the « à la demande » minimum,
attendance with a feedback poll, and ateliers created from a needs poll.

`handlers/workshops.py` (`!atelier`) dispatches `!atelier presents …` to
`record_attendance` and `!atelier depuis-sondage …` to `create_from_poll`; the
job `ateliers-suivi` (`follow_up`) sends the reminders and the minimum check.

Decisions:
- Every reminder and check is marked in the database in the same unit (one
  transaction) as the posts it queues: each is sent once, even across restarts.
- Reminders are mentions in the workshop's notice rooms (m.mentions), never
  direct messages: opening a direct room needs network calls that a job must
  not make inside a unit. Each confirmed participant is mentioned once, in the
  first notice room they are a member of (the first notice room if none).
  With nobody signed up, no reminder is posted (it is still marked).
- Day before: due 24 h before the start; if the bot was down and less than
  `STILL_USEFUL` (1 h) remains, it is skipped (the hour-before one follows).
  Hour before: due 1 h before; skipped if the start has passed.
- Minimum: checked once, `MINIMUM_CHECK_BEFORE` (48 h) before the start — two
  days leave the RUPN time to cancel and colleagues time to rearrange; a
  workshop created later than that is checked at once. Nothing is sent if the
  start has passed or the minimum is reached.
- Attendance: « tous » means every confirmed sign-up came; otherwise Matrix
  ids (« @a:srv »), or a sign-up's local part (« @a », « a »). Someone present
  who had not signed up is added as a sign-up (via « command ») so that the
  bilan counts them. The feedback poll is posted once (the first time
  attendance is recorded), anonymous, single choice, ending 7 days later.
- From a poll: the leading theme by votes (ties: the poll's order). Voters
  are mentioned only for a non-anonymous poll; an anonymous poll never names
  anyone (and a closed one no longer knows its voters at all).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.context import Context, JobContext
from bot.errors import InvalidArguments, NotFound, UserError
from bot.router import Router, normalize
from bot.storage.polls import Answer, Poll
from bot.storage.workshops import Workshop
from bot.tally import tally
from bot.when import parse_when
from bot.work import Units
from handlers.announcements import publishing
from handlers.polls import commands as polls
from handlers.polls import format as poll_format
from handlers.workshops import commands as workshops
from handlers.workshops import texts as workshop_texts

log = logging.getLogger(__name__)

router = Router("ateliers-suivi")

TICK_S = 30.0
DAY_BEFORE = timedelta(hours=24)
HOUR_BEFORE = timedelta(hours=1)
STILL_USEFUL = timedelta(hours=1)  # a late day-before reminder needs at least this much left
MINIMUM_CHECK_BEFORE = timedelta(hours=48)
DIRECT_ROOMS_AHEAD = timedelta(days=7)
FEEDBACK_DAYS = 7

REF = "workshop"
REMINDER_DAY_KIND = "workshop-reminder-day"
REMINDER_HOUR_KIND = "workshop-reminder-hour"
MINIMUM_KIND = "workshop-minimum"
INVITATION_KIND = "workshop-poll-invitation"

FEEDBACK_QUESTION = "Cet atelier vous a-t-il été utile ?"
FEEDBACK_QUESTION_CAFE = "Ce café numérique vous a-t-il été utile ?"
FEEDBACK_ANSWERS = ("Oui, très", "Un peu", "Pas vraiment")
FEEDBACK_TEMPLATE = "retour-atelier"


# --- texts -------------------------------------------------------------------------------


def label(workshop: Workshop) -> str:
    """« atelier n° 3 « Pronote » » or « café numérique n° 3 « ENT » »."""
    kind = "café numérique" if workshop.kind == "cafe" else "atelier"
    return f"{kind} n° {workshop.id} « {workshop.theme} »"


def _clock(workshop: Workshop, tz: ZoneInfo) -> str:
    local = workshop.starts_at.astimezone(tz)
    return f"{local.hour}h{local.minute:02d}"


def _place(workshop: Workshop) -> str:
    return f", {workshop.place}" if workshop.place else ""


def _plural(count: int, word: str) -> str:
    return poll_format.plural(count, word)


def day_reminder_text(workshop: Workshop, now: datetime, tz: ZoneInfo) -> str:
    start = workshop.starts_at.astimezone(tz)
    today = now.astimezone(tz).date()
    if start.date() == today:
        day = "aujourd’hui"
    elif start.date() == today + timedelta(days=1):
        day = "demain"
    else:  # not reached: the reminder is due 24 h before
        day = f"le {start.day}/{start.month}"
    return f"📅 Rappel : {label(workshop)} {day} à {_clock(workshop, tz)}{_place(workshop)}."


def hour_reminder_text(workshop: Workshop, now: datetime, tz: ZoneInfo) -> str:
    return f"⏰ Dans une heure : {label(workshop)} à {_clock(workshop, tz)}{_place(workshop)}."


def _with_people(text: str, people: Sequence[str]) -> str:
    return f"{text}\nInscrits : {', '.join(people)}"


def minimum_text(workshop: Workshop, confirmed: int) -> str:
    signed = "inscrit" if confirmed <= 1 else "inscrits"
    article = "Le " if workshop.kind == "cafe" else "L’"
    return (
        f"{article}{label(workshop)} n’a que {confirmed} {signed} pour un minimum de "
        f"{workshop.minimum}. Confirmez-le en ne faisant rien, ou annulez-le : "
        f"!atelier annuler {workshop.id}."
    )


# --- the job -----------------------------------------------------------------------------


def _by_room(ctx: JobContext, workshop: Workshop, people: Sequence[str]) -> dict[str, list[str]]:
    """Each person in the first notice room they are a member of (else the first room)."""
    grouped: dict[str, list[str]] = {}
    members = {room: set(ctx.info.member_ids(room)) for room in workshop.rooms}
    for person in people:
        room = next((r for r in workshop.rooms if person in members[r]), workshop.rooms[0])
        grouped.setdefault(room, []).append(person)
    return grouped


def _remind(
    ctx: JobContext,
    workshop: Workshop,
    people: Sequence[str],
    text: str,
    kind: str,
    direct: Mapping[str, str],
) -> None:
    """In each person's direct room when configured and open, else one message per room."""
    in_rooms: list[str] = []
    for person in people:
        room = direct.get(person)
        # Only once they have joined: a message sent before would not be readable by them.
        if (
            ctx.settings.workshop_reminders == "prive"
            and room
            and person in ctx.info.member_ids(room)
        ):
            ctx.messenger.send(
                room, _with_people(text, [person]), mentions=(person,), kind=kind,
                ref=(REF, workshop.id),
            )  # fmt: skip
        else:
            in_rooms.append(person)
    if not workshop.rooms or not in_rooms:
        return
    for room, mentioned in _by_room(ctx, workshop, in_rooms).items():
        ctx.messenger.send(
            room, _with_people(text, mentioned), mentions=mentioned, kind=kind,
            ref=(REF, workshop.id),
        )  # fmt: skip


async def _follow(ctx: JobContext, workshop: Workshop, direct: Mapping[str, str]) -> None:
    now, tz, repo = ctx.now, ctx.settings.tz, ctx.repos.workshops
    start = workshop.starts_at
    signups = await repo.signups(workshop.id)
    confirmed = [s.user_id for s in signups if s.status == "confirmed"]

    if workshop.minimum and not workshop.minimum_checked and now >= start - MINIMUM_CHECK_BEFORE:
        await repo.mark(workshop.id, "minimum_checked")
        if now < start and len(confirmed) < workshop.minimum:
            rooms = list(ctx.settings.curation_rooms) or list(workshop.rooms[:1])
            for room in rooms:
                ctx.messenger.send(
                    room, minimum_text(workshop, len(confirmed)), mentions=(workshop.organiser,),
                    kind=MINIMUM_KIND, ref=(REF, workshop.id),
                )  # fmt: skip
            log.info("Workshop %d below its minimum: organiser asked", workshop.id)

    if not workshop.reminded_day and now >= start - DAY_BEFORE:
        await repo.mark(workshop.id, "reminded_day")
        if now < start - STILL_USEFUL and confirmed:
            text = day_reminder_text(workshop, now, tz)
            _remind(ctx, workshop, confirmed, text, REMINDER_DAY_KIND, direct)
            log.info("Workshop %d: day-before reminder", workshop.id)

    if not workshop.reminded_hour and now >= start - HOUR_BEFORE:
        await repo.mark(workshop.id, "reminded_hour")
        if now < start and confirmed:
            text = hour_reminder_text(workshop, now, tz)
            _remind(ctx, workshop, confirmed, text, REMINDER_HOUR_KIND, direct)
            log.info("Workshop %d: hour-before reminder", workshop.id)


def _needs_follow_up(workshop: Workshop) -> bool:
    return not (
        workshop.reminded_day
        and workshop.reminded_hour
        and (workshop.minimum_checked or not workshop.minimum)
    )


@router.job("ateliers-suivi", every_seconds=lambda settings: TICK_S)
async def follow_up(units: Units) -> None:
    """Reminders and minimum checks that are due (including those due while the bot was down)."""
    horizon = max(DAY_BEFORE, HOUR_BEFORE, MINIMUM_CHECK_BEFORE)
    direct: dict[str, str] = {}
    if units.settings.workshop_reminders == "prive" and units.direct_rooms is not None:
        # Opening direct rooms is network work: done before the unit, never inside it, and
        # a week ahead, so that people have joined them before their reminders are due.
        async with units.unit() as ctx:
            people = [
                s.user_id
                for w in await ctx.repos.workshops.planned_before(ctx.now + DIRECT_ROOMS_AHEAD)
                if not (w.reminded_day and w.reminded_hour)
                for s in await ctx.repos.workshops.signups(w.id)
                if s.status == "confirmed"
            ]
        if people:
            direct = await units.direct_rooms.ensure(people)
    async with units.unit() as ctx:
        for workshop in await ctx.repos.workshops.planned_before(ctx.now + horizon):
            if _needs_follow_up(workshop):
                await _follow(ctx, workshop, direct)


# --- attendance and feedback -------------------------------------------------------------


async def _workshop(ctx: Context, workshop_id: int) -> Workshop:
    workshop = await ctx.repos.workshops.get(workshop_id)
    if workshop is None:
        raise NotFound(f"Aucun atelier n° {workshop_id}.")
    return workshop


def _present(arguments: str, signed_up: Sequence[str], confirmed: Sequence[str]) -> list[str]:
    words = arguments.replace(",", " ").split()
    if not words:
        raise InvalidArguments(
            "Indiquez qui est venu, par exemple « !atelier presents 3 @a:exemple.fr "
            "@b:exemple.fr », ou « !atelier presents 3 tous » si tous les inscrits sont venus."
        )
    if len(words) == 1 and normalize(words[0]) == "tous":
        return list(confirmed)
    by_localpart: dict[str, list[str]] = {}
    for user in signed_up:
        by_localpart.setdefault(user.removeprefix("@").split(":")[0].casefold(), []).append(user)
    present: list[str] = []
    for word in words:
        if word.startswith("@") and ":" in word[1:]:
            user = word
        else:
            matches = by_localpart.get(word.removeprefix("@").casefold(), [])
            if len(matches) != 1:
                raise InvalidArguments(
                    f"« {word} » n’est pas un inscrit connu : écrivez son identifiant Matrix "
                    "complet, par exemple « @prenom.nom:exemple.fr »."
                )
            user = matches[0]
        if user not in present:
            present.append(user)
    return present


async def _post_feedback_poll(ctx: Context, workshop: Workshop) -> Poll:
    room = workshop.rooms[0] if workshop.rooms else ctx.room_id
    question = FEEDBACK_QUESTION_CAFE if workshop.kind == "cafe" else FEEDBACK_QUESTION
    answers = [Answer(f"a{n}", text) for n, text in enumerate(FEEDBACK_ANSWERS, start=1)]
    poll = await ctx.repos.polls.create(
        room_id=room, creator=ctx.sender, question=question, answers=answers, max_selections=1,
        anonymous=True, deadline=ctx.now + timedelta(days=FEEDBACK_DAYS), reminder_at=None,
        template=FEEDBACK_TEMPLATE, now=ctx.now,
    )  # fmt: skip
    txn = ctx.messenger.send_event(
        room, polls.START_EVENT, poll_format.start_content(poll, ctx.tz), kind=polls.START_KIND,
        ref=(polls.REF, poll.id),
    )  # fmt: skip
    await ctx.repos.polls.set_start_txn(poll.id, txn)
    await ctx.repos.workshops.set_feedback_poll(workshop.id, poll.id)
    return poll


async def record_attendance(ctx: Context, workshop_id: int, arguments: str) -> None:
    """`!atelier presents <n°> @a:srv @b:srv …` or `!atelier presents <n°> tous`."""
    workshop = await _workshop(ctx, workshop_id)
    if workshop.status == "cancelled":
        raise UserError(
            f"{workshop_texts.label(workshop)} a été annulé : pas de présences à noter."
        )
    if workshop.starts_at > ctx.now:
        raise UserError(
            f"{workshop_texts.label(workshop)} n’a pas encore commencé : notez les présences après."
        )
    repo = ctx.repos.workshops
    signups = [s for s in await repo.signups(workshop.id) if s.status != "cancelled"]
    confirmed = [s.user_id for s in signups if s.status == "confirmed"]
    present = _present(arguments, [s.user_id for s in signups], confirmed)
    known = {s.user_id for s in signups}
    for user in present:
        if user not in known:  # came without signing up: counted all the same
            await repo.sign_up(workshop, user, via="command", now=ctx.now)
    await repo.set_attendance(workshop.id, present)
    await repo.set_status(workshop.id, "done", ctx.now)
    text = (
        f"Présences enregistrées pour {workshop_texts.the(workshop)} : "
        f"{_plural(len(present), 'présent')} sur {_plural(len(confirmed), 'inscrit')}."
    )
    if workshop.feedback_poll_id is None:
        poll = await _post_feedback_poll(ctx, workshop)
        text += (
            f" Sondage de satisfaction n° {poll.id} publié dans "
            f"« {ctx.info.room_name(poll.room_id)} » (anonyme, {FEEDBACK_DAYS} jours)."
        )
    ctx.reply(text)
    log.info("Workshop %d: attendance recorded (%d present)", workshop.id, len(present))


# --- from a needs poll -------------------------------------------------------------------


async def _counts_and_choices(
    ctx: Context, poll: Poll
) -> tuple[dict[str, int], dict[str, tuple[str, ...]] | None]:
    """Votes per answer, and each voter's choices (None when the voters may not be named)."""
    if poll.status == "closed" and poll.final_results is not None and poll.anonymous:
        return dict(poll.final_results["counts"]), None
    result = tally(
        await ctx.repos.polls.responses(poll.id), poll.answer_ids, poll.max_selections,
        until=poll.deadline,
    )  # fmt: skip
    if poll.status == "closed" and poll.final_results is not None:
        counts = dict(poll.final_results["counts"])
    else:
        counts = dict(result.counts)
    return counts, (None if poll.anonymous else result.choices)


def leading_answer(poll: Poll, counts: dict[str, int]) -> Answer | None:
    """The answer with the most votes, the first in the poll's order on a tie; None: no votes."""
    best: Answer | None = None
    for answer in poll.answers:
        votes = counts.get(answer.id, 0)
        if votes > 0 and (best is None or votes > counts.get(best.id, 0)):
            best = answer
    return best


async def create_from_poll(ctx: Context, poll_id: int, when_text: str) -> None:
    """`!atelier depuis-sondage <n° de sondage> <quand>`."""
    poll = await ctx.repos.polls.get(poll_id)
    if poll is None:
        raise NotFound(f"Aucun sondage n° {poll_id}.")
    try:
        starts_at = parse_when(when_text, ctx.now, ctx.tz)
    except InvalidArguments as exc:
        raise InvalidArguments(
            f"{exc.message}\nExemple : !atelier depuis-sondage {poll_id} jeudi 12h30"
        ) from exc
    counts, choices = await _counts_and_choices(ctx, poll)
    leading = leading_answer(poll, counts)
    if leading is None:
        raise UserError(
            f"Le sondage n° {poll.id} n’a reçu aucun vote : impossible de choisir un thème. "
            "Attendez des réponses, ou créez l’atelier directement avec !atelier."
        )
    rooms = await workshops.announcement_rooms(ctx, ctx.room_id)
    workshop = await ctx.repos.workshops.create(
        kind="atelier", theme=leading.text, starts_at=starts_at, place=None, capacity=None,
        minimum=None, organiser=ctx.sender, rooms=rooms, now=ctx.now, poll_id=poll.id,
    )  # fmt: skip
    await workshops.announce_workshop(ctx, workshop)
    head = f"Atelier n° {workshop.id} sur « {leading.text} » créé d’après le sondage n° {poll.id}"
    if choices is None:
        why = (
            "ce sondage était anonyme et clos : le bot a oublié qui avait voté quoi"
            if poll.status == "closed"
            else "ce sondage est anonyme : le bot ne nomme pas ses votants"
        )
        text = (
            f"{head}. {why[0].upper()}{why[1:]}, il ne peut donc pas inviter ceux qui avaient "
            "choisi ce thème. Inscrivez-vous avec 👍 sur l’annonce de l’atelier."
        )
        ctx.messenger.send(poll.room_id, text, kind=INVITATION_KIND, ref=(REF, workshop.id))
        _confirm(ctx, workshop, poll, rooms)
        return
    voters = [
        voter
        for voter, picked in choices.items()
        if leading.id in picked and voter != ctx.settings.bot_user_id
    ]
    text = f"{head} : {', '.join(voters)}, vous aviez choisi ce thème, inscrivez-vous avec 👍."
    ctx.messenger.send(
        poll.room_id, text, mentions=voters, kind=INVITATION_KIND, ref=(REF, workshop.id)
    )
    _confirm(ctx, workshop, poll, rooms)
    log.info("Workshop %d created from poll %d (%d invited)", workshop.id, poll.id, len(voters))


def _confirm(ctx: Context, workshop: Workshop, poll: Poll, rooms: Sequence[str]) -> None:
    """Tell the RUPN where the notice went, unless the invitation is already in this room."""
    if poll.room_id == ctx.room_id:
        return
    names = ", ".join(ctx.info.room_name(r) for r in rooms)
    ctx.reply(
        f"Atelier n° {workshop.id} annoncé dans {publishing.rooms_label(len(rooms))} : {names} ; "
        f"les votants sont invités dans le salon du sondage n° {poll.id}."
    )
