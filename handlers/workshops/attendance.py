"""`!atelier presents <n°> …`: who came, then a feedback poll.

Decisions:
- « tous » means every confirmed sign-up came; otherwise Matrix ids
  (« @a:srv »), or a sign-up's local part (« @a », « a »). Someone present who
  had not signed up is added as a sign-up (via « command ») so that the bilan
  counts them. Recording marks the workshop done; recording again corrects
  the list.
- Attendance is refused for a cancelled workshop and before the start.
- The feedback poll is posted once, the first time attendance is recorded, in
  the workshop's first notice room: anonymous, single choice, ending
  `FEEDBACK_DAYS` (7) days later. It is started with `handlers.polls.start_poll`,
  so it is an ordinary poll: its deadline, results and export are the polls'.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from bot.context import Context
from bot.errors import InvalidArguments, UserError
from bot.router import normalize
from bot.storage.polls import Poll
from bot.storage.workshops import Workshop
from handlers.polls import start_poll
from handlers.workshops.common import get
from handlers.workshops.texts import count_of, label, the

log = logging.getLogger(__name__)

FEEDBACK_DAYS = 7
FEEDBACK_QUESTION = "Cet atelier vous a-t-il été utile ?"
FEEDBACK_QUESTION_CAFE = "Ce café numérique vous a-t-il été utile ?"
FEEDBACK_ANSWERS = ("Oui, très", "Un peu", "Pas vraiment")
FEEDBACK_TEMPLATE = "retour-atelier"


async def record_attendance(ctx: Context, workshop_id: int, arguments: str) -> None:
    """`!atelier presents <n°> @a:srv @b:srv …` or `!atelier presents <n°> tous`."""
    workshop = await get(ctx, workshop_id)
    if workshop.status == "cancelled":
        raise UserError(f"{label(workshop)} a été annulé : pas de présences à noter.")
    if workshop.starts_at > ctx.now:
        raise UserError(f"{label(workshop)} n’a pas encore commencé : notez les présences après.")
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
        f"Présences enregistrées pour {the(workshop)} : "
        f"{count_of(len(present), 'présent')} sur {count_of(len(confirmed), 'inscrit')}."
    )
    if workshop.feedback_poll_id is None:
        poll = await _post_feedback_poll(ctx, workshop)
        text += (
            f" Sondage de satisfaction n° {poll.number} publié dans "
            f"« {ctx.info.room_name(poll.room_id)} » (anonyme, {FEEDBACK_DAYS} jours)."
        )
    ctx.reply(text)
    log.info("Workshop %d: attendance recorded (%d present)", workshop.id, len(present))


def _present(arguments: str, signed_up: Sequence[str], confirmed: Sequence[str]) -> list[str]:
    """The Matrix ids of the people present; needs the sign-ups, so not a parser's job."""
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
    poll = await start_poll(
        ctx,
        workshop.rooms[0] if workshop.rooms else ctx.room_id,
        creator=ctx.sender,
        question=FEEDBACK_QUESTION_CAFE if workshop.kind == "cafe" else FEEDBACK_QUESTION,
        answers=FEEDBACK_ANSWERS,
        anonymous=True,
        deadline=ctx.now + timedelta(days=FEEDBACK_DAYS),
        template=FEEDBACK_TEMPLATE,
    )
    await ctx.repos.workshops.set_feedback_poll(workshop.id, poll.id)
    return poll
