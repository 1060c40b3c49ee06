"""One mail of the bot's mailbox → a `DeskReply`: its threading headers and its new text.

The standard library reads the mail (`email.policy.default` decodes RFC 2047 subjects and
each part's charset); the body is the text/plain part, else the HTML one turned into text;
new_text.py then keeps only what the writer added. Imported on first use, with the reader
(see bot/mailbox/service.py).
"""

from __future__ import annotations

import email
import hashlib
import re
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.policy import default as default_policy

from bot.mailbox.html_text import html_to_text
from bot.mailbox.model import DeskReply
from bot.mailbox.new_text import new_text

_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_SPACES = re.compile(r"\s+")


def message_ids(header: str | None) -> list[str]:
    """The bare ids (no angle brackets) in a Message-ID, In-Reply-To or References header."""
    if not header:
        return []
    found = _MESSAGE_ID.findall(header)
    if found:
        return list(found)
    bare = header.strip()
    return [bare] if bare and " " not in bare else []


def refers_to(in_reply_to: str | None, references: str | None) -> tuple[str, ...]:
    """In-Reply-To first, then References from the most recent to the oldest, no repeats."""
    ordered = message_ids(in_reply_to) + list(reversed(message_ids(references)))
    return tuple(dict.fromkeys(ordered))


def _text(header: object) -> str:
    return _SPACES.sub(" ", str(header or "")).strip()


def _sender(message: EmailMessage) -> str:
    header = message["From"]
    addresses = getattr(header, "addresses", ())
    if addresses and addresses[0].addr_spec:
        return str(addresses[0].addr_spec)
    return _text(header)


def _sent_at(message: EmailMessage, fallback: datetime) -> datetime:
    """The Date header as an aware datetime (UTC when it has no zone), else `fallback`."""
    header = message["Date"]
    sent = getattr(header, "datetime", None)
    if not isinstance(sent, datetime):
        return fallback
    return sent if sent.tzinfo is not None else sent.replace(tzinfo=UTC)


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676 format=flowed: a line ending with a space goes on with the next one."""
    lines: list[str] = []
    carry = ""
    for line in text.split("\n"):
        if line.endswith(" ") and line != "-- ":
            carry += line[:-1] if delsp else line
            continue
        lines.append(carry + line)
        carry = ""
    if carry:
        lines.append(carry)
    return "\n".join(lines)


def _part_text(part: Message) -> str:
    if not isinstance(part, EmailMessage):  # pragma: no cover - policy.default makes them
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # an unknown or lying charset: keep what decodes
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    content = content.replace("\r\n", "\n")
    if part.get_content_subtype() == "html":
        return html_to_text(content)
    if part.get_param("format", "").lower() == "flowed":  # type: ignore[union-attr]
        delsp = str(part.get_param("delsp", "no")).lower() == "yes"
        content = _unflow(content, delsp)
    return content


def body_text(message: EmailMessage) -> str:
    """The mail's text: its text/plain part if any, else its HTML part as text."""
    part = message.get_body(preferencelist=("plain", "html"))
    return "" if part is None else _part_text(part).strip()


def _fallback_id(raw: bytes) -> str:
    """A stable id for a mail without Message-ID: the same bytes read twice, the same id."""
    return f"sans-message-id-{hashlib.sha256(raw).hexdigest()[:32]}@rupn-bot"


def parse_reply(raw: bytes, *, received_at: datetime) -> DeskReply:
    """`raw` as fetched over IMAP; `received_at` stands for a missing or unreadable Date."""
    message = email.message_from_bytes(raw, policy=default_policy)
    if not isinstance(message, EmailMessage):  # pragma: no cover - policy.default makes one
        raise TypeError("not an EmailMessage")
    ids = message_ids(str(message["Message-ID"] or ""))
    return DeskReply(
        message_id=ids[0] if ids else _fallback_id(raw),
        refers_to=refers_to(str(message["In-Reply-To"] or ""), str(message["References"] or "")),
        subject=_text(message["Subject"]),
        sender=_sender(message),
        received_at=_sent_at(message, received_at),
        new_text=new_text(body_text(message)),
    )
