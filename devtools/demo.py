"""`rupn-bot demo`: the real bot, a throwaway Synapse and scripted people in encrypted rooms.

The demo registers a bot account, a RUPN and two teachers on a local Synapse, has the
RUPN create the encrypted rooms of `ROOMS` (the staff room, « Vie scolaire » and her
private « Bureau du RUPN » with the bot, used as curation room), serves a sample SPIP
feed as the « SRANE » news source, runs the real bot in this process and plays
`SCENARIO` with real matrix-nio clients. The terminal shows each room as one of its
members' clients received and decrypted it; the bot's log goes to a file.

To show a new capability, add steps to `SCENARIO` (and people to `PEOPLE`).

Polls (`!sondage`) are shown as a client with poll buttons shows them: the start event as
its question and numbered choices, each ``org.matrix.msc3381.poll.response`` as a vote
(they are events, not messages), the end event as its results text.

Ateliers (`!atelier`): the notice is shown as received, then its encrypted .ics attachment,
which the observer's client downloads and decrypts to show the invitation's start and end
(and its raw DTSTART line). Sign-ups are real 👍 reactions on the notice; withdrawing one
is a real redaction of it. Reactions and redactions travel in clear (matrix-nio does not
encrypt reactions; redactions are never encrypted): they are marked ⚠️ and counted apart.

The weekly letter (`!lettre`): the demo's config has a `[digest]` section (sent on
`LETTER_DAY` at `LETTER_TIME`, outside the holidays of zone `SCHOOL_ZONE`) and an `[email]`
one pointing at a real SMTP server on loopback (devtools/smtp.py, started by the demo). The
scene does not wait for the scheduled moment: the RUPN adds a line, previews the letter in
her office, then sends it with `!lettre envoyer`; the transcript shows the letter as each
diffusion room received it, then the e-mail as the SMTP server received it (headers and
text part; the HTML part is only measured).

A breakdown (`!panne`): the bot mails the ticket (shown as the SMTP server received it), the
demo answers it as the helpdesk's GLPI would, into the bot's mailbox on a local Dovecot
(devtools/demo_desk.py), and the reporter's client shows the answer in the thread of the
report. Without Dovecot installed, the scene is left out with a line saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import icalendar
import nio
from babel.dates import format_datetime
from babel.numbers import format_decimal
from nio.crypto.attachments import decrypt_attachment

from bot.app import RunningBot, run_app
from bot.config import Config, ConfigError, load_config
from bot.cross_signing import IdentityReport, IdentityState, device_is_signed
from bot.keys_api import KeysApi
from bot.logging_setup import (
    QUIET_LOGGERS,
    SecretMaskingFilter,
    UtcFormatter,
    add_secret,
)
from bot.session import load_session
from devtools.botprocess import write_bot_config
from devtools.demo_desk import MISSING as MAILBOX_MISSING
from devtools.demo_desk import DemoDesk
from devtools.feedserver import FeedServer
from devtools.participant import Participant, SeenMessage
from devtools.smtp import MailCatcher, ReceivedMail
from devtools.synapse import Account, ThrowawaySynapse

T = TypeVar("T")
PARIS = ZoneInfo("Europe/Paris")  # the bot speaks Paris time; so does the transcript

# --------------------------------------------------------------------------- the script


@dataclass(frozen=True)
class Person:
    """Someone in the staff room; `localpart` is also the login name."""

    localpart: str
    display_name: str
    role: str
    """French, shown in the account list of ``--keep-running``."""


@dataclass(frozen=True)
class Room:
    """An encrypted room the RUPN creates; `observer`'s client shows it in the transcript."""

    key: str
    name: str
    members: tuple[str, ...]
    """Localparts invited besides the RUPN (who creates it) and the bot."""
    observer: str


@dataclass(frozen=True)
class Step:
    """One line of the scenario: `who` (a localpart) types `text` in `room`; the bot answers.

    ``{annonce}`` in `text` stands for the number of the last announcement published.
    """

    who: str
    text: str
    note: str = ""
    """Optional French narration printed before the step."""
    room: str = "salle"
    publishes: bool = False
    """The bot also posts (or edits) a message in every diffusion room before answering."""
    starts_poll: bool = False
    """The bot also sends a poll start event in `room` before answering."""
    ends_poll: bool = False
    """The bot does not reply: it sends the end event of the room's poll instead."""
    announces_workshop: bool = False
    """The bot also posts an atelier's notice and its .ics invitation in `room` before
    answering (and in the other diffusion rooms, not shown). ``{semaine_prochaine}`` in
    `text` stands for `workshop_day`, as « 1/12 »."""
    sends_letter: bool = False
    """The bot also posts the weekly letter in every diffusion room and mails it: the
    transcript shows each room's letter, the answer, then the e-mail the local SMTP server
    received."""
    sends_ticket: bool = False
    """A breakdown report: the bot mails the ticket to the helpdesk; the transcript shows the
    answer, then the ticket as the local SMTP server received it. Needs the mailbox."""


@dataclass(frozen=True)
class AwaitProposal:
    """The bot's first news proposal arrives in the curation room."""

    note: str = ""


@dataclass(frozen=True)
class React:
    """`who` reacts `key` to the proposal: it is published in every diffusion room."""

    who: str
    key: str
    note: str = ""


@dataclass(frozen=True)
class Vote:
    """`who` answers the last poll started with the choice whose text is `choice`.

    A real ``org.matrix.msc3381.poll.response`` event, as a client's poll buttons send it.
    """

    who: str
    choice: str
    note: str = ""
    room: str = "salle"


@dataclass(frozen=True)
class SignUp:
    """`who` reacts `key` (a 👍) to the last atelier notice: the bot confirms the sign-up,
    or puts `who` on the waiting list when the atelier is full."""

    who: str
    key: str = "👍"
    note: str = ""


@dataclass(frozen=True)
class Withdraw:
    """`who` removes their 👍 (a redaction): the bot confirms, and gives the freed place to
    the first person on the waiting list, if any."""

    who: str
    note: str = ""


@dataclass(frozen=True)
class DeskAnswers:
    """The helpdesk answers the last ticket with `text`, as GLPI does, into the bot's mailbox:
    the bot posts the new text in the thread of the report."""

    text: str
    note: str = ""


Action = Step | AwaitProposal | React | Vote | SignUp | Withdraw | DeskAnswers


BOT = Person("rupn-bot", "rupn-bot", "compte du bot (utilisé par le bot lui-même)")
RUPN = Person("rupn", "Claire Martin (RUPN)", "référente numérique, administratrice du bot")
PEOPLE: tuple[Person, ...] = (
    RUPN,
    Person("prof.durand", "Paul Durand", "professeur"),
    Person("prof.leroy", "Inès Leroy", "professeure"),
)
"""The humans of the demo, played by real Matrix clients. The first one is the RUPN."""

STAFF, VIE_SCOLAIRE, BUREAU = "salle", "vie", "bureau"
ROOMS: tuple[Room, ...] = (
    Room(STAFF, "Salle des professeurs", ("prof.durand", "prof.leroy"), "prof.leroy"),
    Room(VIE_SCOLAIRE, "Vie scolaire", ("prof.durand",), "prof.durand"),
    Room(BUREAU, "Bureau du RUPN", (), "rupn"),
)
"""Each room is shown as its `observer`'s client received it: proof a real client decrypted it."""
DIFFUSION = (STAFF, VIE_SCOLAIRE)
"""The staff room from the config file, then « Vie scolaire » after `!diffusion ajouter`."""
ROOM_NAME = ROOMS[0].name
FEED_NAME = "SRANE"
FEED_SAMPLE = (
    Path(__file__).resolve().parents[1]
    / "tests" / "fixtures" / "feeds" / "spip" / "SYNTHETIC-spip-backend-utf8.xml"
)  # fmt: skip
FEED_POLL_MINUTES = 0.05

