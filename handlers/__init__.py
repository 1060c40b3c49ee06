"""The bot's features: one router each, listed here explicitly (order = `!aide` order).

Features are packages (announcements, news, polls, workshops) or, when small, modules.
The imports below use distinct names, so that `handlers.polls` stays the package.
"""

from __future__ import annotations

from bot.router import Router
from handlers import bilan, decryption, engagement, help, school_directory, status
from handlers.announcements import commands as announcement_commands
from handlers.announcements import diffusion
from handlers.assistance import commands as assistance_commands
from handlers.assistance import delivery as assistance_delivery
from handlers.assistance import followup as assistance_followup
from handlers.letter import commands as letter_commands
from handlers.letter import weekly as letter_weekly
from handlers.news import commands as news_commands
from handlers.polls import commands as poll_commands
from handlers.privacy import commands as privacy_commands
from handlers.privacy import jobs as privacy_jobs
from handlers.workshops import commands as workshop_commands
from handlers.workshops import reminders as workshop_reminders
from handlers.workshops import signups as workshop_signups

ROUTERS: tuple[Router, ...] = (
    help.router,
    announcement_commands.router,
    diffusion.router,
    poll_commands.router,
    workshop_commands.router,
    workshop_signups.router,
    workshop_reminders.router,
    news_commands.router,
    letter_commands.router,
    letter_weekly.router,
    assistance_commands.router,
    assistance_followup.router,
    assistance_delivery.router,
    status.router,
    decryption.router,
    engagement.router,
    privacy_commands.router,
    privacy_jobs.router,
    bilan.router,
    school_directory.router,
)
