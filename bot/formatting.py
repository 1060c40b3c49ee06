"""Markdown to Matrix HTML, and HTML sanitised to the subset the spec allows.

Everything the bot puts in `formatted_body` goes through `sanitize_html`,
whether it comes from our own templates, a feed or a user.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
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
URL_SCHEMES = frozenset({"http", "https", "ftp", "mailto", "magnet", "mxc"})

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


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_IMG_WITHOUT_SRC = re.compile(r"<img(?![^>]*\ssrc=)[^>]*?(?:\salt=\"(?P<alt>[^\"]*)\")?[^>]*>")
_BARE_LINK = re.compile(r"<a(?:\s+target=\"[^\"]*\")?>(?P<text>.*?)</a>", re.DOTALL)


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    # nh3's url_schemes applies to every URL attribute; images must be mxc://.
    if tag == "img" and attribute == "src" and not value.startswith("mxc://"):
        return None
    if tag == "a" and attribute == "href" and not _SCHEME.match(value):
        return None  # a relative link leads nowhere in a chat client: keep the text only
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


@lru_cache(maxsize=HTML_CACHE_SIZE)
def sanitize_html(html: str) -> str:
    """Keep only the Matrix HTML subset; drop scripts, comments, styles, handlers."""
    return _unwrap_dead_ends(
        nh3.clean(
            html,
            tags=set(MATRIX_TAGS),
            clean_content_tags={"script", "style"},
            attributes=MATRIX_ATTRIBUTES,
            attribute_filter=_filter_attribute,
            strip_comments=True,
            link_rel=None,
            url_schemes=set(URL_SCHEMES),
        )
    ).strip()


@lru_cache(maxsize=HTML_CACHE_SIZE)
def markdown_to_html(text: str) -> str:
    """Render CommonMark (raw HTML disabled) and sanitise the result."""
    return sanitize_html(_markdown.render(text))
