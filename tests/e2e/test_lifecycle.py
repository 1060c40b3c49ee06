"""Invites, restarts, crashes and first start, with the real bot process."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import nio
import pytest

from bot.session import load_session
from devtools.synapse import ThrowawaySynapse
from tests.e2e.conftest import StaffRoom, close_staff_room, make_staff_room
from tests.e2e.helpers import eventually, outbox_drained

pytestmark = pytest.mark.e2e


async def test_invite_from_admin_joined_from_others_refused(staff: StaffRoom) -> None:
    # The fixture's room: invited by the RUPN (an admin), joined.
    await staff.rupn.wait_joined(staff.room_id, [staff.bot_id])
    # A teacher's room: refused, as the teacher's client shows it (the bot's membership
    # goes from "invite" to "leave", set by the bot itself: a rejected invitation).
    other = await staff.prof1.create_encrypted_room("Projet EPI", invite=[staff.bot_id])

    async def bot_membership() -> dict[str, Any] | None:
        state = await staff.prof1.client.room_get_state(other)
        assert isinstance(state, nio.RoomGetStateResponse), state
        for event in state.events:
            if (
                event["type"] == "m.room.member"
                and event["state_key"] == staff.bot_id
                and event["content"]["membership"] != "invite"
            ):
                return dict(event)
        return None

    refusal = await eventually(bot_membership, what="the bot's answer to the invitation")
    assert refusal is not None
    assert refusal["content"]["membership"] == "leave"
    assert refusal["sender"] == staff.bot_id
    room = staff.prof1.client.rooms[other]
    await eventually(lambda: staff.bot_id not in room.invited_users)
    assert staff.bot_id not in room.users


async def test_restart_after_sigterm_and_kill9_answers_each_command_once(
    staff: StaffRoom,
) -> None:
    first = await staff.command(staff.prof1, "!aide")
    assert first.decrypted

    assert await staff.bot.stop() == 0
    # Sent while the bot is stopped: answered after it starts again, once.
    while_down = await staff.prof2.send_text(staff.room_id, "!aide statut")
    await staff.bot.start()
    await staff.wait_reply(staff.prof2, while_down)

    # A burst, then kill -9 in the middle of it. The RUPN's: a teacher's commands are
    # limited to a few at a time.
    sent = [await staff.rupn.send_text(staff.room_id, f"!xyz{i}") for i in range(12)]
    await staff.rupn.wait_for(
        lambda m: m.sender == staff.bot_id and m.in_reply_to in sent[:3], timeout=30
    )
    await staff.bot.kill()
    await staff.bot.start()
    for event_id in sent:
        await staff.wait_reply(staff.rupn, event_id, timeout=30)
    # The encrypted room still works. Once the outbox is drained, this reply comes after
    # any duplicate the bot would have sent: the RUPN's client has seen them all.
    await outbox_drained(staff.workdir)
    after = await staff.command(staff.rupn, "!aide")
    assert after.decrypted
    assert first.in_reply_to is not None
    for event_id in [first.in_reply_to, while_down, *sent]:
        assert len(staff.replies_to(staff.rupn, event_id)) == 1, event_id


async def test_first_start_does_not_run_history(synapse: ThrowawaySynapse, tmp_path: Path) -> None:
    room = await make_staff_room(synapse, tmp_path)
    try:
        # The bot is invited but has never run; a teacher types a command meanwhile.
        old = await room.prof1.send_text(room.room_id, "!aide")
        await room.bot.start()
        await room.wait_bot_joined()
        # Answered, after `old`: had `old` been answered, that reply (to the same teacher)
        # would have come first.
        reply = await room.command(room.prof1, "!aide")
        assert reply.decrypted
        assert room.replies_to(room.prof1, old) == []
        # The saved session is private to the bot's owner.
        mode = os.stat(tmp_path / "botdata" / "session.json").st_mode
        assert stat.S_IMODE(mode) == 0o600
        # Restarting restores the session instead of logging in again: the same device,
        # and no new one on the server (a new login would have made one).
        session = load_session(tmp_path / "botdata")
        assert session is not None
        devices = await synapse.devices(room.bot_id)
        assert session.device_id in devices
        await room.restart()
        restored = load_session(tmp_path / "botdata")
        assert restored is not None and restored.device_id == session.device_id
        assert await synapse.devices(room.bot_id) == devices
        assert (await room.command(room.prof1, "!aide")).decrypted
    finally:
        await close_staff_room(room)


async def test_secrets_never_logged(staff: StaffRoom) -> None:
    await staff.command(staff.rupn, "!statut")
    session = json.loads((staff.workdir / "botdata" / "session.json").read_text())
    log = staff.bot.log_text()
    assert staff.bot_account.password not in log
    assert session["access_token"] not in log