ANNOUNCEMENT = "**Café numérique** jeudi à 12h30 au CDI : venez avec vos questions !"
CORRECTED = "**Café numérique** vendredi à 12h30 au CDI : venez avec vos questions !"

WORKSHOP_THEME = "Pronote : le cahier de textes"
WORKSHOP_PLACES = 2

LETTER_DAY, LETTER_TIME, SCHOOL_ZONE = "vendredi", "16h30", "C"
"""The demo's `[digest]`: the letter would go out by itself on Fridays at 16h30, outside the
school holidays of zone C; the scene sends it at once with `!lettre envoyer`."""
LETTER_WORD = (
    "Pensez à remplir l’enquête sur vos besoins de formation (lien dans l’ENT) avant vendredi."
)
MAIL_FROM = "rupn@clg-exemple.fr"
MAIL_TO = ("equipe@clg-exemple.fr",)

POLL_QUESTION = "Quel créneau pour le prochain café numérique ?"
POLL_CHOICES = ("Lundi midi", "Mardi midi", "Jeudi 17h")

SCENARIO: tuple[Action, ...] = (
    Step("prof.durand", "!aide", "Un professeur découvre le bot."),
    Step("rupn", "!aide", "La référente numérique voit aussi les commandes d’administration."),
    Step("prof.leroy", "!xyz", "Une faute de frappe : le bot ne connaît pas cette commande."),
    Step("prof.durand", "!statut", "Un professeur essaie une commande d’administration."),
    Step("rupn", "!aide statut", "La référente numérique demande le détail d’une commande…"),
    Step("rupn", "!statut", "… puis l’utilise."),
    Step(
        "rupn",
        "!diffusion ajouter",
        "Dans « Vie scolaire », la référente numérique en fait un salon de diffusion "
        "(la salle des professeurs l’est déjà par la configuration).",
        room=VIE_SCOLAIRE,
    ),
    AwaitProposal(
        f"Le bot a lu le flux « {FEED_NAME} » : il propose ses nouveaux articles "
        "dans le bureau de la référente numérique (voici le premier)."
    ),
    React("rupn", "✅", "Elle valide la proposition d’une réaction ✅."),
    Step(
        "rupn",
        f"!annonce {ANNOUNCEMENT}",
        "Elle publie une annonce depuis son bureau…",
        room=BUREAU,
        publishes=True,
    ),
    Step(
        "rupn",
        f"!annonce corriger {{annonce}} {CORRECTED}",
        "… la corrige : le message est modifié dans chaque salon…",
        room=BUREAU,
        publishes=True,
    ),
    Step("rupn", "!annonces", "… et retrouve ses annonces.", room=BUREAU),
    Step("rupn", "!veille liste", "Les sources d’actualités suivies :", room=BUREAU),
    Step(
        "prof.durand",
        "!annonce Réunion parents-professeurs décalée à 18h",
        "Un professeur essaie de publier une annonce.",
    ),
    Step(
        "rupn",
        f"!sondage {' | '.join((POLL_QUESTION, *POLL_CHOICES))}",
        "La référente numérique lance un sondage : les clients Matrix l’affichent avec "
        "des boutons.",
        starts_poll=True,
    ),
    Vote("prof.durand", "Mardi midi", "Deux professeurs votent avec les boutons du sondage…"),
    Vote("prof.leroy", "Jeudi 17h"),
    Vote(
        "prof.durand", "Jeudi 17h", "… et l’un d’eux change d’avis : seul son dernier vote compte."
    ),
    Step("rupn", "!sondage résultats", "La référente numérique consulte les résultats…"),
    Step(
        "rupn",
        "!sondage clore",
        "… puis clôt le sondage : le bot publie les résultats définitifs.",
        ends_poll=True,
    ),
    Step(
        "rupn",
        f"!atelier {{semaine_prochaine}} 12h30 | {WORKSHOP_THEME} | CDI | {WORKSHOP_PLACES} places",
        "La référente numérique annonce un atelier de deux places la semaine prochaine : "
        "l’annonce et son invitation .ics (pièce jointe chiffrée, que le client d’Inès "
        "télécharge et déchiffre) partent dans les salons de diffusion.",
        announces_workshop=True,
    ),
    SignUp(
        "prof.durand",
        "👍",
        "Trois personnes s’inscrivent d’une réaction 👍 : la troisième passe en liste d’attente.",
    ),
    SignUp("prof.leroy", "👍🏽"),
    SignUp("rupn", "👍"),
    Withdraw(
        "prof.durand",
        "Paul Durand retire sa réaction : sa place revient à la première de la liste d’attente.",
    ),
    Step("prof.leroy", "!ateliers", "Les prochains ateliers, avec les places restantes :"),
    Step(
        "rupn",
        f"!lettre ajouter {LETTER_WORD}",
        "La lettre de la semaine : la référente numérique y ajoute un mot depuis son bureau…",
        room=BUREAU,
    ),
    Step(
        "rupn",
        "!lettre aperçu",
        "… la relit : l’aperçu ne s’affiche que dans son bureau…",
        room=BUREAU,
    ),
    Step(
        "rupn",
        "!lettre envoyer",
        f"… puis l’envoie aussitôt (sinon elle partirait d’elle-même {LETTER_DAY} à "
        f"{LETTER_TIME}) : chaque salon de diffusion la reçoit, et elle part aussi par courriel.",
        room=BUREAU,
        sends_letter=True,
    ),
    Step(
        "prof.leroy",
        "!panne B12 vidéoprojecteur ne s’allume plus",
        "Une professeure signale une panne : le bot enregistre la demande et envoie le ticket "
        "au service d’assistance de l’académie.",
        sends_ticket=True,
    ),
    DeskAnswers(
        "Le technicien passera jeudi à 8 h en B12 ; merci de laisser la salle ouverte.",
        "Le service d’assistance répond au courriel comme le fait GLPI (historique cité, "
        "signature) ; le bot relève sa boîte aux lettres (serveur IMAP local) et transmet le "
        "seul texte nouveau dans le fil du signalement, avec le numéro de ticket.",
    ),
)

SERVER_NAME = "rupn.test"
MAX_SENDS_PER_SECOND = 5.0
REPLY_TIMEOUT_S = 30.0
SEEN_TIMEOUT_S = 15.0
PROPOSAL_TIMEOUT_S = 60.0
MAIL_TIMEOUT_S = 30.0
MAIL_POLL_S = 0.02
"""How often the demo looks at what the SMTP server received (it has no event to wait on)."""
MAIL_FOLLOW_S = 1.0
READY_TIMEOUT_S = 60.0
JOIN_TIMEOUT_S = 30.0
BOT_STOP_TIMEOUT_S = 30.0
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130

LOCK = "🔒"
"""Marks a message this client received encrypted and decrypted."""
CLEAR = "⚠️"
"""Marks a message that arrived unencrypted, or that the client could not decrypt."""
TIME_WIDTH = len("[00:00:00] ")
INDENT = " " * (TIME_WIDTH + 3)
"""Continuation lines of a message start under the sender's name (the lock is 2 wide)."""

_WORDS = (
    "abricot", "baleine", "castor", "cerise", "dauphin", "erable", "falaise", "girafe",
    "hibou", "jasmin", "koala", "lavande", "mesange", "noisette", "olive", "panda",
    "renard", "sapin", "tilleul", "tortue", "vanille", "violette", "zebre", "mirabelle",
)  # fmt: skip
POLL_START = "org.matrix.msc3381.poll.start"
POLL_RESPONSE = "org.matrix.msc3381.poll.response"
POLL_END = "org.matrix.msc3381.poll.end"
TEXT = "org.matrix.msc1767.text"
SHOWN_TYPES = frozenset({"m.room.message", "undecryptable", POLL_START, POLL_RESPONSE, POLL_END})
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_PUBLISHED = re.compile(r"Annonce n° (\d+) publiée")
_PROPOSAL = re.compile(r"Proposition n° (\d+)")
_WORKSHOP_NOTICE = re.compile(r"^(?:🛠️|☕) (?:Atelier|Café numérique) n° (\d+) — ")
LETTER_TITLE = "📬 La lettre numérique — "
MAIL_SECTION = "── Courriel reçu par le serveur SMTP local ──"
MAIL_HEADERS = ("From", "To", "Subject", "Date", "List-Unsubscribe")
MAIL_INDENT = "    "


