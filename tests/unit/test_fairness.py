"""The fair outbox end to end (bench.fairness's simulation), and its migration."""

from __future__ import annotations

from pathlib import Path

from bench import flood_limit
from bench.fairness import ADMIN, GOAL_MARGIN_S, TEACHERS, simulate
from bench.fairness_schools import GOAL_S as WAVE_GOAL_S
from bench.fairness_schools import simulate_wave
from bot.storage.database import Database
from bot.storage.migrations import MIGRATIONS
from bot.storage.posts import PRIORITY_FIRST, PRIORITY_REPLIES, OutgoingPost, PostsRepository
from tests.unit.fakes import START as START_TIME


async def test_a_teachers_flood_does_not_delay_the_rupns_announcement() -> None:
    quiet = await simulate(rooms=5)
    flooded = await simulate(flooders=TEACHERS[:1], flood=40, rooms=5)
    assert quiet.announcement_s == 4.0
    assert flooded.announcement_s <= GOAL_MARGIN_S + flooded.floor_s
    # Everything the RUPN caused (the 5 posts and the confirmation) goes before the
    # teacher's replies still waiting when the command arrived.
    order = [d.requester for d in flooded.deliveries]
    last_rupn = max(i for i, d in enumerate(flooded.deliveries) if d.requester in (ADMIN, None))
    assert order[last_rupn + 1 :] == [TEACHERS[0]] * (len(order) - last_rupn - 1)
    assert flooded.replies_first <= 2


async def test_before_priorities_the_flood_delayed_the_announcement() -> None:
    fifo = await simulate(flooders=TEACHERS, flood=40, rooms=5, fifo=True)
    assert not fifo.passed


async def test_posts_queued_before_the_migration_keep_their_order(tmp_path: Path) -> None:
    path = tmp_path / "rupn-bot.db"
    db = await Database.open(path, MIGRATIONS[:-1])
    try:
        async with db.transaction():
            for txn in ("ancien-1", "ancien-2"):
                await db.execute(
                    "INSERT INTO posts (room_id, action, event_type, content, kind, txn_id,"
                    " created_at) VALUES ('!s:x', 'send', 'm.room.message', '{}', 'reply', ?,"
                    " '2026-03-02T09:30:00+00:00')",
                    (txn,),
                )
    finally:
        await db.close()
    db = await Database.open(path)
    try:
        posts = PostsRepository(db)
        async with db.transaction():
            await posts.queue(
                [
                    OutgoingPost(
                        "!s:x", "send", "m.room.message", {}, "reply", "nouveau",
                        priority=PRIORITY_REPLIES, requester="@prof:x",
                    )
                ],
                START_TIME,
            )  # fmt: skip
            order = []
            while (post := await posts.next_pending()) is not None:
                order.append((post.txn_id, post.priority, post.requester))
                await posts.mark_sent(post.id, f"${post.txn_id}", START_TIME)
        assert order == [
            ("ancien-1", PRIORITY_FIRST, None),
            ("ancien-2", PRIORITY_FIRST, None),
            ("nouveau", PRIORITY_REPLIES, "@prof:x"),
        ]
    finally:
        await db.close()


async def test_the_flood_limit_meets_its_goals_in_every_scenario() -> None:
    results = await flood_limit.run()
    assert [(r.scenario.label, r.passed) for r in results] == [
        (s.label, True) for s in flood_limit.SCENARIOS
    ]
    assert {r.answered for r in results if r.scenario.flood} == {15}


async def test_the_friday_wave_of_600_letters_lets_a_rupn_announce_within_5_s() -> None:
    """200 schools × 3 rooms of letters queued at 16h30; 20 s in, one school's RUPN
    announces in its 3 rooms: each goes between two letters, the schools' letters go
    round-robin (every school has its first room within one round of the schools)."""
    wave = await simulate_wave(schools=200, rooms=3)
    assert wave.announcement_s <= WAVE_GOAL_S
    assert wave.last_first_room_s <= 200 + 3  # one round (+ the announcement's sends)
    assert wave.wave_s <= 600 + 3
    before = await simulate_wave(schools=200, rooms=3, interleave=False)
    assert before.last_first_room_s >= 597  # the last school waited for every other one
