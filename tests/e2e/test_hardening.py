"""The hardening, end to end against the real Synapse: one bot per `data_dir`, a private
`data_dir`, messages too large for Matrix, direct rooms, answers in threads.

The tests share one staff room (a module fixture) with an Element-grade teacher in it;
the one that stops the bot (permissions) comes last and any later test restarts it.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import nio
import pytest

from bot.sync import DECLINE_REASON, DIRECT_WELCOME
from devtools.element import ElementClient
from devtools.participant import Participant
from devtools.synapse import ThrowawaySynapse
from tests.e2e.conftest import StaffRoom, close_staff_room, make_staff_room
from tests.e2e.helpers import eventually, query

pytestmark = pytest.mark.e2e


@dataclass
class Hardened:
    staff: StaffRoom
    element: ElementClient  # a teacher on an Element-grade client, in the staff room

    @property
    def data_dir(self) -> Path:
        return self.staff.workdir / "botdata"

    async def running(self) -> StaffRoom:
        """The staff room, its bot started again if a test stopped it."""
        if not self.staff.bot.running:
            await self.staff.bot.start()
        return self.staff


@pytest.fixture(scope="module")
async def hardened(
    synapse: ThrowawaySynapse, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Hardened]:
    workdir = tmp_path_factory.mktemp("hardening")
    account = await synapse.register("elhardening", "prof-pw")
    element = ElementClient(synapse.base_url, account, workdir / "element.log")
    staff: StaffRoom | None = None
    try:
        async with asyncio.TaskGroup() as group:  # the Node client starts meanwhile
            room = group.create_task(make_staff_room(synapse, workdir, start_bot=True))
            group.create_task(element.start())
        staff = room.result()
        await staff.rupn.invite(staff.room_id, element.user_id)
        await element.join(staff.room_id)
        await element.wait_joined(staff.room_id, [staff.bot_id, staff.rupn.user_id])
        await staff.rupn.wait_joined(staff.room_id, [element.user_id])
        yield Hardened(staff, element)
    finally:
        await element.stop()
        if staff is not None:
            (workdir / "botdata").chmod(0o700)  # whatever a test left
            await close_staff_room(staff)


async def run_bot_once(config: Path, timeout: float) -> tuple[int, str]:
    """`python -m bot run` that must stop by itself: (exit code, stdout and stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"`bot run` still running after {timeout} s") from None
    return process.returncode or 0, output.decode("utf-8", errors="replace")


async def test_a_second_bot_on_the_same_data_dir_exits_and_the_first_answers_once(
    hardened: Hardened,
) -> None:
    staff = await hardened.running()
    first = staff.bot._process  # the first bot's process: its PID is in the message
    assert first is not None

    code, output = await run_bot_once(staff.bot.config_path, timeout=30)

    assert code == 1, output
    assert f"Un autre rupn-bot (processus {first.pid}) utilise déjà {hardened.data_dir}" in (
        output
    ), output
    assert staff.bot.running
    command = await staff.rupn.send_text(staff.room_id, "!aide")
    await staff.wait_reply(staff.rupn, command)
    # The bot handles events in order: once a later command is answered, a duplicate
    # answer to the first would have been seen.
    await staff.command(staff.rupn, "!ateliers")
    assert len(staff.replies_to(staff.rupn, command)) == 1


async def test_an_announcement_too_large_for_matrix_is_refused_and_not_published(
    hardened: Hardened,
) -> None:
    staff = await hardened.running()
    reply = await staff.command(staff.rupn, "!diffusion ajouter")
    assert "recevra désormais les annonces" in reply.body, reply.body
    # ASCII, so that the command itself (about 54 KB once encrypted) fits in an event.
    text = ("Conseil pedagogique du numerique : ordre du jour et documents. " * 700)[:40_000]
    after = staff.prof1.mark()

    refused = await staff.command(staff.rupn, f"!annonce {text}")

    match = re.search(
        r"Ce message est trop long pour Matrix : environ (\d+) Ko une fois chiffré, "
        r"pour une limite de 64 Ko\. ",
        refused.body,
    )
    assert match is not None, refused.body
    assert int(match.group(1)) > 64
    # Nothing published: the reply to a later command arrives after anything it would have sent.
    later = await staff.command(staff.rupn, "!aide")
    await staff.prof1.wait_for(lambda m: m.event_id == later.event_id, after=after)
    published = [
        m
        for m in staff.prof1.messages[after:]
        if m.sender == staff.bot_id and "Conseil pedagogique" in m.body
    ]
    assert published == []
    assert await query(staff.workdir, "SELECT count(*) FROM announcements") == [(0,)]


