"""The weekly letter end to end: the real bot, its clock shifted to a school week
(devtools/clocked_bot.py), a real Synapse with encrypted rooms, nio teachers, and a
real SMTP server on loopback (aiosmtpd) for the e-mail.

One scene, in the order a RUPN lives it:
1. Wednesday: an announcement, a poll with one vote, a café, a word for the letter;
   `!lettre aperçu` answers in the RUPN's room only.
2. The bot is down on Friday at 16h30 and back at 18h30: the letter goes out once per
   room, exact (sections, counts, permalinks to the events the teachers saw). The SMTP
   server is down at first, then up: one e-mail, no duplicate, and never a delay for
   the rooms.
3. Next Friday the bot is killed (-9) right after queuing the letter, still pending:
   after restart (a slow pacing, a wrong SMTP password), exactly one letter per room;
   its mail fails and the RUPN is told in French.
4. A second `!lettre envoyer` that week sends nothing; `!annonce` then at once
   `!lettre envoyer quand-même`: an extra letter of what is new (its mail fails too).
5. The password fixed, `!lettre courriel` sends that very mail (same Message-ID); a
   second extra letter carries the announcement to the rooms where it was still
   queued when the first was built: each room sees it in exactly one letter.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from devtools.botprocess import write_bot_config
from devtools.participant import Participant, SeenMessage
from devtools.smtp import MailCatcher
from devtools.synapse import ThrowawaySynapse
from tests.e2e.conftest import StaffRoom, close_staff_room, make_staff_room
from tests.e2e.helpers import eventually, outbox_drained, query

PARIS = ZoneInfo("Europe/Paris")
WEDNESDAY = datetime(2026, 12, 2, 10, 0, tzinfo=PARIS)
DUE = datetime(2026, 12, 4, 16, 30, tzinfo=PARIS)
NEXT_DUE = datetime(2026, 12, 11, 16, 30, tzinfo=PARIS)
START = "org.matrix.msc3381.poll.start"
RESPONSE = "org.matrix.msc3381.poll.response"
SMTP_LOGIN = "rupn"
SMTP_PASSWORD = "bon-mot-de-passe"
FROM = "rupn@clg-exemple.fr"
TO = "equipe@clg-exemple.fr"
LINK = re.compile(r"https://matrix\.to/#/([^/\s]+)/([^?\s]+)\?via=[^\s]+")


def offset_to(moment: datetime) -> float:
    """The clock offset that puts the bot at `moment` now."""
    return (moment - datetime.now(UTC)).total_seconds()


def is_letter(message: SeenMessage, bot: str, room_id: str, marker: str = "") -> bool:
    return (
        message.sender == bot
        and message.room_id == room_id
        and message.body.startswith("📬 La lettre numérique")
        and marker in message.body
    )


def configure(room: StaffRoom, vie: str, private: str, smtp: MailCatcher, **bot: Any) -> None:
    write_bot_config(
        room.bot.config_path,
        homeserver=room.synapse.base_url,
        bot=room.bot_account,
        admins=[room.rupn.user_id],
        data_dir=room.workdir / "botdata",
        max_sends_per_second=bot.pop("max_sends_per_second", 50.0),
        bot_extra={"broadcast_rooms": [room.room_id, vie], "curation_room": private},
        sections={
            "digest": {"day": "vendredi", "time": "16h30", "zone": "B"},
            "email": {
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp.port,
                "starttls": False,
                "username": SMTP_LOGIN,
                "from": FROM,
                "to": [TO],
            },
        },
    )


async def letter_seen(who: Participant, bot: str, room_id: str, marker: str) -> SeenMessage:
    return await who.wait_for(lambda m: is_letter(m, bot, room_id, marker))


async def restart_at(room: StaffRoom, moment: datetime) -> None:
    await room.bot.stop()
    room.bot.clock_offset_s = offset_to(moment)
    await room.bot.start()


async def ask(rupn: Participant, room_id: str, text: str, bot: str) -> str:
    return (await rupn.send_and_wait_reply(room_id, text, bot, 30)).body


async def test_the_weekly_letter(synapse: ThrowawaySynapse, tmp_path: Path) -> None:
    room = await make_staff_room(synapse, tmp_path)
    rupn, prof1, prof2, bot = room.rupn, room.prof1, room.prof2, room.bot_id
    smtp = MailCatcher(login=SMTP_LOGIN, password=SMTP_PASSWORD)
    try:
        vie = await rupn.create_encrypted_room("Vie scolaire", invite=[prof2.user_id, bot])
        private = await rupn.create_encrypted_room("RUPN et bot", invite=[bot])
        await rupn.wait_joined(vie, [rupn.user_id, prof2.user_id])
        configure(room, vie, private, smtp)
        room.bot.env = {"RUPN_SMTP_PASSWORD": SMTP_PASSWORD}
        room.bot.clock_offset_s = offset_to(WEDNESDAY)
        await room.bot.start()
        await room.wait_bot_joined()
        for room_id in (vie, private):
            await rupn.wait_joined(room_id, [bot])

        # 1. Wednesday: what a week brings.
        await ask(rupn, private, "!annonce Réunion ENT lundi 7 décembre à 17h en salle 12", bot)
        announcement = await prof1.wait_for(
            lambda m: m.sender == bot and m.room_id == room.room_id and "Réunion ENT" in m.body
        )
        await rupn.send_text(
            room.room_id,
            "!sondage Quel thème pour le café ? | Pix | ENT | fin : vendredi 11 décembre 17h",
        )
        poll = await prof1.wait_for(lambda m: m.sender == bot and m.event_type == START)
        pix = poll.content[START]["answers"][0]["id"]
        await prof1.send_event(
            room.room_id,
            RESPONSE,
            {
                "m.relates_to": {"rel_type": "m.reference", "event_id": poll.event_id},
                RESPONSE: {"answers": [pix]},
            },
        )
        await ask(rupn, private, "!cafe mardi 8 décembre 12h30 | Pix | CDI", bot)
        cafe = await prof1.wait_for(
            lambda m: (
                m.sender == bot and m.room_id == room.room_id and "Café numérique n° 1" in m.body
            )
        )
        added = await ask(
            rupn, private, "!lettre ajouter Pensez à rendre vos fiches de besoins", bot
        )
        assert added.startswith("Ajouté au mot du RUPN (n° 1). Prochain envoi : vendredi 4")

        async def voted() -> bool:
            return bool(await query(room.workdir, "SELECT 1 FROM poll_responses"))

        await eventually(voted, what="the vote stored")
        preview = await ask(rupn, private, "!lettre aperçu", bot)
        assert preview.startswith("Aperçu de la lettre (rien n’est envoyé). Prochain envoi :")
        assert "1 réponse sur 3" in preview
        await outbox_drained(room.workdir)

        # 2. Down at 16h30 on Friday, back at 18h30; the SMTP server is down too.
        await restart_at(room, DUE + timedelta(hours=2))
        letter = await prof1.wait_for(lambda m: is_letter(m, bot, room.room_id))
        vie_letter = await prof2.wait_for(lambda m: is_letter(m, bot, vie))
        body = letter.body
        assert letter.msgtype == "m.notice"
        assert body.startswith("📬 La lettre numérique — semaine du 30 novembre\n")
        assert len([line for line in body.splitlines() if line.strip()]) <= 25
        assert (
            "\nCette semaine\n• Réunion ENT lundi 7 décembre à 17h en salle 12 : https://" in body
        )
        assert (
            "\nSondages en cours\n• Quel thème pour le café ? — jusqu’au vendredi 11 décembre "
            "à 17h00 — 1 réponse sur 3 — voter : https://" in body
        )
        assert "\nÀ venir\n• Café numérique « Pix » — mardi 8 décembre à 12h30, CDI — " in body
        assert "\nLe mot du RUPN\n• Pensez à rendre vos fiches de besoins" in body
        links = {event: room_id for room_id, event in LINK.findall(body)}
        assert links == {
            announcement.event_id: room.room_id,
            poll.event_id: room.room_id,
            cafe.event_id: room.room_id,
        }
        assert '<a href="https://matrix.to/#/' in (letter.formatted_body or "")
        # Vie scolaire: its own notices, no poll (it was started in the staff room).
        assert "Sondages en cours" not in vie_letter.body
        assert f"https://matrix.to/#/{vie}/" in vie_letter.body

        async def mail_tried() -> bool:
            rows = await query(room.workdir, "SELECT attempts FROM posts WHERE action = 'mail'")
            return bool(rows) and rows[0][0] >= 1

        await eventually(mail_tried, what="a first attempt at the e-mail")
        smtp.start()
        await eventually(lambda: len(smtp.received) == 1, timeout=30, what="the e-mail")
        mail = smtp.received[0]
        assert (mail.mail_from, mail.rcpt_tos) == (FROM, (TO,))
        message = mail.parsed()
        assert message["Subject"] == "La lettre numérique — semaine du 30 novembre"
        assert message["List-Unsubscribe"].startswith(f"<mailto:{FROM}")
        assert message["List-Id"] and message["Message-ID"] and message["Date"]
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        assert text is not None and html is not None
        assert "1 réponse sur 3" in text.get_content()
        assert "Café numérique « Pix » — mardi 8 décembre" in text.get_content()
        assert '<a href="https://matrix.to/#/' in html.get_content()

        # 3. Next Friday, kill -9 right after the letter is queued.
        await ask(rupn, private, "!lettre ajouter Deuxième semaine : bilan des fiches", bot)
        await outbox_drained(room.workdir)
        await room.bot.stop()
        configure(room, vie, private, smtp, max_sends_per_second=0.3)
        room.bot.clock_offset_s = offset_to(NEXT_DUE + timedelta(seconds=1))
        await room.bot.start()

        async def queued() -> bool:
            rows = await query(room.workdir, "SELECT 1 FROM digest_weeks WHERE week = '2026-W50'")
            return bool(rows)

        await eventually(queued, interval=0.01, what="the second letter queued")
        await room.bot.kill()
        statuses = await query(
            room.workdir, "SELECT status FROM posts WHERE kind = 'digest' AND ref_id = 202650"
        )
        assert ("pending",) in statuses, statuses  # killed before the letter was delivered
        # Back with a slow pacing and a wrong SMTP password.
        configure(room, vie, private, smtp, max_sends_per_second=1.0)
        room.bot.env = {"RUPN_SMTP_PASSWORD": "mauvais"}
        room.bot.clock_offset_s = offset_to(NEXT_DUE + timedelta(minutes=1))
        await room.bot.start()
        marker = "Deuxième semaine"
        await prof1.wait_for(lambda m: is_letter(m, bot, room.room_id, marker))
        await prof2.wait_for(lambda m: is_letter(m, bot, vie, marker))

        def reports() -> list[SeenMessage]:
            return [
                m
                for m in rupn.messages
                if m.sender == bot and m.room_id == private and "par courriel :" in m.body
            ]

        await eventually(lambda: len(reports()) == 1, timeout=30, what="the mail's failure")
        assert reports()[0].msgtype == "m.text"
        assert reports()[0].body == (
            "La lettre n’a pas pu partir par courriel : le serveur de courriel a refusé "
            "l’identifiant ou le mot de passe : vérifiez [email] username et la variable "
            "RUPN_SMTP_PASSWORD. Les salons l’ont bien reçue. Une fois corrigé, « !lettre "
            "courriel » la renvoie par courriel seulement."
        )

        # 4. Once more this week: refused; confirmed: only what is new (its mail fails too).
        again = await ask(rupn, private, "!lettre envoyer", bot)
        assert again == (
            "La lettre de cette semaine est déjà partie le vendredi 11 décembre à 16h30 : rien "
            "n’est envoyé. Pour envoyer quand même ce qui est nouveau depuis la dernière lettre "
            "(une lettre de plus), tapez « !lettre envoyer quand-même »."
        )
        await ask(rupn, private, "!lettre ajouter Merci pour les portes ouvertes", bot)
        await rupn.send_text(private, "!annonce Portes ouvertes samedi 12 décembre")
        extra = await ask(rupn, private, "!lettre envoyer quand-même", bot)
        assert extra == (
            "Lettre supplémentaire envoyée dans 2 salons et par courriel, avec ce qui est "
            "nouveau depuis la dernière lettre. Elle s’ajoute à celle de cette semaine."
        )
        first_extra = {
            room.room_id: await letter_seen(prof1, bot, room.room_id, "Merci pour"),
            vie: await letter_seen(prof2, bot, vie, "Merci pour"),
        }
        assert all("Sondages en cours" not in m.body for m in first_extra.values())
        await eventually(lambda: len(reports()) == 2, timeout=30, what="the extra's failure")
        [(failed_txn,)] = await query(
            room.workdir,
            "SELECT txn_id FROM posts WHERE action = 'mail' AND status = 'failed'"
            " ORDER BY id DESC LIMIT 1",
        )
        assert len(smtp.received) == 1

        # 5. The password fixed: the very mail that failed; then what was still queued.
        await outbox_drained(room.workdir)
        await room.bot.stop()
        configure(room, vie, private, smtp)
        room.bot.env = {"RUPN_SMTP_PASSWORD": SMTP_PASSWORD}
        await room.bot.start()
        resent = await ask(rupn, private, "!lettre courriel", bot)
        assert resent == (
            "Le courriel « La lettre numérique — complément de la semaine du 7 décembre » "
            "repart tel quel, par "
            "courriel seulement (pas dans les salons)."
        )
        await eventually(lambda: len(smtp.received) == 2, timeout=30, what="the mail again")
        resent_mail = smtp.received[1].parsed()
        assert str(resent_mail["Message-ID"]) == f"<{failed_txn}@{FROM.partition('@')[2]}>"
        resent_text = resent_mail.get_body(("plain",))
        assert resent_text is not None
        assert "Merci pour les portes ouvertes" in resent_text.get_content()
        await ask(rupn, private, "!lettre ajouter Dernier mot de la semaine", bot)
        await ask(rupn, private, "!lettre envoyer quand-même", bot)
        second_extra = {
            room.room_id: await letter_seen(prof1, bot, room.room_id, "Dernier mot"),
            vie: await letter_seen(prof2, bot, vie, "Dernier mot"),
        }
        news = "Portes ouvertes samedi 12 décembre"
        # Still queued in some room when the first extra letter was built...
        assert any(news not in m.body for m in first_extra.values())
        # ... and in exactly one letter of each room, never in none, never twice.
        for room_id in (room.room_id, vie):
            assert [news in first_extra[room_id].body, news in second_extra[room_id].body].count(
                True
            ) == 1, room_id
        await eventually(lambda: len(smtp.received) == 3, timeout=30, what="the third e-mail")
        # A later reply in each room proves nothing else was on its way.
        await ask(rupn, room.room_id, "!aide", bot)
        assert len([m for m in prof1.messages if is_letter(m, bot, room.room_id)]) == 4
        assert len([m for m in prof2.messages if is_letter(m, bot, vie)]) == 4
        assert len([m for m in prof1.messages if m.body.startswith("Aperçu")]) == 0
        assert len(smtp.received) == 3
    finally:
        smtp.stop()
        await close_staff_room(room)
