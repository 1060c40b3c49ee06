"""The bot's session against a plain Synapse with refresh tokens and account validity.

Access tokens live 3 s here (`refreshable_access_token_lifetime`), so that a
scene of a few seconds goes through several refreshes; the teachers' clients
do not ask for refresh tokens and keep theirs.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.auth.login import expired_text
from bot.cross_signing import device_is_signed
from bot.errors import EXIT_LOGIN_REQUIRED
from bot.keys_api import KeysApi
from bot.new_session import NEW_SESSION_NOTICE
from bot.session import load_session
from devtools.botprocess import BotProcess, write_bot_config
from devtools.synapse import ThrowawaySynapse
from tests.e2e.conftest import StaffRoom, close_staff_room, make_staff_room
from tests.e2e.helpers import eventually
from tests.e2e.token_lifetimes import commands_across_lifetimes

pytestmark = pytest.mark.e2e

TOKEN_LIFETIME = "3s"


@pytest.fixture(scope="module")
async def expiring(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ThrowawaySynapse]:
    server = ThrowawaySynapse(
        tmp_path_factory.mktemp("synapse-refresh"),
        extra_config={
            "refreshable_access_token_lifetime": TOKEN_LIFETIME,
            "account_validity": {"enabled": True, "period": "365d"},
        },
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def staff(expiring: ThrowawaySynapse, tmp_path: Path) -> AsyncIterator[StaffRoom]:
    room = await make_staff_room(expiring, tmp_path, start_bot=True)
    yield room
    await close_staff_room(room)


async def _master_and_signed(staff: StaffRoom, device_id: str) -> tuple[str, bool]:
    query = await KeysApi(staff.synapse.base_url, staff.rupn.client.access_token).query(
        staff.bot_id
    )
    [master] = (query["master_keys"][staff.bot_id]["keys"]).values()
    return str(master), device_is_signed(query, staff.bot_id, device_id)


def _device(staff: StaffRoom) -> str:
    session = load_session(staff.workdir / "botdata")
    assert session is not None
    return session.device_id


async def test_refreshes_then_a_deleted_device_gives_a_new_signed_session_and_one_notice(
    staff: StaffRoom,
) -> None:
    first_device = _device(staff)
    master, signed = await _master_and_signed(staff, first_device)
    assert signed
    stored = load_session(staff.workdir / "botdata")
    assert stored is not None and stored.refresh_token and stored.expires_at_ms

    # Each command comes once the token has expired: answered once, with a new token.
    await commands_across_lifetimes(staff, 3)
    renewed = load_session(staff.workdir / "botdata")
    assert renewed is not None and renewed.refresh_token != stored.refresh_token  # rotated
    log = staff.bot.log_text()
    assert stored.refresh_token not in log and str(renewed.refresh_token) not in log
    assert stored.access_token not in log and renewed.access_token not in log

    # The owner deletes the bot's session from the list of sessions.
    await staff.synapse.delete_device(staff.bot_id, first_device)
    notice = await staff.rupn.wait_for(
        lambda m: m.sender == staff.bot_id and m.room_id != staff.room_id, timeout=30
    )
    assert notice.body == NEW_SESSION_NOTICE
    second_device = _device(staff)
    assert second_device != first_device
    assert await _master_and_signed(staff, second_device) == (master, True)
    await eventually(
        lambda: any(
            device.id == second_device
            for device in staff.prof1.client.device_store.active_user_devices(staff.bot_id)
        ),
        what="the teacher's client knows the new device",
    )
    reply = await staff.command(staff.prof1, "!aide")
    assert reply.decrypted
    assert staff.bot.log_text().count("Logged in with the password") == 2  # start + once
    assert sum(m.body == NEW_SESSION_NOTICE for m in staff.rupn.messages) == 1


async def test_an_operator_token_of_the_bot_works_and_another_account_s_is_refused(
    expiring: ThrowawaySynapse, tmp_path: Path
) -> None:
    staff = await make_staff_room(expiring, tmp_path)
    try:
        login = await expiring.login(staff.bot_id, staff.bot_account.password)
        write_bot_config(
            staff.bot.config_path, homeserver=expiring.base_url, bot=staff.bot_account,
            admins=[staff.rupn.user_id], data_dir=tmp_path / "botdata", with_password=False,
        )  # fmt: skip
        staff.bot.env = {"RUPN_BOT_ACCESS_TOKEN": str(login["access_token"])}
        await staff.bot.start()
        await staff.wait_bot_joined()
        reply = await staff.command(staff.prof1, "!aide")
        assert reply.decrypted
        assert _device(staff) == login["device_id"]
        assert (
            tmp_path / "botdata" / "crypto" / f"{staff.bot_id}_{login['device_id']}.db"
        ).exists()
        await staff.bot.stop()

        other = BotProcess(staff.bot.config_path, tmp_path / "other.log")
        other.env = {"RUPN_BOT_ACCESS_TOKEN": str(staff.rupn.client.access_token)}
        with pytest.raises(RuntimeError, match="did not become ready"):
            await other.start(ready_timeout=20)
        assert await other.exited() == EXIT_LOGIN_REQUIRED
        assert (
            f"Le jeton de la variable RUPN_BOT_ACCESS_TOKEN appartient au compte "
            f"{staff.rupn.user_id}, pas à {staff.bot_id} (matrix.user_id) : le bot ne "
            "l’utilise pas." in other.log_text()
        )
    finally:
        await close_staff_room(staff)


async def test_an_expired_account_stops_the_bot_with_the_documented_code(
    staff: StaffRoom,
) -> None:
    await staff.synapse.expire_account(staff.bot_id)
    await staff.prof1.send_text(staff.room_id, "!aide")  # ends the bot's long poll
    assert await staff.bot.exited() == EXIT_LOGIN_REQUIRED
    assert expired_text(staff.bot_id) in staff.bot.log_text()
    assert json.loads((staff.workdir / "botdata" / "session.json").read_text())["user_id"]


async def test_connexion_on_a_password_server_stores_the_session_run_uses(
    expiring: ThrowawaySynapse, tmp_path: Path
) -> None:
    staff = await make_staff_room(expiring, tmp_path)
    try:
        write_bot_config(
            staff.bot.config_path, homeserver=expiring.base_url, bot=staff.bot_account,
            admins=[staff.rupn.user_id], data_dir=tmp_path / "botdata", with_password=False,
        )  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "connexion", "--config", str(staff.bot.config_path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            env={**os.environ, "RUPN_BOT_PASSWORD": staff.bot_account.password},
        )  # fmt: skip
        output = (await asyncio.wait_for(process.communicate(), 60))[0].decode()
        assert process.returncode == 0, output
        session = load_session(tmp_path / "botdata")
        assert session is not None and session.refresh_token  # Synapse's refresh tokens
        assert output == (
            f"Connexion réussie : la session {session.device_id} du compte {staff.bot_id} est "
            f"enregistrée dans {tmp_path / 'botdata'}. Lancez maintenant « rupn-bot run ».\n"
        )
        await staff.bot.start()  # no password: the stored session only
        await staff.wait_bot_joined()
        assert (await staff.command(staff.prof1, "!aide")).decrypted
        assert _device(staff) == session.device_id
    finally:
        await close_staff_room(staff)
