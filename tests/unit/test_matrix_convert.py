"""Tests of the pure parts of bot.matrix: nio events → domain events, history filtering."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import nio
import pytest

from bot.domain import (
    IncomingEvent,
    IncomingMessage,
    IncomingPollResponse,
    IncomingReaction,
    IncomingRedaction,
    KeyWithheld,
    UndecryptableEvent,
)
from bot.matrix import _poll_answers, convert_event, convert_to_device, events_after_own_join

ROOM = "!salle:example.org"
BOT = "@rupn-bot:example.org"
PROF = "@prof:example.org"
TS = 1_795_000_000_123
WHEN = datetime.fromtimestamp(TS / 1000, tz=UTC)


def parse(event_type: str, content: dict[str, Any], **extra: Any) -> Any:
    source: dict[str, Any] = {
        "type": event_type,
        "event_id": extra.pop("event_id", "$evenement"),
        "sender": extra.pop("sender", PROF),
        "origin_server_ts": TS,
        "content": content,
    }
    source.update(extra)
    return nio.Event.parse_event(source)


def member(user_id: str, membership: str, prev: str | None = None, event_id: str = "$m") -> Any:
    extra: dict[str, Any] = {"state_key": user_id, "sender": user_id, "event_id": event_id}
    if prev is not None:
        extra["unsigned"] = {"prev_content": {"membership": prev}}
    return parse("m.room.member", {"membership": membership}, **extra)


def text(body: str, event_id: str = "$t") -> Any:
    return parse("m.room.message", {"msgtype": "m.text", "body": body}, event_id=event_id)


# --- convert_event -------------------------------------------------------------------------


def test_text_message() -> None:
    event = parse("m.room.message", {"msgtype": "m.text", "body": "!aide"})
    assert isinstance(event, nio.RoomMessageText)
    assert convert_event(ROOM, event) == IncomingMessage(
        room_id=ROOM, event_id="$evenement", sender=PROF, body="!aide", timestamp=WHEN
    )


def test_text_message_from_dict() -> None:
    event = nio.RoomMessageText.from_dict(
        {
            "type": "m.room.message",
            "event_id": "$d",
            "sender": PROF,
            "origin_server_ts": TS,
            "content": {"msgtype": "m.text", "body": "bonjour"},
        }
    )
    converted = convert_event(ROOM, event)
    assert isinstance(converted, IncomingMessage)
    assert converted.body == "bonjour"
    assert converted.msgtype == "m.text"
    assert converted.reply_to is None
    assert converted.timestamp == WHEN
    assert converted.timestamp.tzinfo is UTC


def test_reply_keeps_the_replied_event() -> None:
    event = parse(
        "m.room.message",
        {
            "msgtype": "m.text",
            "body": "> <@a:example.org> question\n\n!aide",
            "m.relates_to": {"m.in_reply_to": {"event_id": "$question"}},
        },
    )
    converted = convert_event(ROOM, event)
    assert isinstance(converted, IncomingMessage)
    assert converted.reply_to == "$question"
    assert converted.body == "> <@a:example.org> question\n\n!aide"


def test_edit_is_ignored() -> None:
    event = parse(
        "m.room.message",
        {
            "msgtype": "m.text",
            "body": "* !aide",
            "m.new_content": {"msgtype": "m.text", "body": "!aide"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$original"},
        },
    )
    assert isinstance(event, nio.RoomMessageText)
    assert convert_event(ROOM, event) is None


def test_reaction() -> None:
    event = parse(
        "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$annonce", "key": "👍"}},
    )
    assert convert_event(ROOM, event) == IncomingReaction(
        ROOM, "$evenement", PROF, "$annonce", "👍", WHEN
    )


def test_redaction() -> None:
    event = parse("m.room.redaction", {"reason": "oups"}, redacts="$reaction")
    assert convert_event(ROOM, event) == IncomingRedaction(
        ROOM, "$evenement", PROF, "$reaction", WHEN
    )


def test_unstable_poll_response() -> None:
    event = parse(
        "org.matrix.msc3381.poll.response",
        {
            "org.matrix.msc3381.poll.response": {"answers": ["lundi", "mardi"]},
            "m.relates_to": {"rel_type": "m.reference", "event_id": "$sondage"},
        },
    )
    assert convert_event(ROOM, event) == IncomingPollResponse(
        ROOM, "$evenement", PROF, "$sondage", ("lundi", "mardi"), WHEN
    )


def test_stable_poll_response() -> None:
    event = parse(
        "m.poll.response",
        {
            "m.selections": ["jeudi"],
            "m.relates_to": {"rel_type": "m.reference", "event_id": "$sondage"},
        },
    )
    assert convert_event(ROOM, event) == IncomingPollResponse(
        ROOM, "$evenement", PROF, "$sondage", ("jeudi",), WHEN
    )


def test_empty_poll_response_is_a_spoiled_vote() -> None:
    event = parse(
        "m.poll.response",
        {"m.selections": [], "m.relates_to": {"rel_type": "m.reference", "event_id": "$s"}},
    )
    converted = convert_event(ROOM, event)
    assert isinstance(converted, IncomingPollResponse)
    assert converted.answer_ids == ()


@pytest.mark.parametrize(
    "content",
    [
        {"org.matrix.msc3381.poll.response": {"answers": ["a"]}},  # no target
        {"m.selections": ["a"], "m.relates_to": {"event_id": 42}},  # target not a string
        {"m.selections": ["a"], "m.relates_to": "$s"},  # relation not an object
        {"org.matrix.msc3381.poll.response": {}, "m.relates_to": {"event_id": "$s"}},
        {"org.matrix.msc3381.poll.response": {"answers": "a"}, "m.relates_to": {"event_id": "$s"}},
        {"m.selections": "a", "m.relates_to": {"event_id": "$s"}},
    ],
)
def test_malformed_poll_response_is_ignored(content: dict[str, Any]) -> None:
    assert convert_event(ROOM, parse("m.poll.response", content)) is None


def test_poll_answers() -> None:
    assert _poll_answers({"org.matrix.msc3381.poll.response": {"answers": ["a", 2]}}) == ("a", "2")
    assert _poll_answers({"m.selections": ["b"]}) == ("b",)
    assert _poll_answers(
        {"org.matrix.msc3381.poll.response": {"answers": ["u"]}, "m.selections": ["s"]}
    ) == ("u",)
    assert _poll_answers({}) is None
    assert _poll_answers({"org.matrix.msc3381.poll.response": ["a"]}) is None


def test_unknown_type_is_kept_raw() -> None:
    content = {"org.matrix.msc3381.poll.start": {"question": {"body": "Quand ?"}}}
    event = parse("org.matrix.msc3381.poll.start", content)
    assert convert_event(ROOM, event) == IncomingEvent(
        ROOM, "$evenement", PROF, "org.matrix.msc3381.poll.start", content, WHEN
    )


@pytest.mark.parametrize(
    ("event_type", "content", "extra"),
    [
        ("m.room.message", {"msgtype": "m.notice", "body": "!aide"}, {}),
        ("m.room.message", {"msgtype": "m.emote", "body": "!aide"}, {}),
        ("m.room.message", {"msgtype": "m.image", "body": "x.png", "url": "mxc://e/x"}, {}),
        ("m.room.message", {"body": "sans msgtype"}, {}),
        ("m.room.member", {"membership": "join"}, {"state_key": PROF}),
        ("m.room.name", {"name": "Salle des profs"}, {"state_key": ""}),
    ],
)
def test_other_events_are_ignored(
    event_type: str,
    content: dict[str, Any],
    extra: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="nio"):
        event = parse(event_type, content, **extra)
    assert convert_event(ROOM, event) is None


def test_undecryptable_event_is_kept_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    event = parse(
        "m.room.encrypted",
        {
            "algorithm": "m.megolm.v1.aes-sha2",
            "ciphertext": "AwgA",
            "sender_key": "clef",
            "session_id": "session1",
            "device_id": "APPAREIL",
        },
    )
    assert isinstance(event, nio.MegolmEvent)
    with caplog.at_level(logging.WARNING, logger="bot.matrix"):
        kept = convert_event(ROOM, event)
    assert isinstance(kept, UndecryptableEvent)
    assert (kept.room_id, kept.event_id, kept.session_id) == (ROOM, "$evenement", "session1")
    assert kept.source["content"]["ciphertext"] == "AwgA"  # kept raw, to decrypt later
    assert "Could not decrypt event $evenement" in caplog.text
    assert "session1" in caplog.text


def test_withheld_key_notice_is_converted() -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    withheld = nio.ToDeviceEvent.parse_event(
        {
            "type": "m.room_key.withheld",
            "sender": "@prof:example.org",
            "content": {
                "algorithm": "m.megolm.v1.aes-sha2",
                "room_id": ROOM,
                "session_id": "session1",
                "sender_key": "clef",
                "code": "m.unverified",
                "reason": "The sender disabled encrypting to unverified devices.",
            },
        }
    )
    assert convert_to_device(withheld, now) == KeyWithheld(
        ROOM,
        "@prof:example.org",
        "session1",
        "m.unverified",
        "The sender disabled encrypting to unverified devices.",
        now,
    )
    other = nio.ToDeviceEvent.parse_event(
        {"type": "m.dummy", "sender": "@prof:example.org", "content": {}}
    )
    assert convert_to_device(other, now) is None


def test_object_without_source_is_ignored() -> None:
    assert convert_event(ROOM, object()) is None


# --- events_after_own_join -----------------------------------------------------------------


def test_history_before_own_join_is_dropped() -> None:
    old, new = text("ancien", "$1"), text("nouveau", "$2")
    join = member(BOT, "join", "invite", "$j")
    assert events_after_own_join([old, join, new], BOT) == [new]


def test_own_join_as_last_event_leaves_nothing() -> None:
    assert events_after_own_join([text("ancien"), member(BOT, "join")], BOT) == []


def test_without_own_join_everything_is_kept() -> None:
    events = [text("a", "$1"), member(PROF, "join", "invite"), text("b", "$2")]
    assert events_after_own_join(events, BOT) == events


def test_own_profile_change_is_not_a_join() -> None:
    events = [text("a", "$1"), member(BOT, "join", "join"), text("b", "$2")]
    assert events_after_own_join(events, BOT) == events


def test_own_leave_is_not_a_join() -> None:
    events = [text("a", "$1"), member(BOT, "leave", "join"), text("b", "$2")]
    assert events_after_own_join(events, BOT) == events


def test_only_the_last_own_join_counts() -> None:
    first = member(BOT, "join", None, "$j1")
    leave = member(BOT, "leave", "join", "$l")
    again = member(BOT, "join", "leave", "$j2")
    a, b, c = text("a", "$1"), text("b", "$2"), text("c", "$3")
    assert events_after_own_join([a, first, b, leave, again, c], BOT) == [c]


def test_empty_timeline() -> None:
    assert events_after_own_join([], BOT) == []


def test_a_message_in_a_thread_knows_its_root() -> None:
    event = parse(
        "m.room.message",
        {
            "msgtype": "m.text",
            "body": "!aide",
            "m.relates_to": {
                "rel_type": "m.thread",
                "event_id": "$racine",
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": "$racine"},
            },
        },
    )
    converted = convert_event(ROOM, event)
    assert isinstance(converted, IncomingMessage)
    assert converted.thread_root == "$racine"
