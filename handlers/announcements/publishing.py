"""Publishing an announcement to the diffusion rooms, correcting and withdrawing it.

The public functions of the announcements feature: `!annonce`
(handlers/announcements/commands.py), the scheduled-announcement job
(handlers/announcements/scheduled.py), the news watch
(handlers/news/curation.py, whose entries go out through `publish`) and the
ateliers (`diffusion_rooms`, `rooms_label`) call them. Everything here only
records posts in the outbox; the sender delivers them, and
`confirm_when_delivered` tells the RUPN which rooms were reached once every
post is settled.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from bot.context import Context, Repositories, Scope, Settings
from bot.formatting import markdown_to_html, pill_links, sanitize_html
from bot.messenger import edit_content, message_content, msgtype_for
from bot.storage.announcements import Announcement
from bot.storage.posts import Post

KIND = "announcement"
EDIT_KIND = "announcement-edit"
WITHDRAW_KIND = "announcement-withdrawal"
CONFIRM_KIND = "announcement-confirmation"


@dataclass(frozen=True)
class Request:
    """Who asked for an announcement, and the message the confirmation answers (if any)."""

    author: str
    room_id: str | None = None
    event_id: str | None = None

    @classmethod
    def of(cls, ctx: Context) -> Request:
        """The command being handled."""
        return cls(ctx.sender, ctx.room_id, ctx.event_id)


async def diffusion_rooms(repos: Repositories, settings: Settings) -> list[str]:
    """The rooms from the config file, then those added with `!diffusion ajouter`."""
    return await repos.broadcast.diffusion_rooms(settings.broadcast_rooms)


def rooms_label(count: int) -> str:
    """« 1 salon », « 2 salons »."""
    return "1 salon" if count == 1 else f"{count} salons"


def render(markdown_text: str) -> tuple[str, str]:
    """Plain body and sanitised HTML for a Markdown announcement."""
    return markdown_text, markdown_to_html(markdown_text)


def announcement_content(announcement: Announcement) -> dict[str, Any]:
    return message_content(announcement.body, msgtype=msgtype_for(KIND), html=announcement.html)


USER_ID = re.compile(r"@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(?::[0-9]{1,5})?")
ROOM_MENTION_NOTE = (
    "@room n’est pas transmis : le bot ne notifie jamais tout un salon (son niveau de "
    "pouvoir le lui interdirait de toute façon)."
)


def with_pills(announcement: Announcement, members: set[str]) -> dict[str, Any]:
    """The content for one room: ids of its members typed in the text become pills.

    Only members of that room are mentioned (m.mentions), so nobody outside it is
    pinged; `@room` is never a mention (m.mentions.room is never set).
    """
    mentioned = sorted({u for u in USER_ID.findall(announcement.body) if u in members})
    html = announcement.html
    if mentioned:
        html = html or f"<p>{escape(announcement.body)}</p>"
        html = pill_links(html, mentioned)
    return message_content(
        announcement.body, msgtype=msgtype_for(KIND), html=html, mentions=mentioned
    )


def queue_posts(scope: Scope, announcement: Announcement) -> None:
    """One post per room of the announcement."""
    for room_id in announcement.rooms:
        scope.messenger.send_event(
            room_id,
            "m.room.message",
            with_pills(announcement, set(scope.info.member_ids(room_id))),
            kind=KIND,
            ref=(KIND, announcement.id),
        )


async def publish(
    scope: Scope,
    request: Request,
    *,
    body: str,
    html: str | None,
    rooms: list[str],
    scheduled_for: datetime | None = None,
    entry_id: int | None = None,
    queue: bool = True,
) -> Announcement:
    """Record the announcement and, unless it is scheduled (or `queue` is False), queue posts."""
    announcement = await scope.repos.announcements.create(
        author=request.author,
        body=body,
        html=sanitize_html(html) if html else None,
        rooms=tuple(rooms),
        now=scope.now,
        scheduled_for=scheduled_for,
        entry_id=entry_id,
        request_room=request.room_id,
        request_event=request.event_id,
    )
    if scheduled_for is None and queue:
        queue_posts(scope, announcement)
    return announcement


async def delivered_posts(repos: Repositories, announcement_id: int) -> list[Post]:
    return [p for p in await repos.posts.by_ref(KIND, announcement_id) if p.kind == KIND]


async def edit(scope: Scope, announcement: Announcement, body: str, html: str | None) -> int:
    """An m.replace edit of every post of the announcement; returns how many rooms."""
    await scope.repos.announcements.edit(announcement.id, body, html, scope.now)
    posts = [p for p in await delivered_posts(scope.repos, announcement.id) if p.status != "failed"]
    for post in posts:
        scope.messenger.send_event(
            post.room_id,
            "m.room.message",
            edit_content(post.content, body, html=html),
            kind=EDIT_KIND,
            ref=(KIND, announcement.id),
            relates_to_txn=post.txn_id,
        )
    return len(posts)


async def withdraw(scope: Scope, announcement: Announcement) -> int:
    """Redact every post of the announcement; returns how many rooms."""
    await scope.repos.announcements.set_status(announcement.id, "withdrawn")
    posts = [p for p in await delivered_posts(scope.repos, announcement.id) if p.status != "failed"]
    for post in posts:
        scope.messenger.redact(
            post.room_id,
            txn_id=post.txn_id,
            reason="Annonce retirée par le référent numérique",
            kind=WITHDRAW_KIND,
        )
    return len(posts)


FAILURE_REASONS = {
    "M_TOO_LARGE": "message trop long pour le serveur Matrix : raccourcissez-le",
    "M_FORBIDDEN": "le bot n’a pas le droit d’écrire dans ce salon",
}
"""Why a post failed, as the RUPN is told; other errors ask whether the bot was removed."""


def _failures(scope: Scope, posts: Sequence[Post]) -> dict[str, list[str]]:
    by_reason: dict[str, list[str]] = {}
    for post in posts:
        if post.status == "failed":
            reason = FAILURE_REASONS.get(post.error or "", "le bot en a-t-il été retiré ?")
            by_reason.setdefault(reason, []).append(scope.info.room_name(post.room_id))
    return by_reason


async def confirm_when_delivered(scope: Scope, announcement_id: int) -> None:
    """Once every post of the announcement is settled, tell the RUPN where it went (once)."""
    announcement = await scope.repos.announcements.get(announcement_id)
    if announcement is None or announcement.request_room is None:
        return
    posts = await delivered_posts(scope.repos, announcement_id)
    if not posts or any(p.status == "pending" for p in posts):
        return
    if not await scope.repos.announcements.mark_confirmed(announcement_id):
        return
    sent = [scope.info.room_name(p.room_id) for p in posts if p.status == "sent"]
    number = announcement.number  # what the RUPN types: counted per school, unlike the id
    lines = [f"Annonce n° {number} publiée dans {rooms_label(len(sent))} : {', '.join(sent)}."]
    if not sent:
        lines = [f"L’annonce n° {number} n’a pu être publiée dans aucun salon."]
    if "@room" in announcement.body:
        lines.append(ROOM_MENTION_NOTE)
    for reason, rooms in _failures(scope, posts).items():
        lines.append(f"Échec dans {rooms_label(len(rooms))} : {', '.join(rooms)} ({reason}).")
    scope.messenger.send(
        announcement.request_room,
        "\n".join(lines),
        reply_to=announcement.request_event,
        mentions=(announcement.author,),
        kind=CONFIRM_KIND,
        ref=(KIND, announcement_id),
    )
