"""`!panne` end to end: a teacher reports a breakdown in the encrypted staff room, the
helpdesk's SMTP server on loopback (aiosmtpd) receives the ticket, a colleague's report
of the same equipment is attached and not mailed again. The desk's answers come back
through the IMAP reader: their scenes come with it (Dovecot)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devtools.smtp import MailCatcher
from devtools.synapse import ThrowawaySynapse
from tests.e2e.conftest import close_staff_room, make_staff_room
from tests.e2e.helpers import eventually

FROM = "rupn-bot@clg-exemple.fr"
DESK = "assistance@ac-exemple.fr"


async def test_a_report_reaches_the_desk_once(synapse: ThrowawaySynapse, tmp_path: Path) -> None:
    smtp = MailCatcher()
    smtp.start()
    sections: dict[str, dict[str, Any]] = {
        "email": {
            "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "starttls": False,
            "from": FROM, "to": ["equipe@clg-exemple.fr"],
        },
        "assistance": {
            "to": DESK, "imap_host": "127.0.0.1", "imap_security": "aucune",
            "imap_user": FROM, "etablissement": "Collège Jean Moulin", "uai": "0860001J",
        },
    }  # fmt: skip
    room = await make_staff_room(synapse, tmp_path, sections=sections, start_bot=True)
    try:
        reply = await room.command(room.prof1, "!panne B12 vidéoprojecteur ne s’allume plus")
        assert reply.body == (
            "Demande n° 1 enregistrée : B12 — vidéoprojecteur — ne s’allume plus.\nElle part "
            "par courriel au service d’assistance (assistance@ac-exemple.fr). Sa réponse vous "
            "sera transmise ici. Pour ajouter une précision : !panne 1 <précision> ; une fois "
            "réparé : !panne résolue 1."
        )
        [ticket] = await eventually(lambda: smtp.received, what="the ticket")
        assert ticket.rcpt_tos == (DESK,)
        message = ticket.parsed()
        assert message["Subject"] == (
            "[rupn-bot n° 1] Collège Jean Moulin — B12 — vidéoprojecteur — ne s’allume plus"
        )
        assert message["Reply-To"] == FROM
        assert message["Message-ID"] == "<panne-etab-1@clg-exemple.fr>"
        lines = message.get_content().splitlines()
        assert "Établissement : Collège Jean Moulin (UAI 0860001J)" in lines
        assert f"Signalée par : {room.prof1.user_id[1:].partition(':')[0]}" in lines

        reply = await room.command(room.prof2, "!panne b12 | Vidéoprojecteur | écran noir")
        assert reply.body == (
            "Déjà signalé, n° 1 (B12 — vidéoprojecteur) : je vous ajoute aux personnes "
            "prévenues. La réponse du service d’assistance vous sera transmise ici."
        )
        listing = await room.command(room.rupn, "!pannes")
        assert listing.body == (
            "Demandes de panne de l’établissement :\n"
            "- n° 1 · B12 — vidéoprojecteur · en cours, signalée aujourd’hui"
        )
        assert len(smtp.received) == 1  # the attached report sent nothing
    finally:
        await close_staff_room(room)
        smtp.stop()
