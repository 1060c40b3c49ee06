"""The mailbox reader as the bot runs it: a background task, started only when
`[assistance]` sets `imap_host`. Its libraries (aioimaplib, mail-parser-reply) are
imported here, on first use: a bot without a mailbox never loads them."""

from __future__ import annotations

import asyncio

from bot.clock import Clock
from bot.mailbox.model import ReplySink
from bot.mailbox.settings import MailboxSettings


async def run_mailbox(
    settings: MailboxSettings, sink: ReplySink, clock: Clock, stop: asyncio.Event
) -> None:
    """Read the mailbox until `stop` is set (reconnecting on its own when the server is down)."""
    from bot.mailbox.reader import MailboxReader  # on first use: see the module docstring

    await MailboxReader(settings, sink, clock).run(stop)
