"""Where the RUPN hear about requests: the curation rooms, else a direct room each."""

from __future__ import annotations

from collections.abc import Sequence

from bot.work import Units


async def rupn_rooms(units: Units, people: Sequence[str]) -> list[str]:
    """The rooms to tell `people` (the RUPN) in; opens direct rooms (network): call it
    before a unit of work, never inside one."""
    rooms = list(units.settings.curation_rooms)
    if not rooms and units.direct_rooms is not None and people:
        opened = await units.direct_rooms.ensure(sorted(people))
        rooms = list(dict.fromkeys(opened.values()))
    return rooms
