"""The helpdesk, scripted: its answers as GLPI's notifications look, for the end-to-end tests
and the demo (they put them in the bot's mailbox, devtools/imap.py).

GLPI answers with its own Message-ID, « [GLPI #0000123] » in the subject, the new text above
the quoted ticket, a signature, and both a text part and an HTML one; the text part's charset
varies with the desk's mail client (ISO-8859-1 is common), the HTML is UTF-8.
"""

from __future__ import annotations

from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate

QUOTED_TICKET = "Une panne est signalée par un membre de l'équipe de l'établissement."


def glpi_answer(
    subject: str,
    message_id: str,
    new_text: str,
    *,
    desk: str,
    mailbox: str,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    text_charset: str | None = "iso-8859-1",
) -> bytes:
    """The raw mail `desk` sends to the bot's `mailbox`: « Bonjour, », `new_text`, a
    signature, then the quoted ticket; a text part in `text_charset` (None: HTML only) and an
    HTML part in UTF-8. Message ids are bare (no angle brackets)."""
    text = (
        f"Bonjour,\n\n{new_text}\n\nCordialement,\n-- \nPlateforme d'assistance de l'académie\n"
        "Tél. 05 49 00 00 00\n\nLe 07/12/2026 à 10:02, rupn-bot a écrit :\n"
        f"> Bonjour,\n> {QUOTED_TICKET}\n"
    )
    html = (
        f"<html><body><p>Bonjour,</p><p>{new_text}</p><p>Cordialement,</p>"
        "<div class='signature'>-- <br>Plateforme d’assistance de l’académie<br>"
        "Tél. 05 49 00 00 00</div>"
        "<div>Le 07/12/2026 à 10:02, rupn-bot a écrit :</div>"
        f"<blockquote type='cite'><p>Bonjour,</p><p>{QUOTED_TICKET}</p></blockquote>"
        "</body></html>"
    )
    message = MIMEMultipart("alternative")
    if text_charset is not None:
        message.attach(MIMEText(text, "plain", text_charset))
    message.attach(MIMEText(html, "html", "utf-8"))
    message["From"] = f"GLPI Assistance <{desk}>"
    message["To"] = mailbox
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{message_id}>"
    if in_reply_to is not None:
        message["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        message["References"] = " ".join(f"<{mid}>" for mid in references)
    return message.as_bytes()
