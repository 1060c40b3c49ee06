"""Publishing an announcement to the diffusion rooms, correcting and withdrawing it.

Shared by `!annonce` (handlers/announce.py) and the news watch
(handlers/news.py, whose entries go out through `publish_entry`). Everything
here only records posts in the outbox; the sender delivers them, and
`confirm_when_delivered` tells the RUPN which rooms were reached once every
post is settled.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.context import JobContext, Repositories, Settings
from bot.errors import NotFound, UserError
from bot.formatting import markdown_to_html, sanitize_html
from bot.messenger import Messenger, edit_content, message_content, msgtype_for
from bot.storage.announcements import Announcement
from bot.storage.posts import Post
from handlers.news.texts import entry_announcement

KIND = "announcement"
EDIT_KIND = "announcement-edit"
WITHDRAW_KIND = "announcement-withdrawal"
CONFIRM_KIND = "announcement-confirmation"


async def diffusion_rooms(repos: Repositories, settings: Settings) -> list[str]:
    """The rooms from the config file, then those added with `!diffusion ajouter`."""
    rooms = list(settings.broadcast_rooms) + await repos.broadcast.list()
    return list(dict.fromkeys(rooms))


def render(markdown_text: str) -> tuple[str, str]:
    """Plain body and sanitised HTML for a Markdown announcement."""
    return markdown_text, markdown_to_html(markdown_text)


def announcement_content(announcement: Announcement) -> dict[str, Any]:
    return message_content(announcement.body, msgtype=msgtype_for(KIND), html=announcement.html)


def queue_posts(messenger: Messenger, announcement: Announcement) -> None:
    for room_id in announcement.rooms:
        messenger.send_event(
            room_id,
            "m.room.message",
            announcement_content(announcement),
            kind=KIND,
            ref=(KIND, announcement.id),
        )


async def publish(
    repos: Repositories,
    messenger: Messenger,
    *,
    author: str,
    body: str,
    html: str | None,
    rooms: list[str],
    now: datetime,
    scheduled_for: datetime | None = None,
    entry_id: int | None = None,
    request_room: str | None = None,
    request_event: str | None = None,
    queue: bool = True,
) -> Announcement:
    """Record the announcement and, unless it is scheduled (or `queue` is False), queue posts."""
    announcement = await repos.announcements.create(
        author=author,
        body=body,
        html=sanitize_html(html) if html else None,
        rooms=tuple(rooms),
        now=now,
        scheduled_for=scheduled_for,
        entry_id=entry_id,
        request_room=request_room,
        request_event=request_event,
    )
    if scheduled_for is None and queue:
        queue_posts(messenger, announcement)
    return announcement


async def delivered_posts(repos: Repositories, announcement_id: int) -> list[Post]:
    return [p for p in await repos.posts.by_ref(KIND, announcement_id) if p.kind == KIND]


async def edit(
    repos: Repositories,
    messenger: Messenger,
    announcement: Announcement,
    body: str,
    html: str | None,
    now: datetime,
) -> int:
    """An m.replace edit of every post of the announcement; returns how many rooms."""
    await repos.announcements.edit(announcement.id, body, html, now)
    posts = [p for p in await delivered_posts(repos, announcement.id) if p.status != "failed"]
    for post in posts:
        messenger.send_event(
            post.room_id,
            "m.room.message",
            edit_content(post.content, body, html=html),
            kind=EDIT_KIND,
            ref=(KIND, announcement.id),
            relates_to_txn=post.txn_id,
        )
    return len(posts)


async def withdraw(repos: Repositories, messenger: Messenger, announcement: Announcement) -> int:
    """Redact every post of the announcement; returns how many rooms."""
    await repos.announcements.set_status(announcement.id, "withdrawn")
    posts = [p for p in await delivered_posts(repos, announcement.id) if p.status != "failed"]
    for post in posts:
        messenger.redact(
            post.room_id,
            txn_id=post.txn_id,
            reason="Annonce retirée par le référent numérique",
            kind=WITHDRAW_KIND,
        )
    return len(posts)


async def confirm_when_delivered(ctx: JobContext, announcement_id: int) -> None:
    """Once every post of the announcement is settled, tell the RUPN where it went (once)."""
    announcement = await ctx.repos.announcements.get(announcement_id)
    if announcement is None or announcement.request_room is None:
        return
    posts = await delivered_posts(ctx.repos, announcement_id)
    if not posts or any(p.status == "pending" for p in posts):
        return
    if not await ctx.repos.announcements.mark_confirmed(announcement_id):
        return
    sent = [ctx.info.room_name(p.room_id) for p in posts if p.status == "sent"]
    failed = [ctx.info.room_name(p.room_id) for p in posts if p.status == "failed"]
    lines = [
        f"Annonce n° {announcement_id} publiée dans {rooms_label(len(sent))} : {', '.join(sent)}."
    ]
    if not sent:
        lines = [f"L’annonce n° {announcement_id} n’a pu être publiée dans aucun salon."]
    if failed:
        lines.append(
            f"Échec dans {rooms_label(len(failed))} : {', '.join(failed)} "
            "(le bot en a-t-il été retiré ?)."
        )
    ctx.messenger.send(
        announcement.request_room,
        "\n".join(lines),
        reply_to=announcement.request_event,
        mentions=(announcement.author,),
        kind=CONFIRM_KIND,
        ref=(KIND, announcement_id),
    )


def rooms_label(count: int) -> str:
    """« 1 salon », « 2 salons »."""
    return "1 salon" if count == 1 else f"{count} salons"


async def publish_entry(
    repos: Repositories,
    messenger: Messenger,
    settings: Settings,
    *,
    entry_id: int,
    author: str,
    comment: str | None,
    now: datetime,
    request_room: str | None,
    request_event: str | None,
) -> Announcement:
    """Announce a stored feed entry in every diffusion room and mark it published."""
    entry = await repos.feeds.entry(entry_id)
    if entry is None:
        raise NotFound(
            f"Aucun article n° {entry_id} dans la veille. "
            "Tapez !veille propositions pour voir celles en attente."
        )
    if entry.status == "published":
        raise UserError(f"L’article n° {entry_id} a déjà été publié.")
    if entry.status == "ignored":
        raise UserError(f"L’article n° {entry_id} a été écarté ; il ne peut plus être publié.")
    rooms = await diffusion_rooms(repos, settings)
    if not rooms:
        raise UserError(
            "Aucun salon de diffusion : tapez !diffusion ajouter dans un salon "
            "pour qu’il reçoive les annonces."
        )
    feed = await repos.feeds.get(entry.feed_id)
    body, body_html = entry_announcement(entry, feed.name if feed else "", comment)
    announcement = await publish(
        repos,
        messenger,
        author=author,
        body=body,
        html=body_html,
        rooms=rooms,
        now=now,
        entry_id=entry.id,
        request_room=request_room,
        request_event=request_event,
    )
    await repos.feeds.set_entry_status(entry.id, "published", author, now)
    return announcement