def workshop_day(today: date) -> date:
    """The atelier's day: the first Tuesday at least a week after `today`."""
    week = today + timedelta(days=7)
    return week + timedelta(days=(1 - week.weekday()) % 7)


def readable_password() -> str:
    """A random password that is easy to read and type, such as ``castor-olive-4821``."""
    first, second = secrets.choice(_WORDS), secrets.choice(_WORDS)
    return f"{first}-{second}-{secrets.randbelow(9000) + 1000}"


# --------------------------------------------------------------------------- output


def _say(text: str = "") -> None:
    print(text, flush=True)


def _seconds(value: float) -> str:
    """``4,2 s``: French decimal comma."""
    return f"{value:.1f}".replace(".", ",") + " s"


def _plural(count: int, singular: str, plural: str) -> str:
    # French uses the singular for 0 and 1.
    return f"{count} {singular if count <= 1 else plural}"


def _plain(body: str) -> str:
    """The text a reader sees: the bot's Markdown bold markers removed."""
    return _BOLD.sub(r"\1", body)


def _edited(message: SeenMessage) -> str | None:
    """The new text of an ``m.replace`` edit, else None."""
    new = message.content.get("m.new_content")
    if isinstance(new, dict) and isinstance(new.get("body"), str):
        return str(new["body"])
    return None


def render_message(message: SeenMessage, name: str, when: datetime, target: str = "") -> list[str]:
    """``[HH:MM:SS] 🔒 Name : text``, continuation lines indented under the name.

    An edit shows its new text followed by « (modifié) »; a reaction shows as
    « Name réagit ✅ <target> »; a poll shows its question followed by « (sondage) » and its
    numbered choices; a poll response shows as « Name <target> » (« vote : Mardi midi »);
    a poll's end shows its text, the first line followed by « (fin du sondage) »; a
    redaction shows as « Name <target> » (« retire sa réaction 👍 … »); a file shows as
    « 📎 name (<first line of target>) », the other lines of `target` under it.
    """
    mark = LOCK if message.decrypted else CLEAR
    if message.event_type == "undecryptable":
        mark, lines = CLEAR, ["(message chiffré que ce client n’a pas pu déchiffrer)"]
    elif message.event_type == "m.reaction":
        relates = message.content.get("m.relates_to")
        key = relates.get("key", "?") if isinstance(relates, dict) else "?"
        return [f"[{when:%H:%M:%S}] {mark} {name} réagit {key} {target}".rstrip()]
    elif message.event_type == "m.room.redaction":
        return [f"[{when:%H:%M:%S}] {mark} {name} {target or 'supprime un événement'}"]
    elif message.msgtype == "m.file":
        about, *more = target.split("\n") if target else [""]
        lines = [f"📎 {message.body}" + (f" ({about})" if about else ""), *more]
    elif message.event_type == POLL_RESPONSE:
        return [f"[{when:%H:%M:%S}] {mark} {name} {target or 'vote'}"]
    elif message.event_type == POLL_START:
        question, choices = poll_of(message)
        lines = [f"{question} (sondage)", *(f"{n}. {c}" for n, c in enumerate(choices, 1))]
    elif message.event_type == POLL_END:
        lines = _plain(message.body).split("\n")
        lines[0] += " (fin du sondage)"
    else:
        edited = _edited(message)
        text = message.body if edited is None else f"{edited} (modifié)"
        lines = _plain(text).split("\n")
    first = f"[{when:%H:%M:%S}] {mark} {name} : {lines[0]}"
    return [first, *[INDENT + line if line.strip() else "" for line in lines[1:]]]


def _text(value: object) -> str:
    return str(value.get(TEXT, "")) if isinstance(value, dict) else ""


def poll_of(message: SeenMessage) -> tuple[str, list[str]]:
    """The question and the choice texts of a poll start event."""
    poll = message.content.get(POLL_START)
    poll = poll if isinstance(poll, dict) else {}
    answers = poll.get("answers")
    return _text(poll.get("question")), [
        _text(answer) for answer in (answers if isinstance(answers, list) else [])
    ]


def answer_ids(message: SeenMessage) -> dict[str, str]:
    """A poll start event's choices: answer id → choice text."""
    poll = message.content.get(POLL_START)
    answers = poll.get("answers") if isinstance(poll, dict) else None
    return {
        str(answer.get("id")): _text(answer)
        for answer in (answers if isinstance(answers, list) else [])
        if isinstance(answer, dict)
    }


def _mentioned(message: SeenMessage) -> list[str]:
    """The user ids a message mentions (``m.mentions``)."""
    mentions = message.content.get("m.mentions")
    users = mentions.get("user_ids") if isinstance(mentions, dict) else None
    return [u for u in users if isinstance(u, str)] if isinstance(users, list) else []


def ics_summary(data: bytes) -> tuple[str, str]:
    """« dimanche 29 novembre 12h30–13h30, Europe/Paris » and the raw DTSTART line."""
    calendar = icalendar.Calendar.from_ical(data)
    event = next(c for c in calendar.walk() if c.name == "VEVENT")
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    zone = event["DTSTART"].params.get("TZID", "UTC")
    day = format_datetime(start, "EEEE d MMMM H'h'mm", locale="fr_FR")
    text = f"{day}–{end.hour}h{end.minute:02d}, {zone}"
    unfolded = data.decode("utf-8").replace("\r\n ", "").splitlines()
    vevent = unfolded[unfolded.index("BEGIN:VEVENT") :] if "BEGIN:VEVENT" in unfolded else []
    raw = next((line for line in vevent if line.startswith("DTSTART")), "")
    return text, raw


def render_mail(mail: ReceivedMail, server: str) -> list[str]:
    """An e-mail as the SMTP server at `server` received it: its envelope, the headers a
    mail client shows (decoded), then its text part; the HTML part is only measured."""
    message = mail.parsed()
    lines = [
        f"Reçu par {server} : de {mail.mail_from}, pour {', '.join(mail.rcpt_tos)}.",
        "",
        *(f"{name}: {message.get(name, '(absent)')}" for name in MAIL_HEADERS),
        "",
    ]
    text = message.get_body(("plain",))
    if text is None:
        lines.append("(pas de partie texte)")
    else:
        lines += str(text.get_content()).rstrip().split("\n")
    html = message.get_body(("html",))
    if html is not None:
        size = format_decimal(len(str(html.get_content())), locale="fr_FR")
        lines += [
            "",
            f"(Jointe au courriel : la même lettre en HTML, {size} caractères, que les "
            "messageries affichent à la place du texte.)",
        ]
    return lines


def _referenced(message: SeenMessage) -> str | None:
    """The event an ``m.reference`` relation (a poll response or end) points to."""
    relates = message.content.get("m.relates_to")
    if isinstance(relates, dict) and relates.get("rel_type") == "m.reference":
        event_id = relates.get("event_id")
        return event_id if isinstance(event_id, str) else None
    return None


