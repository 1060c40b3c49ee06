"""The `veille` job: read the due feeds and record each result.

One job for the whole bot: `poll_due_feeds` fetches every due feed of every school once,
outside any transaction (`fetch`; an académie's source is read once, not once per
school), then `record`s each result: each school that sees the feed gets, in its own unit
of work, the notice of lasting failures and its new entries proposed in its curation
rooms (or published, for `auto_publish` feeds, in its diffusion rooms); then the feed's
state is updated, its next read set one period after this one began (not after it ended,
which the next tick would come just short of). The job is registered on the `!veille`
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
from handlers.news.rooms import curation_rooms
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


def notify(ctx: Scope, text: str, rooms: tuple[str, ...]) -> None:
    if not rooms:
        log.warning("No curation room for this notice (school %r): %s", ctx.school.key, text)
    for room in rooms:
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


def readers_of(units: Units, feed: Feed) -> list[Units]:
    """The units of the schools that see `feed`: its school, or every school served for a
    source of the config file's [[feeds]] (the académie's, or a single-school bot's)."""
    return [
        units.for_school(school)
        for school in units.schools
        if feed.school is None or feed.school == school.key
    ]


def failure_notice(feed: Feed, error: FeedFetchError) -> str | None:
    """The notice owed to the RUPN for this failed read; None: none yet, or already told."""
    failures = feed.failures + 1
    if failures < FAILURE_NOTICE_THRESHOLD or feed.failing_notified:
        return None
    return (
        f"⚠️ La source « {feed.name} » est injoignable depuis {failures} tentatives "
        f"(erreur : {describe_error(error)}). Elle apparaît en échec dans !veille liste ; "
        "le bot réessaiera de lui-même."
    )


async def record(
    units: Units, feed: Feed, outcome: FeedRead | FeedFetchError, began: datetime
) -> None:
    """Offer a read that `began` at that moment (the tick's) to each school that sees the
    feed, each in its own unit of work, then record the read in the feed's state: a crash
    in between re-reads the feed, and each school's known entries are not offered twice."""
    readers = readers_of(units, feed)
    async with units.unit() as ctx:
        current = await ctx.repos.feeds.by_url(feed.url)
    if not readers or current is None or current.id != feed.id or not current.active:
        return  # removed while it was being fetched, or its school is no longer served
    notice: str | None = None
    parsed: ParsedFeed | None = None
    if isinstance(outcome, FeedFetchError):
        notice = failure_notice(current, outcome)
    else:
        parsed = outcome.parsed
        if current.failing_notified:
            notice = f"✅ La source « {current.name} » répond de nouveau."
    if notice is not None or (parsed is not None and parsed.entries):
        for scoped in readers:  # (nothing to offer: no direct room is opened for it)
            try:
                await _offer(scoped, current, parsed, notice)
            except Exception:
                log.exception(
                    "Offering feed %d to school %r failed", feed.id, scoped.settings.school.key
                )
    async with units.unit() as ctx:
        poll_s = ctx.settings.feed_poll_minutes * 60
        if isinstance(outcome, FeedFetchError):
            delay = max(poll_s, next_retry_delay(current.failures + 1))
            await ctx.repos.feeds.record_failure(
                current.id,
                error=describe_error(outcome),
                next_fetch_at=began + timedelta(seconds=delay),
                notified=current.failing_notified or notice is not None,
            )
        else:
            await ctx.repos.feeds.record_success(
                current.id,
                etag=outcome.result.etag,
                last_modified=outcome.result.last_modified,
                next_fetch_at=began + timedelta(seconds=poll_s),
                now=ctx.now,
            )


async def _offer(units: Units, feed: Feed, parsed: ParsedFeed | None, notice: str | None) -> None:
    rooms = await curation_rooms(units)
    async with units.unit() as ctx:
        if notice is not None:
            notify(ctx, notice, rooms)
        if parsed is not None:
            await _offer_entries(ctx, feed, parsed, rooms)


async def _offer_entries(
    ctx: Scope, feed: Feed, parsed: ParsedFeed, rooms: tuple[str, ...]
) -> None:
    """Store the school's new entries; propose (or publish) the latest of them."""
    known = await ctx.repos.feeds.known_keys(feed.id)
    fresh: dict[str, FeedEntry] = {}
    for entry in parsed.entries:
        if entry.key not in known and entry.key not in fresh:
            fresh[entry.key] = entry
    if not fresh:
        return
    # A school that comes to a source already read (an académie's, after a reload of the
    # directory) starts like a new subscriber: a few proposals, nothing published.
    primed = feed.primed and (bool(known) or feed.school is not None or ctx.school.implicit)
    kept = [e for e in fresh.values() if passes_filters(e, feed)]
    filtered = [_new_entry(e) for e in fresh.values() if not passes_filters(e, feed)]
    await ctx.repos.feeds.add_entries(feed.id, filtered, "filtered", ctx.now)
    limit = MAX_PROPOSALS_PER_READ if primed else PROPOSALS_ON_SUBSCRIBE
    ordered = newest_first(kept)
    offered, skipped = ordered[:limit], ordered[limit:]
    if skipped and primed:
        log.warning("Feed %d: %d new entries not proposed (too many)", feed.id, len(skipped))
    await ctx.repos.feeds.add_entries(
        feed.id, [_new_entry(e) for e in reversed(skipped)], "seen", ctx.now
    )
    stored = await ctx.repos.feeds.add_entries(
        feed.id, [_new_entry(e) for e in reversed(offered)], "proposed", ctx.now
    )
    for proposal in stored:
        if feed.auto_publish and primed and await _auto_publish(ctx, proposal):
            continue
        _propose(ctx, proposal, feed.name, rooms)


async def _auto_publish(ctx: Scope, entry: StoredEntry) -> bool:
    try:
        await publish_entry(ctx, entry.number, Request(AUTO_PUBLISH_AUTHOR))
    except UserError as exc:
        log.warning("Entry %d not published automatically: %s", entry.id, exc.message)
        return False
    return True


def _propose(ctx: Scope, entry: StoredEntry, source: str, rooms: tuple[str, ...]) -> None:
    if not rooms:
        log.warning(
            "No curation room: proposal %d of school %r waits in !veille propositions"
            " (!veille ici, or bot.curation_room)",
            entry.number,
            ctx.school.key,
        )
        return
    text, body_html = proposal_message(entry, source, ctx.settings)
    for room in rooms:
        ctx.messenger.send(
            room, text, html=body_html, kind=PROPOSAL_KIND, ref=(ENTRY_REF, entry.id)
        )


async def poll_due_feeds(units: Units, *, timeout_s: float = FETCH_TIMEOUT_S) -> None:
    """Fetch every due feed (network outside transactions), then record each result."""
    async with units.unit() as ctx:
        began = ctx.now
        served = {school.key for school in units.schools}
        due = [
            feed
            for feed in await ctx.repos.feeds.every_active()
            if (feed.school is None or feed.school in served) and is_due(feed, began, ctx.settings)
        ]  # a source of a school no longer served is not read (nobody would get it)
    if not due:
        return
    limit = asyncio.Semaphore(FETCH_CONCURRENCY)
    async with aiohttp.ClientSession() as session:
        outcomes = await asyncio.gather(*(fetch(session, limit, f, timeout_s) for f in due))
    for feed, outcome in zip(due, outcomes, strict=True):
        try:
            await record(units, feed, outcome, began)
        except Exception:
            log.exception("Recording the read of feed %d (%s) failed", feed.id, feed.url)


async def poll_feeds(units: Units) -> None:
    """The `veille` job."""
    await poll_due_feeds(units)
