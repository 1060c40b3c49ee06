"""What a handler receives: a frozen, typed Context."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from bot.config import AssistanceSettings, Config, Desk, DigestSettings, desk_of
from bot.messenger import Messenger
from bot.pseudonyms import Pseudonyms
from bot.schools import IMPLICIT_KEY, School, SchoolsReload, academie_admins
from bot.storage.announcements import AnnouncementsRepository
from bot.storage.assistance import AssistanceRepository
from bot.storage.bilan import BilanRepository
from bot.storage.broadcast import BroadcastRoomsRepository
from bot.storage.curation_rooms import CurationRoomsRepository
from bot.storage.database import Database
from bot.storage.digests import DigestsRepository
from bot.storage.direct_rooms import DirectRoomsRepository
from bot.storage.engagement import EngagementRepository
from bot.storage.feeds import FeedsRepository
from bot.storage.polls import PollsRepository
from bot.storage.posts import PostsRepository
from bot.storage.privacy import PrivacyRepository
from bot.storage.rooms import RoomsRepository
from bot.storage.school_states import SchoolStatesRepository
from bot.storage.state import StateRepository
from bot.storage.undecrypted import UndecryptedRepository
from bot.storage.workshops import WorkshopsRepository

if TYPE_CHECKING:
    from bot.router import Command


class CommandCatalog(Protocol):
    """The declared commands, for `!aide`."""

    def lookup(self, name: str) -> Command | None: ...

    def visible_to(self, is_admin: bool) -> Sequence[Command]: ...


class BotInfo(Protocol):
    """Read-only facts about the running bot and the rooms it is in (no network)."""

    @property
    def started_at(self) -> datetime: ...

    def joined_rooms(self) -> list[str]: ...

    def room_name(self, room_id: str) -> str: ...

    def find_room(self, reference: str) -> str | None:
        """The joined room with this id or alias (canonical or alternative)."""
        ...

    def member_ids(self, room_id: str) -> list[str]:
        """Joined members of the room (not those only invited), the bot included."""
        ...

    def identity_summary(self) -> str:
        """One French line on the bot's cross-signing state, for `!statut`."""
        ...


class SchoolsDirectory(Protocol):
    """The établissements a shared bot serves, for the académie's admins' commands."""

    @property
    def admins(self) -> frozenset[str]:
        """The académie's admins (``[academie] admins``)."""
        ...

    @property
    def schools(self) -> tuple[School, ...]: ...

    async def reload(self) -> SchoolsReload:
        """Re-read the CSV directory; on success the running bot serves the new list."""
        ...


def room_ids(references: Sequence[str], aliases: Mapping[str, str]) -> tuple[str, ...]:
    """Room ids for these ids and aliases, once each; an alias missing from `aliases`
    (it could not be resolved, which was logged) is left out."""
    ids = (r if r.startswith("!") else aliases.get(r) for r in references)
    return tuple(dict.fromkeys(room for room in ids if room is not None))


