"""A burst larger than one sync's timeline is backfilled, not skipped."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.app import run_app
from bot.config import load_config
from devtools.synapse import ThrowawaySynapse
from tests.e2e.conftest import close_staff_room, make_staff_room

pytestmark = pytest.mark.e2e

TIMELINE_LIMIT = 5


async def _run_until_joined(config_path: Path, stop: asyncio.Event) -> asyncio.Task[None]:
    config = load_config(config_path)
    ready = asyncio.Event()
    task = asyncio.create_task(
        run_app(config, stop, timeline_limit=TIMELINE_LIMIT, on_ready=lambda _: ready.set())
    )
    await asyncio.wait_for(ready.wait(), 60)
    return task


async def test_missed_burst_is_backfilled(
    synapse: ThrowawaySynapse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    room = await make_staff_room(synapse, tmp_path)
    try:
        stop = asyncio.Event()
        task = await _run_until_joined(room.bot.config_path, stop)
        await room.wait_bot_joined()
        assert (await room.command(room.prof1, "!aide")).decrypted
        stop.set()
        await task

        # While the bot is down: 6 × more commands than one sync carries (the RUPN's: a
        # teacher's are limited to a few at a time), with a teacher's chatter meanwhile.
        async def commands() -> list[str]:
            return [await room.rupn.send_text(room.room_id, f"!inconnue{i}") for i in range(30)]

        async def chatter() -> None:
            for i in range(30):
                await room.prof2.send_text(room.room_id, f"bavardage {i}")

        sent, _ = await asyncio.gather(commands(), chatter())

        stop = asyncio.Event()
        task = await _run_until_joined(room.bot.config_path, stop)
        for event_id in sent:
            await room.wait_reply(room.rupn, event_id, timeout=60)
        stop.set()
        await task
        assert any("Backfilled" in r.getMessage() and " 0 events" not in r.getMessage()
                   for r in caplog.records)  # fmt: skip
        answered = [m.in_reply_to for m in room.rupn.messages if m.sender == room.bot_id]
        assert [e for e in answered if e in sent] == sent  # each once, in order
    finally:
        await close_staff_room(room)
