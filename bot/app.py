"""The composition root: the only module that wires everything together."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.auth.login import expired_text, login_settings
from bot.clock import Clock, system_clock
from bot.config import Config, FeedSettings
from bot.context import Repositories, Settings, room_ids
from bot.cross_signing import CrossSigning, IdentityReport, IdentityState
from bot.data_dir import DataDirLock, prepare_data_dir
from bot.direct import DirectRooms
from bot.errors import (
    EXIT_LOGIN_REQUIRED,
    AccountExpired,
    HomeserverUnreachable,
    LoginRequired,
    MatrixError,
    RupnError,
    SessionRejected,
    StorageError,
)
from bot.keys_api import KeysApi
from bot.logging_setup import add_secret
from bot.mailbox.model import ReplySink
from bot.mailbox.service import run_mailbox
from bot.mailbox.settings import mailbox_settings
from bot.mailer import MailSender
from bot.matrix import MatrixAdapter
from bot.metrics import NO_METRICS
from bot.new_session import NEW_SESSION_NOTICE, tell_admins
from bot.processor import EventProcessor
from bot.pseudonyms import Pseudonyms
from bot.router import CommandRegistry
from bot.scheduler import start_scheduler
from bot.school_reload import EngineSchools, register_schools
from bot.schools import School, SchoolDirectory, academie_admins, mail_of, schools_of
from bot.sender import Pacer, Sender
from bot.storage.database import DATABASE_FILE, Database
from bot.storage.feeds import FeedsRepository
from bot.storage.posts import Post
from bot.storage.rooms import RoomsRepository
from bot.storage.state import StateRepository
from bot.sync import DIRECT_WELCOME, SyncLoop
from bot.tenancy import Tenancy
from bot.work import Units
from handlers import ROUTERS
from handlers.assistance.replies import DeskReplies

if TYPE_CHECKING:
    from bot.metrics.server import SupervisionServer

log = logging.getLogger(__name__)

DRAIN_TIMEOUT_S = 10.0

ReplySinkFactory = Callable[[Database, Units], ReplySink]
"""Builds the assistance requests' `ReplySink` (handlers/assistance) for the mailbox reader."""


@dataclass
class RunningBot:
    """Facts `!statut` shows; also the handle tests use to wait for the sender."""

    started_at: datetime
    adapter: MatrixAdapter
    sender: Sender
    identity: IdentityReport = field(default_factory=lambda: IdentityReport(IdentityState.UNKNOWN))
    first_sync: asyncio.Event = field(default_factory=asyncio.Event)

    def identity_summary(self) -> str:
        summary = self.identity.state.describe()
        if self.identity.state is IdentityState.SIGNED:
            summary += f" (clé maîtresse {self.identity.fingerprint()[:19]}…)"
        return summary

    def joined_rooms(self) -> list[str]:
        return self.adapter.joined_rooms()

    def room_name(self, room_id: str) -> str:
        return self.adapter.room_name(room_id)

    def find_room(self, reference: str) -> str | None:
        return self.adapter.find_room(reference)

    def member_ids(self, room_id: str) -> list[str]:
        return self.adapter.member_ids(room_id)


async def _resolve_aliases(
    adapter: MatrixAdapter, references: Sequence[str]
) -> tuple[tuple[str, str], ...]:
    """(alias, room id) for the aliases among these references; unresolvable ones are
    logged and left out."""
    resolved: dict[str, str] = {}
    for reference in references:
        if reference.startswith("!") or reference in resolved:
            continue
        try:
            resolved[reference] = await adapter.resolve_alias(reference)
        except (MatrixError, HomeserverUnreachable) as exc:
            log.error("Cannot resolve room alias %s (%s); it is left out", reference, exc)
    return tuple(resolved.items())


async def _resolve_rooms(adapter: MatrixAdapter, references: Sequence[str]) -> tuple[str, ...]:
    """Room ids for the configured ids and aliases; unresolvable ones are logged."""
    return room_ids(references, dict(await _resolve_aliases(adapter, references)))


def _schools_letter_rooms(schools: Sequence[School]) -> list[str]:
    """Every school's own `digest.rooms` (ids and aliases)."""
    return [room for school in schools if school.digest for room in school.digest.rooms]


