"""`!panne` with the real servers around the bot: the desk's SMTP server on loopback
(aiosmtpd) receives the tickets, Dovecot holds the bot's mailbox, and the test plays the
desk as GLPI does (its own Message-ID, « [GLPI #0000123] » in the subject, quoted history,
a signature, HTML and text parts in ISO-8859-1 or UTF-8). Teachers are nio clients, and one
is an Element-grade client; the staff room is encrypted.

One bot, one mailbox and one staff room for the whole module. Scenes do not depend on each
other's order: each reports its own equipment and reads its request number from the
bot's reply. The scenes that stop a server or kill the bot leave both running.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.mailbox.folders import HANDLED_FOLDER
from devtools.desk import glpi_answer
from devtools.element import ElementClient
from devtools.imap import ThrowawayDovecot
from devtools.participant import Participant, SeenMessage
from devtools.smtp import MailCatcher, ReceivedMail
from devtools.synapse import ThrowawaySynapse
from tests.e2e.conftest import StaffRoom, close_staff_room, make_staff_room
from tests.e2e.helpers import eventually, outbox_drained, query

pytestmark = pytest.mark.e2e

BOT_MAILBOX = "rupn-bot@clg-exemple.fr"
DESK = "assistance@ac-exemple.fr"
SCHOOL = "Collège Jean Moulin"
REPORTED = re.compile(r"^Demande n° ([0-9]+) enregistrée")

desk_mail = functools.partial(glpi_answer, desk=DESK, mailbox=BOT_MAILBOX)
"""The desk's answer, GLPI-style, to the bot's mailbox."""


@dataclass
class Desk:
    staff: StaffRoom
    element: ElementClient
    smtp: MailCatcher
    imap: ThrowawayDovecot

    async def report(self, who: Participant, text: str) -> tuple[str, int, SeenMessage]:
        """`who` reports a breakdown: (the report's event id, its number, the bot's reply)."""
        event_id = await who.send_text(self.staff.room_id, text)
        reply = await self.staff.wait_reply(who, event_id)
        found = REPORTED.match(reply.body)
        assert found is not None, reply.body
        return event_id, int(found[1]), reply

    async def ticket(self, number: int) -> ReceivedMail:
        """The mail that opened request `number`, as the desk received it."""
        mid = f"<panne-etab-{number}@clg-exemple.fr>"

        def ticket() -> ReceivedMail | None:
            return next((m for m in self.smtp.received if m.parsed()["Message-ID"] == mid), None)

        found = await eventually(ticket, what=f"the ticket of request {number}")
        assert found is not None
        return found


@pytest.fixture(scope="module")
async def desk(
    synapse: ThrowawaySynapse, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Desk]:
    workdir = tmp_path_factory.mktemp("assistance-desk")
    smtp = MailCatcher()
    smtp.start()
    imap = ThrowawayDovecot(workdir / "dovecot", user=BOT_MAILBOX)
    sections: dict[str, dict[str, Any]] = {
        "email": {
            "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "starttls": False,
            "from": BOT_MAILBOX, "to": ["equipe@clg-exemple.fr"],
        },
        "assistance": {
            "to": DESK, **imap.assistance_keys(), "etablissement": SCHOOL, "uai": "0860001J",
        },
    }  # fmt: skip
    account = await synapse.register("eldesk", "prof-pw")
    element = ElementClient(synapse.base_url, account, workdir / "element.log")
    staff: StaffRoom | None = None
    try:
        async with asyncio.TaskGroup() as group:  # the Node client and Dovecot start meanwhile
            room = group.create_task(make_staff_room(synapse, workdir, sections=sections))
            group.create_task(element.start())
            group.create_task(imap.start())
        staff = room.result()
        staff.bot.env = imap.environment
        await staff.rupn.invite(staff.room_id, element.user_id)
        async with asyncio.TaskGroup() as group:
            group.create_task(staff.bot.start())
            group.create_task(element.join(staff.room_id))
        await staff.wait_bot_joined()
        await element.wait_joined(staff.room_id, [staff.bot_id, staff.rupn.user_id])
        await staff.rupn.wait_joined(staff.room_id, [element.user_id])
        yield Desk(staff, element, smtp, imap)
    finally:
        await element.stop()
        if staff is not None:
            await close_staff_room(staff)
        await imap.close()
        smtp.stop()


def in_thread(message: SeenMessage, root: str) -> bool:
    relates = message.content.get("m.relates_to") or {}
    return relates.get("rel_type") == "m.thread" and relates.get("event_id") == root


def answer_text(number: int, title: str, ticket: str | None, text: str) -> str:
    desk_number = f" (ticket {ticket} du service d’assistance)" if ticket else ""
    return (
        f"Réponse du service d’assistance à la demande n° {number} ({title}){desk_number} :"
        f"\n\nBonjour,\n\n{text}"  # the desk's greeting is part of what it wrote
    )


async def bodies_seen(who: Participant, staff: StaffRoom, body: str) -> int:
    """How many times `who` saw the bot post `body`, once nothing else is on its way."""
    await outbox_drained(staff.workdir)
    await who.send_and_wait_reply(staff.room_id, "!pannes", staff.bot_id)  # sent after
    return sum(1 for m in who.messages if m.sender == staff.bot_id and m.body == body)


async def test_the_ticket_the_desk_answer_in_the_thread_and_a_precision_in_the_desk_thread(
    desk: Desk,
) -> None:
    staff = desk.staff
    report, n, _ = await desk.report(staff.prof1, "!panne B12 vidéoprojecteur ne s’allume plus")
    colleague = await staff.prof2.send_text(staff.room_id, "!panne b12 | Vidéoprojecteur | noir")
    attached = await staff.wait_reply(staff.prof2, colleague)
    assert attached.body == (
        f"Déjà signalé, n° {n} (B12 — vidéoprojecteur) : je vous ajoute aux personnes "
        "prévenues. La réponse du service d’assistance vous sera transmise ici."
    )

    ticket = await desk.ticket(n)
    mail = ticket.parsed()
    assert ticket.rcpt_tos == (DESK,)
    assert mail["To"] == DESK
    assert mail["From"] == f"rupn-bot <{BOT_MAILBOX}>"
    assert mail["Reply-To"] == BOT_MAILBOX
    assert mail["Subject"] == (
        f"[rupn-bot n° {n}] {SCHOOL} — B12 — vidéoprojecteur — ne s’allume plus"
    )
    lines = mail.get_content().splitlines()
    reporter = staff.prof1.user_id[1:].partition(":")[0]
    for line in (
        "Établissement : Collège Jean Moulin (UAI 0860001J)",
        "Salle : B12",
        "Matériel : vidéoprojecteur",
        "Ce qui se passe : ne s’allume plus",
        f"Signalée par : {reporter}",
        f"Demande n° {n} de l’établissement, transmise par rupn-bot.",
    ):
        assert line in lines
    assert any(line.startswith("Signalée le : ") for line in lines)

    # The desk answers, GLPI-style: text in ISO-8859-1, HTML in UTF-8, history and signature.
    ticket_id = f"panne-etab-{n}@clg-exemple.fr"
    subject = f"[GLPI #0000123] Re: [rupn-bot n° {n}] {SCHOOL} — B12 — vidéoprojecteur"
    news = "Le technicien passera jeudi à 8 h en B12 ; merci de laisser la salle ouverte."
    marks = (staff.prof1.mark(), staff.prof2.mark())
    await desk.imap.deliver(
        desk_mail(subject, "glpi-123-1@ac-exemple.fr", news,
                    in_reply_to=ticket_id, references=(ticket_id,))
    )  # fmt: skip
    expected = answer_text(n, "B12 — vidéoprojecteur", "GLPI #0000123", news)
    seen = await staff.prof1.wait_for(lambda m: in_thread(m, report), after=marks[0])
    assert (seen.body, seen.room_id, seen.decrypted) == (expected, staff.room_id, True)
    assert seen.content["m.mentions"] == {"user_ids": [staff.prof1.user_id]}
    theirs = await staff.prof2.wait_for(lambda m: in_thread(m, colleague), after=marks[1])
    assert theirs.body == expected

    # A précision goes to the desk as a reply in the ticket's thread.
    before = len(desk.smtp.received)
    confirmed = await staff.command(staff.prof1, f"!panne {n} Le voyant orange clignote.")
    assert confirmed.body.startswith(
        f"Précision ajoutée à la demande n° {n} (ticket GLPI #0000123 du service d’assistance)"
    )
    [precision] = await eventually(lambda: desk.smtp.received[before:], what="the précision")
    mail = precision.parsed()
    assert mail["In-Reply-To"] == f"<{ticket_id}>"
    assert mail["References"] == f"<{ticket_id}>"
    assert mail["Message-ID"] == f"<panne-etab-{n}-2@clg-exemple.fr>"
    assert mail["Subject"] == (
        f"Re: [GLPI #0000123] [rupn-bot n° {n}] {SCHOOL} — B12 — vidéoprojecteur — ne s’allume plus"
    )
    assert "Précision apportée : Le voyant orange clignote." in mail.get_content().splitlines()

    # GLPI's next follow-up names only its ticket (no threading headers), HTML only in UTF-8.
    done = "Lampe remplacée : le vidéoprojecteur fonctionne de nouveau."
    mark = staff.prof1.mark()
    await desk.imap.deliver(
        desk_mail("[GLPI #0000123] Suivi", "glpi-123-2@ac-exemple.fr", done, text_charset=None)
    )
    seen = await staff.prof1.wait_for(lambda m: in_thread(m, report), after=mark)
    assert seen.body == answer_text(n, "B12 — vidéoprojecteur", "GLPI #0000123", done)


async def test_an_element_teacher_sees_the_answer_in_the_thread_of_the_report(desk: Desk) -> None:
    staff, element = desk.staff, desk.element
    mark = await element.mark(staff.room_id)
    report = await element.send_text(staff.room_id, "!panne C3 imprimante bourrage papier")
    reply = await element.wait_for(
        staff.room_id,
        lambda m: m.sender == staff.bot_id and m.in_reply_to == report and not m.decryption_failure,
        after=mark,
    )
    found = REPORTED.match(reply.body)
    assert found is not None, reply.body
    n = int(found[1])
    await desk.ticket(n)
    news = "Nous envoyons un technicien demain après-midi."
    await desk.imap.deliver(
        desk_mail(f"[GLPI #0000200] Re: [rupn-bot n° {n}] imprimante",
                    "glpi-200-1@ac-exemple.fr", news, text_charset="utf-8",
                    references=(f"panne-etab-{n}@clg-exemple.fr",))
    )  # fmt: skip
    answer = await element.wait_for(
        staff.room_id,
        lambda m: m.sender == staff.bot_id and m.relation == ("m.thread", report),
        after=mark,
    )
    assert answer.decryption_failure is None and answer.encrypted
    assert answer.body == answer_text(n, "C3 — imprimante", "GLPI #0000200", news)
    assert answer.msgtype == "m.text" and answer.notify  # it asks nothing, but it is news


async def test_a_reply_to_an_unknown_request_goes_to_the_rupn_only(desk: Desk) -> None:
    staff = desk.staff
    marks = (staff.prof1.mark(), staff.prof2.mark())
    news = "Intervention terminée en salle D8."
    await desk.imap.deliver(desk_mail("[GLPI #0000999] Clôture", "glpi-999-1@ac-exemple.fr", news))
    expected = (
        "Un courriel reçu dans la boîte du bot ne correspond à aucune demande de panne "
        "connue ; le voici pour que vous le transmettiez.\n"
        f"De : {DESK}\nObjet : [GLPI #0000999] Clôture\n\nBonjour,\n\n{news}"
    )
    told = await staff.rupn.wait_for(lambda m: m.sender == staff.bot_id and news in m.body)
    assert told.body == expected
    assert told.decrypted and told.room_id != staff.room_id  # their direct room
    assert told.content["m.mentions"] == {"user_ids": [staff.rupn.user_id]}
    for teacher, mark in zip((staff.prof1, staff.prof2), marks, strict=True):
        assert await bodies_seen(teacher, staff, expected) == 0, teacher.user_id
        assert not [m for m in teacher.messages[mark:] if news in m.body]
    rows = await query(
        staff.workdir, "SELECT request_id FROM assistance_mails WHERE message_id = ?",
        "glpi-999-1@ac-exemple.fr",
    )  # fmt: skip
    assert rows == [(None,)]


async def test_imap_down_then_up_a_reply_that_arrived_meanwhile_is_posted_once(
    desk: Desk,
) -> None:
    staff = desk.staff
    report, n, _ = await desk.report(staff.prof1, "!panne A4 ordinateur écran bleu")
    await desk.ticket(n)
    offset = len(staff.bot.log_text())
    await desk.imap.stop()
    await eventually(lambda: "unavailable" in staff.bot.log_text()[offset:], what="reader saw it")
    news = "Le poste sera réinstallé lundi."
    mark = staff.prof1.mark()
    desk.imap.drop_into_maildir(
        desk_mail(f"[GLPI #0000300] Re: [rupn-bot n° {n}] ordinateur",
                    "glpi-300-1@ac-exemple.fr", news,
                    in_reply_to=f"panne-etab-{n}@clg-exemple.fr")
    )  # fmt: skip
    await desk.imap.start()
    expected = answer_text(n, "A4 — ordinateur", "GLPI #0000300", news)
    seen = await staff.prof1.wait_for(lambda m: in_thread(m, report), after=mark, timeout=60)
    assert seen.body == expected
    assert await bodies_seen(staff.prof1, staff, expected) == 1
    assert "glpi-300-1@ac-exemple.fr" in await desk.imap.message_ids(HANDLED_FOLDER)


async def test_kill_9_after_the_reply_is_recorded_posts_it_exactly_once(desk: Desk) -> None:
    """kill -9 as soon as the reply's row is committed (its chat message queued with it).

    Whether the reader had moved the mail by then is a matter of milliseconds; when it had,
    the test puts the same mail back in INBOX, which is exactly what the mailbox looks like
    when the bot dies between the commit and the move. Either way the restarted bot reads
    it again, moves it, and the teacher sees the answer once."""
    staff = desk.staff
    report, n, _ = await desk.report(staff.prof1, "!panne E2 | tableau interactif | stylet HS")
    await desk.ticket(n)
    news = "Un stylet neuf est commandé."
    raw = desk_mail(f"[GLPI #0000400] Re: [rupn-bot n° {n}] tableau interactif",
                      "glpi-400-1@ac-exemple.fr", news,
                      in_reply_to=f"panne-etab-{n}@clg-exemple.fr")  # fmt: skip
    mark = staff.prof1.mark()
    await desk.imap.deliver(raw)

    async def recorded() -> bool:
        sql = "SELECT 1 FROM assistance_mails WHERE message_id = ?"
        return bool(await query(staff.workdir, sql, "glpi-400-1@ac-exemple.fr"))

    await eventually(recorded, interval=0.01, what="the reply recorded")
    await staff.bot.kill()
    if "glpi-400-1@ac-exemple.fr" not in await desk.imap.message_ids("INBOX"):
        await desk.imap.deliver(raw)
    await staff.bot.start()
    expected = answer_text(n, "E2 — tableau interactif", "GLPI #0000400", news)
    seen = await staff.prof1.wait_for(lambda m: in_thread(m, report), after=mark, timeout=60)
    assert seen.body == expected

    async def moved() -> bool:
        assert "glpi-400-1@ac-exemple.fr" not in await desk.imap.message_ids("INBOX")
        return True

    await eventually(moved, what="the mail moved out of INBOX")
    assert await bodies_seen(staff.prof1, staff, expected) == 1
    rows = await query(
        staff.workdir, "SELECT COUNT(*) FROM assistance_mails WHERE message_id = ?",
        "glpi-400-1@ac-exemple.fr",
    )  # fmt: skip
    assert rows == [(1,)]
