"""`!veille`: news feeds read on a schedule, new articles proposed to the RUPN.

Feeds come from the config file (`[[feeds]]`) or from chat (`!veille ajouter`).
The `veille` job fetches the due feeds outside any transaction, then records
each result in its own unit of work: new entries become numbered proposals
posted to the curation rooms (or are published directly for `auto_publish`
feeds). A proposal is published with `!annonce veille <n°>` or a ✅ reaction,
and dismissed with `!veille ignorer <n°>` or a ❌ reaction.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import aiohttp

from bot.context import Context, JobContext, Repositories, Settings
from bot.dates import format_moment
from bot.domain import IncomingReaction
from bot.errors import InvalidArguments, NotFound, UserError
from bot.feeds.fetch import FeedFetchError, FetchResult, fetch_feed, next_retry_delay
from bot.feeds.parse import FeedEntry, ParsedFeed, parse_feed
from bot.messenger import Messenger
from bot.router import Router, normalize
from bot.storage.announcements import Announcement
from bot.storage.feeds import Feed, NewEntry, StoredEntry
from bot.work import Units
from handlers.publishing import diffusion_rooms, publish

log = logging.getLogger(__name__)

router = Router("veille")

PROPOSAL_KIND = "news-proposal"
NOTICE_KIND = "news-notice"
ENTRY_REF = "entry"
FAILURE_NOTICE_THRESHOLD = 3
"""Consecutive failed reads before the RUPN is told (once)."""
PROPOSALS_ON_SUBSCRIBE = 3
"""On the first read of a feed, only its most recent entries are proposed."""
MAX_PROPOSALS_PER_READ = 10
"""A feed that suddenly shows many new entries (changed ids…) does not flood the room."""
FETCH_CONCURRENCY = 4
FETCH_TIMEOUT_S = 20.0
AUTO_PUBLISH_AUTHOR = "rupn-bot"
"""`author` of the announcements of `auto_publish` feeds (nobody asked for them)."""

EXAMPLE_URL = "https://srane.ac-exemple.fr/spip.php?page=backend"
EXAMPLE_ADD = f"!veille ajouter {EXAMPLE_URL} SRANE"

PUBLISH_KEYS = frozenset({"✅", "✔", "☑"})
IGNORE_KEYS = frozenset({"❌", "✖"})
_VARIATION_SELECTORS = str.maketrans("", "", "\ufe0e\ufe0f")


# --- arguments ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AddFeed:
    url: str
    name: str | None


@dataclass(frozen=True)
class ListFeeds:
    pass


@dataclass(frozen=True)
class RemoveFeed:
    number: int


@dataclass(frozen=True)
class ListProposals:
    pass


@dataclass(frozen=True)
class IgnoreEntry:
    number: int


VeilleAction = AddFeed | ListFeeds | RemoveFeed | ListProposals | IgnoreEntry

_ACTIONS = {
    "ajouter": "ajouter",
    "ajout": "ajouter",
    "liste": "liste",
    "lister": "liste",
    "retirer": "retirer",
    "supprimer": "retirer",
    "propositions": "propositions",
    "proposition": "propositions",
    "ignorer": "ignorer",
    "ecarter": "ignorer",
}
ACTIONS_TEXT = "ajouter, liste, retirer, propositions ou ignorer"


def parse_number(text: str, action: str) -> int:
    """`12`, `n°12`, `n° 12` or `#12` → 12."""
    cleaned = text.strip().removeprefix("#").removeprefix("n°").removeprefix("N°").strip()
    if not cleaned:
        raise InvalidArguments(f"Indiquez le numéro voulu, par exemple : !veille {action} 3.")
    if not cleaned.isdigit() or not cleaned.isascii():
        raise InvalidArguments(f"« {text.strip()} » n’est pas un numéro.")
    return int(cleaned)


def parse_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidArguments(
            f"« {text} » n’est pas l’adresse d’un flux : elle doit commencer par "
            "http:// ou https://."
        )
    return text


def parse_veille(text: str) -> VeilleAction:
    words = text.split(maxsplit=1)
    if not words:
        raise InvalidArguments(f"Précisez ce que vous voulez faire : {ACTIONS_TEXT}.")
    action = _ACTIONS.get(normalize(words[0]))
    rest = words[1].strip() if len(words) > 1 else ""
    if action is None:
        raise InvalidArguments(
            f"Action inconnue : « {words[0]} ». Actions possibles : {ACTIONS_TEXT}."
        )
    if action == "ajouter":
        if not rest:
            raise InvalidArguments("Indiquez l’adresse du flux à suivre.")
        url, *name = rest.split(maxsplit=1)
        return AddFeed(parse_url(url), name[0].strip() if name else None)
    if action == "liste":
        return ListFeeds()
    if action == "propositions":
        return ListProposals()
    if action == "retirer":
        return RemoveFeed(parse_number(rest, "retirer"))
    return IgnoreEntry(parse_number(rest, "ignorer"))


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


def feed_status(feed: Feed, tz: ZoneInfo) -> str:
    if feed.failures >= FAILURE_NOTICE_THRESHOLD:
        return (
            f"en échec depuis {feed.failures} tentatives "
            f"(dernière erreur : {feed.last_error or 'inconnue'})"
        )
    if feed.last_success_at is None:
        return "pas encore lue"
    return f"OK, lue le {format_moment(feed.last_success_at, tz)}"


def feed_line(feed: Feed, settings: Settings) -> str:
    origin = (
        "configuration" if feed.origin == "config" else f"ajoutée par {feed.added_by or 'inconnu'}"
    )
    options = " ; publication automatique" if feed.auto_publish else ""
    return (
        f"n° {feed.id} · {feed.name} ({feed.url}) — {origin}{options} — "
        f"{feed_status(feed, settings.tz)}"
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


# --- publishing an entry -----------------------------------------------------------------


def entry_announcement(entry: StoredEntry, source: str, comment: str | None) -> tuple[str, str]:
    """Plain body and HTML of the announcement of a feed entry."""
    lines = [f"📰 {entry.title} — {source}"]
    if entry.summary_text:
        lines.append(entry.summary_text)
    if entry.link:
        lines.append(entry.link)
    body = "\n".join(lines)
    title = f"<strong>{html.escape(entry.title)}</strong>"
    if entry.link:
        title = (
            f'<strong><a href="{html.escape(entry.link)}">{html.escape(entry.title)}</a></strong>'
        )
    parts = [f"<p>{title} — {html.escape(source)}</p>"]
    if entry.summary_html:
        parts.append(entry.summary_html)
    if comment:
        body = f"{comment}\n\n{body}"
        parts.insert(0, "<p>" + html.escape(comment).replace("\n", "<br>") + "</p>")
    return body, "\n".join(parts)


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


# --- reactions to proposals --------------------------------------------------------------


def reaction_decision(key: str) -> Literal["publish", "ignore"] | None:
    bare = key.translate(_VARIATION_SELECTORS).strip()
    if bare in PUBLISH_KEYS:
        return "publish"
    if bare in IGNORE_KEYS:
        return "ignore"
    return None


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


def proposal_message(entry: StoredEntry, source: str, settings: Settings) -> tuple[str, str]:
    """Plain text and HTML of the post offering an entry to the RUPN."""
    n = entry.id
    actions = (
        f"Publier : !annonce veille {n} (ou réagissez ✅) — Écarter : !veille ignorer {n} (ou ❌)"
    )
    lines = [f"📰 Proposition n° {n} — {source}", entry.title]
    date = f"publié le {format_moment(entry.published, settings.tz)}" if entry.published else None
    if date:
        lines.append(date)
    if entry.summary_text:
        lines.append(entry.summary_text)
    if entry.link:
        lines.append(entry.link)
    lines.append(actions)
    title = html.escape(entry.title)
    if entry.link:
        title = f'<a href="{html.escape(entry.link)}">{title}</a>'
    heading = f"<strong>{title}</strong>" + (f"<br>{html.escape(date)}" if date else "")
    parts = [
        f"<p>📰 Proposition n° {n} — {html.escape(source)}</p>",
        f"<p>{heading}</p>",
        entry.summary_html,
        f"<p>{html.escape(actions)}</p>",
    ]
    return "\n".join(lines), "\n".join(p for p in parts if p)


def notify(ctx: JobContext, text: str) -> None:
    if not ctx.settings.curation_rooms:
        log.warning("No curation room for this notice: %s", text)
    for room in ctx.settings.curation_rooms:
        ctx.messenger.send(room, text, kind=NOTICE_KIND)


def _words_pattern(words: Sequence[str]) -> re.Pattern[str] | None:
    cleaned = [normalize(w).strip() for w in words if w.strip()]
    if not cleaned:
        return None
    alternatives = "|".join(re.escape(w) for w in cleaned)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def passes_filters(entry: FeedEntry, feed: Feed) -> bool:
    """Include/exclude keywords, as whole words, ignoring case and accents."""
    text = normalize(f"{entry.title} {entry.summary_text}")
    include = _words_pattern(feed.include)
    exclude = _words_pattern(feed.exclude)
    if include is not None and not include.search(text):
        return False
    return exclude is None or not exclude.search(text)


_OLDEST = datetime.min.replace(tzinfo=UTC)


def newest_first(entries: Sequence[FeedEntry]) -> list[FeedEntry]:
    """By publication date when known, else in feed order (feeds list newest first)."""
    order = sorted(
        range(len(entries)),
        key=lambda i: (entries[i].published is not None, entries[i].published or _OLDEST, -i),
        reverse=True,
    )
    return [entries[i] for i in order]


def _new_entry(entry: FeedEntry) -> NewEntry:
    return NewEntry(
        entry_key=entry.key,
        title=entry.title,
        link=entry.link,
        published=entry.published,
        summary_html=entry.summary_html,
        summary_text=entry.summary_text,
    )


def describe_error(error: FeedFetchError) -> str:
    """A short French description of a fetch error, for the RUPN."""
    reason = error.reason
    if reason.startswith("HTTP "):
        return f"le serveur a répondu {reason.split()[1]}"
    if reason.startswith("timeout"):
        return "délai de réponse dépassé"
    if reason.startswith("body too large"):
        return "flux trop volumineux"
    if reason.startswith("invalid request"):
        return "adresse invalide"
    if reason.startswith("network error"):
        return "serveur injoignable"
    return "erreur inattendue"


@dataclass(frozen=True)
class FeedRead:
    """A successful read: the HTTP result and, unless it was a 304, the parsed feed."""

    result: FetchResult
    parsed: ParsedFeed | None


async def _fetch(
    session: aiohttp.ClientSession, limit: asyncio.Semaphore, feed: Feed, timeout_s: float
) -> FeedRead | FeedFetchError:
    async with limit:
        try:
            result = await fetch_feed(
                session,
                feed.url,
                etag=feed.etag,
                last_modified=feed.last_modified,
                timeout_s=timeout_s,
            )
            parsed = None
            if result.status != 304 and result.body is not None:
                # Parsing a large feed takes tens of ms: off the event loop, outside transactions.
                parsed = await asyncio.to_thread(
                    parse_feed, result.body, result.final_url, content_type=result.content_type
                )
            return FeedRead(result, parsed)
        except FeedFetchError as exc:
            log.info("Feed %d (%s) not read: %s", feed.id, feed.url, exc.reason)
            return exc
        except Exception as exc:
            log.exception("Unexpected error fetching feed %d (%s)", feed.id, feed.url)
            return FeedFetchError(f"unexpected error: {exc!r}")


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
        outcomes = await asyncio.gather(*(_fetch(session, limit, f, timeout_s) for f in due))
    for feed, outcome in zip(due, outcomes, strict=True):
        try:
            async with units.unit() as ctx:
                await _record(ctx, feed.id, outcome)
        except Exception:
            log.exception("Recording the read of feed %d (%s) failed", feed.id, feed.url)


@router.job("veille", every_seconds=lambda s: min(60.0, s.feed_poll_minutes * 60))
async def poll_feeds(units: Units) -> None:
    await poll_due_feeds(units)


async def _record(ctx: JobContext, feed_id: int, outcome: FeedRead | FeedFetchError) -> None:
    feed = await ctx.repos.feeds.get(feed_id)
    if feed is None or not feed.active:
        return  # removed while it was being fetched
    if isinstance(outcome, FeedFetchError):
        await _record_failure(ctx, feed, outcome)
    else:
        await _record_success(ctx, feed, outcome)


async def _record_failure(ctx: JobContext, feed: Feed, error: FeedFetchError) -> None:
    failures = feed.failures + 1
    poll_s = ctx.settings.feed_poll_minutes * 60
    delay = max(poll_s, next_retry_delay(failures))
    description = describe_error(error)
    notify_now = failures >= FAILURE_NOTICE_THRESHOLD and not feed.failing_notified
    await ctx.repos.feeds.record_failure(
        feed.id,
        error=description,
        next_fetch_at=ctx.now + timedelta(seconds=delay),
        notified=feed.failing_notified or notify_now,
    )
    if notify_now:
        notify(
            ctx,
            f"⚠️ La source « {feed.name} » est injoignable depuis {failures} tentatives "
            f"(erreur : {description}). Elle apparaît en échec dans !veille liste ; "
            "le bot réessaiera de lui-même.",
        )


async def _record_success(ctx: JobContext, feed: Feed, read: FeedRead) -> None:
    result = read.result
    await ctx.repos.feeds.record_success(
        feed.id,
        etag=result.etag,
        last_modified=result.last_modified,
        next_fetch_at=ctx.now + timedelta(minutes=ctx.settings.feed_poll_minutes),
        now=ctx.now,
    )
    if feed.failing_notified:
        notify(ctx, f"✅ La source « {feed.name} » répond de nouveau.")
    parsed = read.parsed
    if parsed is None:
        return
    known = await ctx.repos.feeds.known_keys(feed.id)
    fresh: dict[str, FeedEntry] = {}
    for entry in parsed.entries:
        if entry.key not in known and entry.key not in fresh:
            fresh[entry.key] = entry
    if not fresh:
        return
    kept = [e for e in fresh.values() if passes_filters(e, feed)]
    filtered = [_new_entry(e) for e in fresh.values() if not passes_filters(e, feed)]
    await ctx.repos.feeds.add_entries(feed.id, filtered, "filtered", ctx.now)
    limit = MAX_PROPOSALS_PER_READ if feed.primed else PROPOSALS_ON_SUBSCRIBE
    ordered = newest_first(kept)
    offered, skipped = ordered[:limit], ordered[limit:]
    if skipped and feed.primed:
        log.warning("Feed %d: %d new entries not proposed (too many)", feed.id, len(skipped))
    await ctx.repos.feeds.add_entries(
        feed.id, [_new_entry(e) for e in reversed(skipped)], "seen", ctx.now
    )
    stored = await ctx.repos.feeds.add_entries(
        feed.id, [_new_entry(e) for e in reversed(offered)], "proposed", ctx.now
    )
    for proposal in stored:
        if feed.auto_publish and feed.primed and await _auto_publish(ctx, proposal):
            continue
        _propose(ctx, proposal, feed.name)


async def _auto_publish(ctx: JobContext, entry: StoredEntry) -> bool:
    try:
        await publish_entry(
            ctx.repos,
            ctx.messenger,
            ctx.settings,
            entry_id=entry.id,
            author=AUTO_PUBLISH_AUTHOR,
            comment=None,
            now=ctx.now,
            request_room=None,
            request_event=None,
        )
    except UserError as exc:
        log.warning("Entry %d not published automatically: %s", entry.id, exc.message)
        return False
    return True


def _propose(ctx: JobContext, entry: StoredEntry, source: str) -> None:
    if not ctx.settings.curation_rooms:
        log.warning(
            "No curation room: proposal %d waits in !veille propositions (set bot.curation_room)",
            entry.id,
        )
        return
    text, body_html = proposal_message(entry, source, ctx.settings)
    for room in ctx.settings.curation_rooms:
        ctx.messenger.send(
            room, text, html=body_html, kind=PROPOSAL_KIND, ref=(ENTRY_REF, entry.id)
        )
