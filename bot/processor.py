"""Handles one sync batch in one database transaction.

Every handler's writes and the posts it decided are committed together with
the sync token that covers them. A crash before the commit means the batch
comes again and is handled from scratch, with nothing sent; after the
commit, nothing of it is handled again. That is what makes "no command
answered twice, no vote lost" hold across kill -9.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta

from bot.clock import Clock
from bot.context import BotInfo, Context, Repositories, SchoolsDirectory, Settings
from bot.domain import (
    IncomingMessage,
    IncomingReceipt,
    RoomEvent,
    SyncBatch,
    UndecryptableEvent,
)
from bot.errors import INTERNAL_ERROR_TEXT, InvalidArguments, UserError
from bot.limiter import SLOW_DOWN_TEXT, Arrival, CommandLimiter, Verdict
from bot.messenger import Outbox, stamped
from bot.metrics import (
    ADMIN_ONLY,
    INTERNAL_ERROR,
    LIMITED,
    NO_METRICS,
    OK,
    UNKNOWN,
    USER_ERROR,
    SchoolMetrics,
)
from bot.pseudonyms import Pseudonyms
from bot.router import (
    Command,
    CommandRegistry,
    ParseEnv,
    academie_only_text,
    admin_only_text,
    parse_call,
    unknown_command_text,
)
from bot.schools import School
from bot.storage.database import Database
from bot.storage.posts import PRIORITY_FIRST, PRIORITY_REPLIES, OutgoingPost
from bot.storage.rooms import RoomsRepository
from bot.storage.state import StateRepository
from bot.tenancy import Refusal, Tenancy

log = logging.getLogger(__name__)

UNDECRYPTED_KEPT_FOR = timedelta(days=7)

EventHandler = Callable[[Context, RoomEvent], Awaitable[None]]


class EventProcessor:
    def __init__(
        self,
        db: Database,
        repos: Repositories,
        state: StateRepository,
        registry: CommandRegistry,
        settings: Settings,
        clock: Clock,
        info: BotInfo,
        event_handlers: Mapping[type, Sequence[EventHandler]] | None = None,
        *,
        pseudonyms: Pseudonyms | None = None,
        metrics: SchoolMetrics = NO_METRICS,
        tenancy: Tenancy | None = None,
        directory: SchoolsDirectory | None = None,
    ) -> None:
        self._db = db
        self._tenancy = tenancy or Tenancy((settings.school,), RoomsRepository(db))
        self._scoped: dict[str, tuple[Settings, Repositories]] = {}
        self._pseudonyms = pseudonyms if pseudonyms is not None else Pseudonyms(None)
        self._repos = repos
        self._state = state
        self._registry = registry
        self._settings = settings
        self._clock = clock
        self._info = info
        self._event_handlers = (
            event_handlers if event_handlers is not None else registry.event_handlers
        )
        self._limiter = CommandLimiter()
        self._metrics = metrics
        self._directory = directory  # a shared deployment's, for the académie's commands
        self._handled: list[tuple[str, str, str]] = []  # (school key, command, outcome)

    async def process(
        self,
        batch: SyncBatch,
        recovered: Sequence[tuple[UndecryptableEvent, RoomEvent | None]] = (),
    ) -> int:
        """Handle the batch and save its sync token; returns how many posts were queued.

        `recovered` are events kept undecryptable that could now be decrypted:
        each is handled and forgotten in this same transaction, so exactly once.
        """
        queued: list[OutgoingPost] = []
        now = self._clock()
        self._handled.clear()
        async with self._db.transaction():
            for kept, event in recovered:
                await self._repos.undecrypted.forget(kept.event_id)
                if event is not None:
                    arrival = Arrival.kept(kept.timestamp)
                    queued.extend(await self._handle(event, arrival))
            if not batch.initial:
                arrival = Arrival.after(await self._state.batch_handled_at(), now)
                for event in batch.events:
                    queued.extend(await self._handle(event, arrival))
            await self._repos.posts.queue(queued, self._clock())
            await self._state.save_sync_token(batch.next_batch)
            await self._state.save_batch_handled_at(now)
        # Counted once committed: a batch handled again after a crash counts once.
        for key, name, outcome in self._handled:
            self._metrics.of(key).command(name, outcome)
        return len(queued)

    async def undecrypted(self) -> list[UndecryptableEvent]:
        """The events waiting for their key; those waiting for over a week are dropped."""
        async with self._db.transaction():
            dropped = await self._repos.undecrypted.forget_older_than(
                self._clock() - UNDECRYPTED_KEPT_FOR
            )
            if dropped:
                log.warning("Dropped %d events whose key never arrived", dropped)
            return await self._repos.undecrypted.pending()

    def serve(self, schools: Sequence[School]) -> None:
        """The served schools changed (a reload of the directory): their admins, names and
        zones are read again from now on."""
        self._tenancy.update(schools)
        self._scoped.clear()

    def _for_school(self, school: School) -> tuple[Settings, Repositories]:
        """The settings and repositories of one établissement (made once each)."""
        if school.key not in self._scoped:
            # The outbox is the bot's: every school's posts go through the same one.
            repos = self._repos.for_school(school.key)
            self._scoped[school.key] = (self._settings.for_school(school), repos)
        return self._scoped[school.key]

    def _context(
        self, event: RoomEvent, sender: str, outbox: Outbox, school: School | None
    ) -> Context:
        """`school` None: the event's room is no school's (or several'): the context only
        serves to answer in French, with no school's settings nor rows."""
        settings, repos = self._for_school(school) if school else (self._settings, self._repos)
        return Context(
            sender=sender,
            room_id=event.room_id,
            event_id=event.event_id,
            now=self._clock(),
            is_admin=school is not None and sender in school.admins,
            messenger=outbox,
            repos=repos,
            commands=self._registry,
            info=self._info,
            settings=settings,
            thread_root=event.thread_root if isinstance(event, IncomingMessage) else None,
            pseudonyms=self._pseudonyms,
            schools=self._tenancy.schools,
        )

    async def _school(
        self, event: RoomEvent, sender: str, *, by_sender: bool = True
    ) -> School | Refusal:
        return await self._tenancy.resolve(event.room_id, sender, self._info, by_sender=by_sender)

    async def _handle(self, event: RoomEvent, arrival: Arrival) -> list[OutgoingPost]:
        if isinstance(event, UndecryptableEvent):
            await self._repos.undecrypted.keep(event, self._clock())
            return []
        if isinstance(event, IncomingMessage) and parse_call(event.body) is not None:
            school = await self._school(event, event.sender)
            answers = await self._handle_message(event, arrival, school)
            return await self._stamp(answers, event.sender, school)
        # Plain messages (e.g. a reply "2" to a poll) and other events go to subscribers.
        handlers = self._event_handlers.get(type(event), ())
        if not handlers:
            return []
        who = event.user_id if isinstance(event, IncomingReceipt) else event.sender
        school = await self._school(event, who, by_sender=False)
        if isinstance(school, Refusal):
            return []  # a room of no school (or of several): nothing of any school changes
        posts: list[OutgoingPost] = []
        for handler in handlers:
            outbox = Outbox()
            ctx = self._context(event, who, outbox, school)
            try:
                async with self._db.savepoint():
                    await handler(ctx, event)
            except Exception:
                log.exception("Handler %s failed on %s", handler.__name__, event.event_id)
                continue
            posts.extend(await self._stamp(outbox.drain(), who, school))
        return posts

    async def _stamp(
        self, posts: list[OutgoingPost], requester: str, school: School | Refusal
    ) -> list[OutgoingPost]:
        """Who caused these posts, for which school (see `stamped`), and so their turn in
        the outbox."""
        admin = isinstance(school, School) and requester in school.admins
        priority = PRIORITY_FIRST if admin else PRIORITY_REPLIES
        return await stamped(
            posts, self._repos.rooms, self._key_of(school), requester=requester, priority=priority
        )

    async def _handle_message(
        self, message: IncomingMessage, arrival: Arrival, school: School | Refusal
    ) -> list[OutgoingPost]:
        call = parse_call(message.body)
        if call is None:
            return []
        outbox = Outbox()
        ctx = self._context(message, message.sender, outbox, school_or_none(school))
        command = self._registry.lookup(call.name)
        if not self._tenancy.is_admin_anywhere(message.sender):
            verdict = self._limiter.check(message.sender, arrival.sent_at(message.timestamp))
            if verdict is Verdict.IGNORE:
                log.info("Ignored !%s from %s (too many commands)", call.name, message.sender)
                self._count(school, command, LIMITED)
                return []
            if verdict is Verdict.SLOW_DOWN:
                log.warning("Too many commands from %s: pausing them", message.sender)
                ctx.reply(SLOW_DOWN_TEXT)
                self._count(school, command, LIMITED)
                return outbox.drain()
        if command is None:
            ctx.reply(unknown_command_text(call.name))
            self._count(school, None, UNKNOWN)
            return outbox.drain()
        academie_admin = ctx.is_academie_admin or (
            self._directory is not None and message.sender in self._directory.admins
        )  # the directory's list is the reloaded one
        if command.academie_only and not academie_admin:
            log.info("Refused !%s to %s (not an académie admin)", command.name, message.sender)
            ctx.reply(academie_only_text(command.name))
            self._count(school, command, ADMIN_ONLY)
            return outbox.drain()
        # An académie admin may type an académie command anywhere; its handler decides.
        academie = (command.academie or command.academie_only) and academie_admin
        if academie:
            ctx = replace(ctx, directory=self._directory)
        # A person's own command (their data) needs no school: a direct room is enough.
        if isinstance(school, Refusal) and not academie and not command.personal:
            log.info("Refused !%s from %s: %s", command.name, message.sender, school.text)
            ctx.reply(school.text)
            return outbox.drain()
        if command.admin and not ctx.is_admin and not academie:
            log.info("Refused !%s to non-admin %s", command.name, message.sender)
            ctx.reply(admin_only_text(command.name))
            self._count(school, command, ADMIN_ONLY)
            return outbox.drain()
        try:
            arguments = command.parse(call.arguments, ParseEnv(ctx.now, self._settings.tz))
        except InvalidArguments as exc:
            ctx.reply(command.invalid_text(exc))
            self._count(school, command, USER_ERROR)
            return outbox.drain()
        except Exception:
            log.exception("Parsing !%s failed (event %s)", command.name, message.event_id)
            ctx.reply(INTERNAL_ERROR_TEXT)
            self._count(school, command, INTERNAL_ERROR)
            return outbox.drain()
        outcome = OK
        try:
            async with self._db.savepoint():
                await command.handler(ctx, arguments)
        except InvalidArguments as exc:
            outbox.drain()
            # Parsers catch malformed input; a handler names a sub-command's usage if it must.
            ctx.reply(command.invalid_text(exc) if exc.usage else exc.message)
            outcome = USER_ERROR
        except UserError as exc:
            outbox.drain()
            ctx.reply(exc.message)
            outcome = USER_ERROR
        except Exception:
            log.exception("Command !%s failed (event %s)", command.name, message.event_id)
            outbox.drain()
            ctx.reply(INTERNAL_ERROR_TEXT)
            outcome = INTERNAL_ERROR
        self._count(school, command, outcome)
        return outbox.drain()

    def _count(self, school: School | Refusal, command: Command | None, outcome: str) -> None:
        """For the metrics of its school: the command as registered, never as typed, nor
        who typed it."""
        name = command.name if command is not None else UNKNOWN
        self._handled.append((self._key_of(school), name, outcome))

    def _key_of(self, school: School | Refusal) -> str:
        """The school's key; a refused one's posts and counts go to the bot's own school."""
        return school.key if isinstance(school, School) else self._settings.school.key


def school_or_none(school: School | Refusal) -> School | None:
    return school if isinstance(school, School) else None
