"""Where a school's news proposals and feed notices go: its curation rooms.

The room its RUPN chose with `!veille ici` (stored per school); else, for a single-school
bot, ``[bot] curation_room`` or its admins' direct rooms (resolved at start-up); else, for
an académie's school, a direct room with each of the school's RUPN, opened on first need
(and the school's, when that RUPN serves no other school, so that ✅ and ❌ work there).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.context import Scope
from bot.work import Units

DIRECT_ROOM_NAME = "rupn-bot — veille"


@dataclass(frozen=True)
class CurationRooms:
    """Where the school's news go, and which of those direct rooms become its own."""

    rooms: tuple[str, ...]
    # The direct rooms of RUPN of this school only: claimed for it by the unit that posts
    # there, so that ✅ and ❌ there decide on its proposals (a RUPN of several schools
    # decides by command, naming the number).
    to_claim: tuple[str, ...] = ()

    async def claim(self, scope: Scope) -> None:
        for room in self.to_claim:
            await scope.repos.rooms.claim(room, scope.school.key, scope.now)


async def curation_rooms(units: Units) -> CurationRooms:
    """The school's curation rooms; may open direct rooms, so call it outside a unit."""
    async with units.unit() as ctx:
        chosen = await ctx.repos.curation_rooms.get()
    if chosen is not None:
        return CurationRooms((chosen,))
    if units.settings.curation_rooms:
        return CurationRooms(units.settings.curation_rooms)
    school = units.settings.school
    if school.implicit or units.direct_rooms is None:
        return CurationRooms(())  # a single-school bot's were opened at start-up, or not
    admins = sorted(school.admins)
    opened = await units.direct_rooms.ensure(admins, DIRECT_ROOM_NAME)
    return CurationRooms(
        tuple(opened[admin] for admin in admins if admin in opened),
        tuple(opened[a] for a in admins if a in opened and _rupn_of_this_school_only(units, a)),
    )


def _rupn_of_this_school_only(units: Units, admin: str) -> bool:
    return sum(admin in school.admins for school in units.schools) == 1
