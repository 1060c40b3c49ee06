"""The one escaping rule: what a person or a feed typed is text until a renderer escapes it.

- Links: only http, https and mailto (matrix.to links are https) survive, everywhere:
  `safe_link` decides, for the sanitiser, the Markdown renderer and the templates.
- Matrix HTML: everything the bot puts in `formatted_body` goes through
  `sanitize_html` (the spec's subset; images only from mxc://), whether it comes from
  our own templates, a feed or a user; Markdown is rendered with raw HTML off.
- Templates (digests/templating.py): autoescape for HTML, `escape_markdown` for
  Markdown, `without_controls` for every value.
- Titles: `plain_text` turns Markdown into what a person reads (link text, no URL).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from html import escape
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

# Client-Server spec, "m.room.message msgtypes": the recommended HTML subset.
MATRIX_TAGS = frozenset(
    {
        "font",
        "del",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "p",
        "a",
        "ul",
        "ol",
        "sup",
        "sub",
        "li",
        "b",
        "i",
        "u",
        "strong",
        "em",
        "s",
        "code",
        "hr",
        "br",
        "div",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "caption",
        "pre",
        "span",
        "img",
        "details",
        "summary",
    }
)  # fmt: skip - the spec's list, as the spec lays it out
MATRIX_ATTRIBUTES: dict[str, set[str]] = {
    "font": {"color", "data-mx-bg-color", "data-mx-color"},
    "span": {"data-mx-bg-color", "data-mx-color", "data-mx-spoiler"},
    "a": {"href", "target"},
    "img": {"width", "height", "alt", "title", "src"},
    "ol": {"start"},
    "code": {"class"},
}
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
"""The only links we ever write; matrix.to links are https."""
URL_SCHEMES = LINK_SCHEMES | {"mxc"}  # nh3 applies these to img src too: mxc for images only

_LINK = re.compile(
    r"(?:https?://[^\s<>\"/?#\x00-\x1f\x7f]|mailto:[^\s<>\"])[^\s<>\"\x00-\x1f\x7f]*", re.I
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def safe_link(url: object) -> bool:
    """May `url` be the target of a link we write? Only http(s) to a host, and mailto."""
    return isinstance(url, str) and _LINK.fullmatch(url) is not None


def without_controls(text: str) -> str:
    """Control characters taken out (tabs and line breaks kept): they have no business in a page."""
    return _CONTROLS.sub("", text)


_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable("strikethrough")


def _image_as_link(
    renderer: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """Matrix shows only mxc:// images: any other becomes a link to it, named by its alt text."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    if src.startswith("mxc://"):
        return str(renderer.image(tokens, idx, options, env))
    alt = "".join(child.content for child in token.children or ()) or "image"
    return f'<a href="{escapeHtml(src)}">{escapeHtml(alt)}</a>'


_markdown.add_render_rule("image", _image_as_link)


_IMG_WITHOUT_SRC = re.compile(r"<img(?![^>]*\ssrc=)[^>]*?(?:\salt=\"(?P<alt>[^\"]*)\")?[^>]*>")
_BARE_LINK = re.compile(r"<a(?:\s+target=\"[^\"]*\")?>(?P<text>.*?)</a>", re.DOTALL)


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    # nh3's url_schemes applies to every URL attribute; images must be mxc://.
    if tag == "img" and attribute == "src" and not value.startswith("mxc://"):
        return None
    if tag == "a" and attribute == "href" and not safe_link(value):
        return None  # relative, mxc://, ftp… leads nowhere a teacher should go: text only
    if tag == "code" and attribute == "class":
        # The Matrix subset allows one token, language-*: "language-python evil" keeps the first.
        languages = [token for token in value.split() if token.startswith("language-")]
        return languages[0] if languages else None
    return value


# Enough for one post's fan-out (the same text to every room) to be rendered once. Not
# more: the texts that do not repeat (each room's letter, each feed entry) would stay
# cached for the bot's lifetime, about 7 KiB each (text and HTML), i.e. MiB in weeks.
HTML_CACHE_SIZE = 32