async def _curation_rooms(
    config: Config, adapter: MatrixAdapter, db: Database, direct: DirectRooms
) -> tuple[str, ...]:
    """The configured curation room, else a direct room with each admin (created once)."""
    if config.bot.curation_room:
        return await _resolve_rooms(adapter, [config.bot.curation_room])
    async with db.transaction():
        watching = bool(await FeedsRepository(db).active())
    if not watching:
        return ()  # no news watch: no reason to open rooms with the admins
    rooms = await direct.ensure(config.bot.admins, "rupn-bot — veille")
    return tuple(rooms[a] for a in config.bot.admins if a in rooms)


async def establish_identity(config: Config, adapter: MatrixAdapter) -> IdentityReport:
    """Publish the device's keys and sign the device with the account's identity.

    Never fatal: without it Element and Tchap may ignore the bot, which is
    logged and shown by `!statut`, but the bot still serves other clients.
    """
    if not config.matrix.cross_signing:
        log.warning("Cross-signing is disabled: Element and Tchap may ignore this bot")
        return IdentityReport(IdentityState.DISABLED)
    device_id = adapter.device_id
    try:
        await adapter.publish_device_keys()
        if device_id is None:
            raise MatrixError("M_NO_DEVICE", "no device id after login")
        report = await CrossSigning(
            KeysApi(config.matrix.homeserver, adapter.tokens),
            config.storage.data_dir,
            config.matrix.user_id,
            device_id,
            config.password_value(),
        ).ensure()
    except (MatrixError, HomeserverUnreachable) as exc:
        log.error("Could not check the bot's cross-signing (%s); it is retried at next start",
                  exc)  # fmt: skip
        return IdentityReport(IdentityState.UNKNOWN)
    if report.state is IdentityState.SIGNED:
        log.info("Device %s is cross-signed (master key %s)", device_id, report.master_key)
    else:
        log.warning("Device %s is NOT cross-signed: %s", device_id, report.state.value)
    return report


async def register_config_feeds(
    config: Config, db: Database, repos: Repositories, now: datetime
) -> None:
    """The [[feeds]] (the bot's: an académie's for all its schools), then each school's
    own ``[[etablissements]] feeds``; a source is read once, so a URL counts once."""
    owned: list[tuple[str | None, FeedSettings]] = [(None, feed) for feed in config.feeds]
    owned += [(school.key, feed) for school in schools_of(config) for feed in school.feeds]
    registered: dict[str, str | None] = {}
    async with db.transaction():
        for school, feed in owned:
            if feed.url in registered:
                log.warning("Feed %s is declared twice (for %r, then for %r): the second is "
                            "left out", feed.url, registered[feed.url], school)  # fmt: skip
                continue
            registered[feed.url] = school
            await repos.feeds.upsert(
                name=feed.name, url=feed.url, include=feed.include, exclude=feed.exclude,
                auto_publish=feed.auto_publish, origin="config", added_by=None, now=now,
                school=school,
            )  # fmt: skip
        await repos.feeds.deactivate_config_feeds_except(list(registered))


async def _start_supervision(
    config: Config, db: Database, clock: Clock
) -> SupervisionServer | None:
    """/metrics and /sante when `[metrics] enabled`; nothing of them is imported otherwise."""
    if not config.metrics.enabled:
        return None
    from bot.metrics.server import start_supervision  # on first use: see bot/metrics

    # Each command and post is counted under its school's series (a reload adds schools).
    return await start_supervision(config.metrics, db, clock, schools_of(config))


async def _register_schools(db: Database, schools: Sequence[School], now: datetime) -> Tenancy:
    """The served schools, recorded (their rows reference them) and ready to own rooms."""
    await register_schools(db, schools, now)
    return Tenancy(schools, RoomsRepository(db))


async def run_app(
    config: Config,
    stop: asyncio.Event,
    *,
    clock: Clock = system_clock,
    timeline_limit: int = 500,
    on_ready: Callable[[RunningBot], Awaitable[None] | None] | None = None,
    reload_on_sighup: bool = False,
    reply_sink: ReplySinkFactory = DeskReplies,
) -> None:
    """Run the bot until `stop` is set, then drain the outgoing queue and close.

    `reload_on_sighup`: SIGHUP re-reads the établissements' directory (`rupn-bot run`).
    `reply_sink`: where the mailbox reader hands the desk's answers (the assistance
    requests); the reader runs when `[assistance]` is set."""
    data_dir = config.storage.data_dir
    prepare_data_dir(data_dir)
    lock = DataDirLock(data_dir)
    lock.acquire()
    try:
        await _run_locked(
            config, stop, clock, timeline_limit, on_ready, reload_on_sighup, reply_sink
        )
    finally:
        lock.release()


