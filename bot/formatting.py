"""Markdown to Matrix HTML, and HTML sanitised to the subset the spec allows.

Everything the bot puts in `formatted_body` goes through `sanitize_html`,
whether it comes from our own templates, a feed or a user.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

# Client-Server spec, "m.room.message msgtypes": the recommended HTML subset.
MATRIX_TAGS = frozenset(
    {
        "font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a",
        "ul", "ol", "sup", "sub", "li", "b", "i", "u", "strong", "em", "s", "code",
        "hr", "br", "div", "table", "thead", "tbody", "tr", "th", "td", "caption",
        "pre", "span", "img", "details", "summary",
    }
)  # fmt: skip
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


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    # nh3's url_schemes applies to every URL attribute; images must be mxc://.
    if tag == "img" and attribute == "src" and not value.startswith("mxc://"):
        return None
    if tag == "code" and attribute == "class" and not value.startswith("language-"):
        return None
    return value


@lru_cache(maxsize=512)
def sanitize_html(html: str) -> str:
    """Keep only the Matrix HTML subset; drop scripts, comments, styles, handlers."""
    return nh3.clean(
        html,
        tags=set(MATRIX_TAGS),
        clean_content_tags={"script", "style"},
        attributes=MATRIX_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        strip_comments=True,
        link_rel=None,
        url_schemes=set(URL_SCHEMES),
    ).strip()


@lru_cache(maxsize=512)
def markdown_to_html(text: str) -> str:
    """Render CommonMark (raw HTML disabled) and sanitise the result."""
    return sanitize_html(_markdown.render(text))
