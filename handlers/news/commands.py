"""`!veille`: news feeds read on a schedule, new articles proposed to the RUPN.

Feeds come from the config file (`[[feeds]]`) or from chat (`!veille ajouter`).
The `veille` job fetches the due feeds outside any transaction, then records
each result in its own unit of work: new entries become numbered proposals
posted to the curation rooms (or are published directly for `auto_publish`
feeds). A proposal is published with `!annonce veille <n°>` or a ✅ reaction,
and dismissed with `!veille ignorer <n°>` or a ❌ reaction.

Arguments are parsed in handlers/news_args.py, texts and filters are in
handlers/news_texts.py, reading and recording one feed in
handlers/news_polling.py; `publish_entry` is in handlers/publishing.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from urllib.parse import urlsplit

import aiohttp

from bot.context import Context, Repositories
from bot.domain import IncomingReaction
from bot.errors import NotFound, UserError
from bot.router import Router
from bot.storage.feeds import Feed, StoredEntry
from bot.work import Units
from handlers.announcements.publishing import publish_entry
from handlers.news.args import (
    AddFeed,
    ListFeeds,
    ListProposals,
    RemoveFeed,
    VeilleAction,
    parse_veille,
)
from handlers.news.polling import fetch, record
from handlers.news.texts import ENTRY_REF, PROPOSAL_KIND, feed_line, reaction_decision

log = logging.getLogger(__name__)

router = Router("veille")

FETCH_CONCURRENCY = 4
FETCH_TIMEOUT_S = 20.0

EXAMPLE_URL = "https://srane.ac-exemple.fr/spip.php?page=backend"
EXAMPLE_ADD = f"!veille ajouter {EXAMPLE_URL} SRANE"


# --- commands ----------------------------------------------------------------------------


@router.command(
    "veille",
    summary="veille d’actualités : sources suivies et articles proposés au tri",
    usage="ajouter|liste|retirer|propositions|ignorer …",
    example=EXAMPLE_ADD,
    admin=True,
    parse=parse_veille,
    details=(
        "- !veille ajouter <adresse du flux> [nom] — suit un nouveau flux RSS ou Atom\n"
        "- !veille liste — les sources suivies et leur état\n"
        "- !veille retirer <n°> — ne plus suivre une source\n"
        "- !veille propositions — les articles en attente de tri\n"
        "- !veille ignorer <n°> — écarte un article proposé (ou réagissez ❌)\n"
        "Pour publier un article proposé : !annonce veille <n°> (ou réagissez ✅)."
    ),
)
async def veille(ctx: Context, action: VeilleAction) -> None:
    if isinstance(action, AddFeed):
        await _add_feed(ctx, action)
    elif isinstance(action, ListFeeds):
        await _list_feeds(ctx)
    elif isinstance(action, RemoveFeed):
        await _remove_feed(ctx, action.number)
    elif isinstance(action, ListProposals):
        await _list_proposals(ctx)
    else:
        await _ignore_entry(ctx, action.number)


async def _add_feed(ctx: Context, action: AddFeed) -> None:
    feeds = ctx.repos.feeds
    existing = await feeds.by_url(action.url)
    if existing is not None and existing.active:
        raise UserError(
            f"Cette source est déjà suivie : n° {existing.id}, {existing.name} ({existing.url})."
        )
    name = action.name or urlsplit(action.url).hostname or action.url
    feed = await feeds.upsert(
        name=name, url=action.url, origin="chat", added_by=ctx.sender, now=ctx.now
    )
    if existing is not None:
        await feeds.restart(feed.id, ctx.sender)
    ctx.reply(
        f"Source n° {feed.id} ajoutée : {feed.name} ({feed.url}). "
        "Les derniers articles vous seront proposés à la prochaine lecture."
    )


async def _list_feeds(ctx: Context) -> None:
    feeds = await ctx.repos.feeds.active()
    if not feeds:
        ctx.reply(
            "Aucune source d’actualités n’est suivie. Ajoutez-en une avec "
            f"!veille ajouter <adresse du flux> [nom], par exemple : {EXAMPLE_ADD}"
        )
        return
    title = "Source suivie :" if len(feeds) == 1 else f"Sources suivies ({len(feeds)}) :"
    ctx.reply("\n".join([title, *(feed_line(f, ctx.settings) for f in feeds)]))


async def _active_feed(ctx: Context, number: int) -> Feed:
    feed = await ctx.repos.feeds.get(number)
    if feed is None or not feed.active:
        raise NotFound(
            f"Aucune source n° {number}. Tapez !veille liste pour voir les sources suivies."
        )
    return feed


async def _remove_feed(ctx: Context, number: int) -> None:
    feed = await _active_feed(ctx, number)
    if feed.origin == "config":
        raise UserError(
            f"La source n° {feed.id} ({feed.name}) vient du fichier de configuration : "
            "retirez-la de ce fichier (section [[feeds]]), puis redémarrez le bot."
        )
    await ctx.repos.feeds.deactivate(feed.id)
    ctx.reply(
        f"Source n° {feed.id} retirée : {feed.name}. Ses articles ne vous seront plus proposés."
    )


async def _list_proposals(ctx: Context) -> None:
    entries = await ctx.repos.feeds.proposed()
    if not entries:
        ctx.reply("Aucune proposition en attente.")
        return
    names = await _feed_names(ctx.repos, entries)
    lines = ["Propositions en attente :"]
    lines += [f"n° {e.id} · {names[e.feed_id]} — {e.title}" for e in entries]
    lines.append("Publier : !annonce veille <n°> — Écarter : !veille ignorer <n°>")
    ctx.reply("\n".join(lines))


async def _feed_names(repos: Repositories, entries: Sequence[StoredEntry]) -> dict[int, str]:
    names: dict[int, str] = {}
    for entry in entries:
        if entry.feed_id not in names:
            feed = await repos.feeds.get(entry.feed_id)
            names[entry.feed_id] = feed.name if feed else "source retirée"
    return names


async def _ignore_entry(ctx: Context, number: int) -> None:
    entry = await ctx.repos.feeds.entry(number)
    if entry is None or entry.status in ("seen", "filtered"):
        raise NotFound(
            f"Aucune proposition n° {number}. "
            "Tapez !veille propositions pour voir celles en attente."
        )
    if entry.status == "published":
        raise UserError(f"La proposition n° {number} a déjà été publiée.")
    if entry.status == "ignored":
        raise UserError(f"La proposition n° {number} a déjà été écartée.")
    await ctx.repos.feeds.set_entry_status(entry.id, "ignored", ctx.sender, ctx.now)
    ctx.reply(f"Proposition n° {number} écartée : {entry.title}.")


# --- reactions to proposals --------------------------------------------------------------


@router.on(IncomingReaction)
async def on_reaction(ctx: Context, reaction: IncomingReaction) -> None:
    decision = reaction_decision(reaction.key)
    if decision is None:
        return
    post = await ctx.repos.posts.by_event_id(reaction.target_event_id)
    if post is None or post.kind != PROPOSAL_KIND or post.ref_type != ENTRY_REF:
        return
    if post.ref_id is None or not ctx.is_admin:
        return
    entry = await ctx.repos.feeds.entry(post.ref_id)
    if entry is None or entry.status != "proposed":
        return  # already decided (by another reaction or a command): nothing to do
    if decision == "ignore":
        await ctx.repos.feeds.set_entry_status(entry.id, "ignored", ctx.sender, ctx.now)
        return
    try:
        await publish_entry(
            ctx.repos,
            ctx.messenger,
            ctx.settings,
            entry_id=entry.id,
            author=ctx.sender,
            comment=None,
            now=ctx.now,
            request_room=post.room_id,
            request_event=post.event_id,
        )
    except UserError as exc:
        ctx.messenger.send(
            post.room_id, exc.message, mentions=(ctx.sender,), reply_to=post.event_id, kind="reply"
        )


# --- the polling job ---------------------------------------------------------------------


async def poll_due_feeds(units: Units, *, timeout_s: float = FETCH_TIMEOUT_S) -> None:
    """Fetch every due feed (network outside transactions), then record each result."""
    async with units.unit() as ctx:
        due = [
            feed
            for feed in await ctx.repos.feeds.active()
            if feed.next_fetch_at is None or feed.next_fetch_at <= ctx.now
        ]
    if not due:
        return
    limit = asyncio.Semaphore(FETCH_CONCURRENCY)
    async with aiohttp.ClientSession() as session:
        outcomes = await asyncio.gather(*(fetch(session, limit, f, timeout_s) for f in due))
    for feed, outcome in zip(due, outcomes, strict=True):
        try:
            async with units.unit() as ctx:
                await record(ctx, feed.id, outcome)
        except Exception:
            log.exception("Recording the read of feed %d (%s) failed", feed.id, feed.url)


@router.job("veille", every_seconds=lambda s: min(60.0, s.feed_poll_minutes * 60))
async def poll_feeds(units: Units) -> None:
    await poll_due_feeds(units)
