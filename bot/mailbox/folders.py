"""IMAP mailbox names: RFC 3501's modified UTF-7 (« traités » is `trait&AOk-s` on the wire),
quoted, with the server's own hierarchy separator in place of our "/"."""

from __future__ import annotations

import base64

HANDLED_FOLDER = "rupn-bot/traités"
"""Where read mails go once their reply is recorded (`/` separates levels, whatever the
server's own separator is)."""


def _encode_run(run: str) -> str:
    data = base64.b64encode(run.encode("utf-16-be")).decode("ascii").rstrip("=")
    return "&" + data.replace("/", ",") + "-"


def utf7_imap(name: str) -> str:
    """`name` in modified UTF-7: printable ASCII as is (`&` as `&-`), the rest base64'd."""
    out: list[str] = []
    run = ""
    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            if run:
                out.append(_encode_run(run))
                run = ""
            out.append("&-" if char == "&" else char)
        else:
            run += char
    if run:
        out.append(_encode_run(run))
    return "".join(out)


def quoted_mailbox(name: str, separator: str = "/") -> str:
    """The wire form of a mailbox name: levels joined by `separator`, encoded and quoted."""
    wire = utf7_imap(separator.join(name.split("/")))
    return '"' + wire.replace("\\", "\\\\").replace('"', '\\"') + '"'
