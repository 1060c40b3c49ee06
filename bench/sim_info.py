"""The bot's view of its rooms in simulations that have no homeserver."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class SimInfo:
    """A `bot.context.BotInfo` for the simulated rooms."""

    rooms: list[str]
    started_at: datetime
    members: dict[str, list[str]] = field(default_factory=dict)
    """Each room's joined members (the bot's among them); none unless given."""

    def joined_rooms(self) -> list[str]:
        return list(self.rooms)

    def room_name(self, room_id: str) -> str:
        return room_id

    def find_room(self, reference: str) -> str | None:
        return reference if reference in self.rooms else None

    def member_ids(self, room_id: str) -> list[str]:
        return self.members.get(room_id, [])

    def identity_summary(self) -> str:
        return "session simulée"
