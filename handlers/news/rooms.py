"""Where a school's news proposals and feed notices go: its curation rooms.

The room its RUPN chose with `!veille ici` (stored per school); else, for a single-school
bot, ``[bot] curation_room`` or its admins' direct rooms (resolved at start-up); else, for
an académie's school, a direct room with each of the school's RUPN, opened on first need
(and the school's, when that RUPN serves no other school, so that ✅ and ❌ work there).
"""

from __future__ import annotations

from bot.work import Units

DIRECT_ROOM_NAME = "rupn-bot — veille"


async def curation_rooms(units: Units) -> tuple[str, ...]:
    """The school's curation rooms; may open direct rooms, so call it outside a unit."""
    async with units.unit() as ctx:
        chosen = await ctx.repos.feeds.curation_room()
    if chosen is not None:
        return (chosen,)
    if units.settings.curation_rooms:
        return units.settings.curation_rooms
    school = units.settings.school
    if school.implicit or units.direct_rooms is None:
        return ()  # a single-school bot's direct rooms were opened at start-up, or not
    admins = sorted(school.admins)
    opened = await units.direct_rooms.ensure(admins, DIRECT_ROOM_NAME)
    rooms = tuple(opened[admin] for admin in admins if admin in opened)
    # The direct room of a RUPN of this school only is the school's: ✅ and ❌ there decide
    # on its proposals (a RUPN of several schools decides by command, naming the number).
    own = [opened[a] for a in admins if a in opened and _rupn_of_this_school_only(units, a)]
    if own:
        async with units.unit() as ctx:
            for room in own:
                await ctx.repos.rooms.claim(room, school.key, ctx.now)
    return rooms


def _rupn_of_this_school_only(units: Units, admin: str) -> bool:
    return sum(admin in school.admins for school in units.schools) == 1
