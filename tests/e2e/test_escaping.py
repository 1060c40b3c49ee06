"""Hostile text typed by the RUPN, end to end: the real bot (its clock on a school
Wednesday), a real Synapse with an encrypted room, nio teachers, a loopback SMTP server.

A café whose theme carries an `<img src=http://…>` and a `<script>`, an announcement
whose first line is a Markdown link to `javascript:`: the teachers' letter, its e-mail
(HTML part) and the bilan's HTML and Markdown files show what was typed as text, with
no live script, no remote image and no `javascript:` link.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from devtools.botprocess import write_bot_config
from devtools.smtp import MailCatcher
from devtools.synapse import ThrowawaySynapse
from tests.e2e.conftest import close_staff_room, download, make_staff_room
from tests.e2e.helpers import eventually

PARIS = ZoneInfo("Europe/Paris")
WEDNESDAY = datetime(2026, 12, 2, 10, 0, tzinfo=PARIS)
THEME = "Pix <img src=http://pisteur.example/p.png> <script>alert(1)</script>"
SHOWN = "Pix &lt;img src=http://pisteur.example/p.png&gt; &lt;script&gt;alert(1)&lt;/script&gt;"
LIVE = re.compile(r"<script|<img|javascript:|\bon\w+\s*=", re.IGNORECASE)


async def test_hostile_text_stays_text_in_the_letter_its_mail_and_the_bilan(
    synapse: ThrowawaySynapse, tmp_path: Path
) -> None:
    room = await make_staff_room(synapse, tmp_path)
    rupn, prof, bot = room.rupn, room.prof1, room.bot_id
    smtp = MailCatcher()
    smtp.start()
    try:
        write_bot_config(
            room.bot.config_path,
            homeserver=synapse.base_url,
            bot=room.bot_account,
            admins=[rupn.user_id],
            data_dir=room.workdir / "botdata",
            bot_extra={"broadcast_rooms": [room.room_id]},
            sections={
                "email": {
                    "smtp_host": "127.0.0.1",
                    "smtp_port": smtp.port,
                    "starttls": False,
                    "from": "rupn@clg-exemple.fr",
                    "to": ["equipe@clg-exemple.fr"],
                }
            },
        )
        room.bot.clock_offset_s = (WEDNESDAY - datetime.now(UTC)).total_seconds()
        await room.bot.start()
        await room.wait_bot_joined()

        await room.command(rupn, "!annonce Réunion [clic](javascript:alert(2)) <img src=x>")
        await room.command(rupn, f"!cafe mardi 8 décembre 12h30 | {THEME} | CDI")
        notice = await prof.wait_for(lambda m: m.sender == bot and "Café numérique n° 1" in m.body)
        assert f"<strong>☕ Café numérique n° 1 — {SHOWN}</strong>" in (notice.formatted_body or "")

        # The letter in the room and by e-mail.
        await room.command(rupn, "!lettre envoyer")
        letter = await prof.wait_for(
            lambda m: m.sender == bot and m.body.startswith("📬 La lettre numérique")
        )
        assert "\n• Réunion clic <img src=x> : https://matrix.to/#/" in letter.body
        assert f"\n• Café numérique « {THEME} » — mardi 8 décembre à 12h30, CDI" in letter.body
        html = letter.formatted_body or ""
        assert "Réunion clic &lt;img src=x&gt;</a>" in html
        assert f"Café numérique « {SHOWN} »</a>" in html
        assert LIVE.search(html) is None
        await eventually(lambda: len(smtp.received) == 1, timeout=30, what="the e-mail")
        message = smtp.received[0].parsed()
        mail_html = message.get_body(("html",))
        assert mail_html is not None
        mail = mail_html.get_content()
        assert f"Café numérique « {SHOWN} »</a>" in mail
        assert "Réunion clic &lt;img src=x&gt;</a>" in mail
        assert LIVE.search(mail) is None

        # The bilan's files, as the RUPN's client decrypts them.
        mark = rupn.mark()
        await room.command(rupn, "!bilan", timeout=60)
        files: dict[str, bytes] = {}
        for _ in range(3):
            upload = await rupn.wait_for(
                lambda m: m.sender == bot and m.msgtype == "m.file" and m.body not in files,
                after=mark,
                timeout=60,
            )
            files[upload.body] = await download(rupn, upload)
        page = files["bilan-2026-2027.html"].decode()
        assert f"<tr><td>{SHOWN}</td>" in page
        assert LIVE.search(page) is None
        markdown = files["bilan-2026-2027.md"].decode()
        escaped = "Pix \\<img src=http://pisteur.example/p.png\\> \\<script\\>alert(1)\\</script\\>"
        assert f"| {escaped} | 1 | 0 |" in markdown
        assert re.search(r"(?<!\\)<", markdown) is None
    finally:
        smtp.stop()
        await close_staff_room(room)