@dataclass
class Tally:
    """What the transcript showed, for the closing line."""

    commands: int = 0
    reactions: int = 0
    withdrawals: int = 0
    """Reactions removed (redactions): events, not messages."""
    votes: int = 0
    """Poll responses: encrypted events, not messages."""
    replies: int = 0
    proposals: int = 0
    posts: int = 0
    edits: int = 0
    polls: int = 0
    polls_closed: int = 0
    workshops: int = 0
    """Atelier notices."""
    invitations: int = 0
    """.ics attachments."""
    signups: int = 0
    """The bot's sign-up messages: confirmed, waiting list, withdrawn, promoted."""
    letters: int = 0
    """Weekly letters, one per room that received it (a preview is a reply)."""
    mails: int = 0
    """E-mails the local SMTP server received."""
    decrypted: int = 0
    """Encrypted and decrypted, among `messages` and the poll events (votes, starts, ends)."""
    messages: int = 0
    """Room messages (``m.room.message``, or undecryptable), not poll events nor reactions."""

    @property
    def poll_events(self) -> int:
        return self.votes + self.polls + self.polls_closed


def summary_line(tally: Tally) -> str:
    """The closing line, e.g. « 13 commandes, 1 réaction, 3 votes, 14 réponses du bot, … ».

    Votes, poll starts and ends are events, not messages: they are counted apart. Reactions
    and their removal (redactions) travel in clear: the line says so.
    """
    reactions = _plural(tally.reactions, "réaction", "réactions")
    if tally.withdrawals:
        reactions += f" (dont {tally.withdrawals} retirée{'s' if tally.withdrawals > 1 else ''})"
    parts = [
        _plural(tally.commands, "commande", "commandes"),
        reactions,
        _plural(tally.votes, "vote", "votes"),
        _plural(tally.replies, "réponse du bot", "réponses du bot"),
        f"{_plural(tally.polls, 'sondage lancé', 'sondages lancés')} et {tally.polls_closed} clos",
    ]
    if tally.workshops or tally.invitations:
        parts.append(
            f"{_plural(tally.workshops, 'atelier annoncé', 'ateliers annoncés')} avec "
            f"{_plural(tally.invitations, 'invitation .ics', 'invitations .ics')}"
        )
    if tally.signups:
        parts.append(_plural(tally.signups, "message d’inscription", "messages d’inscription"))
    parts += [
        _plural(tally.proposals, "proposition de veille", "propositions de veille"),
        f"{_plural(tally.posts, 'publication', 'publications')} et "
        f"{_plural(tally.edits, 'correction', 'corrections')} dans les salons de diffusion",
    ]
    if tally.letters or tally.mails:
        parts.append(
            f"{_plural(tally.letters, 'lettre de la semaine', 'lettres de la semaine')} et "
            f"{_plural(tally.mails, 'courriel', 'courriels')}"
        )
    counts = ", ".join(parts)
    messages = _plural(tally.messages, "message", "messages")
    events = _plural(tally.poll_events, "événement de sondage", "événements de sondage")
    total, decrypted = tally.messages + tally.poll_events, tally.decrypted
    clear = ""
    if tally.reactions:
        what = "les réactions et leur retrait" if tally.withdrawals else "les réactions"
        clear = f" ({what}, envoyés par matrix-nio, passent en clair)"
    if decrypted == total:
        return f"{counts} : {messages} et {events}, tous chiffrés de bout en bout{clear}."
    return (
        f"{counts} ; seulement {decrypted} sur {messages} et {events} "
        f"{'chiffré' if decrypted <= 1 else 'chiffrés'} de bout en bout{clear}."
    )


def of(name: str) -> str:
    """French « de » before a name, elided before a vowel: « d’Inès », « de Paul »."""
    return f"d’{name}" if name[:1].lower() in "aeiouyàâäéèêëîïôöùûü" else f"de {name}"


# --------------------------------------------------------------------------- errors


class DemoError(Exception):
    """A failure explained in French; `message` follows « Erreur : », so starts lowercase."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class MatrixDownloadError(Exception):
    """The homeserver did not return an attachment."""


class Interrupted(Exception):
    """Ctrl+C or SIGTERM arrived."""


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(journal absent)"
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------- logging


def _log_to_file(path: Path) -> Callable[[], None]:
    """Send every log record (the bot's, nio's…) to `path`; returns the undo function."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    quiet_levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(UtcFormatter())
    handler.addFilter(SecretMaskingFilter())
    for old in saved_handlers:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)

    def restore() -> None:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        handler.close()
        for old in saved_handlers:
            root.addHandler(old)
        root.setLevel(saved_level)
        for name, level in quiet_levels.items():
            logging.getLogger(name).setLevel(level)

    return restore


# --------------------------------------------------------------------------- the demo


def _needs_mailbox(action: Action) -> bool:
    return isinstance(action, DeskAnswers) or (isinstance(action, Step) and action.sends_ticket)


