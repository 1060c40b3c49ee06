"""A real Synapse on 127.0.0.1 for the whole session, and a staff room per test."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nio
import pytest
from nio.crypto.attachments import decrypt_attachment

from devtools.bot_forks import BotForkServer
from devtools.botprocess import BotProcess, write_bot_config
from devtools.imap import ThrowawayDovecot
from devtools.participant import Participant, SeenMessage
from devtools.synapse import Account, ThrowawaySynapse

_counter = itertools.count(1)


@pytest.fixture(scope="session")
async def synapse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ThrowawaySynapse]:
    server = ThrowawaySynapse(tmp_path_factory.mktemp("synapse"))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session", autouse=True)
async def bot_forks() -> AsyncIterator[None]:
    """Every bot of the session is forked from one process that imported it once."""
    server = BotForkServer()
    await server.start()
    BotProcess.fork_server = server
    yield
    BotProcess.fork_server = None
    await server.stop()


@dataclass
class StaffRoom:
    """A bot account, the RUPN and two teachers, in an encrypted staff room."""

    synapse: ThrowawaySynapse
    bot_account: Account
    rupn: Participant
    prof1: Participant
    prof2: Participant
    room_id: str
    bot: BotProcess
    workdir: Path

    @property
    def bot_id(self) -> str:
        return self.bot_account.user_id

    async def command(self, who: Participant, text: str, timeout: float = 30) -> SeenMessage:
        """`who` sends `text`; returns the bot's reply to it."""
        return await who.send_and_wait_reply(self.room_id, text, self.bot_id, timeout)

    async def wait_reply(self, who: Participant, event_id: str, timeout: float = 30) -> SeenMessage:
        """The bot's reply to `event_id`, as `who` sees it."""
        return await who.wait_for(
            lambda m: m.sender == self.bot_id and m.in_reply_to == event_id, timeout
        )

    async def wait_bot_joined(self) -> None:
        """Until every client sees the bot in the room: only then do they encrypt for it."""
        clients = (self.rupn, self.prof1, self.prof2)
        await asyncio.gather(*(c.wait_joined(self.room_id, [self.bot_id]) for c in clients))

    async def restart(self) -> None:
        """Stop the bot (SIGTERM) and start it again; its jobs all run once at start-up."""
        await self.bot.stop()
        await self.bot.start()

    def replies_to(self, who: Participant, event_id: str) -> list[SeenMessage]:
        return [m for m in who.messages if m.sender == self.bot_id and m.in_reply_to == event_id]


async def download(who: Participant, upload: SeenMessage) -> bytes:
    """Fetch and decrypt an encrypted m.file the way a client does."""
    file = upload.content["file"]
    response = await who.client.download(mxc=file["url"])
    assert isinstance(response, nio.MemoryDownloadResponse), response
    plain: bytes = decrypt_attachment(
        response.body, file["key"]["k"], file["hashes"]["sha256"], file["iv"]
    )
    return plain


async def make_staff_room(
    synapse: ThrowawaySynapse,
    workdir: Path,
    *,
    matrix_extra: dict[str, Any] | None = None,
    sections: dict[str, dict[str, Any]] | None = None,
    start_bot: bool = False,
) -> StaffRoom:
    """The accounts, clients and room; with `start_bot`, the bot too, started meanwhile.
    `sections` adds whole sections to the bot's configuration (see `write_bot_config`).

    Independent steps run concurrently (registrations, logins, the bot's start-up):
    they are network round trips and process start-ups, not CPU work.
    """
    n = next(_counter)
    bot_account, rupn_account, prof1_account, prof2_account = await asyncio.gather(
        synapse.register(f"rupnbot{n}", "bot-secret-pw"),
        synapse.register(f"rupn{n}", "rupn-pw"),
        synapse.register(f"prof{n}a", "prof-pw"),
        synapse.register(f"prof{n}b", "prof-pw"),
    )
    config = write_bot_config(
        workdir / "bot.toml",
        homeserver=synapse.base_url,
        bot=bot_account,
        admins=[rupn_account.user_id],
        data_dir=workdir / "botdata",
        matrix_extra=matrix_extra,
        sections=sections,
    )
    bot = BotProcess(config, workdir / "bot.log")
    rupn, prof1, prof2 = participants = [
        Participant(synapse.base_url, account, workdir / "clients")
        for account in (rupn_account, prof1_account, prof2_account)
    ]

    async def room_with_members() -> str:
        async with asyncio.TaskGroup() as group:  # one failing cancels the others
            for participant in participants:
                group.create_task(participant.start())
        room_id = await rupn.create_encrypted_room(
            "Salle des professeurs", invite=[prof1.user_id, prof2.user_id, bot_account.user_id]
        )
        await rupn.wait_joined(room_id, [rupn.user_id, prof1.user_id, prof2.user_id])
        return room_id

    try:
        if start_bot:
            async with asyncio.TaskGroup() as group:
                members = group.create_task(room_with_members())
                group.create_task(bot.start())
            room_id = members.result()
        else:
            room_id = await room_with_members()
        room = StaffRoom(synapse, bot_account, rupn, prof1, prof2, room_id, bot, workdir)
        if start_bot:
            await room.wait_bot_joined()
    except BaseException:
        await bot.kill()
        await asyncio.gather(*(participant.stop() for participant in participants))
        raise
    return room


async def close_staff_room(room: StaffRoom) -> None:
    await room.bot.stop()
    await asyncio.gather(*(p.stop() for p in (room.rupn, room.prof1, room.prof2)))


@pytest.fixture
async def staff(synapse: ThrowawaySynapse, tmp_path: Path) -> AsyncIterator[StaffRoom]:
    """The staff room with the bot started and joined."""
    room = await make_staff_room(synapse, tmp_path, start_bot=True)
    yield room
    await close_staff_room(room)


@pytest.fixture
async def dovecot(tmp_path: Path) -> AsyncIterator[ThrowawayDovecot]:
    """A real IMAP server (Debian's Dovecot) on loopback, holding the bot's mailbox.

    One per test: it starts in well under a second, and each test gets an empty mailbox."""
    server = ThrowawayDovecot(tmp_path / "dovecot")
    try:
        await server.start()
        yield server
    finally:
        await server.close()
