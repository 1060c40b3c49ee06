"""The bot's features: one router each, listed here explicitly (order = `!aide` order)."""

from __future__ import annotations

from bot.router import Router
from handlers import decryption, help, status
from handlers.announcements import commands as announcements
from handlers.announcements import diffusion
from handlers.news import commands as news
from handlers.polls import commands as polls
from handlers.workshops import commands as workshops
from handlers.workshops import followup as workshop_followup
from handlers.workshops import signups as workshop_signups

ROUTERS: tuple[Router, ...] = (
    help.router,
    announcements.router,
    diffusion.router,
    polls.router,
    workshops.router,
    workshop_signups.router,
    workshop_followup.router,
    news.router,
    status.router,
    decryption.router,
)
