"""What a starting bot does not import: the heavy libraries of rarely used features.

Each is imported by one function of its feature, on first use (bench/memory.py measures
what they cost): pygal by the bilan's charts, aiosmtplib by the mailer, feedparser by the
feed parser, icalendar by the .ics invitations, vacances-scolaires-france by the school
calendar, jinja2 by digests/templating.py (the letter and the bilan), prometheus-client and
aiohttp's server by bot/app.py when `[metrics]` is enabled, aioimaplib and mail-parser-reply
by bot/mailbox/service.py when the mailbox reader starts; `holidays` no longer at all (the
public holidays are computed). The bilan's whole pipeline (digests/bilan: its build, its
rendering, babel's number formats) is imported by the `!bilan` handler. Checked in a fresh
interpreter, since this test process has imported them all already.
"""

from __future__ import annotations

import json
import subprocess
import sys

LAZY = (
    "pygal",
    "aiosmtplib",
    "feedparser",
    "icalendar",
    "holidays",
    "vacances_scolaires_france",
    "jinja2",
    "babel.numbers",
    "digests.bilan.build",
    "digests.bilan.render",
    "prometheus_client",
    "aiohttp.web",
    "aioimaplib",
    "mailparser_reply",
    "bot.mailbox.reader",
)


def _imported_after(statement: str) -> list[str]:
    probe = (
        f"import json, sys\n{statement}\n"
        f"print(json.dumps(sorted(m for m in {LAZY!r} if m in sys.modules)))"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter, a fixed program
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_the_bot_starts_without_the_heavy_libraries_of_rare_features() -> None:
    assert _imported_after("import bot.app, bot.cli") == []
