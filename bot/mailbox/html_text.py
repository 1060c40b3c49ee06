"""The text of an HTML mail body, for a mail that has no text/plain part.

A small converter over the standard library's tokenizer, not regular expressions: what
is shown becomes text, blocks become lines, `<br>` a line break, and nothing of scripts,
styles or the document head is kept. Quoted history (`<blockquote>`) is prefixed with
« > » as a text mail would quote it, so that the reply parser recognises it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements that start and end a line of their own.
_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
})  # fmt: skip
# Elements whose content is never shown.
_HIDDEN = frozenset({"head", "script", "style", "template", "title"})
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0]+")


# Blocks separated from the next by a blank line, as paragraphs are; others by a line break.
_PARAGRAPHS = frozenset({"blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "p", "pre", "table"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._hidden = 0
        self._quoted = 0
        self._pre = 0

    def _flush(self) -> None:
        joined = "".join(self._line)
        text = joined.rstrip() if self._pre else joined.strip()
        self._line = []
        if text:
            self.lines.append("> " * self._quoted + text)

    def _blank_line(self) -> None:
        self._flush()
        if self.lines and self.lines[-1]:
            self.lines.append("")

    def _line_break(self) -> None:
        """`<br>`: ends the line; on an empty line it is a blank line (Outlook's spacing)."""
        if "".join(self._line).strip():
            self._flush()
        else:
            self._blank_line()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag == "br":
            self._line_break()
        elif tag in _BLOCKS:
            self._blank_line() if tag in _PARAGRAPHS else self._flush()
            if tag == "blockquote":
                self._quoted += 1
            elif tag == "pre":
                self._pre += 1
        elif tag in ("td", "th") and self._line:
            self._line.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._line_break()
        elif tag in _BLOCKS:  # <hr/>
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS:
            self._flush()
            if tag == "blockquote":
                self._quoted = max(0, self._quoted - 1)
            elif tag == "pre":
                self._pre = max(0, self._pre - 1)
            if tag in _PARAGRAPHS:
                self._blank_line()

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._pre:
            first, *rest = data.split("\n")
            self._line.append(first)
            for line in rest:
                self._flush()
                self._line.append(line)
            return
        text = _SPACES.sub(" ", data)
        if not self._line or self._line[-1].endswith(" "):
            text = text.lstrip(" ")
        self._line.append(text)


def html_to_text(html: str) -> str:
    """The visible text of `html`: one line per block, a blank line between paragraphs."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    collector._flush()
    return "\n".join(line.rstrip() for line in collector.lines).strip()