async def _run_locked(
    config: Config,
    stop: asyncio.Event,
    clock: Clock,
    timeline_limit: int,
    on_ready: Callable[[RunningBot], Awaitable[None] | None] | None,
    reload_on_sighup: bool,
    reply_sink: ReplySinkFactory,
) -> None:
    data_dir = config.storage.data_dir
    db = await Database.open(data_dir / DATABASE_FILE)
    adapter = MatrixAdapter(login_settings(config), timeline_limit=timeline_limit)
    scheduler: AsyncIOScheduler | None = None
    supervision: SupervisionServer | None = None
    try:
        supervision = await _start_supervision(config, db, clock)
        metrics = supervision.supervision.school_metrics if supervision else NO_METRICS
        await adapter.connect()
        identity = await establish_identity(config, adapter)
        repos = Repositories.open(db)
        state = StateRepository(db)
        registry = CommandRegistry(ROUTERS)
        direct = DirectRooms(db, adapter.create_direct_room)
        await register_config_feeds(config, db, repos, clock())
        directory = EngineSchools(SchoolDirectory(config), db, clock, academie_admins(config))
        schools = directory.schools
        tenancy = await _register_schools(db, schools, clock())
        settings = Settings.from_config(
            config,
            broadcast_rooms=await _resolve_rooms(adapter, config.bot.broadcast_rooms),
            digest_rooms=await _resolve_rooms(adapter, config.digest.rooms),
            curation_rooms=await _curation_rooms(config, adapter, db, direct),
            room_aliases=await _resolve_aliases(adapter, _schools_letter_rooms(schools)),
        )
        pseudonyms = Pseudonyms(data_dir)
        sender = Sender(
            db, repos.posts, adapter, clock, Pacer(config.bot.max_sends_per_second),
            metrics=metrics,
        )  # fmt: skip
        mailer = (
            MailSender(
                db,
                repos.posts,
                partial(mail_of, config, schools),
                clock,
                metrics=metrics,
                relay=config.email,
            )
            if config.email or any(school.email for school in schools)
            else None
        )
        for mail in (config.email, *(school.email for school in schools)):
            if mail is not None:
                add_secret(mail.password_value() or "")  # masked in logs, like the others
        mailbox = mailbox_settings(config.assistance, os.environ)
        if mailbox is not None:
            add_secret(mailbox.password)

        def wake_senders() -> None:
            sender.wake()
            if mailer is not None:
                mailer.wake()

        running = RunningBot(clock(), adapter, sender, identity)
        units = Units(
            db, repos, settings, running, clock, wake_senders,
            direct_rooms=direct, pseudonyms=pseudonyms, schools=schools,
        )  # fmt: skip

        async def settled(post: Post) -> None:
            scoped = units.for_key(post.school)  # a post's hooks act within its school
            if scoped is None:
                log.warning("Post %d is for a school no longer served: no hook runs", post.id)
                return
            for hook in registry.settled_hooks:
                await hook(scoped, post)

        sender.when_settled(settled)
        if mailer is not None:
            mailer.when_settled(settled)
        processor = EventProcessor(
            db, repos, state, registry, settings, clock, running, pseudonyms=pseudonyms,
            metrics=metrics, tenancy=tenancy, directory=directory if config.shared else None,
        )  # fmt: skip
        sender_stop = asyncio.Event()
        sender_task: asyncio.Task[None] | None = None
        mailer_task: asyncio.Task[None] | None = None
        mailbox_task: asyncio.Task[None] | None = None
        mailbox_stop = asyncio.Event()

        def start_background() -> None:
            nonlocal sender_task, mailer_task, mailbox_task, scheduler
            sender_task = asyncio.create_task(_supervise(sender.run, sender_stop, "sender"))
            if mailer is not None:
                mailer_task = asyncio.create_task(_supervise(mailer.run, sender_stop, "mailer"))
            if mailbox is not None:
                read = partial(run_mailbox, mailbox, reply_sink(db, units), clock)
                mailbox_task = asyncio.create_task(_supervise(read, mailbox_stop, "mailbox"))
            # apscheduler ticks on the real clock; the jobs read the injected one.
            scheduler = start_scheduler(registry.jobs, units, system_clock())
            running.first_sync.set()
            log.info("Bot ready as %s", config.matrix.user_id)
            if on_ready is not None:
                result = on_ready(running)
                if result is not None:
                    asyncio.ensure_future(result)  # noqa: RUF006 - fire and forget test hook

        async def welcome(room_id: str, colleague: str) -> None:
            async with units.unit() as scope:
                scope.messenger.send(
                    room_id, DIRECT_WELCOME, mentions=(colleague,), kind="direct-welcome"
                )

        async def after_relogin() -> None:
            running.identity = await establish_identity(config, adapter)
            await tell_admins(units, direct, config.bot.admins, NEW_SESSION_NOTICE)

        async def claim(room_id: str, inviter: str) -> str | None:
            async with db.transaction():
                return await tenancy.claim(room_id, inviter, clock())

        sync = SyncLoop(
            adapter,
            processor,
            state,
            frozenset().union(*(s.admins for s in schools)),
            claim=claim,
            on_posts_queued=wake_senders,
            on_first_sync=start_background,
            on_direct_joined=welcome,
            on_relogin=after_relogin,
        )
        for serve in (processor.serve, units.serve, sync.serve):
            directory.follow(serve)
        if supervision is not None:
            directory.follow(supervision.supervision.serve)
        if reload_on_sighup:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, directory.request_reload)
        try:
            await sync.run(stop)
        finally:
            if reload_on_sighup:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            if mailbox_task is not None:
                mailbox_stop.set()  # it stops between two mails (each moved after its posts)
                try:
                    await asyncio.wait_for(mailbox_task, DRAIN_TIMEOUT_S)
                except TimeoutError:  # a mail not moved yet is read again at next start
                    log.warning("Stopped the mailbox reader in the middle of a mail")
            if sender_task is not None and not stop.is_set():
                sender_stop.set()  # stopped by an error (session lost): no drain to wait for
                await sender_task
            elif sender_task is not None:
                drains = [sender.wait_idle()]
                if mailer is not None and mailer_task is not None:
                    drains.append(mailer.wait_idle())
                try:
                    # Side by side: a mail server that is down must not eat the posts' time.
                    await asyncio.wait_for(asyncio.gather(*drains), DRAIN_TIMEOUT_S)
                except TimeoutError:
                    log.warning("Stopping with posts still queued; they will go at next start")
                sender_stop.set()
                await sender_task
                if mailer_task is not None:
                    try:  # a mail still being handed over is cut: sent again at next start
                        await asyncio.wait_for(mailer_task, DRAIN_TIMEOUT_S)
                    except TimeoutError:
                        log.warning("Stopped the mail sender in the middle of a delivery")
    finally:
        if supervision is not None:
            await supervision.close()
        await adapter.close()
        try:
            await db.checkpoint()  # leave data_dir compact: no write-ahead log behind
        except Exception:
            log.exception("Final checkpoint failed; SQLite will replay the log at next start")
        await db.close()
        log.info("Bot stopped")


