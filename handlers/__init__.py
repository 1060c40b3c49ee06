"""The bot's features: one router per module, listed here explicitly."""

from __future__ import annotations

from bot.router import Router
from handlers import (
    announce,
    broadcast,
    decryption,
    help,
    news,
    polls,
    status,
    workshop_followup,
    workshop_signups,
    workshops,
)

ROUTERS: tuple[Router, ...] = (
    help.router,
    announce.router,
    broadcast.router,
    polls.router,
    workshops.router,
    workshop_signups.router,
    workshop_followup.router,
    news.router,
    status.router,
    decryption.router,
)