async def test_a_colleague_s_direct_room_is_joined_and_a_stranger_s_declined(
    hardened: Hardened, synapse: ThrowawaySynapse
) -> None:
    staff = await hardened.running()
    prof = staff.prof1
    after = prof.mark()
    created = await prof.client.room_create(
        is_direct=True,
        preset=nio.RoomPreset.trusted_private_chat,
        invite=[staff.bot_id],
        initial_state=[
            {
                "type": "m.room.encryption",
                "state_key": "",
                "content": {"algorithm": "m.megolm.v1.aes-sha2"},
            }
        ],
    )
    assert isinstance(created, nio.RoomCreateResponse), created
    direct = created.room_id

    welcome = await prof.wait_for(
        lambda m: m.room_id == direct and m.sender == staff.bot_id, after=after
    )
    assert welcome.body == DIRECT_WELCOME
    assert welcome.decrypted
    await prof.wait_joined(direct, [staff.bot_id])
    answer = await prof.send_and_wait_reply(direct, "!ateliers", staff.bot_id)
    assert answer.body

    account = await synapse.register("stranger1", "stranger-pw")
    stranger = Participant(synapse.base_url, account, staff.workdir / "clients")
    await stranger.start()
    try:
        created = await stranger.client.room_create(
            is_direct=True, preset=nio.RoomPreset.trusted_private_chat, invite=[staff.bot_id]
        )
        assert isinstance(created, nio.RoomCreateResponse), created

        async def declined() -> dict[str, object]:
            state = await stranger.client.room_get_state_event(
                created.room_id, "m.room.member", staff.bot_id
            )
            assert isinstance(state, nio.RoomGetStateEventResponse), state
            assert state.content.get("membership") == "leave", state.content
            return dict(state.content)

        content = await eventually(declined, timeout=20, what="the bot declines")
        assert content["reason"] == DECLINE_REASON
    finally:
        await stranger.stop()


async def test_a_command_in_a_thread_is_answered_in_the_thread(hardened: Hardened) -> None:
    staff = await hardened.running()
    element = hardened.element
    root = await element.send_text(staff.room_id, "Une question sur les ateliers")
    command = await element.send_text(staff.room_id, "!aide", thread_root_id=root)

    reply = await element.wait_for(
        staff.room_id,
        # The relation is in clear: wait for the room key too (a to-device message may be late).
        lambda m: m.sender == staff.bot_id and m.in_reply_to == command
        and not m.decryption_failure,
        30,
    )  # fmt: skip

    assert reply.decryption_failure is None
    assert reply.relates_to == {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": command},
    }


def _private(mode: int) -> bool:
    return mode & 0o077 == 0


async def test_data_dir_is_private_and_an_open_one_refused(hardened: Hardened) -> None:
    staff = await hardened.running()
    data_dir = hardened.data_dir
    names = {p.relative_to(data_dir).as_posix() for p in data_dir.rglob("*")}
    for expected in (
        "rupn-bot.db",
        "rupn-bot.db-wal",
        "rupn-bot.db-shm",
        "rupn-bot.lock",
        "session.json",
        "cross-signing-keys.json",
        "crypto-pickle-key",
    ):
        assert expected in names, sorted(names)
    assert any(name.startswith("crypto/") for name in names), sorted(names)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    opened = {
        p.relative_to(data_dir).as_posix(): oct(stat.S_IMODE(p.lstat().st_mode))
        for p in data_dir.rglob("*")
        if not p.is_symlink() and not _private(p.lstat().st_mode)
    }
    assert opened == {}

    assert await staff.bot.stop() == 0
    data_dir.chmod(0o755)
    try:
        code, output = await run_bot_once(staff.bot.config_path, timeout=30)
    finally:
        data_dir.chmod(0o700)
    assert code == 1, output
    assert f"chmod 700 {data_dir}" in output, output
    assert "accessible à d’autres comptes" in output, output
