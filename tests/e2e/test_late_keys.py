"""A command whose room key arrives late is kept, then answered exactly once."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import StaffRoom

pytestmark = pytest.mark.e2e


async def test_a_command_whose_key_arrives_late_is_answered_once(staff: StaffRoom) -> None:
    event_id, release = await staff.prof1.send_text_key_late(
        staff.room_id, "!ateliers", late_for=staff.bot_id
    )
    # A later command (in the old session) is answered: the bot is alive and had no key.
    later = await staff.command(staff.prof2, "!aide")
    assert later.sender == staff.bot_id
    assert staff.replies_to(staff.prof1, event_id) == []
    assert "Could not decrypt event " + event_id in staff.bot.log_text()

    await release()
    reply = await staff.wait_reply(staff.prof1, event_id)
    assert reply.body.startswith("Aucun atelier ni café numérique")

    # Restarting replays nothing: still exactly one answer.
    await staff.bot.stop()
    await staff.bot.start()
    check = await staff.command(staff.prof2, "!aide")
    assert check.sender == staff.bot_id
    assert len(staff.replies_to(staff.prof1, event_id)) == 1