@dataclass(frozen=True)
class Settings:
    """What features need from the configuration, resolved at start-up."""

    admins: frozenset[str]
    tz: ZoneInfo
    broadcast_rooms: tuple[str, ...] = ()  # from the config file, as room ids
    curation_rooms: tuple[str, ...] = ()  # the implicit school's RUPN rooms (bot/rupn_rooms.py)
    feed_poll_minutes: float = 30.0
    poll_check_seconds: float = 5.0  # the `sondages` job's tick: deadlines and reminders
    workshop_reminders: str = "salon"  # or "prive": a direct message to each participant
    workshop_signup_notices: str = "discret"  # or "salon": a public line for each 👍 and withdrawal
    bot_user_id: str = ""  # the bot's own Matrix id (its poll responses never count)
    needs_poll_themes: tuple[str, ...] = ()  # `!sondage besoins`; empty: the built-in list
    digest: DigestSettings = field(default_factory=lambda: DigestSettings(enabled=False))
    digest_rooms: tuple[str, ...] = ()  # [digest] rooms as room ids; empty: the diffusion rooms
    mail_enabled: bool = False  # an [email] section is configured: the letter is mailed too
    retention_months: int = 13  # [privacy]: personal rows older than this are anonymised
    year_start: tuple[int, int] = (9, 1)  # [bilan]: (month, day) a school year begins
    tenant: School | None = None  # the établissement; None: the implicit one of `admins`
    academie_admins: frozenset[str] = frozenset()  # [academie] admins: the académie's bilan
    academie_name: str = ""  # [academie] nom, the title of the académie's bilan
    assistance: Desk | None = None  # [assistance]: where `!panne` tickets go; None: not set up
    assistance_section: AssistanceSettings | None = None  # the bot-wide one, for `for_school`
    # The aliases of the schools' own `digest.rooms`, resolved at start-up: (alias, room id).
    room_aliases: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        broadcast_rooms: tuple[str, ...],
        digest_rooms: tuple[str, ...],
        curation_rooms: tuple[str, ...] = (),
        room_aliases: tuple[tuple[str, str], ...] = (),
    ) -> Settings:
        """The one place the configuration becomes Settings: the running bot (rooms
        resolved on the homeserver) and the offline commands (room ids only) alike."""
        return cls(
            admins=frozenset(config.bot.admins),
            tz=config.bot.tz,
            broadcast_rooms=broadcast_rooms,
            curation_rooms=curation_rooms,
            feed_poll_minutes=config.bot.feed_poll_minutes,
            poll_check_seconds=config.bot.poll_check_seconds,
            bot_user_id=config.matrix.user_id,
            needs_poll_themes=config.bot.needs_poll_themes,
            workshop_reminders=config.bot.workshop_reminders,
            workshop_signup_notices=config.bot.workshop_signup_notices,
            digest=config.digest,
            digest_rooms=digest_rooms,
            mail_enabled=config.email is not None,
            retention_months=config.privacy.retention_months,
            year_start=config.bilan.start_month_day,
            academie_admins=academie_admins(config),
            academie_name=config.academie.nom if config.academie is not None else "",
            assistance=desk_of(config.assistance),
            assistance_section=config.assistance,
            room_aliases=room_aliases,
        )

    @property
    def school_zone(self) -> str | None:
        """The school-holiday zone (A, B or C) of the school, else of `[digest] zone`."""
        if self.tenant is not None and not self.tenant.implicit:
            return self.tenant.zone
        return self.digest.zone

    @property
    def school(self) -> School:
        """The établissement these settings are for."""
        if self.tenant is not None:
            return self.tenant
        return School(IMPLICIT_KEY, "", self.admins, self.digest.zone)

    def for_school(self, school: School) -> Settings:
        """The settings of one établissement: its admins and zone, its own `digest` (day,
        time, rooms as room ids, zone) and `[email]` when its entry has them. The rooms of
        the config file (diffusion, letter, curation) and its `[email]` recipients are the
        implicit school's; a named school's rooms are those its RUPN add in chat (where it
        is told things: bot/rupn_rooms.py), and its letter is mailed only to its own
        `[email]` (the recipients of one school must never get another's)."""
        desk = (
            desk_of(
                self.assistance_section, school.assistance, school_name=school.name, uai=school.key
            )
            if self.assistance_section is not None
            else self.assistance  # given directly (tests, benches): already this school's
        )
        if school.implicit:
            return replace(self, tenant=school, admins=school.admins, assistance=desk)
        own = school.digest
        return replace(
            self,
            tenant=school,
            admins=school.admins,
            broadcast_rooms=(),
            digest=own if own is not None else self.digest,
            digest_rooms=room_ids(own.rooms, dict(self.room_aliases)) if own else (),
            curation_rooms=(),
            mail_enabled=school.email is not None,
            assistance=desk,
        )


