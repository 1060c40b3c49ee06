"""m.text or m.notice: one table decides, by kind (bot.messenger.MSGTYPE_BY_KIND)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import handlers
from bot.messenger import MSGTYPE_BY_KIND, Outbox, edit_content, message_content, msgtype_for

ROOM = "!salle:example.org"
PROF = "@prof:example.org"

NOT_TEXT_KINDS = {
    "poll-start",  # poll events
    "poll-end",
    "poll-export",  # m.file
    "workshop-ics",
    "announcement-withdrawal",  # a redaction
    "announcement-edit",  # edits keep the msgtype of what they edit
    "workshop-notice-edit",
    "digest-mail",  # an e-mail (bot/mailer.py), not a Matrix message
    "assistance-mail",  # a ticket to the helpdesk, an e-mail too
    "bilan-file",  # m.file
}
"""Kinds that are not text messages: the table does not apply to them."""


def _handler_kinds() -> set[str]:
    """Every `*_KIND` constant of every module under handlers/, packages included."""
    kinds: set[str] = set()
    for info in pkgutil.walk_packages(handlers.__path__, "handlers."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (name.endswith("_KIND") or name == "KIND") and isinstance(value, str):
                kinds.add(value)
    return kinds


def test_every_kind_of_the_handlers_is_decided() -> None:
    kinds = _handler_kinds()
    assert {"announcement", "news-proposal", "poll-reminder", "workshop-promotion"} <= kinds
    undecided = kinds - set(MSGTYPE_BY_KIND) - NOT_TEXT_KINDS
    assert undecided == set(), "add these kinds to bot.messenger.MSGTYPE_BY_KIND"


def test_what_must_reach_a_person_is_an_m_text() -> None:
    assert {kind for kind, msgtype in MSGTYPE_BY_KIND.items() if msgtype == "m.text"} == {
        "workshop-notice",
        "workshop-reminder-day",
        "workshop-reminder-hour",
        "workshop-promotion",
        "workshop-cancellation",
        "workshop-change",
        "workshop-minimum",
        "workshop-poll-invitation",
        "poll-reminder",
        "announcement",
        "undecryptable-alert",
        "digest-report",
        "assistance-answer",
        "assistance-stale",
        "assistance-unmatched",
        "assistance-mail-report",
    }


@pytest.mark.parametrize(
    ("kind", "msgtype"),
    [
        ("reply", "m.notice"),
        ("message", "m.notice"),
        ("workshop-signup", "m.notice"),
        ("news-proposal", "m.notice"),
        ("une-sorte-inconnue", "m.notice"),  # the default
        ("workshop-reminder-day", "m.text"),
        ("undecryptable-alert", "m.text"),
    ],
)
def test_msgtype_for(kind: str, msgtype: str) -> None:
    assert msgtype_for(kind) == msgtype


def test_outbox_send_takes_the_msgtype_of_the_kind() -> None:
    outbox = Outbox()
    outbox.send(ROOM, "📅 Rappel", mentions=(PROF,), kind="workshop-reminder-day")
    outbox.send(ROOM, "Réponse", mentions=(PROF,), reply_to="$cmd", kind="reply")
    outbox.send(ROOM, "Bonjour")
    reminder, reply, plain = outbox.drain()
    assert reminder.content == {
        "msgtype": "m.text",
        "body": "📅 Rappel",
        "m.mentions": {"user_ids": [PROF]},
    }
    assert reply.content["msgtype"] == "m.notice"
    assert reply.content["m.mentions"] == {"user_ids": [PROF]}
    assert plain.content["msgtype"] == "m.notice"


@pytest.mark.parametrize("msgtype", ["m.text", "m.notice"])
def test_an_edit_keeps_the_msgtype_of_the_original(msgtype: str) -> None:
    original = message_content("Ancien", msgtype=msgtype)  # type: ignore[arg-type]
    assert edit_content(original, "Nouveau", html="<p>Nouveau</p>") == {
        "msgtype": msgtype,
        "body": "* Nouveau",
        "format": "org.matrix.custom.html",
        "formatted_body": "* <p>Nouveau</p>",
        "m.mentions": {},
        "m.new_content": {
            "msgtype": msgtype,
            "body": "Nouveau",
            "format": "org.matrix.custom.html",
            "formatted_body": "<p>Nouveau</p>",
            "m.mentions": {},
        },
        "m.relates_to": {"rel_type": "m.replace"},
    }


def test_an_edit_of_an_unknown_original_is_a_notice() -> None:
    assert edit_content({}, "Nouveau")["m.new_content"]["msgtype"] == "m.notice"
