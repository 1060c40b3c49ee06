"""The bot's features: one router per module, listed here explicitly."""

from __future__ import annotations

from bot.router import Router
from handlers import help, status

ROUTERS: tuple[Router, ...] = (help.router, status.router)