@dataclass(frozen=True)
class Repositories:
    posts: PostsRepository
    broadcast: BroadcastRoomsRepository
    announcements: AnnouncementsRepository
    feeds: FeedsRepository
    polls: PollsRepository
    workshops: WorkshopsRepository
    state: StateRepository
    undecrypted: UndecryptedRepository
    digests: DigestsRepository
    engagement: EngagementRepository
    bilan: BilanRepository
    privacy: PrivacyRepository
    direct_rooms: DirectRoomsRepository
    rooms: RoomsRepository
    assistance: AssistanceRepository
    curation_rooms: CurationRoomsRepository
    school_states: SchoolStatesRepository  # every school's (the académie's admins read it)
    school: str = IMPLICIT_KEY  # the key of the établissement the tenant repositories serve
    _db: Database | None = field(default=None, repr=False, compare=False)

    def for_school(self, key: str) -> Repositories:
        """The repositories of another établissement over the same database; the outbox
        (`posts`) stays this one, the bot's."""
        if key == self.school:
            return self
        if self._db is None:
            raise RuntimeError("repositories built without Repositories.open")
        return replace(Repositories.open(self._db, key), posts=self.posts)

    @classmethod
    def open(cls, db: Database, school: str = IMPLICIT_KEY) -> Repositories:
        """The repositories of one établissement: their queries stay within it."""
        return cls(
            posts=PostsRepository(db),
            broadcast=BroadcastRoomsRepository(db, school),
            announcements=AnnouncementsRepository(db, school),
            feeds=FeedsRepository(db, school),
            polls=PollsRepository(db, school),
            workshops=WorkshopsRepository(db, school),
            state=StateRepository(db),
            undecrypted=UndecryptedRepository(db),
            digests=DigestsRepository(db, school),
            engagement=EngagementRepository(db),
            bilan=BilanRepository(db, school),
            privacy=PrivacyRepository(db, school),
            direct_rooms=DirectRoomsRepository(db),
            rooms=RoomsRepository(db),
            assistance=AssistanceRepository(db, school),
            curation_rooms=CurationRoomsRepository(db, school),
            school_states=SchoolStatesRepository(db),
            school=school,
            _db=db,
        )


class Scope(Protocol):
    """What commands and jobs share, so that feature code takes one argument.

    Both `Context` (a command or an event) and `JobContext` (a periodic job, a
    hook on a delivered post) satisfy it.
    """

    @property
    def now(self) -> datetime: ...

    @property
    def tz(self) -> ZoneInfo: ...

    @property
    def messenger(self) -> Messenger: ...

    @property
    def repos(self) -> Repositories: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def school(self) -> School:
        """The établissement this command or job acts for (never another's rows)."""
        ...

    @property
    def info(self) -> BotInfo: ...

    @property
    def pseudonyms(self) -> Pseudonyms:
        """Readers' keys (a service over a file in data_dir, not a setting)."""
        ...


def _in_memory() -> Pseudonyms:
    return Pseudonyms(None)


@dataclass(frozen=True)
class JobContext:
    """What a scheduled job receives: like Context, without a triggering message."""

    now: datetime
    messenger: Messenger
    repos: Repositories
    settings: Settings
    info: BotInfo
    pseudonyms: Pseudonyms = field(default_factory=_in_memory)

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    @property
    def school(self) -> School:
        return self.settings.school


@dataclass(frozen=True)
class Context:
    sender: str
    room_id: str
    event_id: str
    now: datetime
    is_admin: bool
    messenger: Messenger
    repos: Repositories
    commands: CommandCatalog
    info: BotInfo
    settings: Settings
    thread_root: str | None = None  # the thread the command was typed in: answers stay in it
    pseudonyms: Pseudonyms = field(default_factory=_in_memory)
    schools: tuple[School, ...] = ()  # every school served, for the académie's commands
    directory: SchoolsDirectory | None = None  # an académie's command only: its directory

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    @property
    def school(self) -> School:
        return self.settings.school

    @property
    def is_academie_admin(self) -> bool:
        return self.sender in self.settings.academie_admins

    def reply(self, text: str, *, markdown: bool = False) -> str:
        """Answer the triggering message in its room, as a reply that mentions the sender."""
        return self.messenger.send(
            self.room_id,
            text,
            markdown=markdown,
            reply_to=self.event_id,
            thread_root=self.thread_root,
            mentions=(self.sender,),
            kind="reply",
        )
