"""Tests of bot.sender: pacing, 429s, outages and refusals, on virtual time."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest

from bot.errors import HomeserverUnreachable, MatrixError, RateLimited, SessionRejected
from bot.messenger import Outbox
from bot.sender import MAX_TRANSIENT_ATTEMPTS, Pacer, Sender, Transport
from bot.storage.database import Database
from bot.storage.posts import PRIORITY_REPLIES, OutgoingPost, PostsRepository
from tests.unit.fakes import START, FakeTransport, Outcome, VirtualTime

ROOM = "!salle:example.org"
TIMEOUT_S = 5.0  # real seconds; only reached if the sender hangs


@dataclass
class Harness:
    db: Database
    posts: PostsRepository
    time: VirtualTime
    transport: FakeTransport
    sender: Sender

    async def queue(self, posts: Sequence[OutgoingPost]) -> list[str]:
        async with self.db.transaction():
            await self.posts.queue(posts, START)
        return [p.txn_id for p in posts]

    async def queue_messages(self, *texts: str) -> list[str]:
        outbox = Outbox()
        for text in texts:
            outbox.send(ROOM, text)
        return await self.queue(outbox.drain())

    async def deliver_all(self) -> None:
        """Run the sender until its queue is empty, then stop it."""
        stop = asyncio.Event()
        task = asyncio.create_task(self.sender.run(stop))
        try:
            async with asyncio.timeout(TIMEOUT_S):
                await self.sender.wait_idle()
        finally:
            stop.set()
            async with asyncio.timeout(TIMEOUT_S):
                await task

    async def rows(self) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT txn_id, status, event_id, error, attempts, sent_at FROM posts ORDER BY id"
        )
        names = ("txn_id", "status", "event_id", "error", "attempts", "sent_at")
        return [dict(zip(names, r, strict=True)) for r in rows]

    def successful_txn_ids(self) -> list[str]:
        return [
            txn
            for txn, event_id in zip(self.transport.txn_ids, self.transport.event_ids, strict=True)
            if event_id is not None
        ]


@pytest.fixture
async def make(db: Database) -> AsyncIterator[Any]:
    def build(rate: float = 1.0, script: Sequence[Outcome] = ()) -> Harness:
        time = VirtualTime()
        transport = FakeTransport(time, script)
        posts = PostsRepository(db)
        pacer = Pacer(rate, monotonic=time.monotonic, sleep=time.sleep)
        sender = Sender(db, posts, transport, time.clock, pacer, sleep=time.sleep)
        return Harness(db, posts, time, transport, sender)

    yield build


def test_fake_transport_is_a_transport() -> None:
    transport: Transport = FakeTransport(VirtualTime())
    assert transport is not None


# --- pacing --------------------------------------------------------------------------------


@pytest.mark.parametrize(("rate", "count"), [(1.0, 3), (4.0, 5), (2.5, 6), (10.0, 1)])
async def test_pacing(make: Any, rate: float, count: int) -> None:
    h: Harness = make(rate)
    txn_ids = await h.queue_messages(*(f"message {i}" for i in range(count)))
    await h.deliver_all()
    assert h.transport.txn_ids == txn_ids
    assert h.transport.times == pytest.approx([i / rate for i in range(count)])
    assert h.time.now == pytest.approx((count - 1) / rate)
    assert [r["status"] for r in await h.rows()] == ["sent"] * count


async def test_sent_posts_record_event_id_and_time(make: Any) -> None:
    h: Harness = make(2.0, ["$a", "$b"])
    await h.queue_messages("un", "deux")
    await h.deliver_all()
    rows = await h.rows()
    assert [(r["status"], r["event_id"], r["attempts"]) for r in rows] == [
        ("sent", "$a", 1),
        ("sent", "$b", 1),
    ]
    assert rows[1]["sent_at"] == (START + timedelta(seconds=0.5)).isoformat()
    assert h.transport.calls[0].content == {"msgtype": "m.notice", "body": "un", "m.mentions": {}}
    assert h.transport.calls[0].event_type == "m.room.message"
    assert h.transport.calls[0].room_id == ROOM


async def test_a_sent_file_is_kept_as_its_location_not_its_payload(make: Any) -> None:
    """The payload may name people (an .ics's organiser): once sent, only the mxc stays."""
    h: Harness = make()
    outbox = Outbox()
    outbox.send_file(ROOM, "atelier.ics", b"ORGANIZER:@ines:example.org", "text/calendar", kind="f")
    await h.queue(outbox.drain())
    await h.deliver_all()
    row = await h.db.fetchone("SELECT content FROM posts")
    assert row is not None
    assert json.loads(row[0]) == {
        "msgtype": "m.file",
        "body": "atelier.ics",
        "filename": "atelier.ics",
        "info": {"mimetype": "text/calendar", "size": 27},
        "m.mentions": {},
        "url": "mxc://test/1",
    }
    assert h.transport.calls[0].content == json.loads(row[0])


async def test_new_posts_wake_an_idle_sender(make: Any) -> None:
    h: Harness = make(1.0)
    stop = asyncio.Event()
    task = asyncio.create_task(h.sender.run(stop))
    async with asyncio.timeout(TIMEOUT_S):
        await h.sender.wait_idle()
        assert h.transport.calls == []
        first = await h.queue_messages("un")
        h.sender.wake()
        await h.sender.wait_idle()
        second = await h.queue_messages("deux", "trois")
        h.sender.wake()
        await h.sender.wait_idle()
    stop.set()
    async with asyncio.timeout(TIMEOUT_S):
        await task
    assert h.transport.txn_ids == first + second


# --- 429 -----------------------------------------------------------------------------------


async def test_rate_limit_pauses_the_queue_and_retries_the_same_txn(make: Any) -> None:
    h: Harness = make(2.0, ["$a", RateLimited(3000)])
    t1, t2, t3 = await h.queue_messages("un", "deux", "trois")
    await h.deliver_all()
    assert h.transport.txn_ids == [t1, t2, t2, t3]
    assert h.transport.times == pytest.approx([0.0, 0.5, 3.5, 4.0])
    assert h.successful_txn_ids() == [t1, t2, t3]
    assert h.sender.rate_limited == 1
    rows = await h.rows()
    assert [r["status"] for r in rows] == ["sent"] * 3
    assert len({r["event_id"] for r in rows}) == 3


async def test_rate_limit_shorter_than_the_pace_keeps_the_pace(make: Any) -> None:
    h: Harness = make(1.0, [RateLimited(100)])
    t1, t2 = await h.queue_messages("un", "deux")
    await h.deliver_all()
    assert h.transport.txn_ids == [t1, t1, t2]
    assert h.transport.times == pytest.approx([0.0, 1.0, 2.0])


async def test_repeated_rate_limits(make: Any) -> None:
    h: Harness = make(10.0, [RateLimited(1000), RateLimited(2000), "$a"])
    [t1] = await h.queue_messages("un")
    await h.deliver_all()
    assert h.transport.txn_ids == [t1, t1, t1]
    assert h.transport.times == pytest.approx([0.0, 1.0, 3.0])
    assert h.sender.rate_limited == 2
    assert [r["event_id"] for r in await h.rows()] == ["$a"]


# --- outages -------------------------------------------------------------------------------


async def test_unreachable_homeserver_backs_off_then_succeeds(make: Any) -> None:
    unreachable = HomeserverUnreachable("ClientConnectorError")
    h: Harness = make(1.0, [unreachable, unreachable, "$a", unreachable, "$b"])
    t1, t2 = await h.queue_messages("un", "deux")
    await h.deliver_all()
    assert h.transport.txn_ids == [t1, t1, t1, t2, t2]
    # backoff 1 s then 2 s; reset after a success, so 1 s again.
    assert h.transport.times == pytest.approx([0.0, 1.0, 3.0, 4.0, 5.0])
    assert h.successful_txn_ids() == [t1, t2]
    assert [(r["status"], r["event_id"]) for r in await h.rows()] == [
        ("sent", "$a"),
        ("sent", "$b"),
    ]


async def test_backoff_doubles_up_to_a_minute(make: Any) -> None:
    h: Harness = make(100.0, [HomeserverUnreachable("timeout")] * 9)
    [t1] = await h.queue_messages("un")
    await h.deliver_all()
    assert h.time.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert h.transport.txn_ids == [t1] * 10
    [row] = await h.rows()
    assert row["status"] == "sent"


# --- refusals ------------------------------------------------------------------------------


async def test_permanent_refusal_marks_failed_and_the_queue_goes_on(
    make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    h: Harness = make(1.0, [MatrixError("M_FORBIDDEN", "not allowed", status=403)])
    t1, t2, t3 = await h.queue_messages("un", "deux", "trois")
    with caplog.at_level(logging.ERROR, logger="bot.sender"):
        await h.deliver_all()
    assert h.transport.txn_ids == [t1, t2, t3]
    rows = await h.rows()
    assert [(r["status"], r["error"], r["attempts"]) for r in rows] == [
        ("failed", "M_FORBIDDEN", 1),
        ("sent", None, 1),
        ("sent", None, 1),
    ]
    assert "failed for good: M_FORBIDDEN" in caplog.text
    assert await h.posts.count_by_status() == {"failed": 1, "sent": 2}


async def test_transient_refusal_is_retried_then_given_up(make: Any) -> None:
    h: Harness = make(100.0, [MatrixError("M_UNKNOWN", "oops", status=500)] * 8)
    t1, t2 = await h.queue_messages("un", "deux")
    await h.deliver_all()
    assert h.transport.txn_ids == [t1] * MAX_TRANSIENT_ATTEMPTS + [t2]
    assert h.time.sleeps[:7] == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    rows = await h.rows()
    assert [(r["status"], r["error"], r["attempts"]) for r in rows] == [
        ("failed", "M_UNKNOWN", MAX_TRANSIENT_ATTEMPTS),
        ("sent", None, 1),
    ]


async def test_transient_refusal_then_success(make: Any) -> None:
    h: Harness = make(1.0, [MatrixError("M_UNKNOWN_ROOM", "not yet"), "$a"])
    [t1] = await h.queue_messages("un")
    await h.deliver_all()
    assert h.transport.txn_ids == [t1, t1]
    [row] = await h.rows()
    assert (row["status"], row["event_id"], row["attempts"]) == ("sent", "$a", 2)


async def test_unexpected_exception_is_logged_and_retried(
    make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    h: Harness = make(1.0, [ValueError("bizarre"), "$a"])
    await h.queue_messages("un")
    with caplog.at_level(logging.ERROR, logger="bot.sender"):
        await h.deliver_all()
    assert "Unexpected failure sending post" in caplog.text
    assert "ValueError: bizarre" in caplog.text
    [row] = await h.rows()
    assert (row["status"], row["event_id"]) == ("sent", "$a")


@pytest.mark.parametrize("errcode", ["M_UNKNOWN_TOKEN", "ORG_MATRIX_EXPIRED_ACCOUNT"])
async def test_rejected_session_does_not_fail_queued_posts(make: Any, errcode: str) -> None:
    h: Harness = make(1.0, [SessionRejected(errcode, "token rejected"), "$a"])
    [t1] = await h.queue_messages("un")
    await h.deliver_all()
    assert h.transport.txn_ids == [t1, t1]
    [row] = await h.rows()
    assert (row["status"], row["event_id"]) == ("sent", "$a")


# --- redactions and relations to earlier posts ---------------------------------------------


async def test_redaction_of_an_earlier_post_uses_its_event_id(make: Any) -> None:
    h: Harness = make(1.0, ["$annonce", "$retrait"])
    outbox = Outbox()
    target = outbox.send(ROOM, "annonce")
    redaction = outbox.redact(ROOM, txn_id=target, reason="erreur")
    await h.queue(outbox.drain())
    await h.deliver_all()
    first, second = h.transport.calls
    assert (first.method, first.txn_id) == ("send_event", target)
    assert (second.method, second.txn_id) == ("redact", redaction)
    assert second.target == "$annonce"
    assert second.reason == "erreur"
    assert [r["event_id"] for r in await h.rows()] == ["$annonce", "$retrait"]


async def test_redaction_by_event_id(make: Any) -> None:
    h: Harness = make(1.0)
    outbox = Outbox()
    outbox.redact(ROOM, event_id="$vieux")
    await h.queue(outbox.drain())
    await h.deliver_all()
    [call] = h.transport.calls
    assert (call.method, call.target, call.reason) == ("redact", "$vieux", None)


async def test_redaction_of_a_failed_post_fails_without_a_request(make: Any) -> None:
    h: Harness = make(1.0, [MatrixError("M_FORBIDDEN", "no")])
    outbox = Outbox()
    target = outbox.send(ROOM, "annonce")
    outbox.redact(ROOM, txn_id=target)
    await h.queue(outbox.drain())
    await h.deliver_all()
    assert h.transport.txn_ids == [target]
    assert [(r["status"], r["error"]) for r in await h.rows()] == [
        ("failed", "M_FORBIDDEN"),
        ("failed", "M_TARGET_NOT_SENT"),
    ]


async def test_relation_to_an_earlier_post_gets_its_event_id(make: Any) -> None:
    h: Harness = make(1.0, ["$sondage"])
    outbox = Outbox()
    poll = outbox.send(ROOM, "Quand ?")
    [poll_post] = outbox.drain()
    reaction = OutgoingPost(
        ROOM, "send", "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "key": "✅"}}, "reaction",
        "txn-reaction", target_txn_id=poll,
    )  # fmt: skip
    await h.queue([poll_post, reaction])
    await h.deliver_all()
    assert h.transport.calls[1].content == {
        "m.relates_to": {"rel_type": "m.annotation", "key": "✅", "event_id": "$sondage"}
    }


async def test_redaction_without_target_fails(make: Any) -> None:
    h: Harness = make(1.0)
    await h.queue([OutgoingPost(ROOM, "redact", "m.room.redaction", {}, "redaction", "t-r")])
    await h.deliver_all()
    assert h.transport.calls == []
    [row] = await h.rows()
    assert (row["status"], row["error"]) == ("failed", "M_NO_TARGET")


# --- stopping ------------------------------------------------------------------------------


async def test_stop_ends_an_idle_loop(make: Any) -> None:
    h: Harness = make(1.0)
    stop = asyncio.Event()
    task = asyncio.create_task(h.sender.run(stop))
    async with asyncio.timeout(TIMEOUT_S):
        await h.sender.wait_idle()
    assert not task.done()
    stop.set()
    async with asyncio.timeout(TIMEOUT_S):
        await task
    assert task.result() is None


async def test_stopped_sender_sends_nothing(make: Any) -> None:
    h: Harness = make(1.0)
    await h.queue_messages("un")
    stop = asyncio.Event()
    stop.set()
    async with asyncio.timeout(TIMEOUT_S):
        await h.sender.run(stop)
    assert h.transport.calls == []
    assert [r["status"] for r in await h.rows()] == ["pending"]


async def test_posts_left_by_a_previous_run_keep_their_txn_id(make: Any) -> None:
    h: Harness = make(1.0, [HomeserverUnreachable("down")] * 10_000)
    [t1] = await h.queue_messages("un")
    # First run: the homeserver stays down; stop while the sender retries.
    stop = asyncio.Event()
    task = asyncio.create_task(h.sender.run(stop))
    async with asyncio.timeout(TIMEOUT_S):
        await h.transport.called.wait()
    stop.set()
    async with asyncio.timeout(TIMEOUT_S):
        await task
    assert [r["status"] for r in await h.rows()] == ["pending"]
    # A new sender (a restart) sends the same transaction id.
    restarted: Harness = make(1.0)
    await restarted.deliver_all()
    assert set(h.transport.txn_ids) == {t1}
    assert restarted.transport.txn_ids == [t1]
    assert [r["status"] for r in await h.rows()] == ["sent"]


# --- Pacer alone ---------------------------------------------------------------------------


async def test_pacer() -> None:
    time = VirtualTime(100.0)
    pacer = Pacer(2.0, monotonic=time.monotonic, sleep=time.sleep)
    await pacer.wait()
    assert time.now == 100.0
    await pacer.wait()
    assert time.now == 100.5
    pacer.hold(0.1)  # shorter than the pace: no effect
    await pacer.wait()
    assert time.now == 101.0
    pacer.hold(5.0)
    await pacer.wait()
    assert time.now == 106.0
    time.now = 200.0  # long idle: no catching up, no wait
    await pacer.wait()
    assert time.now == 200.0
    assert time.sleeps == [0.5, 0.5, 5.0]


# --- fairness: priority, round-robin, dependent posts ----------------------------------------

PROF_A = "@prof.martin:example.org"
PROF_B = "@prof.durand:example.org"
RUPN = "@rupn:example.org"


def replies_of(requester: str, *texts: str) -> list[OutgoingPost]:
    outbox = Outbox()
    for text in texts:
        outbox.send(ROOM, text, kind="reply")
    return [replace(p, priority=PRIORITY_REPLIES, requester=requester) for p in outbox.drain()]


def sent_bodies(h: Harness) -> list[str]:
    return [str((c.content or {}).get("body")) for c in h.transport.calls]


async def test_the_rupns_posts_go_before_a_teachers_forty_replies(make: Any) -> None:
    h: Harness = make(1.0)
    flood = [f"aide {i}" for i in range(40)]
    await h.queue(replies_of(PROF_A, *flood))
    outbox = Outbox()
    for room in ("!diffusion1:example.org", "!diffusion2:example.org"):
        outbox.send(room, "Réunion ENT à 17h", kind="announcement")
    await h.queue([replace(p, requester=RUPN) for p in outbox.drain()])
    await h.deliver_all()
    assert sent_bodies(h) == ["Réunion ENT à 17h", "Réunion ENT à 17h", *flood]
    assert h.transport.times[:2] == [0.0, 1.0]


async def test_announcement_queued_mid_flood_waits_for_one_reply_at_most(make: Any) -> None:
    h: Harness = make(1.0)
    flood = [f"aide {i}" for i in range(40)]
    await h.queue(replies_of(PROF_A, *flood))
    stop = asyncio.Event()
    task = asyncio.create_task(h.sender.run(stop))
    async with asyncio.timeout(TIMEOUT_S):
        await h.transport.called.wait()
    outbox = Outbox()
    outbox.send(ROOM, "Annonce urgente", kind="announcement")
    await h.queue([replace(p, requester=RUPN) for p in outbox.drain()])
    h.sender.wake()
    async with asyncio.timeout(TIMEOUT_S):
        await h.sender.wait_idle()
    stop.set()
    await task
    position = sent_bodies(h).index("Annonce urgente")
    # Virtual time runs as fast as the loop turns: a few replies may have gone meanwhile,
    # but the announcement never waits for the rest of the flood.
    assert position < 40 - 5
    assert sorted(sent_bodies(h)) == sorted([*flood, "Annonce urgente"])


async def test_round_robin_between_two_teachers(make: Any) -> None:
    h: Harness = make(1.0)
    await h.queue(replies_of(PROF_A, "A1", "A2", "A3", "A4"))
    await h.queue(replies_of(PROF_B, "B1", "B2"))
    await h.deliver_all()
    assert sent_bodies(h) == ["A1", "B1", "A2", "B2", "A3", "A4"]


async def test_a_teacher_arriving_late_waits_one_turn_not_the_whole_flood(make: Any) -> None:
    h: Harness = make(1.0)
    await h.queue(replies_of(PROF_A, *(f"A{i}" for i in range(1, 11))))
    async with h.db.transaction():
        for _ in range(3):  # three of A's replies went out
            post = await h.posts.next_pending()
            assert post is not None
            await h.posts.mark_sent(post.id, f"${post.id}", START)
    await h.queue(replies_of(PROF_B, "B1"))
    await h.deliver_all()
    assert sent_bodies(h)[:3] == ["A4", "B1", "A5"]


async def test_an_edit_never_overtakes_the_post_it_edits(make: Any) -> None:
    h: Harness = make(1.0)
    [notice] = replies_of(PROF_A, "notice")
    await h.queue([notice])
    edit = Outbox()
    edit.send_event(
        ROOM, "m.room.message", {"body": "* corrigé"}, kind="edit", relates_to_txn=notice.txn_id
    )
    edit.redact(ROOM, txn_id=notice.txn_id, kind="redaction")
    # A job (first priority) edits, then redacts, a teacher's (second priority) post.
    await h.queue(edit.drain())
    await h.deliver_all()
    assert [c.method for c in h.transport.calls] == ["send_event", "send_event", "redact"]
    assert sent_bodies(h)[:2] == ["notice", "* corrigé"]
    assert [r["status"] for r in await h.rows()] == ["sent", "sent", "sent"]


async def test_posts_keep_who_caused_them_and_their_priority(make: Any) -> None:
    h: Harness = make(1.0)
    await h.queue(replies_of(PROF_A, "réponse"))
    async with h.db.transaction():
        post = await h.posts.next_pending()
    assert post is not None
    assert (post.priority, post.requester) == (PRIORITY_REPLIES, PROF_A)
