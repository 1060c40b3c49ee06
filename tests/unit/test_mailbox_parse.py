"""A desk's reply → DeskReply, on a corpus of real-looking French replies (tests/fixtures/mail):
Thunderbird (UTF-8, format=flowed), Outlook (HTML + text, French header block), Apple Mail
(HTML only, ISO-8859-1), GLPI's follow-up (HTML + text, ISO-8859-1) and solution (text only)."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from bot.mailbox.html_text import html_to_text
from bot.mailbox.new_text import new_text
from bot.mailbox.parse import body_text, parse_reply, refers_to

CORPUS = Path(__file__).parent.parent / "fixtures" / "mail"
TICKET = "panne-clg-jean-moulin-12@college.example"
SUBJECT = "[rupn-bot n° 12] Collège Jean Moulin — B12 — vidéoprojecteur — ne s'allume plus"
NOW = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
PARIS_WINTER = timezone(timedelta(hours=1))


def _read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def _html_alternative_only(raw: bytes) -> EmailMessage:
    """The same mail with its text/plain alternative removed: what an HTML-only client sends."""
    message = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)
    html = message.get_body(preferencelist=("html",))
    assert isinstance(html, EmailMessage)
    return html


def test_thunderbird_reply_keeps_the_new_text_unflowed_without_signature_or_quote() -> None:
    reply = parse_reply(_read("thunderbird_utf8.eml"), received_at=NOW)
    assert reply.message_id == "3f1c2a9e-7b1d-4c55-9a0e-tb@ac-exemple.fr"
    assert reply.refers_to == (TICKET,)
    assert reply.subject == f"Re: {SUBJECT}"
    assert reply.sender == "karim.benali@ac-exemple.fr"
    assert reply.received_at == datetime(2026, 12, 7, 11, 24, 5, tzinfo=PARIS_WINTER)
    assert reply.new_text == (
        "Bonjour,\n\nJe suis passé en B12 ce matin : la lampe du vidéoprojecteur est en fin de "
        "vie, je la change demain à 8h."
    )


OUTLOOK_TEXT = (
    "Bonjour,\n\nLe vidéoprojecteur de la B12 est sous garantie : le prestataire de la Région "
    "passera vendredi 11 décembre entre 9h et 12h.\n\n"
    "Merci de prévenir l'enseignant qui a la salle."
)


def test_outlook_reply_drops_the_french_header_block_and_the_signature() -> None:
    reply = parse_reply(_read("outlook_utf8.eml"), received_at=NOW)
    assert reply.message_id == "PR3P192MB0716A1B2C3D4E5F6@PR3P192MB0716.EURP192.PROD.OUTLOOK.COM"
    assert reply.subject == f"RE: {SUBJECT}"
    assert reply.sender == "sophie.martin@departement.example"
    assert reply.new_text == OUTLOOK_TEXT


def test_outlook_html_alone_gives_the_same_new_text() -> None:
    html = _html_alternative_only(_read("outlook_utf8.eml"))
    assert new_text(body_text(html)) == OUTLOOK_TEXT


def test_apple_mail_html_only_in_iso_8859_1() -> None:
    reply = parse_reply(_read("apple_mail_latin1.eml"), received_at=NOW)
    assert reply.sender == "elodie.roux@ac-exemple.fr"
    assert reply.subject == f"Re: {SUBJECT}"
    # The quoted ticket (a <blockquote>) is cut; « Bien à vous, » is a closing the
    # library does not know as a signature, so it stays with the first name: harmless.
    assert reply.new_text == (
        "Bonjour,\n\nC'est réparé : le câble HDMI était débranché derrière le meuble.\n"
        "Pensez à vérifier la source sur la télécommande avant de signaler.\n\n"
        "Bien à vous,\nÉlodie"
    )


GLPI_TEXT = (
    "Bonjour,\n\nVotre demande a été prise en charge sous le numéro 0000123.\n"
    "Un technicien de la Région interviendra jeudi 10 décembre au matin en salle B12."
)


def test_glpi_followup_in_iso_8859_1_threads_by_in_reply_to_then_references() -> None:
    reply = parse_reply(_read("glpi_followup_latin1.eml"), received_at=NOW)
    assert reply.message_id == (
        "GLPI_5b7d1e0c9f-Ticket-123/add_followup.1796634000.1234567@glpi.ac-exemple.fr"
    )
    # In-Reply-To first, then References from the most recent, without repeating ours.
    assert reply.refers_to == (TICKET, "GLPI_5b7d1e0c9f-Ticket-123@glpi.ac-exemple.fr")
    assert reply.subject == (
        "[GLPI #0000123] Nouveau suivi - Collège Jean Moulin - B12 - vidéoprojecteur"
    )
    assert reply.sender == "assistance@ac-exemple.fr"
    assert reply.new_text == GLPI_TEXT


def test_glpi_followup_html_alone_gives_the_same_new_text() -> None:
    html = _html_alternative_only(_read("glpi_followup_latin1.eml"))
    assert new_text(body_text(html)) == GLPI_TEXT


def test_glpi_solution_without_threading_headers_keeps_its_subject_tag() -> None:
    reply = parse_reply(_read("glpi_solution_utf8.eml"), received_at=NOW)
    assert reply.refers_to == ()
    assert reply.subject == "[GLPI #0000123] Ticket résolu - vidéoprojecteur B12"
    assert reply.new_text == (
        "Bonjour,\n\nLe ticket 0000123 est résolu : lampe remplacée, image vérifiée avec "
        "l'enseignant.\nMerci de nous répondre si le problème réapparaît."
    )


def test_references_come_most_recent_first_after_in_reply_to_without_repeats() -> None:
    assert refers_to("<c@x>", "<a@x> <b@x>\r\n <c@x>") == ("c@x", "b@x", "a@x")
    assert refers_to(None, "<a@x> <b@x>") == ("b@x", "a@x")
    assert refers_to("", None) == ()


def _mail(body: str, **headers: str) -> bytes:
    message = EmailMessage()
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def test_a_mail_without_message_id_or_date_gets_a_stable_id_and_the_reading_time() -> None:
    raw = _mail("Bonjour,\nrien à signaler.", From="x@example.org", Subject="Sans en-têtes")
    first = parse_reply(raw, received_at=NOW)
    assert first.message_id == parse_reply(raw, received_at=NOW).message_id
    assert first.message_id.startswith("sans-message-id-")
    assert first.received_at == NOW
    assert first.new_text == "Bonjour,\nrien à signaler."


def test_a_mail_cut_within_its_attachment_still_gives_its_text() -> None:
    """The reader fetches only a mail's first MAX_FETCH_BYTES: a cut attachment is harmless."""
    message = EmailMessage()
    message["Message-ID"] = "<photo@desk>"
    message.set_content("Photo du câble jointe.\n\nCordialement,\nKarim")
    message.add_attachment(bytes(range(256)) * 400, maintype="image", subtype="jpeg")
    raw = message.as_bytes()
    reply = parse_reply(raw[: len(raw) // 2], received_at=NOW)
    assert reply.message_id == "photo@desk"
    assert reply.new_text == "Photo du câble jointe."


def test_a_mail_that_is_all_quotation_keeps_its_whole_text() -> None:
    raw = _mail("> Salle : B12\n> Matériel : vidéoprojecteur", Message_ID="<q@x>")
    assert parse_reply(raw, received_at=NOW).new_text == (
        "> Salle : B12\n> Matériel : vidéoprojecteur"
    )


QUOTED_TICKET = (
    "Le 07/12/2026 à 10:02, rupn-bot a écrit :\n> Salle : B12\n> Matériel : vidéoprojecteur"
)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        pytest.param(
            f"{QUOTED_TICKET}\n\nC'est réparé.\n\nCordialement,\nKarim",
            "C'est réparé.",
            id="bottom-posted",
        ),
        pytest.param(
            f"C'est noté, merci.\n\nEnvoyé de mon iPhone\n\n{QUOTED_TICKET}",
            "C'est noté, merci.",
            id="iphone",
        ),
        pytest.param(
            "Bonjour,\nIntervention prévue lundi.\n\nObtenir Outlook pour iOS\n"
            "________________________________\nDe : rupn-bot <rupn-bot@college.example>\n"
            "Envoyé : lundi 7 décembre 2026 10:02\nÀ : assistance@ac-exemple.fr\n"
            "Objet : [rupn-bot n° 12] B12\n\nSalle : B12",
            "Bonjour,\nIntervention prévue lundi.",
            id="outlook-mobile",
        ),
        pytest.param(
            "Bonjour,\nC'est fait.\n\nDe\u00a0: rupn-bot <rupn-bot@college.example>\n"
            "Envoyé\u202f: lundi 7 décembre 2026 10:02\nÀ\u00a0: assistance@ac-exemple.fr\n"
            "Objet\u00a0: [rupn-bot n° 12] B12\n\nSalle\u00a0: B12",
            "Bonjour,\nC'est fait.",
            id="outlook-no-break-spaces",
        ),
        pytest.param(
            "Intervention faite.\n\n----- Mail original -----\n"
            'De: "rupn-bot" <rupn-bot@college.example>\nÀ: assistance@ac-exemple.fr\n'
            "Envoyé: Lundi 7 Décembre 2026 10:02:00\nObjet: [rupn-bot n° 12] B12\n\nSalle : B12",
            "Intervention faite.",
            id="zimbra",
        ),
        pytest.param(
            "Intervention faite.\n\nDe: rupn-bot@college.example\nÀ: assistance@ac-exemple.fr\n"
            "Objet: [rupn-bot n° 12] B12\n\nSalle : B12",
            "Intervention faite.",
            id="header-block-without-space",
        ),
        pytest.param(
            "Merci, c'est noté.\n\nLe lun. 7 déc. 2026 à 10:02, rupn-bot "
            "<rupn-bot@college.example> a\nécrit :\n\n> Salle : B12",
            "Merci, c'est noté.",
            id="gmail-wrapped-header",
        ),
        pytest.param(
            "Pièces à prévoir :\nDe: 9h à 12h\nÀ: la vie scolaire\n\nMerci.",
            "Pièces à prévoir :\nDe: 9h à 12h\nÀ: la vie scolaire\n\nMerci.",
            id="two-header-like-lines-are-text",
        ),
    ],
)
def test_answers_from_phones_and_below_the_quotation(body: str, text: str) -> None:
    assert new_text(body) == text


def test_hyphen_lists_of_a_technician_are_not_taken_for_a_signature() -> None:
    body = "Bonjour,\nÀ faire :\n- vérifier le câble\n- changer la lampe\n\nCordialement,\nJean"
    assert new_text(body) == "Bonjour,\nÀ faire :\n- vérifier le câble\n- changer la lampe"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Un</p><p>Deux</p>", "Un\n\nDeux"),
        ("<div>Un</div><div>Deux</div>", "Un\nDeux"),
        ("Un<br>Deux<br><br>Trois", "Un\nDeux\n\nTrois"),
        ("<script>alert('x')</script><style>p{}</style>Texte &amp; <b>gras</b>", "Texte & gras"),
        ("<head><title>Titre</title></head><body>Corps</body>", "Corps"),
        ("<blockquote><p>cité</p></blockquote>", "> cité"),
        ("<pre>a  b\n  c</pre>", "a  b\n  c"),
        ("<table><tr><td>Salle</td><td>B12</td></tr></table>", "Salle B12"),
        ("A&nbsp;:\u00a0B", "A : B"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text