def _unwrap_dead_ends(html: str) -> str:
    """An image we cannot show becomes its alt text; a link without a target, its text."""
    html = _IMG_WITHOUT_SRC.sub(lambda m: m.group("alt") or "", html)
    return _BARE_LINK.sub(lambda m: m.group("text"), html)


@lru_cache(maxsize=1)
def _cleaner() -> nh3.Cleaner:
    """The Matrix subset's sanitizer, built once (per call, nh3.clean builds it again:
    a third of the time of each of an académie's 3,000 Friday letters)."""
    return nh3.Cleaner(
        tags=set(MATRIX_TAGS),
        clean_content_tags={"script", "style"},
        attributes=MATRIX_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        strip_comments=True,
        link_rel=None,
        url_schemes=set(URL_SCHEMES),
    )


@lru_cache(maxsize=HTML_CACHE_SIZE)
def sanitize_html(html: str) -> str:
    """Keep only the Matrix HTML subset; drop scripts, comments, styles, handlers."""
    return _unwrap_dead_ends(_cleaner().clean(html)).strip()


def pill_links(html: str, users: Iterable[str]) -> str:
    """Each user id in (escaped) `html` text becomes a matrix.to link: a pill in Element."""
    for user in sorted(set(users), key=len, reverse=True):
        shown = escape(user, quote=False)
        html = html.replace(shown, f'<a href="https://matrix.to/#/{escape(user)}">{shown}</a>')
    return html


def text_to_html(text: str, mentions: Iterable[str] = (), *, bold_first: bool = False) -> str:
    """Plain text as one HTML paragraph: escaped, line breaks kept, mentions as pills."""
    lines = [escape(line, quote=False) for line in without_controls(text).split("\n")]
    if bold_first and lines:
        lines[0] = f"<strong>{lines[0]}</strong>"
    return f"<p>{pill_links('<br>'.join(lines), mentions)}</p>"


@lru_cache(maxsize=HTML_CACHE_SIZE)
def markdown_to_html(text: str) -> str:
    """Render CommonMark (raw HTML disabled) and sanitise the result."""
    return sanitize_html(_markdown.render(text))


# --- Markdown as text: titles, and values written into a Markdown file -----------------------

_reading = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_reading.enable("strikethrough")
_reading.validateLink = lambda url: True  # type: ignore[method-assign] # parsed to drop it
_BLOCKS_OF_TEXT = frozenset({"code_block", "fence"})


def _inline_text(tokens: Sequence[Token]) -> str:
    parts: list[str] = []
    hidden = False  # inside an autolink whose target is not a link we write
    for token in tokens:
        if token.type == "link_open":
            hidden = token.markup == "autolink" and not safe_link(token.attrGet("href"))
        elif token.type == "link_close":
            hidden = False
        elif token.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif token.type == "image":
            parts.append(_inline_text(token.children or ()))
        elif token.type in ("text", "code_inline") and not hidden:
            parts.append(token.content)
    return "".join(parts)


@lru_cache(maxsize=512)
def plain_text(markdown: str) -> str:
    """What a person reads of a Markdown text: a link's text without its URL, an image's
    alt text, an autolink only if http(s) or mailto, raw HTML as the characters typed.
    One line per line of text; empty lines dropped. Text, not HTML: escape it to show it."""
    lines: list[str] = []
    for token in _reading.parse(without_controls(markdown)):
        if token.type == "inline":
            lines.extend(_inline_text(token.children or ()).split("\n"))
        elif token.type in _BLOCKS_OF_TEXT:
            lines.extend(token.content.split("\n"))
    return "\n".join(" ".join(line.split()) for line in lines if line.strip())


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>&~|!#])")
_MARKDOWN_LINE_START = re.compile(r"^(\s*)(?:([-+=])|(\d+)([.)]))")


def escape_markdown(text: str) -> str:
    """`text` as literal characters on one Markdown line (a table cell, a paragraph):
    no emphasis, link, image, HTML, entity, code, table pipe nor block marker."""
    one_line = re.sub(r"[\r\n\f\v\t]+", " ", without_controls(text))
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", one_line)
    return _MARKDOWN_LINE_START.sub(
        lambda m: m.group(1) + (f"\\{m.group(2)}" if m.group(2) else f"{m.group(3)}\\{m.group(4)}"),
        escaped,
    )
