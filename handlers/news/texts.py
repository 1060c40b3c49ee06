"""Texts of the news watch (proposals, announcements, feed states) and its pure decisions.

The keyword filters, the order in which new entries are offered and the meaning
of a reaction on a proposal live here too: none of them does any I/O.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from bot.context import Settings
from bot.dates import format_when
from bot.feeds.fetch import FeedFetchError
from bot.feeds.parse import FeedEntry
from bot.router import normalize
from bot.storage.feeds import Feed, StoredEntry

PROPOSAL_KIND = "news-proposal"
NOTICE_KIND = "news-notice"
ENTRY_REF = "entry"
FAILURE_NOTICE_THRESHOLD = 3
"""Consecutive failed reads before the RUPN is told (once)."""

PUBLISH_KEYS = frozenset({"✅", "✔", "☑"})
IGNORE_KEYS = frozenset({"❌", "✖"})
_VARIATION_SELECTORS = str.maketrans("", "", "\ufe0e\ufe0f")


def feed_status(feed: Feed, tz: ZoneInfo) -> str:
    if feed.failures >= FAILURE_NOTICE_THRESHOLD:
        return (
            f"en échec depuis {feed.failures} tentatives "
            f"(dernière erreur : {feed.last_error or 'inconnue'})"
        )
    if feed.last_success_at is None:
        return "pas encore lue"
    return f"OK, lue le {format_when(feed.last_success_at, tz, with_year=True)}"


def feed_line(feed: Feed, settings: Settings) -> str:
    origin = (
        "configuration" if feed.origin == "config" else f"ajoutée par {feed.added_by or 'inconnu'}"
    )
    options = " ; publication automatique" if feed.auto_publish else ""
    return (
        f"n° {feed.id} · {feed.name} ({feed.url}) — {origin}{options} — "
        f"{feed_status(feed, settings.tz)}"
    )


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


def reaction_decision(key: str) -> Literal["publish", "ignore"] | None:
    bare = key.translate(_VARIATION_SELECTORS).strip()
    if bare in PUBLISH_KEYS:
        return "publish"
    if bare in IGNORE_KEYS:
        return "ignore"
    return None


def proposal_message(entry: StoredEntry, source: str, settings: Settings) -> tuple[str, str]:
    """Plain text and HTML of the post offering an entry to the RUPN."""
    n = entry.number
    actions = (
        f"Publier : !annonce veille {n} (ou réagissez ✅) — Écarter : !veille ignorer {n} (ou ❌)"
    )
    lines = [f"📰 Proposition n° {n} — {source}", entry.title]
    date = (
        f"publié le {format_when(entry.published, settings.tz, with_year=True)}"
        if entry.published
        else None
    )
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