async def _supervise(
    job: Callable[[asyncio.Event], Awaitable[None]], stop: asyncio.Event, name: str
) -> None:
    """Keep a background loop alive: log its crash and start it again."""
    while not stop.is_set():
        try:
            await job(stop)
        except Exception:
            log.exception("Background task %s crashed; restarting it in 5 s", name)
            await asyncio.sleep(5)


def run_bot(config: Config, *, clock: Clock = system_clock) -> int:
    """Entry point of `rupn-bot run`: until SIGINT or SIGTERM, then a clean stop.

    `clock` is the real one in service; devtools/clocked_bot.py runs the same bot with a
    shifted clock, so that tests can put it on a given Friday at 16h30.
    """

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_app(config, stop, clock=clock, reload_on_sighup=True)

    try:
        asyncio.run(main())
    except AccountExpired:
        log.error("%s", expired_text(config.matrix.user_id))
        return EXIT_LOGIN_REQUIRED
    except LoginRequired as exc:
        log.error("%s", exc.message)
        return EXIT_LOGIN_REQUIRED
    except SessionRejected as exc:
        log.error(
            "La session du bot a été refusée une seconde fois (%s) : lancez « rupn-bot connexion "
            "--config … », puis relancez le bot.",
            exc.errcode,
        )
        return EXIT_LOGIN_REQUIRED
    except StorageError as exc:
        log.error("%s", exc)
        print(exc)
        return 1
    except RupnError:
        log.exception("The bot stopped on an error")
        return 1
    return 0
