"""What the announcements feature runs outside commands.

`publish_due` is the periodic job that publishes scheduled announcements;
`confirm` is the hook, called after each post is settled, that tells the RUPN
where an announcement went. Both are registered on the `!annonce` router in
handlers/announcements/commands.py.
"""

from __future__ import annotations

import logging

from bot.storage.posts import Post
from bot.work import Units
from handlers.announcements import publishing

log = logging.getLogger(__name__)

TICK_S = 20.0
"""How often the job looks for due announcements."""


async def publish_due(units: Units) -> None:
    """Scheduled announcements whose time has come, including while the bot was down."""
    async with units.unit() as ctx:
        for announcement in await ctx.repos.announcements.due(ctx.now):
            await ctx.repos.announcements.mark_published(announcement.id, ctx.now)
            publishing.queue_posts(ctx, announcement)
            log.info("Published scheduled announcement %d", announcement.id)


async def confirm(units: Units, post: Post) -> None:
    """After a post of an announcement is settled: confirm to the RUPN once all are."""
    kind = publishing.KIND
    if post.kind != kind or post.ref_type != kind or post.ref_id is None:
        return
    async with units.unit() as ctx:
        await publishing.confirm_when_delivered(ctx, post.ref_id)