class Demo:
    """Everything the demo starts, so that `close` can stop it in the right order."""

    def __init__(self, workdir: Path, interrupted: asyncio.Event) -> None:
        self.workdir = workdir
        self.interrupted = interrupted
        self.bot_log = workdir / "bot.log"
        self.synapse = ThrowawaySynapse(workdir / "synapse", server_name=SERVER_NAME)
        self.feeds = FeedServer()
        self.smtp = MailCatcher()
        self.desk = DemoDesk(workdir / "dovecot")
        self.has_mailbox = False
        self.ticket: tuple[str, ReceivedMail] | None = None
        """The last breakdown report's event id and its ticket, as the desk received it."""
        self.bot_account: Account | None = None
        self.people: dict[str, Participant] = {}
        self.names: dict[str, str] = {}
        self.room_ids: dict[str, str] = {}
        self.bot_stop = asyncio.Event()
        self.bot_ready = asyncio.Event()
        self.bot_task: asyncio.Task[None] | None = None
        self.timestamps: dict[str, int] = {}
        self.shown: set[str] = set()
        self.tally = Tally()
        self.current_room = ""
        self.proposal: SeenMessage | None = None
        self.last_announcement = ""
        self.poll: SeenMessage | None = None
        """The last poll started in the scenario, as its room's observer received it."""
        self.poll_choices: dict[str, dict[str, str]] = {}
        """Each poll shown: its start event id → (answer id → choice text)."""
        self.voted: set[tuple[str, str]] = set()
        """(poll start event id, voter) of the votes shown, to tell a change of mind."""
        self.workshop_notice: SeenMessage | None = None
        """The last atelier notice shown (in the staff room)."""
        self.signup_reactions: dict[str, tuple[str, str]] = {}
        """Localpart → (reaction event id, key) of the 👍 on the atelier notice."""
        self.waiting: list[str] = []
        """User ids on the atelier's waiting list, in order."""

    @property
    def room_id(self) -> str:
        """The staff room."""
        return self.room_ids[STAFF]

    def room(self, key: str) -> Room:
        return next(room for room in ROOMS if room.key == key)

    def observer_of(self, key: str) -> Participant:
        return self.people[self.room(key).observer]

    def _key_of(self, room_id: str) -> str:
        return next(key for key, rid in self.room_ids.items() if rid == room_id)

    @property
    def bot_id(self) -> str:
        if self.bot_account is None:
            raise RuntimeError("the bot account is not registered yet")
        return self.bot_account.user_id

    # -- supervision ---------------------------------------------------------------------

    async def guard(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro`, unless Ctrl+C arrives or the bot stops first."""
        task = asyncio.ensure_future(coro)
        interrupt = asyncio.ensure_future(self.interrupted.wait())
        watched: set[asyncio.Future[Any]] = {task, interrupt}
        if self.bot_task is not None:
            watched.add(self.bot_task)
        try:
            await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        finally:
            interrupt.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if task.done() and not task.cancelled():
            return task.result()
        if self.interrupted.is_set():
            raise Interrupted
        raise DemoError("le bot s’est arrêté de façon inattendue.", self._bot_failure())

    def _bot_failure(self) -> str:
        details = ""
        task = self.bot_task
        if task is not None and task.done() and not task.cancelled():
            error = task.exception()
            if error is not None:
                details = "".join(traceback.format_exception(error)) + "\n"
        return details + f"Fin du journal du bot :\n{_tail(self.bot_log)}"

    # -- setting up ----------------------------------------------------------------------

    async def setup(self) -> None:
        started = time.monotonic()
        try:
            await self.synapse.start()
        except Exception as exc:
            raise DemoError("le serveur Synapse local n’a pas pu démarrer.", str(exc)) from exc
        _say(
            f"Serveur Synapse local démarré sur {self.synapse.base_url} "
            f"en {_seconds(time.monotonic() - started)}."
        )
        try:
            await self._accounts_and_rooms()
        except (RuntimeError, TimeoutError) as exc:
            raise DemoError(
                "impossible de préparer les comptes et les salons de démonstration.", str(exc)
            ) from exc
        await self.feeds.start()
        try:
            await asyncio.to_thread(self.smtp.start)
        except Exception as exc:
            raise DemoError("le serveur SMTP local n’a pas pu démarrer.", repr(exc)) from exc
        try:
            self.has_mailbox = await self.desk.start()
        except (RuntimeError, TimeoutError) as exc:
            raise DemoError(
                "le serveur IMAP local (Dovecot) n’a pas pu démarrer.", str(exc)
            ) from exc
        await self._start_bot()
        await self._show_identity()
        rooms = ", ".join(f"« {room.name} »" for room in ROOMS)
        _say(
            f"Comptes créés, salons chiffrés {rooms} prêts, flux « {FEED_NAME} » servi "
            f"localement, serveur SMTP local à l’écoute sur {self.smtp_address}, bot connecté "
            f"(préparation : {_seconds(time.monotonic() - started)})."
        )
        _say(
            f"Boîte aux lettres du bot sur le serveur IMAP local {self.desk.address}."
            if self.has_mailbox
            else MAILBOX_MISSING
        )

    @property
    def smtp_address(self) -> str:
        return f"127.0.0.1:{self.smtp.port}"

    async def _accounts_and_rooms(self) -> None:
        synapse = self.synapse
        self.bot_account = await synapse.register(
            BOT.localpart, readable_password(), displayname=BOT.display_name
        )
        self.names[self.bot_account.user_id] = BOT.display_name
        for person in PEOPLE:
            account = await synapse.register(
                person.localpart, readable_password(), displayname=person.display_name
            )
            self.names[account.user_id] = person.display_name
            participant = Participant(synapse.base_url, account, self.workdir / "clients")
            self.people[person.localpart] = participant
            await participant.start()
            participant.client.add_event_callback(
                self._record_timestamp,
                (
                    nio.RoomMessage,
                    nio.MegolmEvent,
                    nio.ReactionEvent,
                    nio.RedactionEvent,
                    nio.UnknownEvent,
                ),
            )
        rupn = self.people[RUPN.localpart]
        for room in ROOMS:
            members = [self.people[m] for m in room.members]
            self.room_ids[room.key] = await rupn.create_encrypted_room(
                room.name, invite=[*(m.user_id for m in members), self.bot_id]
            )
            humans = [rupn.user_id, *(m.user_id for m in members)]
            for participant in (rupn, *members):
                await participant.wait_joined(self.room_ids[room.key], humans, JOIN_TIMEOUT_S)

    def _record_timestamp(self, room: Any, event: Any) -> None:
        stamp = getattr(event, "server_timestamp", None)
        if isinstance(stamp, int):
            self.timestamps[str(event.event_id)] = stamp

    def _bot_config(self) -> Config:
        if self.bot_account is None:
            raise RuntimeError("the bot account is not registered yet")
        add_secret(self.bot_account.password)
        try:
            sample = FEED_SAMPLE.read_bytes()
        except OSError as exc:
            raise DemoError("l’exemple de flux SPIP est introuvable.", str(exc)) from exc
        url = self.feeds.publish("srane.xml", sample)
        path = write_bot_config(
            self.workdir / "bot.toml",
            homeserver=self.synapse.base_url,
            bot=self.bot_account,
            admins=[self.people[RUPN.localpart].user_id],
            data_dir=self.workdir / "botdata",
            max_sends_per_second=MAX_SENDS_PER_SECOND,
            bot_extra={
                "broadcast_rooms": [self.room_ids[STAFF]],
                "curation_room": self.room_ids[BUREAU],
                "feed_poll_minutes": FEED_POLL_MINUTES,
                # The chatty mode, so that the transcript shows each sign-up being taken.
                "workshop_signup_notices": "salon",
            },
            feeds=[{"name": FEED_NAME, "url": url}],
            sections={
                "digest": {"day": LETTER_DAY, "time": LETTER_TIME, "zone": SCHOOL_ZONE},
                "email": {
                    "smtp_host": "127.0.0.1",
                    "smtp_port": self.smtp.port,
                    "starttls": False,
                    "from": MAIL_FROM,
                    "to": list(MAIL_TO),
                },
                **({"assistance": self.desk.section()} if self.has_mailbox else {}),
            },
        )
        try:
            return load_config(path, environ={**os.environ, **self.desk.environment})
        except ConfigError as exc:
            raise DemoError("la configuration générée pour le bot est invalide.", str(exc)) from exc

    async def _start_bot(self) -> None:
        config = self._bot_config()

        def on_ready(_: RunningBot) -> None:
            self.bot_ready.set()

        self.bot_task = asyncio.create_task(
            run_app(config, self.bot_stop, on_ready=on_ready), name="rupn-bot"
        )
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                await self.guard(self.bot_ready.wait())
        except TimeoutError as exc:
            raise DemoError(
                f"le bot n’était pas prêt au bout de {READY_TIMEOUT_S:.0f} secondes.",
                self._bot_failure(),
            ) from exc
        for room in ROOMS:
            try:
                # Every member must see the bot joined, or their first message would not
                # be encrypted for its device.
                for localpart in (RUPN.localpart, *room.members):
                    await self.guard(
                        self.people[localpart].wait_joined(
                            self.room_ids[room.key], [self.bot_id], JOIN_TIMEOUT_S
                        )
                    )
            except TimeoutError as exc:
                raise DemoError(
                    f"le bot n’a pas rejoint le salon « {room.name} ».", self._bot_failure()
                ) from exc

    async def _show_identity(self) -> None:
        """What a teacher's client checks: the bot's device signed by its account's identity."""
        session = load_session(self.workdir / "botdata")
        rupn = self.people[RUPN.localpart]
        query = await KeysApi(self.synapse.base_url, rupn.client.access_token).query(self.bot_id)
        if session is None or not device_is_signed(query, self.bot_id, session.device_id):
            raise DemoError(
                "la session du bot n’est pas signée par son compte.", self._bot_failure()
            )
        keys = (query.get("master_keys") or {}).get(self.bot_id, {}).get("keys", {})
        master = IdentityReport(IdentityState.SIGNED, next(iter(keys.values()), ""))
        _say(
            f"Session {session.device_id} du bot signée par l’identité de son compte (clé "
            f"maîtresse {master.fingerprint()[:19]}…) : Element et Tchap lui font confiance."
        )

    # -- showing -------------------------------------------------------------------------

    def _name(self, user_id: str, room_id: str) -> str:
        """The display name as the room observer's client shows it."""
        observer = self.observer_of(self._key_of(room_id))
        room = observer.client.rooms.get(room_id)
        if room is not None and user_id in room.users:
            return str(room.user_name(user_id))
        return self.names.get(user_id, user_id)

    def _header(self, key: str) -> None:
        if key == self.current_room:
            return
        self.current_room = key
        room = self.room(key)
        observer = of(self.names[self.people[room.observer].user_id])
        _say(f"  ── Salon « {room.name} » — vu par le client {observer} ──")

    def _count(self, message: SeenMessage) -> None:
        tally = self.tally
        if message.event_type == "m.reaction":
            tally.reactions += 1
            return
        if message.event_type == "m.room.redaction":
            tally.withdrawals += 1
            return
        tally.decrypted += message.decrypted
        if message.event_type == POLL_RESPONSE:
            tally.votes += 1
        elif message.event_type == POLL_START:
            tally.polls += 1
        elif message.event_type == POLL_END:
            tally.polls_closed += 1
        else:
            tally.messages += 1
            self._count_message(message)

    def _count_message(self, message: SeenMessage) -> None:
        tally = self.tally
        if message.sender != self.bot_id:
            tally.commands += message.body.startswith("!")
        elif message.in_reply_to is not None:
            tally.replies += 1
        elif _edited(message) is not None:
            tally.edits += 1
        elif message.msgtype == "m.file":
            tally.invitations += 1
        elif _WORKSHOP_NOTICE.match(message.body):
            tally.workshops += 1
        elif message.body.startswith(LETTER_TITLE):
            tally.letters += 1
        elif _mentioned(message):
            tally.signups += 1
        elif message.room_id == self.room_ids[BUREAU]:
            tally.proposals += 1
        else:
            tally.posts += 1

    def _vote(self, message: SeenMessage) -> str:
        """« vote : Mardi midi », or « change son vote : … » after a first vote."""
        poll_id = _referenced(message) or ""
        choices = self.poll_choices.get(poll_id, {})
        answers = message.content.get(POLL_RESPONSE)
        ids = answers.get("answers") if isinstance(answers, dict) else None
        texts = [choices.get(str(a), str(a)) for a in (ids if isinstance(ids, list) else [])]
        changed = (poll_id, message.sender) in self.voted
        self.voted.add((poll_id, message.sender))
        if not texts:
            return "retire son vote"
        return f"{'change son vote' if changed else 'vote'} : {', '.join(texts)}"

    def show(self, message: SeenMessage, target: str = "") -> None:
        """Print one message as its room's observer received it, once."""
        if message.event_id in self.shown:
            return
        self.shown.add(message.event_id)
        self._count(message)
        if message.event_type == POLL_START:
            self.poll_choices[message.event_id] = answer_ids(message)
        elif message.event_type == POLL_RESPONSE and not target:
            target = self._vote(message)
        self._header(self._key_of(message.room_id))
        stamp = self.timestamps.get(message.event_id)
        when = (
            datetime.fromtimestamp(stamp / 1000, tz=PARIS)
            if stamp is not None
            else datetime.now(PARIS)
        )
        name = self._name(message.sender, message.room_id)
        for line in render_message(message, name, when, target):
            _say(line)

    def show_mail(self, mail: ReceivedMail) -> None:
        """Print an e-mail the local SMTP server received, under its own header."""
        self.tally.mails += 1
        self.current_room = ""  # the next room message gets its header again
        _say(f"  {MAIL_SECTION}")
        for line in render_mail(mail, self.smtp_address):
            _say(MAIL_INDENT + line if line.strip() else "")

    # -- the scenario --------------------------------------------------------------------

    async def play(self) -> None:
        _say()
        _say("Conversations telles que les reçoivent les clients Matrix des participants")
        _say("(chaque salon est montré par le client de l’un de ses membres ;")
        _say(f" {LOCK} : message chiffré de bout en bout, reçu et déchiffré par ce client ;")
        _say(f" {CLEAR} : reçu en clair — matrix-nio, qui joue les participants, n’envoie pas")
        _say("      les réactions chiffrées, et le retrait d’une réaction ne l’est jamais)")
        started = time.monotonic()
        for action in SCENARIO:
            if not self.has_mailbox and _needs_mailbox(action):
                continue  # the setup said why
            if action.note:  # an action without a note goes on under the previous one
                _say()
                _say(f"— {action.note}")
                self.current_room = ""
            if isinstance(action, Step):
                await self._step(action)
            elif isinstance(action, DeskAnswers):
                await self._desk_answers(action)
            elif isinstance(action, AwaitProposal):
                await self._await_proposal()
            elif isinstance(action, Vote):
                await self._vote_step(action)
            elif isinstance(action, SignUp):
                await self._sign_up(action)
            elif isinstance(action, Withdraw):
                await self._withdraw(action)
            else:
                await self._react(action)
        _say()
        _say(
            summary_line(self.tally)
            + f" Durée du scénario : {_seconds(time.monotonic() - started)}."
        )

    def _marks(self) -> dict[str, int]:
        return {room.key: self.observer_of(room.key).mark() for room in ROOMS}

    async def _seen(
        self, key: str, predicate: Callable[[SeenMessage], bool], after: int, what: str
    ) -> SeenMessage:
        """The first message of room `key` matching `predicate`, as its observer received it."""
        room_id = self.room_ids[key]
        observer = self.observer_of(key)
        try:
            return await observer.wait_for(
                lambda m: m.room_id == room_id and predicate(m), SEEN_TIMEOUT_S, after=after
            )
        except TimeoutError as exc:
            raise DemoError(
                f"le client {of(self.names[observer.user_id])} n’a pas reçu {what} dans le "
                f"salon « {self.room(key).name} » dans les {SEEN_TIMEOUT_S:.0f} secondes.",
                f"{exc}\n\n{self._bot_failure()}",
            ) from exc

    def _is_post(self, message: SeenMessage) -> bool:
        """A message of the bot that replies to nobody: an announcement, or its edit."""
        return (
            message.sender == self.bot_id
            and message.event_type == "m.room.message"
            and message.in_reply_to is None
        )

    async def _show_posts(self, marks: dict[str, int], what: str) -> None:
        for key in DIFFUSION:
            self.show(await self._seen(key, self._is_post, marks[key], what))

    async def _step(self, step: Step) -> None:
        speaker = self.people[step.who]
        marks = self._marks()
        mails = len(self.smtp.received)
        day = workshop_day(datetime.now(PARIS).date())
        text = step.text.replace("{annonce}", self.last_announcement).replace(
            "{semaine_prochaine}", f"{day.day}/{day.month}"
        )
        if step.ends_poll:
            await self._end_poll(step, text, marks)
            return
        try:
            reply = await speaker.send_and_wait_reply(
                self.room_ids[step.room], text, self.bot_id, REPLY_TIMEOUT_S
            )
        except TimeoutError as exc:
            raise DemoError(
                f"le bot n’a pas répondu à « {text} » "
                f"(envoyé par {self.names[speaker.user_id]}) "
                f"dans les {REPLY_TIMEOUT_S:.0f} secondes.",
                f"{exc}\n\n{self._bot_failure()}",
            ) from exc
        command_id = reply.in_reply_to or ""
        after = marks[step.room]
        what = f"l’échange « {text} »"
        self.show(await self._seen(step.room, lambda m: m.event_id == command_id, after, what))
        if step.publishes:
            await self._show_posts(marks, "l’annonce")
        if step.starts_poll:

            def poll_start(message: SeenMessage) -> bool:
                return message.sender == self.bot_id and message.event_type == POLL_START

            self.poll = await self._seen(step.room, poll_start, after, "le sondage")
            self.show(self.poll)
        if step.announces_workshop:
            await self._show_workshop(step.room, after)
        if step.sends_letter:
            await self._show_letters(marks)
        self.show(await self._seen(step.room, lambda m: m.event_id == reply.event_id, after, what))
        if step.sends_letter or step.sends_ticket:
            mail = await self._mail_after(mails)
            self.show_mail(mail)
            if step.sends_ticket:
                self.ticket = (command_id, mail)
        published = _PUBLISHED.search(reply.body)
        if published:
            self.last_announcement = published.group(1)

    async def _desk_answers(self, answer: DeskAnswers) -> None:
        """The desk's answer goes into the bot's mailbox; the reporter sees it in the thread."""
        if self.ticket is None:
            raise RuntimeError("DeskAnswers needs a Step with sends_ticket before it")
        report, ticket = self.ticket
        after = self.observer_of(STAFF).mark()
        subject = await self.desk.answer(ticket, answer.text)
        self.current_room = ""
        _say(f"  ── Courriel du service déposé dans la boîte du bot ({self.desk.address}) ──")
        _say(f"{MAIL_INDENT}Subject: {subject}")

        def in_thread(message: SeenMessage) -> bool:
            relates = message.content.get("m.relates_to")
            return (
                message.sender == self.bot_id
                and isinstance(relates, dict)
                and relates.get("rel_type") == "m.thread"
                and relates.get("event_id") == report
            )

        self.show(await self._seen(STAFF, in_thread, after, "la réponse du service d’assistance"))

    async def _show_letters(self, marks: dict[str, int]) -> None:
        """The weekly letter, as a member of each diffusion room received it."""

        def letter(message: SeenMessage) -> bool:
            return message.sender == self.bot_id and message.body.startswith(LETTER_TITLE)

        for key in DIFFUSION:
            self.show(await self._seen(key, letter, marks[key], "la lettre de la semaine"))

    async def _mail_after(self, count: int) -> ReceivedMail:
        """The first e-mail the SMTP server receives after the `count` it had.

        The server runs in its own thread and has nothing to await: its list is looked at
        every `MAIL_POLL_S`, until the e-mail is there.
        """
        deadline = time.monotonic() + MAIL_TIMEOUT_S
        while True:
            received = self.smtp.received
            if len(received) > count:
                return received[count]
            if time.monotonic() >= deadline:
                raise DemoError(
                    "le serveur SMTP local n’a reçu aucun courriel du bot dans les "
                    f"{MAIL_TIMEOUT_S:.0f} secondes.",
                    self._bot_failure(),
                )
            await asyncio.sleep(MAIL_POLL_S)

    async def _show_workshop(self, key: str, after: int) -> None:
        """The atelier notice, then its .ics attachment downloaded and decrypted."""

        def notice(message: SeenMessage) -> bool:
            return message.sender == self.bot_id and bool(_WORKSHOP_NOTICE.match(message.body))

        def attachment(message: SeenMessage) -> bool:
            return message.sender == self.bot_id and message.msgtype == "m.file"

        self.workshop_notice = await self._seen(key, notice, after, "l’annonce de l’atelier")
        self.waiting = []
        self.show(self.workshop_notice)
        upload = await self._seen(key, attachment, after, "l’invitation .ics")
        observer = self.observer_of(key)
        try:
            text, raw = ics_summary(await self._download(observer, upload))
        except (MatrixDownloadError, ValueError, KeyError, TypeError, StopIteration) as exc:
            raise DemoError(
                f"le client {of(self.names[observer.user_id])} n’a pas pu télécharger et "
                "déchiffrer l’invitation .ics.",
                f"{exc!r}\n\n{self._bot_failure()}",
            ) from exc
        self.show(
            upload, f"invitation pour l’agenda : {text}\n{raw} (fichier téléchargé et déchiffré)"
        )

    @staticmethod
    async def _download(who: Participant, upload: SeenMessage) -> bytes:
        """The plain bytes of an encrypted attachment (``file``: url, key, iv, hash)."""
        file = upload.content["file"]
        response = await who.client.download(mxc=file["url"])
        if not isinstance(response, nio.MemoryDownloadResponse):
            raise MatrixDownloadError(repr(response))
        plain: bytes = decrypt_attachment(
            response.body, file["key"]["k"], file["hashes"]["sha256"], file["iv"]
        )
        return plain

    def _workshop_target(self) -> tuple[SeenMessage, str]:
        notice = self.workshop_notice
        if notice is None:
            raise RuntimeError("SignUp and Withdraw need a step announcing an atelier before")
        number = _WORKSHOP_NOTICE.match(notice.body)
        return notice, f"à l’annonce de l’atelier n° {number.group(1) if number else '?'}"

    async def _bot_mentioning(
        self, user_id: str, after: int, what: str, words: str = ""
    ) -> SeenMessage:
        """The bot's next staff-room message (not a reply) mentioning `user_id`."""

        def told(message: SeenMessage) -> bool:
            return (
                message.sender == self.bot_id
                and message.in_reply_to is None
                and user_id in _mentioned(message)
                and words in message.body
            )

        found = await self._seen(STAFF, told, after, what)
        self.show(found)
        return found

    async def _sign_up(self, signup: SignUp) -> None:
        notice, target = self._workshop_target()
        who = self.people[signup.who]
        after = self._marks()[STAFF]
        reaction_id = await who.send_event(
            self.room_ids[STAFF],
            "m.reaction",
            {
                "m.relates_to": {
                    "rel_type": "m.annotation",
                    "event_id": notice.event_id,
                    "key": signup.key,
                }
            },
        )
        self.signup_reactions[signup.who] = (reaction_id, signup.key)
        self.show(
            await self._seen(STAFF, lambda m: m.event_id == reaction_id, after, "la réaction"),
            target,
        )
        told = await self._bot_mentioning(who.user_id, after, "la confirmation d’inscription")
        if "liste d’attente" in told.body:
            self.waiting.append(who.user_id)

    async def _withdraw(self, withdraw: Withdraw) -> None:
        _, target = self._workshop_target()
        who = self.people[withdraw.who]
        reaction = self.signup_reactions.pop(withdraw.who, None)
        if reaction is None:
            raise RuntimeError(f"{withdraw.who} has no sign-up reaction to withdraw")
        reaction_id, key = reaction
        after = self._marks()[STAFF]
        redaction_id = await who.redact(self.room_ids[STAFF], reaction_id)
        self.show(
            await self._seen(STAFF, lambda m: m.event_id == redaction_id, after, "le retrait"),
            f"retire sa réaction {key} {target}",
        )
        await self._bot_mentioning(who.user_id, after, "la désinscription", "désinscription")
        if who.user_id in self.waiting:
            self.waiting.remove(who.user_id)
        elif self.waiting:
            promoted = self.waiting.pop(0)
            await self._bot_mentioning(promoted, after, "la place libérée", "libérée")

    async def _end_poll(self, step: Step, text: str, marks: dict[str, int]) -> None:
        """A command the bot answers with the poll's end event, not with a reply."""
        poll = self.poll
        if poll is None:
            raise RuntimeError("a step ending a poll needs a step starting one before it")
        command_id = await self.people[step.who].send_text(self.room_ids[step.room], text)
        after = marks[step.room]
        what = f"l’échange « {text} »"
        self.show(await self._seen(step.room, lambda m: m.event_id == command_id, after, what))

        def poll_end(message: SeenMessage) -> bool:
            return (
                message.sender == self.bot_id
                and message.event_type == POLL_END
                and _referenced(message) == poll.event_id
            )

        self.show(await self._seen(step.room, poll_end, after, "la fin du sondage"))

    async def _vote_step(self, vote: Vote) -> None:
        poll = self.poll
        if poll is None:
            raise RuntimeError("Vote needs a step starting a poll before it")
        answer = next((key for key, text in answer_ids(poll).items() if text == vote.choice), None)
        if answer is None:
            raise RuntimeError(f"the poll has no choice {vote.choice!r}")
        marks = self._marks()
        vote_id = await self.people[vote.who].send_event(
            self.room_ids[vote.room],
            POLL_RESPONSE,
            {
                "m.relates_to": {"rel_type": "m.reference", "event_id": poll.event_id},
                POLL_RESPONSE: {"answers": [answer]},
            },
        )
        after = marks[vote.room]
        self.show(await self._seen(vote.room, lambda m: m.event_id == vote_id, after, "le vote"))

    async def _await_proposal(self) -> None:
        def proposal(message: SeenMessage) -> bool:
            return message.sender == self.bot_id and _PROPOSAL.search(message.body) is not None

        observer = self.observer_of(BUREAU)
        bureau = self.room_ids[BUREAU]
        try:
            self.proposal = await self.guard(
                observer.wait_for(lambda m: m.room_id == bureau and proposal(m), PROPOSAL_TIMEOUT_S)
            )
        except TimeoutError as exc:
            raise DemoError(
                f"le bot n’a proposé aucun article du flux « {FEED_NAME} » "
                f"dans les {PROPOSAL_TIMEOUT_S:.0f} secondes.",
                f"{exc}\n\n{self._bot_failure()}",
            ) from exc
        self.show(self.proposal)

    async def _react(self, react: React) -> None:
        proposal = self.proposal
        if proposal is None:
            raise RuntimeError("React needs an AwaitProposal step before it")
        number = _PROPOSAL.search(proposal.body)
        target = f"à la proposition n° {number.group(1)}" if number else "à la proposition"
        marks = self._marks()
        reaction_id = await self.people[react.who].send_event(
            self.room_ids[BUREAU],
            "m.reaction",
            {
                "m.relates_to": {
                    "rel_type": "m.annotation",
                    "event_id": proposal.event_id,
                    "key": react.key,
                }
            },
        )
        after = marks[BUREAU]
        self.show(
            await self._seen(BUREAU, lambda m: m.event_id == reaction_id, after, "la réaction"),
            target,
        )
        await self._show_posts(marks, "l’article publié")

        def confirmation(message: SeenMessage) -> bool:
            return message.sender == self.bot_id and message.in_reply_to == proposal.event_id

        confirmed = await self._seen(BUREAU, confirmation, after, "la confirmation")
        self.show(confirmed)
        published = _PUBLISHED.search(confirmed.body)
        if published:
            self.last_announcement = published.group(1)

    # -- keep running --------------------------------------------------------------------

    def _accounts(self) -> Iterable[tuple[str, Account]]:
        for person in PEOPLE:
            yield f"{person.display_name}, {person.role}", self.people[person.localpart].account
        if self.bot_account is not None:
            yield f"{BOT.display_name}, {BOT.role}", self.bot_account

    def print_connection_info(self) -> None:
        url = self.synapse.base_url
        logins = ", ".join(p.localpart for p in PEOPLE)
        _say()
        _say("La démonstration continue : tout reste en marche jusqu’à Ctrl+C.")
        _say()
        _say(f"Serveur Matrix local (homeserver) : {url}")
        for room in ROOMS:
            _say(f"Salon : « {room.name} », chiffré de bout en bout")
        _say(
            f"Serveur SMTP local : {self.smtp_address} (les courriels de la lettre, "
            f"adressés à {', '.join(MAIL_TO)}, s’affichent ici)"
        )
        _say()
        _say("Comptes :")
        for label, account in self._accounts():
            _say(f"  {label}")
            _say(f"      identifiant : {account.user_id}")
            _say(f"      mot de passe : {account.password}")
        _say()
        _say("Pour rejoindre les salons avec Element (application de bureau, ou")
        _say("https://app.element.io dans un navigateur de cette machine) :")
        _say("  1. Sur l’écran de connexion, à côté de « Serveur d’accueil », cliquez sur")
        _say("     « Modifier ».")
        _say(f"  2. Choisissez un serveur d’accueil personnalisé : {url}")
        _say(f"  3. Connectez-vous avec l’un des comptes ci-dessus (nom d’utilisateur : {logins}).")
        _say("  4. Dans le salon, tapez par exemple !aide : le bot répond. Dans le bureau")
        _say("     du RUPN (compte rupn), !lettre envoyer envoie la lettre de la semaine.")
        _say("Les messages échangés avant votre connexion resteront illisibles dans Element :")
        _say("ils ont été chiffrés pour les appareils de la démonstration, pas pour le vôtre.")
        _say()
        _say(f"Fichiers de la démonstration (journaux, bases de données) : {self.workdir}")
        _say(f"Journal du bot : {self.bot_log}")
        _say()
        _say("Appuyez sur Ctrl+C pour tout arrêter (bot, clients simulés et serveur Synapse).")
        _say()
        _say("Nouveaux messages des salons, chacun vu par le client de l’un de ses membres,")
        _say("et nouveaux courriels reçus par le serveur SMTP local :")
        self.current_room = ""

    async def follow(self) -> None:
        """Print the rooms' new messages as their observers receive them, until cancelled."""
        await asyncio.gather(*(self._follow(room) for room in ROOMS), self._follow_mail())

    async def _follow_mail(self) -> None:
        shown = len(self.smtp.received)
        while True:
            await asyncio.sleep(MAIL_FOLLOW_S)
            received = self.smtp.received
            for mail in received[shown:]:
                self.show_mail(mail)
            shown = len(received)

    async def _follow(self, room: Room) -> None:
        observer = self.observer_of(room.key)
        room_id = self.room_ids[room.key]
        index = observer.mark()
        while True:
            with contextlib.suppress(TimeoutError):
                await observer.wait_for(lambda _: True, 3600, after=index)
            messages = observer.messages
            for message in messages[index:]:
                if message.room_id == room_id and message.event_type in SHOWN_TYPES:
                    self.show(message)
            index = len(messages)

    # -- stopping ------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop the bot (letting it drain its queue), the clients, then Synapse."""
        self.bot_stop.set()
        task = self.bot_task
        if task is not None:
            try:
                await asyncio.wait_for(task, BOT_STOP_TIMEOUT_S)
            except TimeoutError:
                logging.getLogger(__name__).warning("The bot did not stop in time")
            except Exception:
                logging.getLogger(__name__).exception("The bot stopped on an error")
        for participant in self.people.values():
            with contextlib.suppress(Exception):
                await participant.stop()
        await self.feeds.stop()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.smtp.stop)
        await self.desk.close()
        await self.synapse.stop()


# --------------------------------------------------------------------------- entry point


async def _main(workdir: Path, keep_running: bool) -> int:
    interrupted = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, interrupted.set)
    demo = Demo(workdir, interrupted)
    live = False
    try:
        _say(f"Démonstration de rupn-bot — salon chiffré « {ROOM_NAME} » sur un Synapse local")
        _say(
            f"Aussi : salons « {ROOMS[1].name} » et « {ROOMS[2].name} », "
            f"veille d’actualités « {FEED_NAME} » (flux SPIP servi localement), "
            "lettre de la semaine envoyée aussi par courriel (serveur SMTP local), "
            "signalement d’une panne et réponse du service d’assistance (serveur IMAP local)."
        )
        _say()
        await demo.guard(demo.setup())
        await demo.guard(demo.play())
        if keep_running:
            demo.print_connection_info()
            live = True
            await demo.guard(demo.follow())
        return EXIT_OK
    except Interrupted:
        if live:
            _say()
            _say("Arrêt demandé : arrêt du bot, des clients et du serveur Synapse…")
            return EXIT_OK
        print("\nDémonstration interrompue.", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except DemoError as error:
        print(f"\nErreur : {error.message}", file=sys.stderr)
        if error.details:
            print(f"\nDétails :\n{error.details}", file=sys.stderr, flush=True)
        return EXIT_FAILURE
    except Exception:
        print("\nErreur inattendue pendant la démonstration :", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return EXIT_FAILURE
    finally:
        await demo.close()
        for signum in signals:
            loop.remove_signal_handler(signum)
        if live:
            _say(f"Tout est arrêté. Les fichiers de la démonstration restent dans {workdir}.")


def run_demo(keep_running: bool) -> int:
    """Run the demo; 0 on success, 1 on failure, 130 if interrupted by Ctrl+C."""
    workdir = Path(tempfile.mkdtemp(prefix="rupn-bot-demo-"))
    restore_logging = _log_to_file(workdir / "bot.log")
    try:
        return asyncio.run(_main(workdir, keep_running))
    finally:
        restore_logging()
        if not keep_running:
            shutil.rmtree(workdir, ignore_errors=True)
