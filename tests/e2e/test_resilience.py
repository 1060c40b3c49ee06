"""Homeserver outages and rate limits, each on its own throwaway Synapse."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devtools.synapse import ThrowawaySynapse
from tests.e2e.conftest import StaffRoom, make_staff_room

pytestmark = pytest.mark.e2e


@pytest.fixture
async def own_synapse(tmp_path: Path) -> AsyncIterator[ThrowawaySynapse]:
    server = ThrowawaySynapse(tmp_path / "synapse")
    await server.start()
    yield server
    await server.stop()


async def _started(server: ThrowawaySynapse, workdir: Path) -> StaffRoom:
    room = await make_staff_room(server, workdir)
    await room.bot.start()
    await room.rupn.wait_joined(room.room_id, [room.bot_id])
    return room


async def _close(room: StaffRoom) -> None:
    await room.bot.stop()
    for p in (room.rupn, room.prof1, room.prof2):
        await p.stop()


async def test_bot_survives_a_homeserver_outage(
    own_synapse: ThrowawaySynapse, tmp_path: Path
) -> None:
    room = await _started(own_synapse, tmp_path)
    try:
        assert (await room.command(room.prof1, "!aide")).decrypted
        await own_synapse.stop()
        await asyncio.sleep(20)
        await own_synapse.restart()
        reply = await room.command(room.prof2, "!xyz", timeout=90)
        assert reply.body == "Commande inconnue : !xyz. Tapez !aide pour la liste des commandes."
        assert room.bot.running
        log = room.bot.log_text()
        assert "Homeserver unavailable" in log
        assert "Homeserver reachable again" in log
        assert "Traceback" not in log
    finally:
        await _close(room)


async def test_rate_limited_bot_paces_itself_and_loses_nothing(
    own_synapse: ThrowawaySynapse, tmp_path: Path
) -> None:
    room = await _started(own_synapse, tmp_path)
    try:
        # Tchap-like limits for the bot only (1 message/s, burst 1), while the
        # bot's own pacing is set far higher: the homeserver's 429s must pace it.
        await own_synapse.override_ratelimit(room.bot_id, 1, 1)
        sent = [await room.prof1.send_text(room.room_id, f"!essai{i}") for i in range(8)]
        for event_id in sent:
            await room.wait_reply(room.prof1, event_id, timeout=60)
        await asyncio.sleep(2)
        answers = [m for m in room.prof1.messages if m.sender == room.bot_id]
        order = [m.in_reply_to for m in answers if m.in_reply_to in sent]
        assert order == sent  # each once, in order
        log = room.bot.log_text()
        assert "Rate limited; pausing the queue" in log
        # One worker: never more 429s than posts that had to wait.
        assert log.count("Rate limited; pausing the queue") <= len(sent)
    finally:
        await _close(room)
