"""The new text of a reply: what the writer added, without the quoted history and the
signature.

mail-parser-reply does most of it, in French and English (« Le … a écrit : », Outlook's
« De : … Envoyé : … », « Cordialement », « -- »). In front of it and after it, what it does
not know and French replies do: no-break spaces before colons, Zimbra's « Mail original »
(the académies' webmail), header blocks without a space before the colon, Gmail's wrapped
header, bottom-posting, « Envoyé de mon iPhone ».
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mailparser_reply.parser import EmailMessage as ReplyText

REPLY_LANGUAGES = ["fr", "en"]
_BLANK_LINES = re.compile(r"\n{3,}")
# French typography puts a no-break space before « : »: Outlook's « De : » header block
# too, which mail-parser-reply only recognises with a plain space.
_NO_BREAK_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2007": " "})

# A quotation's header line: « Le 7 déc. 2026 à 10:02, X a écrit : », "On …, X wrote:".
_WROTE = re.compile(r"(?:\ba écrit|\bwrote)\s*:\s*$", re.IGNORECASE)
# What phones and webmails add under the text, which mail-parser-reply does not know in
# French: cut from such a line to the end, with the separator lines left above it.
_DEVICE_SIGNATURE = re.compile(
    r"^(?:envoyé (?:de|depuis) (?:mon|ma|un|une|l’|l')\s*\S.*|obtenir outlook pour \S.*"
    r"|get outlook for \S.*|sent from my \S.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_SEPARATOR_LINES = re.compile(r"(?:\n[ \t]*[_\-=]{5,}[ \t]*)+$")


# Where a quoted mail starts, in layouts mail-parser-reply does not know: Zimbra's (the
# académies' webmail) « ----- Mail original ----- », and a header block whose colons have
# no space before them (« De: … / À: … / Envoyé: … / Objet: … »).
_QUOTED_MAIL_START = re.compile(
    r"^[ \t]*-{2,}[ \t]*(?:mail original|message d['’]origine|message original"
    r"|original message)[ \t]*-{2,}[ \t]*$"
    r"|^(?:de|from)[ \t]?:.*\n(?:(?:à|a|to|cc|envoyé|date|objet|subject)[ \t]?:.*\n){2,}",
    re.IGNORECASE | re.MULTILINE,
)
# Gmail wraps a long « Le …, X <x@y> a écrit : » line before its last words.
_WRAPPED_WROTE = re.compile(r"\n((?:a )?(?:écrit|wrote)[ \t]*:[ \t]*)$", re.MULTILINE)


def _before_quoted_mail(text: str) -> str:
    found = _QUOTED_MAIL_START.search(text)
    return text if found is None or found.start() == 0 else text[: found.start()]


def _below_quotation(body: str) -> str:
    """A bottom-posted answer (the quotation first, the answer under it): the lines that
    are neither quoted nor a quotation header. Other bodies are returned as they are."""
    first = next((line for line in body.split("\n") if line.strip()), "")
    if not (first.startswith(">") or _WROTE.search(first)):
        return body
    kept = [line for line in body.split("\n") if not line.startswith(">")]
    return "\n".join(line for line in kept if not _WROTE.search(line))


def _without_device_signature(text: str) -> str:
    found = _DEVICE_SIGNATURE.search(text)
    if found is not None:
        text = text[: found.start()]
    return _SEPARATOR_LINES.sub("", text.rstrip()).rstrip()


def new_text(body: str, languages: Iterable[str] = REPLY_LANGUAGES) -> str:
    """What the writer added: without the quoted history and the signature.

    Hyphen lists are kept (a technician's « - vérifier le câble » is not a signature);
    a bottom-posted answer is found under its quotation; « Envoyé de mon iPhone » and
    the like are cut. When nothing is left (a mail that is all quotation), the whole body
    is kept rather than an empty answer."""
    text = _WRAPPED_WROTE.sub(r" \1", body.translate(_NO_BREAK_SPACES))
    text = _before_quoted_mail(_below_quotation(text))
    parsed = ReplyText(text=text, languages=list(languages), keep_hyphen_lists=True).read()
    latest = parsed.replies[0].body if parsed.replies else ""
    latest = _BLANK_LINES.sub("\n\n", _without_device_signature(latest)).strip()
    return latest or body.strip()
