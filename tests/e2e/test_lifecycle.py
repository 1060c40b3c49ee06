"""Invites, restarts, crashes and first start, with the real bot process."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import pytest

from devtools.synapse import ThrowawaySynapse
from tests.e2e.conftest import StaffRoom, make_staff_room

pytestmark = pytest.mark.e2e


async def test_invite_from_admin_joined_from_others_refused(staff: StaffRoom) -> None:
    # The fixture's room: invited by the RUPN (an admin), joined.
    await staff.rupn.wait_joined(staff.room_id, [staff.bot_id])
    # A teacher's room: refused.
    other = await staff.prof1.create_encrypted_room("Projet EPI", invite=[staff.bot_id])
    for _ in range(200):
        if f"Refusing invite to {other}" in staff.bot.log_text():
            break
        await asyncio.sleep(0.1)
    assert f"Refusing invite to {other} from {staff.prof1.user_id}" in staff.bot.log_text()
    room = staff.prof1.client.rooms[other]
    for _ in range(100):
        if staff.bot_id not in room.invited_users:
            break
        await asyncio.sleep(0.1)
    assert staff.bot_id not in room.users
    assert staff.bot_id not in room.invited_users


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

    # A burst, then kill -9 in the middle of it.
    sent = [await staff.prof1.send_text(staff.room_id, f"!xyz{i}") for i in range(12)]
    await staff.prof1.wait_for(
        lambda m: m.sender == staff.bot_id and m.in_reply_to in sent[:3], timeout=30
    )
    await staff.bot.kill()
    await staff.bot.start()
    for event_id in sent:
        await staff.wait_reply(staff.prof1, event_id, timeout=30)
    # The encrypted room still works, and nothing was answered twice.
    after = await staff.command(staff.prof2, "!aide")
    assert after.decrypted
    await asyncio.sleep(2)  # room for a late duplicate to show up
    assert first.in_reply_to is not None
    expected = [(staff.prof1, first.in_reply_to), (staff.prof2, while_down)]
    expected += [(staff.prof1, e) for e in sent]
    for who, event_id in expected:
        assert len(staff.replies_to(who, event_id)) == 1, event_id


async def test_first_start_does_not_run_history(synapse: ThrowawaySynapse, tmp_path: Path) -> None:
    room = await make_staff_room(synapse, tmp_path)
    try:
        # The bot is invited but has never run; a teacher types a command meanwhile.
        old = await room.prof1.send_text(room.room_id, "!aide")
        await room.bot.start()
        await room.rupn.wait_joined(room.room_id, [room.bot_id])
        reply = await room.command(room.prof2, "!aide")
        assert reply.decrypted
        await asyncio.sleep(2)
        assert room.replies_to(room.prof1, old) == []
        # The saved session is private to the bot's owner.
        mode = os.stat(tmp_path / "botdata" / "session.json").st_mode
        assert stat.S_IMODE(mode) == 0o600
        # Restarting restores the session instead of logging in again.
        await room.bot.stop()
        await room.bot.start()
        assert room.bot.log_text().count("Logged in as") == 1
        assert "Restored session" in room.bot.log_text()
        assert (await room.command(room.prof1, "!aide")).decrypted
    finally:
        await room.bot.stop()
        for p in (room.rupn, room.prof1, room.prof2):
            await p.stop()


async def test_secrets_never_logged(staff: StaffRoom) -> None:
    await staff.command(staff.rupn, "!statut")
    session = json.loads((staff.workdir / "botdata" / "session.json").read_text())
    log = staff.bot.log_text()
    assert staff.bot_account.password not in log
    assert session["access_token"] not in log
