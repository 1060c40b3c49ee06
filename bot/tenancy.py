"""Which établissement a room, a command or an invite belongs to.

The rule (issue 18, item 3):
- a room belongs to the school of the admin (RUPN) who invited the bot there or typed
  `!diffusion ajouter` in it; a room owned by a school is never claimed by another;
- a command in a room owned by no school (a direct room, a room joined before the
  school's configuration) acts for the sender's school: the school they are admin of,
  else the school whose rooms they share with the bot. Several candidates are refused
  (the sender is asked to type the command in a room of the school concerned);
- other events (reactions, votes, read receipts) in a room owned by no school change
  nothing (looking for the sender's rooms at every read receipt would cost too much);
- a bot that serves one school (today's configuration) puts everything in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.context import BotInfo, Scope
from bot.errors import PermissionDenied
from bot.schools import School
from bot.storage.rooms import RoomsRepository

ROOM_OF_ANOTHER_SCHOOL_TEXT = (
    "Ce salon appartient déjà à un autre établissement servi par rupn-bot : un salon ne peut "
    "servir qu’un seul établissement. Créez un salon propre à votre établissement."
)
NO_SCHOOL_TEXT = (
    "Ce salon n’appartient à aucun établissement servi par rupn-bot. Le bot sert les salons "
    "où l’a invité le ou la RUPN d’un établissement : demandez-lui de l’inviter ici, ou tapez "
    "cette commande dans un salon de votre établissement."
)
ANOTHER_SCHOOLS_ROOM_TEXT = (
    "Le salon {room} appartient à un autre établissement servi par rupn-bot : vous ne pouvez "
    "agir que dans les salons de votre établissement."
)
FORMER_SCHOOL_TEXT = (
    "Ce salon appartient à un établissement que rupn-bot ne sert plus : le bot n’y fait plus rien."
)


def several_schools_text(schools: Sequence[School]) -> str:
    names = ", ".join(school_label(s) for s in schools)
    return (
        f"Vous êtes rattaché(e) à plusieurs établissements servis par rupn-bot ({names}) : "
        "tapez cette commande dans un salon de l’établissement concerné."
    )


def school_label(school: School) -> str:
    """« Collège Jean Moulin (0860001J) », or the UAI alone when the config gives no name."""
    if school.implicit:
        return school.name or "l’établissement"
    return f"{school.name} ({school.key})" if school.name else school.key


@dataclass(frozen=True)
class Refusal:
    """No school, or several: the French text the sender gets."""

    text: str


class Tenancy:
    """The served schools and the rooms they own."""

    def __init__(self, schools: Sequence[School], rooms: RoomsRepository) -> None:
        self._rooms = rooms
        # Rooms are never given back: once read, an owner is kept (no query per event).
        self._owners: dict[str, str] = {}
        self.update(schools)

    def update(self, schools: Sequence[School]) -> None:
        """Serve these schools from now on (the directory was reloaded); rooms keep their
        owners, a room of a school no longer served is refused."""
        if not schools:
            raise ValueError("a bot serves at least one établissement")
        self.schools = tuple(schools)
        self._by_key = {s.key: s for s in self.schools}
        self._by_admin: dict[str, tuple[School, ...]] = {}
        for school in self.schools:
            for admin in school.admins:
                self._by_admin[admin] = (*self._by_admin.get(admin, ()), school)

    @property
    def single(self) -> School | None:
        """The one school of a single-school bot (every room is its own)."""
        return self.schools[0] if len(self.schools) == 1 else None

    def by_key(self, key: str) -> School | None:
        return self._by_key.get(key)

    def admin_of(self, user_id: str) -> tuple[School, ...]:
        """The schools `user_id` is RUPN of, in configuration order."""
        return self._by_admin.get(user_id, ())

    def is_admin_anywhere(self, user_id: str) -> bool:
        return bool(self.admin_of(user_id))

    async def resolve(
        self, room_id: str, sender: str, info: BotInfo, *, by_sender: bool = True
    ) -> School | Refusal:
        """The school a command (or, `by_sender` False, an event) in `room_id` from
        `sender` acts for."""
        if self.single is not None:
            return self.single
        owner = self._owners.get(room_id)
        if owner is None:
            owner = await self._rooms.school_of(room_id)
        if owner is not None:
            self._owners[room_id] = owner
            school = self._by_key.get(owner)
            return school if school is not None else Refusal(FORMER_SCHOOL_TEXT)
        if not by_sender:
            return Refusal(NO_SCHOOL_TEXT)
        candidates = self.admin_of(sender) or await self._schools_sharing_rooms_with(sender, info)
        if len(candidates) == 1:
            return candidates[0]
        return Refusal(several_schools_text(candidates) if candidates else NO_SCHOOL_TEXT)

    async def _schools_sharing_rooms_with(self, user_id: str, info: BotInfo) -> tuple[School, ...]:
        owned = await self._rooms.owned()
        keys = {key for room, key in owned.items() if user_id in info.member_ids(room)}
        return tuple(s for s in self.schools if s.key in keys)

    async def claim(self, room_id: str, admin: str, now: datetime) -> str | None:
        """The room goes to the school `admin` is RUPN of; a French refusal if another
        school owns it. Admins of several schools (or of none) claim nothing here."""
        schools = self.admin_of(admin)
        if self.single is not None or len(schools) != 1:
            return None
        return await self.claim_for(room_id, schools[0], now)

    async def claim_for(self, room_id: str, school: School, now: datetime) -> str | None:
        owner = await self._rooms.claim(room_id, school.key, now)
        return None if owner == school.key else ROOM_OF_ANOTHER_SCHOOL_TEXT


async def check_rooms_of_school(scope: Scope, rooms: Iterable[tuple[str, str]]) -> None:
    """Refuse (in French) any of these (room id, name as typed) that another school owns.

    A room owned by no school (a single-school bot's, or one joined before its school
    was configured) is anybody's who may act there."""
    for room_id, reference in rooms:
        owner = await scope.repos.rooms.school_of(room_id)
        if owner is not None and owner != scope.school.key:
            raise PermissionDenied(ANOTHER_SCHOOLS_ROOM_TEXT.format(room=reference))
