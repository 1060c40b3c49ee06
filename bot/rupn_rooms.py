"""Where the bot tells a school's RUPN something: the one rule every feature follows.

The news' proposals, the letter's and the breakdown desk's mail reports, decryption alerts,
the workshops' minimum check all go to the same rooms, in this order:
1. the room the school's RUPN chose with `!veille ici` (stored per school);
2. for the implicit school (a single-school bot), ``[bot] curation_room`` or its admins'
   direct rooms, resolved at start-up (`Settings.curation_rooms`; a named school has none:
   the config file's rooms are the implicit school's);
3. a direct room with each of the school's RUPN (or the people named), opened on first need.
   A direct room of a RUPN who serves this school only becomes the school's, so that ✅,
   ❌ and commands typed there act for it.

Opening a room is network work: `rupn_rooms` (jobs, sender hooks) opens the missing ones
before any unit of work; `known_rupn_rooms` (inside a transaction: a command, an event)
uses only those already open.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.context import Scope
from bot.direct import ROOM_NAME
from bot.work import Units


async def known_rupn_rooms(scope: Scope, people: Iterable[str] | None = None) -> tuple[str, ...]:
    """The school's RUPN rooms without opening any: call it inside a unit of work."""
    configured = await _configured(scope)
    if configured:
        return configured
    wanted = _people(scope, people)
    known = await scope.repos.direct_rooms.known(wanted)
    return tuple(dict.fromkeys(known[p] for p in wanted if p in known))


async def rupn_rooms(
    units: Units, people: Iterable[str] | None = None, *, name: str = ROOM_NAME
) -> tuple[str, ...]:
    """The school's RUPN rooms; opens the missing direct rooms (network), so call it before
    a unit of work, never inside one. `people`: whom to open them with (the school's RUPN
    unless told); `name`: the name of a room opened now."""
    async with units.unit() as scope:
        configured = await _configured(scope)
        wanted = _people(scope, people)
        if configured or units.direct_rooms is None:
            return configured or await known_rupn_rooms(scope, wanted)
    opened = await units.direct_rooms.ensure(wanted, name)
    rooms = tuple(dict.fromkeys(opened[p] for p in wanted if p in opened))
    own = [opened[p] for p in wanted if p in opened and _rupn_of_this_school_only(units, p)]
    if own:
        async with units.unit() as scope:
            for room in own:
                await scope.repos.rooms.claim(room, scope.school.key, scope.now)
    return rooms


async def _configured(scope: Scope) -> tuple[str, ...]:
    chosen = await scope.repos.curation_rooms.get()
    return (chosen,) if chosen is not None else scope.settings.curation_rooms


def _people(scope: Scope, people: Iterable[str] | None) -> list[str]:
    return sorted(dict.fromkeys(people if people is not None else scope.settings.admins))


def _rupn_of_this_school_only(units: Units, person: str) -> bool:
    if person not in units.settings.school.admins:
        return False  # the académie's admins, told for want of a school
    return sum(person in school.admins for school in units.schools) == 1
