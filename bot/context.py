"""What a handler receives: a frozen, typed Context."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from bot.messenger import Messenger
from bot.storage.posts import PostsRepository

if TYPE_CHECKING:
    from bot.router import Command


class CommandCatalog(Protocol):
    """The declared commands, for `!aide`."""

    def lookup(self, name: str) -> Command | None: ...

    def visible_to(self, is_admin: bool) -> Sequence[Command]: ...


class BotInfo(Protocol):
    """Read-only facts about the running bot, for `!statut`."""

    @property
    def started_at(self) -> datetime: ...

    def joined_rooms(self) -> list[str]: ...


@dataclass(frozen=True)
class Repositories:
    posts: PostsRepository


@dataclass(frozen=True)
class Context:
    sender: str
    room_id: str
    event_id: str
    now: datetime
    tz: ZoneInfo
    is_admin: bool
    messenger: Messenger
    repos: Repositories
    commands: CommandCatalog
    info: BotInfo

    def reply(self, text: str, *, markdown: bool = False) -> str:
        """Answer the triggering message in its room, as a reply that mentions the sender."""
        return self.messenger.send(
            self.room_id,
            text,
            markdown=markdown,
            reply_to=self.event_id,
            mentions=(self.sender,),
            kind="reply",
        )
