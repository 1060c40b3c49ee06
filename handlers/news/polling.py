"""The `veille` job: read the due feeds and record each result.

`poll_due_feeds` fetches every due feed outside any transaction (`fetch`), then
`record`s each result in its own unit of work: it sets the next read one period
after this one began (not after it ended, which the next tick would come just
short of), updates the feed's state,
tells the RUPN about lasting failures, and proposes (or publishes, for
`auto_publish` feeds) the new entries. The job is registered on the `!veille`
router in handlers/news/commands.py.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp

from bot.context import Scope, Settings
from bot.errors import UserError
from bot.feeds.fetch import FeedFetchError, FetchResult, fetch_feed, next_retry_delay
from bot.feeds.parse import FeedEntry, ParsedFeed, parse_feed
from bot.storage.feeds import Feed, NewEntry, StoredEntry
from bot.work import Units
from handlers.announcements.publishing import Request
from handlers.news.curation import publish_entry
from handlers.news.texts import (
    ENTRY_REF,
    FAILURE_NOTICE_THRESHOLD,
    NOTICE_KIND,
    PROPOSAL_KIND,
    describe_error,
    newest_first,
    passes_filters,
    proposal_message,
)

log = logging.getLogger(__name__)

PROPOSALS_ON_SUBSCRIBE = 3
"""On the first read of a feed, only its most recent entries are proposed."""
MAX_PROPOSALS_PER_READ = 10
"""A feed that suddenly shows many new entries (changed ids…) does not flood the room."""
FETCH_CONCURRENCY = 4
FETCH_TIMEOUT_S = 20.0
AUTO_PUBLISH_AUTHOR = "rupn-bot"
"""`author` of the announcements of `auto_publish` feeds (nobody asked for them)."""


def tick_seconds(settings: Settings) -> float:
    """How often the job looks for due feeds: every minute, or every period if shorter."""
    return min(60.0, settings.feed_poll_minutes * 60)


def is_due(feed: Feed, now: datetime, settings: Settings) -> bool:
    """Due by the middle of the next tick: a read set for 9h00 is not put off to 9h01
    because the 9h00 tick ran a few milliseconds early by the clock that set it."""
    horizon = now + timedelta(seconds=tick_seconds(settings) / 2)
    return feed.next_fetch_at is None or feed.next_fetch_at <= horizon


def notify(ctx: Scope, text: str) -> None:
    if not ctx.settings.curation_rooms:
        log.warning("No curation room for this notice: %s", text)
    for room in ctx.settings.curation_rooms:
        ctx.messenger.send(room, text, kind=NOTICE_KIND)


def _new_entry(entry: FeedEntry) -> NewEntry:
    return NewEntry(
        entry_key=entry.key,
        title=entry.title,
        link=entry.link,
        published=entry.published,
        summary_html=entry.summary_html,
        summary_text=entry.summary_text,
    )


@dataclass(frozen=True)
class FeedRead:
    """A successful read: the HTTP result and, unless it was a 304, the parsed feed."""

    result: FetchResult
    parsed: ParsedFeed | None


async def fetch(
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


async def record(
    ctx: Scope, feed_id: int, outcome: FeedRead | FeedFetchError, began: datetime
) -> None:
    """Record a read that `began` at that moment (the tick's), whenever it ended."""
    feed = await ctx.repos.feeds.get(feed_id)
    if feed is None or not feed.active:
        return  # removed while it was being fetched
    if isinstance(outcome, FeedFetchError):
        await _record_failure(ctx, feed, outcome, began)
    else:
        await _record_success(ctx, feed, outcome, began)


async def _record_failure(ctx: Scope, feed: Feed, error: FeedFetchError, began: datetime) -> None:
    failures = feed.failures + 1
    poll_s = ctx.settings.feed_poll_minutes * 60
    delay = max(poll_s, next_retry_delay(failures))
    description = describe_error(error)
    notify_now = failures >= FAILURE_NOTICE_THRESHOLD and not feed.failing_notified
    await ctx.repos.feeds.record_failure(
        feed.id,
        error=description,
        next_fetch_at=began + timedelta(seconds=delay),
        notified=feed.failing_notified or notify_now,
    )
    if notify_now:
        notify(
            ctx,
            f"⚠️ La source « {feed.name} » est injoignable depuis {failures} tentatives "
            f"(erreur : {description}). Elle apparaît en échec dans !veille liste ; "
            "le bot réessaiera de lui-même.",
        )


async def _record_success(ctx: Scope, feed: Feed, read: FeedRead, began: datetime) -> None:
    result = read.result
    await ctx.repos.feeds.record_success(
        feed.id,
        etag=result.etag,
        last_modified=result.last_modified,
        next_fetch_at=began + timedelta(minutes=ctx.settings.feed_poll_minutes),
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


async def _auto_publish(ctx: Scope, entry: StoredEntry) -> bool:
    try:
        await publish_entry(ctx, entry.id, Request(AUTO_PUBLISH_AUTHOR))
    except UserError as exc:
        log.warning("Entry %d not published automatically: %s", entry.id, exc.message)
        return False
    return True


def _propose(ctx: Scope, entry: StoredEntry, source: str) -> None:
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


async def poll_due_feeds(units: Units, *, timeout_s: float = FETCH_TIMEOUT_S) -> None:
    """Fetch every due feed (network outside transactions), then record each result."""
    async with units.unit() as ctx:
        began = ctx.now
        due = [f for f in await ctx.repos.feeds.active() if is_due(f, began, ctx.settings)]
    if not due:
        return
    limit = asyncio.Semaphore(FETCH_CONCURRENCY)
    async with aiohttp.ClientSession() as session:
        outcomes = await asyncio.gather(*(fetch(session, limit, f, timeout_s) for f in due))
    for feed, outcome in zip(due, outcomes, strict=True):
        try:
            async with units.unit() as ctx:
                await record(ctx, feed.id, outcome, began)
        except Exception:
            log.exception("Recording the read of feed %d (%s) failed", feed.id, feed.url)


async def poll_feeds(units: Units) -> None:
    """The `veille` job."""
    await poll_due_feeds(units)
