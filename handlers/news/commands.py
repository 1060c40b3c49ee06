"""`!veille`: news feeds read on a schedule, new articles proposed to the RUPN.

Feeds come from the config file (`[[feeds]]`) or from chat (`!veille ajouter`).
The `veille` job (handlers/news/polling.py) fetches the due feeds outside any
transaction, then records each result in its own unit of work: new entries
become numbered proposals posted to the curation rooms (or are published
directly for `auto_publish` feeds). A proposal is published with `!annonce
veille <n°>` or a ✅ reaction, and dismissed with `!veille ignorer <n°>` or a ❌
reaction (handlers/news/curation.py). Arguments are parsed in
handlers/news/args.py; texts and pure decisions are in handlers/news/texts.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import assert_never
from urllib.parse import urlsplit

from bot.context import Context, Repositories
from bot.domain import IncomingReaction
from bot.errors import NotFound, PermissionDenied, UserError
from bot.router import Router
from bot.storage.feeds import Feed, StoredEntry
from bot.tenancy import ROOM_OF_ANOTHER_SCHOOL_TEXT
from handlers.news import curation, polling
from handlers.news.args import (
    AddFeed,
    CurateHere,
    IgnoreEntry,
    ListFeeds,
    ListProposals,
    RemoveFeed,
    VeilleAction,
    parse_veille,
)
from handlers.news.texts import feed_line

router = Router("veille")

EXAMPLE_URL = "https://srane.ac-exemple.fr/spip.php?page=backend"
EXAMPLE_ADD = f"!veille ajouter {EXAMPLE_URL} SRANE"


# --- commands ----------------------------------------------------------------------------


@router.command(
    "veille",
    summary="veille d’actualités : sources suivies et articles proposés au tri",
    usage="ajouter|liste|retirer|propositions|ignorer|ici …",
    example=EXAMPLE_ADD,
    admin=True,
    parse=parse_veille,
    details=(
        "- !veille ajouter <adresse du flux> [nom] — suit un nouveau flux RSS ou Atom\n"
        "- !veille liste — les sources suivies et leur état\n"
        "- !veille retirer <n°> — ne plus suivre une source\n"
        "- !veille propositions — les articles en attente de tri\n"
        "- !veille ignorer <n°> — écarte un article proposé (ou réagissez ❌)\n"
        "- !veille ici — les propositions et les alertes de la veille arrivent dans ce salon\n"
        "Pour publier un article proposé : !annonce veille <n°> (ou réagissez ✅)."
    ),
)
async def veille(ctx: Context, action: VeilleAction) -> None:
    match action:
        case AddFeed():
            await _add_feed(ctx, action)
        case ListFeeds():
            await _list_feeds(ctx)
        case RemoveFeed(number=number):
            await _remove_feed(ctx, number)
        case ListProposals():
            await _list_proposals(ctx)
        case IgnoreEntry(number=number):
            entry = await curation.ignore_entry(ctx, number, ctx.sender)
            ctx.reply(f"Proposition n° {number} écartée : {entry.title}.")
        case CurateHere():
            await _curate_here(ctx)
        case _:
            assert_never(action)


async def _add_feed(ctx: Context, action: AddFeed) -> None:
    feeds = ctx.repos.feeds
    existing = await feeds.by_url(action.url)
    if existing is not None and not feeds.owns(existing):
        raise UserError(
            "Cette source est déjà suivie par un autre établissement servi par rupn-bot (ou "
            "par toute l’académie) : elle ne peut pas être ajoutée une seconde fois."
        )
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


async def _curate_here(ctx: Context) -> None:
    """The room becomes the school's curation room (and the school's, if nobody's yet)."""
    if await ctx.repos.rooms.claim(ctx.room_id, ctx.school.key, ctx.now) != ctx.school.key:
        raise PermissionDenied(ROOM_OF_ANOTHER_SCHOOL_TEXT)
    name = ctx.info.room_name(ctx.room_id)
    if await ctx.repos.curation_rooms.get() == ctx.room_id:
        ctx.reply(f"Le salon « {name} » reçoit déjà les propositions de la veille.")
        return
    await ctx.repos.curation_rooms.set(ctx.room_id, ctx.now)
    ctx.reply(
        f"Le salon « {name} » recevra désormais les propositions de la veille "
        "(articles à publier ou à écarter) et les alertes sur les sources."
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
    lines += [f"n° {e.number} · {names[e.feed_id]} — {e.title}" for e in entries]
    lines.append("Publier : !annonce veille <n°> — Écarter : !veille ignorer <n°>")
    ctx.reply("\n".join(lines))


async def _feed_names(repos: Repositories, entries: Sequence[StoredEntry]) -> dict[int, str]:
    names: dict[int, str] = {}
    for entry in entries:
        if entry.feed_id not in names:
            names[entry.feed_id] = await curation.source_name(repos, entry.feed_id)
    return names


# --- declared here, written elsewhere ------------------------------------------------------

router.on(IncomingReaction)(curation.on_reaction)
router.job("veille", every_seconds=polling.tick_seconds, per_school=False)(polling.poll_feeds)
