"""Deciding on a news proposal: publish it (✅, `!annonce veille <n°>`) or ignore it (❌,
`!veille ignorer <n°>`).

`decidable` is the one rule for every path, the automatic publication of
`auto_publish` feeds included: only an entry still waiting as a proposal can be
decided on. Entries the bot never showed (seen on a feed's first read,
filtered out by keywords, or beyond the per-read limit) have no proposal, so
they can be neither published nor ignored.
"""

from __future__ import annotations

from typing import Literal, assert_never

from bot.context import Context, Repositories, Scope
from bot.domain import IncomingReaction
from bot.errors import NotFound, UserError
from bot.storage.announcements import Announcement
from bot.storage.feeds import StoredEntry
from handlers.announcements import publishing
from handlers.announcements.publishing import Request
from handlers.news.texts import ENTRY_REF, PROPOSAL_KIND, entry_announcement, reaction_decision

Decision = Literal["publish", "ignore"]

REMOVED_SOURCE = "source retirée"
"""Shown for an entry whose feed is no longer in the database."""


def decidable(entry: StoredEntry | None, number: int, decision: Decision) -> StoredEntry:
    """The entry, if it may be published or ignored; else the French refusal, per decision."""
    match decision:
        case "publish":
            missing = f"Aucun article n° {number} dans la veille."
            published = f"L’article n° {number} a déjà été publié."
            ignored = f"L’article n° {number} a été écarté ; il ne peut plus être publié."
        case "ignore":
            missing = f"Aucune proposition n° {number}."
            published = f"La proposition n° {number} a déjà été publiée."
            ignored = f"La proposition n° {number} a déjà été écartée."
        case _:
            assert_never(decision)
    if entry is None:
        raise NotFound(f"{missing} Tapez !veille propositions pour voir celles en attente.")
    match entry.status:
        case "proposed":
            return entry
        case "seen" | "filtered":
            raise NotFound(f"{missing} Tapez !veille propositions pour voir celles en attente.")
        case "published":
            raise UserError(published)
        case "ignored":
            raise UserError(ignored)
        case _:
            assert_never(entry.status)


async def decidable_entry(repos: Repositories, number: int, decision: Decision) -> StoredEntry:
    return decidable(await repos.feeds.entry(number), number, decision)


async def source_name(repos: Repositories, feed_id: int) -> str:
    feed = await repos.feeds.get(feed_id)
    return feed.name if feed else REMOVED_SOURCE


async def publish_entry(
    scope: Scope, number: int, request: Request, comment: str | None = None
) -> Announcement:
    """Announce the school's proposed entry n° `number` in every diffusion room and mark
    it published."""
    entry = await decidable_entry(scope.repos, number, "publish")
    rooms = await publishing.diffusion_rooms(scope.repos, scope.settings)
    if not rooms:
        raise UserError(
            "Aucun salon de diffusion : tapez !diffusion ajouter dans un salon "
            "pour qu’il reçoive les annonces."
        )
    source = await source_name(scope.repos, entry.feed_id)
    body, body_html = entry_announcement(entry, source, comment)
    announcement = await publishing.publish(
        scope, request, body=body, html=body_html, rooms=rooms, entry_id=entry.id
    )
    await scope.repos.feeds.set_entry_status(entry.id, "published", request.author, scope.now)
    return announcement


async def ignore_entry(scope: Scope, number: int, decided_by: str) -> StoredEntry:
    """Dismiss the school's proposed entry n° `number`; returns it."""
    entry = await decidable_entry(scope.repos, number, "ignore")
    await scope.repos.feeds.set_entry_status(entry.id, "ignored", decided_by, scope.now)
    return entry


async def on_reaction(ctx: Context, reaction: IncomingReaction) -> None:
    """✅ or ❌ from a RUPN on a proposal post publishes or ignores its entry."""
    decision = reaction_decision(reaction.key)
    if decision is None or not ctx.is_admin:
        return
    post = await ctx.repos.posts.by_event_id(reaction.target_event_id)
    if post is None or post.kind != PROPOSAL_KIND or post.ref_type != ENTRY_REF:
        return
    if post.ref_id is None:
        return
    # The post names the entry by its row id; only the reacting school's own is found.
    entry = await ctx.repos.feeds.entry_by_id(post.ref_id)
    if entry is None or entry.status != "proposed":
        return  # another school's, or already decided (by a reaction or a command)
    match decision:
        case "ignore":
            await ignore_entry(ctx, entry.number, ctx.sender)
        case "publish":
            request = Request(ctx.sender, post.room_id, post.event_id)
            try:
                await publish_entry(ctx, entry.number, request)
            except UserError as exc:
                ctx.messenger.send(
                    post.room_id,
                    exc.message,
                    mentions=(ctx.sender,),
                    reply_to=post.event_id,
                    kind="reply",
                )
        case _:
            assert_never(decision)
