"""The bot on a homeserver whose accounts live in MAS (Tchap since 2025), end to end.

Synapse runs in its `matrix_authentication_service` mode (no password login);
devtools/mas.py plays MAS with authlib. Access tokens live 3 s here, so that a
scene of seconds goes through more than five of them. The teachers and the RUPN
have operator tokens (compatibility tokens); the bot connects by device code,
approved by the test as the account owner would in a browser.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.auth.login import revoked_text
from bot.cross_signing import device_is_signed
from bot.errors import EXIT_LOGIN_REQUIRED
from bot.keys_api import KeysApi
from bot.session import LoginMethod, SavedSession, load_session
from devtools.botprocess import BotProcess, write_bot_config
from devtools.element import ElementClient
from devtools.mas import MiniMas
from devtools.participant import Participant
from devtools.synapse import Account, ThrowawaySynapse
from tests.e2e.conftest import StaffRoom, close_staff_room
from tests.e2e.helpers import eventually, outbox_drained
from tests.e2e.token_lifetimes import commands_across_lifetimes, token_expired

pytestmark = pytest.mark.e2e

TOKEN_LIFETIME_S = 3
_counter = itertools.count(1)


class MasHomeserver:
    def __init__(self, synapse: ThrowawaySynapse, mas: MiniMas) -> None:
        self.synapse = synapse
        self.mas = mas


@pytest.fixture(scope="module")
async def mas_homeserver(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[MasHomeserver]:
    synapse = ThrowawaySynapse(tmp_path_factory.mktemp("synapse-mas"))
    mas = MiniMas(synapse.base_url, access_token_lifetime_s=TOKEN_LIFETIME_S)
    synapse.extra_config.update(mas.synapse_config())
    await mas.start()
    await synapse.start()
    yield MasHomeserver(synapse, mas)
    await synapse.stop()
    await mas.stop()


async def _participant(server: MasHomeserver, localpart: str, workdir: Path) -> Participant:
    token, device = await server.mas.compat_token(localpart)
    account = Account(f"@{localpart}:{server.synapse.server_name}", localpart, "", admin=False)
    return Participant(server.synapse.base_url, account, workdir / "clients",
                       session=(device, token))  # fmt: skip


async def _staff(server: MasHomeserver, workdir: Path) -> StaffRoom:
    """The staff room on the MAS homeserver; the bot is configured (no password), not started."""
    n = next(_counter)
    bot_localpart = f"masbot{n}"
    await server.mas.provision(bot_localpart)
    bot_account = Account(f"@{bot_localpart}:{server.synapse.server_name}", bot_localpart, "",
                          admin=False)  # fmt: skip
    rupn, prof1, prof2 = [
        await _participant(server, f"{name}{n}", workdir)
        for name in ("masrupn", "masprofa", "masprofb")
    ]
    config = write_bot_config(
        workdir / "bot.toml", homeserver=server.synapse.base_url, bot=bot_account,
        admins=[rupn.user_id], data_dir=workdir / "botdata", with_password=False,
    )  # fmt: skip
    await asyncio.gather(rupn.start(), prof1.start(), prof2.start())
    room_id = await rupn.create_encrypted_room(
        "Salle des professeurs", invite=[prof1.user_id, prof2.user_id, bot_account.user_id]
    )
    await rupn.wait_joined(room_id, [rupn.user_id, prof1.user_id, prof2.user_id])
    bot = BotProcess(config, workdir / "bot.log")
    return StaffRoom(server.synapse, bot_account, rupn, prof1, prof2, room_id, bot, workdir)


OwnerAction = Callable[[re.Match[str]], Awaitable[None]]


async def _run_cli(
    staff: StaffRoom, *args: str, approve: tuple[str, OwnerAction] | None = None
) -> tuple[int, str]:
    """Run `rupn-bot ARGS --config …`; when `approve` = (pattern, action) matches a line, the
    test plays the account owner: `action(match)` is awaited."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, "--config", str(staff.bot.config_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[str] = []
    while line := (await asyncio.wait_for(process.stdout.readline(), 60)).decode():
        lines.append(line)
        if approve is not None and (match := re.search(approve[0], line)):
            await approve[1](match)
    return await asyncio.wait_for(process.wait(), 30), "".join(lines)


async def _connect_by_device_code(server: MasHomeserver, staff: StaffRoom) -> str:
    async def owner_approves(match: re.Match[str]) -> None:
        await server.mas.approve(match.group(1), staff.bot_account.localpart)

    code, output = await _run_cli(
        staff, "connexion", approve=(r"2\. Saisissez ce code : (\S+)", owner_approves)
    )
    assert code == 0, output
    return output


def _session(staff: StaffRoom) -> SavedSession:
    session = load_session(staff.workdir / "botdata")
    assert session is not None
    return session


@pytest.fixture
async def staff(mas_homeserver: MasHomeserver, tmp_path: Path) -> AsyncIterator[StaffRoom]:
    room = await _staff(mas_homeserver, tmp_path)
    yield room
    await close_staff_room(room)


