"""Homeserver outages and rate limits.

The outage needs a homeserver of its own (it is stopped and started again); the rate
limit is set for the bot's account only, on the session's homeserver.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devtools.synapse import ThrowawaySynapse
from tests.e2e.conftest import close_staff_room, make_staff_room
from tests.e2e.helpers import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
async def own_synapse(tmp_path: Path) -> AsyncIterator[ThrowawaySynapse]:
    server = ThrowawaySynapse(tmp_path / "synapse")
    await server.start()
    yield server
    await server.stop()


async def test_bot_survives_a_homeserver_outage(
    own_synapse: ThrowawaySynapse, tmp_path: Path
) -> None:
    room = await make_staff_room(own_synapse, tmp_path, start_bot=True)
    try:
        assert (await room.command(room.prof1, "!aide")).decrypted
        await own_synapse.stop()
        # Nothing user-visible can show that the bot noticed the outage: its log does.
        await eventually(lambda: "Homeserver unavailable" in room.bot.log_text(), timeout=60)
        await own_synapse.start()
        reply = await room.command(room.prof2, "!xyz", timeout=90)
        assert reply.body == "Commande inconnue : !xyz. Tapez !aide pour la liste des commandes."
        assert room.bot.running
        log = room.bot.log_text()
        assert "Homeserver reachable again" in log
        assert "Traceback" not in log
    finally:
        await close_staff_room(room)


async def test_rate_limited_bot_paces_itself_and_loses_nothing(
    synapse: ThrowawaySynapse, tmp_path: Path
) -> None:
    room = await make_staff_room(synapse, tmp_path, start_bot=True)
    try:
        # Tchap-like limits for the bot only (1 message/s, burst 1), while the
        # bot's own pacing is set far higher: the homeserver's 429s must pace it.
        await synapse.override_ratelimit(room.bot_id, 1, 1)
        # The RUPN's commands: a teacher's are limited to a few at a time.
        sent = [await room.rupn.send_text(room.room_id, f"!essai{i}") for i in range(8)]
        for event_id in sent:
            await room.wait_reply(room.rupn, event_id, timeout=60)
        # Answered after the others (one person's posts go in order): a duplicate would
        # have come before it.
        await room.command(room.rupn, "!aide", timeout=60)
        answers = [m for m in room.rupn.messages if m.sender == room.bot_id]
        order = [m.in_reply_to for m in answers if m.in_reply_to in sent]
        assert order == sent  # each once, in order
        # Being throttled shows to no one: only the bot's log tells that 429s paced it.
        log = room.bot.log_text()
        assert "Rate limited; pausing the queue" in log
        # One worker: never more 429s than posts that had to wait (the replies and `!aide`'s).
        assert log.count("Rate limited; pausing the queue") <= len(sent) + 1
    finally:
        await close_staff_room(room)
