"""A direct room the bot opens gets its first message only once the bot's sync shows the
person invited: Synapse invites them after the room's first events, and a message sent in
between would be encrypted for none of their devices."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import nio
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.auth.login import LoginSettings
from bot.errors import MatrixError
from bot.matrix import MatrixAdapter
from bot.session import LoginMethod, SavedSession, save_session
from tests.unit.http_fakes import base_url, serving

BOT = "@bot:rupn.test"
RUPN = "@rupn:rupn.test"
ROOM = "!direct:rupn.test"
SENT = web.AppKey("sent", list[str])


async def _create_room(request: web.Request) -> web.Response:
    return web.json_response({"room_id": ROOM})


async def _send(request: web.Request) -> web.Response:
    request.app[SENT].append(request.match_info["txn"])
    return web.json_response({"event_id": f"$event-{len(request.app[SENT])}"})


@pytest.fixture
async def homeserver() -> AsyncIterator[tuple[TestServer, list[str]]]:
    app = web.Application()
    app[SENT] = []
    app.router.add_post("/_matrix/client/v3/createRoom", _create_room)
    app.router.add_put("/_matrix/client/v3/rooms/{room}/send/{type}/{txn}", _send)
    async with serving(app) as server:
        yield server, app[SENT]


async def test_no_message_goes_to_a_new_direct_room_before_the_invitation_is_synced(
    homeserver: tuple[TestServer, list[str]], tmp_path: Path
) -> None:
    server, sent = homeserver
    base = base_url(server)
    save_session(tmp_path, SavedSession(base, BOT, "DEV", "token", None, None,
                                        LoginMethod.PASSWORD, new_device=True))  # fmt: skip
    adapter = MatrixAdapter(LoginSettings(base, BOT, "rupn-bot", tmp_path))
    await adapter.connect()
    try:
        assert await adapter.create_direct_room(RUPN, "rupn-bot") == ROOM
        # The bot's sync shows the new room with its own membership only (the invitation
        # is not in it yet). Unencrypted here: what is checked is that nothing is sent.
        room = nio.MatrixRoom(ROOM, BOT)
        room.add_member(BOT, None, None)
        adapter._client.rooms[ROOM] = room
        content = {"msgtype": "m.text", "body": "Bonjour"}
        with pytest.raises(MatrixError) as refused:
            await adapter.send_event(ROOM, "m.room.message", content, "txn-1")
        assert refused.value.errcode == "M_UNKNOWN_ROOM"  # transient: the sender retries
        assert sent == []

        room.add_member(RUPN, None, None, invited=True)  # the next sync brings the invitation
        assert await adapter.send_event(ROOM, "m.room.message", content, "txn-1") == "$event-1"
        assert await adapter.send_event(ROOM, "m.room.message", content, "txn-2") == "$event-2"
        assert sent == ["txn-1", "txn-2"]
    finally:
        await adapter.close()