async def test_device_code_then_more_than_five_token_lifetimes_every_command_once(
    mas_homeserver: MasHomeserver, staff: StaffRoom
) -> None:
    output = await _connect_by_device_code(mas_homeserver, staff)
    verification = mas_homeserver.mas.issuer + "link"
    assert (
        "1. Ouvrez cette adresse dans un navigateur et connectez-vous avec le compte du bot "
        f"({staff.bot_id}) : {verification}" in output
    )
    assert f"(ou ouvrez directement l’adresse complète : {verification}?user_code=" in output
    session = _session(staff)
    assert session.method is LoginMethod.OAUTH and session.refresh_token
    assert (
        f"Connexion réussie : la session {session.device_id} du compte {staff.bot_id} est "
        f"enregistrée dans {staff.workdir / 'botdata'}. Lancez maintenant « rupn-bot run »."
        in output
    )
    await staff.bot.start()
    await staff.wait_bot_joined()

    await commands_across_lifetimes(staff, 6)  # six token lifetimes at least
    assert _session(staff).device_id == session.device_id  # the same session throughout


async def test_killed_during_a_refresh_the_bot_restarts_on_a_valid_session(
    mas_homeserver: MasHomeserver, staff: StaffRoom
) -> None:
    mas = mas_homeserver.mas
    await _connect_by_device_code(mas_homeserver, staff)
    await staff.bot.start()
    await staff.wait_bot_joined()
    before = await staff.command(staff.prof1, "!aide")

    await eventually(lambda: token_expired(staff), what="the bot's token expired")
    mas.hold_refresh_answers()
    try:
        pending = await staff.prof2.send_text(staff.room_id, "!aide")  # the bot must refresh
        await asyncio.wait_for(mas.refresh_held.wait(), 30)
        await staff.bot.kill()  # the server rotated the pair; the bot never heard of it
    finally:
        mas.release_refresh_answers()

    await staff.bot.start()
    reply = await staff.wait_reply(staff.prof2, pending)
    assert reply.body.startswith("**Commandes de rupn-bot**")
    await outbox_drained(staff.workdir)
    await staff.command(staff.rupn, "!aide")
    assert len(staff.replies_to(staff.prof2, pending)) == 1
    assert len(staff.replies_to(staff.prof1, before.in_reply_to or "")) == 1


async def test_a_revoked_session_stops_the_bot_with_the_documented_code(
    mas_homeserver: MasHomeserver, staff: StaffRoom
) -> None:
    await _connect_by_device_code(mas_homeserver, staff)
    await staff.bot.start()
    await staff.wait_bot_joined()
    await staff.command(staff.prof1, "!aide")

    # The owner ends the bot's session from the account's list of sessions.
    await mas_homeserver.mas.end_session(staff.bot_account.localpart, _session(staff).device_id)
    await staff.prof1.send_text(staff.room_id, "!aide")  # ends the bot's long poll
    assert await staff.bot.exited() == EXIT_LOGIN_REQUIRED
    assert revoked_text(staff.workdir / "botdata") in staff.bot.log_text()
    assert load_session(staff.workdir / "botdata") is None


async def test_identity_reset_approved_by_the_owner_and_element_trusts_the_bot(
    mas_homeserver: MasHomeserver, staff: StaffRoom, tmp_path: Path
) -> None:
    mas = mas_homeserver.mas
    await _connect_by_device_code(mas_homeserver, staff)
    await staff.bot.start()
    await staff.wait_bot_joined()
    await staff.bot.stop()
    device = _session(staff).device_id
    keys = KeysApi(staff.synapse.base_url, staff.rupn.client.access_token)
    old_master = (await keys.query(staff.bot_id))["master_keys"][staff.bot_id]

    async def owner_approves(match: re.Match[str]) -> None:
        assert match.group(1) == mas.issuer + "account/?action=org.matrix.cross_signing_reset"
        await mas.allow_cross_signing_reset(staff.bot_account.localpart)

    code, output = await _run_cli(
        staff, "identite", "reinitialiser", approve=(r"et approuvez : (\S+)", owner_approves)
    )
    assert code == 0, output
    assert "mot de passe" not in output  # MAS lists no password stage: none is asked
    assert (
        "Le serveur demande au propriétaire du compte du bot d’approuver la réinitialisation de "
        "son identité de chiffrement." in output
    )
    assert f"Nouvelle identité de chiffrement publiée ; la session {device} du bot est signée." in (
        output
    )
    query = await keys.query(staff.bot_id)
    assert query["master_keys"][staff.bot_id] != old_master
    assert device_is_signed(query, staff.bot_id, device)

    await staff.bot.start()
    localpart = f"maselement{next(_counter)}"
    token, element_device = await mas.compat_token(localpart)
    account = Account(f"@{localpart}:{staff.synapse.server_name}", localpart, "", admin=False)
    async with ElementClient(
        staff.synapse.base_url, account, tmp_path / "element.log", session=(element_device, token)
    ) as teacher:
        await teacher.set_isolation("only_signed")
        await staff.rupn.invite(staff.room_id, teacher.user_id)
        await teacher.join(staff.room_id)
        await teacher.wait_joined(staff.room_id, [staff.bot_id, staff.rupn.user_id])
        status = await teacher.device_status(staff.bot_id, device)
        assert status is not None and status.signed_by_owner
        command = await teacher.send_text(staff.room_id, "!aide")
        reply = await teacher.wait_for(
            staff.room_id,
            # Its relation is in clear: wait until the room key (to-device) has arrived too.
            lambda m: m.sender == staff.bot_id and m.in_reply_to == command
            and not m.decryption_failure,
            timeout=30,
        )  # fmt: skip
        assert reply.decryption_failure is None and "Commandes de rupn-bot" in reply.body
