"""Parse feed bytes with feedparser into sanitised, shortened entries.

Relative links resolve against the feed URL; summaries are reduced to the
Matrix HTML subset (via `bot.formatting.sanitize_html`) and shortened.
Malformed feeds never raise: a broken entry is skipped and logged.

feedparser (about 1.5 MiB with its sanitiser and date parsers) is imported by
`parse_feed`, at the first feed read: a bot without feeds never pays for it.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from bot.formatting import sanitize_html

log = logging.getLogger(__name__)

ELLIPSIS = "…"
# ASCII whitespace only: keep the non-breaking spaces of French typography.
_WHITESPACE = re.compile(r"[ \t\n\r\f\v]+")
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "br", "hr", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
        "blockquote", "pre", "table", "tr", "td", "th", "caption", "details", "summary",
    }
)  # fmt: skip
_VOID_TAGS = frozenset({"br", "hr", "img"})


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One feed item, ready to be proposed: HTML already in the Matrix subset."""

    key: str
    title: str
    link: str | None
    published: datetime | None
    summary_html: str
    summary_text: str


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    entries: tuple[FeedEntry, ...]
    bozo: bool


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, whitespace collapsed."""
    extractor = _TextExtractor()
    extractor.feed(fragment)
    extractor.close()
    return _WHITESPACE.sub(" ", "".join(extractor.parts)).strip()


def shorten_text(text: str, limit: int) -> str:
    """Cut `text` to about `limit` characters at a word boundary, adding « … »."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + ELLIPSIS


class _HtmlTruncator(HTMLParser):
    """Re-emit sanitised HTML until `limit` characters of text, then stop.

    Images left without a source (their non-mxc src was dropped) are removed.

    Unclosed tags are closed afterwards by `sanitize_html` (nh3/html5ever).
    """

    def __init__(self, limit: int) -> None:
        super().__init__(convert_charrefs=True)
        self.remaining = limit
        self.out: list[str] = []
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "img" and not dict(attrs).get("src"):
            return  # sanitize_html left an image whose non-mxc src it dropped
        rendered = "".join(
            f' {name}="{html.escape(value or "", quote=True)}"' for name, value in attrs
        )
        self.out.append(f"<{tag}{rendered}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if not self.done and tag not in _VOID_TAGS:
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self.done:
            return
        collapsed = _WHITESPACE.sub(" ", data)
        if len(collapsed) <= self.remaining:
            self.remaining -= len(collapsed)
            self.out.append(html.escape(collapsed, quote=False))
            return
        self.out.append(html.escape(shorten_text(collapsed, self.remaining), quote=False))
        self.done = True


def shorten_html(safe_html: str, limit: int) -> str:
    """Shorten already-sanitised HTML to about `limit` characters of text."""
    truncator = _HtmlTruncator(limit)
    truncator.feed(safe_html)
    truncator.close()
    if not truncator.done and "<img" not in safe_html:
        return safe_html
    return sanitize_html("".join(truncator.out))


def _to_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        # feedparser's *_parsed values are time.struct_time in UTC.
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _entry_date(entry: Mapping[str, Any]) -> datetime | None:
    # SPIP's dc:date lands in updated_parsed (feedparser maps dc:date to "updated").
    for field in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = _to_datetime(entry.get(field))
        if parsed is not None:
            return parsed
    return None


def _plain_title(value: Any, detail: Any) -> str:
    title = str(value or "")
    kind = str(detail.get("type", "")) if isinstance(detail, Mapping) else ""
    if "html" in kind:
        return html_to_text(title)
    return _WHITESPACE.sub(" ", title).strip()


def _raw_summary(entry: Mapping[str, Any]) -> str:
    summary = entry.get("summary")
    if summary:
        return str(summary)
    for content in entry.get("content") or ():
        value = content.get("value") if isinstance(content, Mapping) else None
        if value:
            return str(value)
    return ""


def _entry(entry: Mapping[str, Any], summary_chars: int) -> FeedEntry:
    title = _plain_title(entry.get("title"), entry.get("title_detail"))
    link_value = entry.get("link")
    link = str(link_value).strip() if link_value else None
    safe = sanitize_html(_raw_summary(entry))
    text = html_to_text(safe)
    summary_text = shorten_text(text, summary_chars)
    summary_html = shorten_html(safe, summary_chars)
    guid = str(entry.get("id") or "").strip()
    if guid:
        key = guid
    elif link:
        key = link
    else:
        digest = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
        key = f"sha256:{digest}"
    return FeedEntry(
        key=key,
        title=title,
        link=link or None,
        published=_entry_date(entry),
        summary_html=summary_html,
        summary_text=summary_text,
    )


def parse_feed(
    body: bytes,
    base_url: str,
    *,
    summary_chars: int = 400,
    content_type: str | None = None,
) -> ParsedFeed:
    """Parse feed bytes; relative links resolve against `base_url`.

    `content_type` is the HTTP Content-Type when known. Without one we declare
    generic XML: feedparser otherwise flags the feed as bozo and falls back to
    ISO-8859-1 even for documents declaring UTF-8.
    """
    headers = {
        "content-location": base_url,
        "content-type": content_type or "application/xml",
    }
    import feedparser  # on first use: see the module's docstring

    try:
        result = feedparser.parse(body, response_headers=headers)
    except Exception:  # feedparser should not raise, but a feed must never crash us
        log.exception("feedparser failed on %s", base_url)
        return ParsedFeed(title="", entries=(), bozo=True)
    feed_info = result.get("feed") or {}
    try:
        feed_title = _plain_title(feed_info.get("title"), feed_info.get("title_detail"))
    except Exception:
        log.exception("unreadable feed title in %s", base_url)
        feed_title = ""
    entries: list[FeedEntry] = []
    for index, raw in enumerate(result.get("entries") or ()):
        try:
            entries.append(_entry(raw, summary_chars))
        except Exception:
            log.exception("skipping entry %d of %s", index, base_url)
    return ParsedFeed(title=feed_title, entries=tuple(entries), bozo=bool(result.get("bozo")))
