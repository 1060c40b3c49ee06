"""Where a school's news proposals and feed notices go: its RUPN rooms (bot/rupn_rooms.py),
a direct room opened for them being named after the news watch."""

from __future__ import annotations

from bot.rupn_rooms import rupn_rooms
from bot.work import Units

DIRECT_ROOM_NAME = "rupn-bot — veille"


async def curation_rooms(units: Units) -> tuple[str, ...]:
    """The school's curation rooms; may open direct rooms, so call it outside a unit."""
    return await rupn_rooms(units, name=DIRECT_ROOM_NAME)
