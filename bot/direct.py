"""Direct rooms between the bot and one person, opened once and remembered.

Opening a room is a network call, so jobs ask for the rooms they need
before their unit of work (`ensure`), then read them inside it (`known`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from bot.errors import HomeserverUnreachable, MatrixError
from bot.storage.database import Database
from bot.storage.direct_rooms import DirectRoomsRepository

log = logging.getLogger(__name__)

ROOM_NAME = "rupn-bot"

CreateRoom = Callable[[str, str], Awaitable[str]]
"""(user id, room name) → room id of a new encrypted direct room."""


class DirectRooms:
    def __init__(self, db: Database, create: CreateRoom) -> None:
        self._db = db
        self._rooms = DirectRoomsRepository(db)
        self._create = create

    async def known(self, users: Iterable[str]) -> dict[str, str]:
        """The rooms already opened; call inside a transaction."""
        return await self._rooms.known(users)

    async def ensure(self, users: Iterable[str], name: str = ROOM_NAME) -> dict[str, str]:
        """Open the missing rooms (network); people it fails for are left out and logged."""
        wanted = list(dict.fromkeys(users))
        async with self._db.transaction():
            rooms = await self.known(wanted)
        for user in wanted:
            if user in rooms:
                continue
            try:
                room_id = await self._create(user, name)
            except (MatrixError, HomeserverUnreachable) as exc:
                log.error("Cannot open a direct room with %s (%s)", user, exc)
                continue
            async with self._db.transaction():
                await self._rooms.record(user, room_id)
            rooms[user] = room_id
        return rooms
