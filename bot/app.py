"""The composition root: the only module that wires everything together."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.clock import Clock, system_clock
from bot.config import Config
from bot.context import Repositories
from bot.errors import RupnError, SessionRejected, StorageError
from bot.logging_setup import add_secret
from bot.matrix import MatrixAdapter
from bot.processor import EventProcessor, ProcessorSettings
from bot.router import CommandRegistry
from bot.sender import Pacer, Sender
from bot.session import load_session
from bot.storage.database import Database
from bot.storage.posts import PostsRepository
from bot.storage.state import StateRepository
from bot.sync import SyncLoop
from handlers import ROUTERS

log = logging.getLogger(__name__)

DATABASE_FILE = "rupn-bot.db"
DRAIN_TIMEOUT_S = 10.0


@dataclass
class RunningBot:
    """Facts `!statut` shows; also the handle tests use to wait for the sender."""

    started_at: datetime
    adapter: MatrixAdapter
    sender: Sender
    first_sync: asyncio.Event = field(default_factory=asyncio.Event)

    def joined_rooms(self) -> list[str]:
        return self.adapter.joined_rooms()


async def run_app(
    config: Config,
    stop: asyncio.Event,
    *,
    clock: Clock = system_clock,
    timeline_limit: int = 500,
    on_ready: Callable[[RunningBot], Awaitable[None] | None] | None = None,
) -> None:
    """Run the bot until `stop` is set, then drain the outgoing queue and close."""
    data_dir = config.storage.data_dir
    db = await Database.open(data_dir / DATABASE_FILE)
    adapter = MatrixAdapter(
        config.matrix.homeserver,
        config.matrix.user_id,
        data_dir=data_dir,
        device_name=config.matrix.device_name,
        password=config.password_value(),
        timeline_limit=timeline_limit,
    )
    try:
        await adapter.connect()
        saved = load_session(data_dir)
        if saved:
            add_secret(saved.access_token)
        repos = Repositories(posts=PostsRepository(db))
        state = StateRepository(db)
        sender = Sender(db, repos.posts, adapter, clock, Pacer(config.bot.max_sends_per_second))
        running = RunningBot(clock(), adapter, sender)
        processor = EventProcessor(
            db,
            repos,
            state,
            CommandRegistry(ROUTERS),
            ProcessorSettings(admins=frozenset(config.bot.admins), tz=config.bot.tz),
            clock,
            running,
        )
        sender_stop = asyncio.Event()
        sender_task: asyncio.Task[None] | None = None

        def start_sender() -> None:
            nonlocal sender_task
            sender_task = asyncio.create_task(_supervise(sender.run, sender_stop, "sender"))
            running.first_sync.set()
            log.info("Bot ready as %s", config.matrix.user_id)
            if on_ready is not None:
                result = on_ready(running)
                if result is not None:
                    asyncio.ensure_future(result)  # noqa: RUF006 - fire and forget test hook

        sync = SyncLoop(
            adapter,
            processor,
            state,
            frozenset(config.bot.admins),
            on_posts_queued=sender.wake,
            on_first_sync=start_sender,
        )
        try:
            await sync.run(stop)
        finally:
            if sender_task is not None:
                try:
                    await asyncio.wait_for(sender.wait_idle(), DRAIN_TIMEOUT_S)
                except TimeoutError:
                    log.warning("Stopping with posts still queued; they will go at next start")
                sender_stop.set()
                await sender_task
    finally:
        await adapter.close()
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


def run_bot(config: Config) -> int:
    """Entry point of `rupn-bot run`: until SIGINT or SIGTERM, then a clean stop."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_app(config, stop)

    try:
        asyncio.run(main())
    except SessionRejected as exc:
        log.error("Cannot log in (%s). Check the password or RUPN_BOT_PASSWORD.", exc.errcode)
        print(
            "Connexion impossible : aucun mot de passe valide ni session enregistrée. "
            "Vérifiez matrix.password ou la variable RUPN_BOT_PASSWORD."
        )
        return 1
    except StorageError as exc:
        log.error("%s", exc)
        print(exc)
        return 1
    except RupnError:
        log.exception("The bot stopped on an error")
        return 1
    return 0
