"""The bot's cross-signing identity against a real Synapse: created once, reused, never reset.

What Element and Tchap do with it (trust, shields) is checked with the
Element-grade client in test_element_trust.py; here the server's own view of
the keys is checked, with matrix-org's signedjson.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cross_signing import KEYS_FILE, CrossSigningKeys, device_is_signed, load_keys
from bot.keys_api import KeysApi
from bot.session import load_session
from devtools.synapse import ThrowawaySynapse
from tests.e2e.conftest import StaffRoom, make_staff_room

pytestmark = pytest.mark.e2e


async def _server_view(staff: StaffRoom) -> tuple[str | None, dict[str, Any]]:
    """The bot account's master key and /keys/query answer, as a teacher's client asks."""
    token = staff.rupn.client.access_token
    query = await KeysApi(staff.synapse.base_url, token).query(staff.bot_id)
    keys = (query.get("master_keys") or {}).get(staff.bot_id, {}).get("keys", {})
    master = next(iter(keys.values()), None)
    return master, query


def _self_signing(query: dict[str, Any], staff: StaffRoom) -> Any:
    return (query.get("self_signing_keys") or {}).get(staff.bot_id)


def _identity(view: tuple[str | None, dict[str, Any]], staff: StaffRoom) -> tuple[Any, ...]:
    """The bot's cross-signing keys and device keys, as /keys/query shows them."""
    master, query = view
    devices = (query.get("device_keys") or {}).get(staff.bot_id)
    return master, _self_signing(query, staff), devices


def _device_id(staff: StaffRoom) -> str:
    session = load_session(staff.workdir / "botdata")
    assert session is not None
    return session.device_id


async def test_device_signed_identity_reused_and_kept_after_store_loss(staff: StaffRoom) -> None:
    data_dir = staff.workdir / "botdata"
    master, query = await _server_view(staff)
    first_device = _device_id(staff)
    local = load_keys(data_dir, staff.bot_id)
    assert local is not None and master == local.public("master")
    assert device_is_signed(query, staff.bot_id, first_device)
    assert (data_dir / KEYS_FILE).stat().st_mode & 0o077 == 0

    status = await staff.command(staff.rupn, "!statut")
    assert "Chiffrement : session du bot signée par son compte (signature croisée)" in status.body

    # A restart reuses the session and the identity: what a teacher's client sees of the
    # bot's keys (master, self-signing, the device and its signatures) is unchanged.
    await staff.restart()
    assert _device_id(staff) == first_device
    assert _identity(await _server_view(staff), staff) == _identity((master, query), staff)

    # The encryption store is lost: a new device, signed with the kept keys (no reset).
    await staff.bot.stop()
    shutil.rmtree(data_dir / "crypto")
    await staff.bot.start()
    second_device = _device_id(staff)
    assert second_device != first_device
    master_after, query_after = await _server_view(staff)
    assert master_after == master
    assert device_is_signed(query_after, staff.bot_id, second_device)
    # Signed with the kept keys: the identity itself was not created again.
    assert _self_signing(query_after, staff) == _self_signing(query, staff)
    await staff.rupn.wait_joined(staff.room_id, [staff.bot_id])
    status = await staff.command(staff.rupn, "!statut")
    assert "signée par son compte" in status.body


async def test_a_foreign_identity_is_kept_until_an_explicit_reset(
    synapse: ThrowawaySynapse, tmp_path: Path
) -> None:
    staff = await make_staff_room(synapse, tmp_path)
    # Another app (say, Element on a phone) already created the account's identity.
    login = await synapse.login(staff.bot_id, staff.bot_account.password)
    foreign_master = CrossSigningKeys.generate()
    await KeysApi(synapse.base_url, str(login["access_token"])).upload_signing_keys(
        staff.bot_id,
        {
            f"{role}_key": foreign_master.key_object(staff.bot_id, role)
            for role in ("master", "self_signing", "user_signing")
        },
        staff.bot_account.password,
    )

    await staff.bot.start()
    try:
        await staff.wait_bot_joined()
        master, query = await _server_view(staff)
        assert master == foreign_master.public("master")  # not replaced
        assert not device_is_signed(query, staff.bot_id, _device_id(staff))
        assert "ne la remplace pas sans vous" in staff.bot.log_text()
        status = await staff.command(staff.rupn, "!statut")
        assert "session du bot NON signée" in status.body  # running, and saying so
    finally:
        await staff.bot.stop()

    # The explicit reset, with the password from the environment.
    env = {**os.environ, "RUPN_BOT_PASSWORD": staff.bot_account.password}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "identite", "reinitialiser",
        "--config", str(staff.bot.config_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
        stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    text = output.decode()
    assert process.returncode == 0, text
    assert "Nouvelle identité de chiffrement publiée" in text
    master, query = await _server_view(staff)
    assert master != foreign_master.public("master")
    assert device_is_signed(query, staff.bot_id, _device_id(staff))

    await staff.bot.start()
    try:
        status = await staff.command(staff.rupn, "!statut")
        assert "signée par son compte" in status.body
    finally:
        await staff.bot.stop()
        for participant in (staff.rupn, staff.prof1, staff.prof2):
            await participant.stop()
