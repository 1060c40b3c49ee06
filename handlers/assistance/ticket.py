"""The mails a request sends to the helpdesk: the ticket, précisions, the closing.

Decisions:
- The reporter is named by the local part of their Matrix id (« prenom.nom »): what the
  RUPN recognises, without the server part the desk has no use for. The desk reaches the
  person by answering the mail (the answer is posted to them in chat) or through the RUPN,
  whose address is in copy when `copie_rupn` is set.
- Every mail has a Message-ID of ours, stored with the request, made of the school's key
  and the request's number (`panne-0860001J-12@…`, `panne-0860001J-12-2@…` for the second
  mail): the desk's replies carry it in In-Reply-To/References.
- The subject's tag names the school in a shared deployment (« [rupn-bot 0860001J n° 12] »):
  request numbers are counted per school, so a bare « n° 12 » could be another school's.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.config import Desk
from bot.context import Scope
from bot.messenger import MailEnvelope
from bot.schools import IMPLICIT_KEY
from bot.storage.assistance import Request
from handlers.assistance.args import comparable

MAIL_KIND = "assistance-mail"
REF = "assistance"
TAG = re.compile(r"\[rupn-bot (?:([0-9]{7}[A-Z]) )?n° ?([0-9]{1,9})\]")


def tag(school: str, number: int) -> str:
    return (
        f"[rupn-bot {school} n° {number}]" if school != IMPLICIT_KEY else f"[rupn-bot n° {number}]"
    )


def parse_tag(subject: str) -> tuple[str, int] | None:
    """(school key, number) of the bot's own tag in a subject, if any."""
    found = TAG.search(subject)
    return (found[1] or IMPLICIT_KEY, int(found[2])) if found is not None else None


def message_id(desk: Desk, school: str, number: int, sequence: int = 1) -> str:
    suffix = f"-{sequence}" if sequence > 1 else ""
    return f"panne-{school or 'etab'}-{number}{suffix}@{desk.reply_to.rpartition('@')[2]}"


def category_of(desk: Desk, equipment: str) -> tuple[str, str]:
    """(category, desk address): the first `categories` key the equipment names, else none
    and the school's desk."""
    words = comparable(equipment)
    for key, address in desk.categories:
        wanted = comparable(key)
        if words == wanted or words.startswith(wanted + " ") or f" {wanted}" in f" {words}":
            return key, address
    return "", desk.to


def reporter_name(user_id: str) -> str:
    return user_id.removeprefix("@").partition(":")[0]


def _school_line(desk: Desk) -> str:
    name = desk.school_name or "(nom non configuré)"
    return f"{name} (UAI {desk.uai})" if desk.uai else name


def _when(moment: datetime, scope: Scope) -> str:
    return moment.astimezone(scope.tz).strftime("%d/%m/%Y à %H:%M")


def _subject(desk: Desk, request: Request, prefix: str = "") -> str:
    school = f" {desk.school_name} —" if desk.school_name else ""
    return (
        f"{prefix}{tag(request.school, request.number)}{school} {request.location} — "
        f"{request.equipment} — {request.symptom}"
    )[:250]


def queue_ticket(scope: Scope, desk: Desk, request: Request) -> str:
    """The ticket's mail, queued in the scope's transaction."""
    text = "\n".join(
        (
            "Bonjour,",
            "",
            "Une panne est signalée par un membre de l’équipe de l’établissement :",
            "",
            f"Établissement : {_school_line(desk)}",
            f"Salle : {request.location}",
            f"Matériel : {request.equipment}",
            f"Ce qui se passe : {request.symptom}",
            f"Signalée le : {_when(request.opened_at, scope)}",
            f"Signalée par : {reporter_name(request.reporter or '')}",
            "Personnes ayant signalé cette panne : 1",
            "",
            "Pour joindre la personne : répondez à ce courriel, votre réponse lui est transmise "
            "dans la messagerie de l’établissement ; ou adressez-vous au référent numérique "
            "(RUPN) de l’établissement.",
            "Merci de garder l’objet de ce courriel dans vos réponses.",
            "",
            f"Demande n° {request.number} de l’établissement, transmise par rupn-bot.",
        )
    )
    envelope = MailEnvelope(
        to=(request.desk,), message_id=request.message_id, reply_to=desk.reply_to, cc=desk.copy
    )
    return scope.messenger.send_mail(
        _subject(desk, request), text, "", kind=MAIL_KIND, ref=(REF, request.id), envelope=envelope
    )


async def queue_follow_up(scope: Scope, desk: Desk, request: Request, body: str) -> str:
    """A précision or the closing, as a reply in the ticket's thread; recorded as sent."""
    sent = await scope.repos.assistance.sent_mail_ids(request.id)
    mid = message_id(desk, request.school, request.number, len(sent) + 1)
    await scope.repos.assistance.add_mail(mid, request.id, "out", body, scope.now)
    followers = await scope.repos.assistance.follower_count(request.id)
    text = "\n".join(
        (
            "Bonjour,",
            "",
            body,
            "",
            f"Établissement : {_school_line(desk)}",
            f"Salle : {request.location} — Matériel : {request.equipment}",
            f"Personnes ayant signalé cette panne : {followers}",
            f"Demande n° {request.number} de l’établissement, transmise par rupn-bot.",
        )
    )
    envelope = MailEnvelope(
        to=(request.desk,),
        message_id=mid,
        reply_to=desk.reply_to,
        cc=desk.copy,
        in_reply_to=sent[-1] if sent else request.message_id,
        references=tuple(sent) or (request.message_id,),
    )
    ticket = f"{request.desk_ticket} " if request.desk_ticket else ""  # the desk's own tag
    return scope.messenger.send_mail(
        _subject(desk, request, prefix=f"Re: {ticket}"),
        text,
        "",
        kind=MAIL_KIND,
        ref=(REF, request.id),
        envelope=envelope,
    )
