"""The property of CONVENTIONS 16: hostile strings through EVERY template and HTML builder
(letter Matrix + mail text/HTML/subject, bilan HTML/Markdown/summary/paragraph, the
académie's bilan HTML/Markdown/summary, workshop and announcement HTML of
bot/formatting.py): no markup of theirs survives, and what they typed stays visible as
text (never a hole).
"""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from bot.formatting import (
    markdown_to_html,
    pill_links,
    safe_link,
    sanitize_html,
    text_to_html,
    without_controls,
)
from digests.bilan.academie_render import RenderedAcademie, render_academie
from digests.bilan.render import RenderedBilan, render_bilan
from digests.render import Rendered, RenderedMail, render_letter, render_mail
from tests.unit.typed_samples import NOON, PARIS, academie, bilan, files, letter

HOSTILE = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<img src="http://pisteur.example/p.png">',
    '<a href="javascript:alert(1)">lien</a>',
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html;base64,PHNjcmlwdD4=",
    "[clic](javascript:alert(2))",
    "![x](http://pisteur.example/p.png)",
    "<https://exemple.fr>",
    "]]>",
    "<![CDATA[",
    "<!--",
    "-->",
    '"',
    "'",
    "&amp;",
    "&lt;script&gt;",
    "&#60;",
    "\x00",
    "\x1b[31m",
    "\x7f",
    "\u202e",
    "\n",
    "|",
    "*",
    "_",
    "`",
    "\\",
    "# ",
    "- ",
    "1. ",
    "<svg onload=alert(1)>",
    "<style>*{}</style>",
    "{{ 7 * 7 }}",
)
hostile = st.lists(st.sampled_from(HOSTILE) | st.text(max_size=4), min_size=1, max_size=6).map(
    "".join
)
links = st.sampled_from(
    (
        "https://exemple.fr/a",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>x</script>",
        'https://e.fr/"><script>x</script>',
        "mxc://example.org/abc",
    )
)
EVENT_HANDLER = re.compile(r"^on", re.I)


class _Parsed(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "br":
            self.text.append(" ")

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.tags.append(("!--", {}))


def _words(text: str) -> str:
    return " ".join(text.split())


def _visible(typed: str) -> str:
    return _words(without_controls(typed))


def assert_no_live_markup(html: str, benign: str, typed: str) -> None:
    """`html` has only the tags and attributes of `benign` (the same output for harmless
    text), no event handler, links only http(s)/mailto, and shows `typed` as text."""
    parsed, expected = _Parsed(html), _Parsed(benign)
    allowed = {(tag, name) for tag, attrs in expected.tags for name in (*attrs, "")}
    for tag, attrs in parsed.tags:
        assert (tag, "") in allowed, (tag, html)
        for name, value in attrs.items():
            assert (tag, name) in allowed and not EVENT_HANDLER.match(name), (tag, name)
            if name in ("href", "src"):
                assert safe_link(value) or (tag == "img" and value and value.startswith("mxc://"))
    assert _visible(typed) in _words("".join(parsed.text))


def assert_text_shown(text: str, typed: str) -> None:
    assert without_controls(text) == text
    assert _visible(typed) in _words(text)


HEALTH = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


FIELDS = ("title", "source", "question", "theme", "place", "word", "cafe_theme")


@cache
def benign_letter(link: str) -> tuple[Rendered, RenderedMail]:
    harmless = letter(link=link, **dict.fromkeys(FIELDS, "Pix"))
    return render_letter(harmless, PARIS), render_mail(harmless, PARIS)


@cache
def benign_bilan() -> RenderedBilan:
    return render_bilan(bilan("Pix"))


@HEALTH
@given(typed=hostile, link=links)
def test_every_letter_template_keeps_hostile_text_as_text(typed: str, link: str) -> None:
    hostile_letter = letter(link=link, **dict.fromkeys(FIELDS, typed))
    rendered, mail = render_letter(hostile_letter, PARIS), render_mail(hostile_letter, PARIS)
    benign, benign_mail = benign_letter(link)
    assert_no_live_markup(rendered.html, benign.html, typed)
    assert_no_live_markup(sanitize_html(rendered.html), sanitize_html(benign.html), typed)
    assert_no_live_markup(mail.html, benign_mail.html, typed)
    assert_text_shown(rendered.text, typed)
    assert_text_shown(mail.text, typed)
    assert mail.subject == benign_mail.subject
    assert (link in benign.text) is safe_link(link)


@settings(HEALTH, max_examples=15)
@given(typed=hostile)
def test_every_bilan_template_keeps_hostile_text_as_text(typed: str) -> None:
    rendered, benign = render_bilan(bilan(typed)), benign_bilan()
    (html, markdown), (benign_html, benign_markdown) = files(rendered), files(benign)
    assert_no_live_markup(html, benign_html, typed)
    as_html = MarkdownIt("commonmark", {"html": True}).enable("table")  # as a pad shows it
    assert_no_live_markup(as_html.render(markdown), as_html.render(benign_markdown), typed)
    assert_text_shown(rendered.paragraph, typed)  # needs themes are in the paragraph
    assert_text_shown(rendered.summary, typed)  # so is the summary posted in the room


@cache
def benign_academie() -> RenderedAcademie:
    return render_academie(academie("Pix"), NOON, PARIS, title="Pix")


@settings(HEALTH, max_examples=15)
@given(typed=hostile)
def test_every_academie_template_keeps_hostile_text_as_text(typed: str) -> None:
    """School names (from the académie's directory or a CSV file) and the académie's."""
    rendered = render_academie(academie(typed), NOON, PARIS, title=typed)
    (html, markdown), (benign_html, benign_markdown) = files(rendered), files(benign_academie())
    assert_no_live_markup(html, benign_html, typed)
    as_html = MarkdownIt("commonmark", {"html": True}).enable("table")
    assert_no_live_markup(as_html.render(markdown), as_html.render(benign_markdown), typed)
    assert_text_shown(rendered.summary, typed)  # the académie's name heads the summary


@HEALTH
@given(typed=hostile)
def test_workshop_and_announcement_html_keep_hostile_text_as_text(typed: str) -> None:
    user = "@alice:example.org"
    notice = f"{typed}\nQuand : mardi\nInscrits : {user}"
    assert_no_live_markup(
        sanitize_html(text_to_html(notice, (user,), bold_first=True)),
        text_to_html(f"Pix\nQuand : mardi\nInscrits : {user}", (user,), bold_first=True),
        typed,
    )
    announcement = sanitize_html(pill_links(markdown_to_html(f"{typed} {user}"), (user,)))
    for tag, attrs in _Parsed(announcement).tags:
        assert tag not in {"script", "style", "iframe", "svg", "img"}, announcement
        assert not any(EVENT_HANDLER.match(name) for name in attrs)
        assert "href" not in attrs or safe_link(attrs["href"])


TEMPLATES_UNDER_TEST = {
    "digests/templates": {
        "letter.html.j2", "letter.txt.j2", "mail.html.j2", "mail.txt.j2", "subject.txt.j2",
        "macros.j2",
    },
    "digests/bilan/templates": {
        "bilan.html.j2", "bilan.md.j2", "paragraph.txt.j2", "summary.txt.j2", "macros.j2",
        "academie.html.j2", "academie.md.j2", "academie_summary.txt.j2", "academie_macros.j2",
    },
}  # fmt: skip
"""What the property tests above render: a new template joins them, or this test fails."""
ROOT = Path(__file__).resolve().parents[2]


def test_every_template_is_under_the_property_test_and_trusts_no_value() -> None:
    for folder, names in TEMPLATES_UNDER_TEST.items():
        found = {path.name for path in (ROOT / folder).iterdir() if path.suffix == ".j2"}
        assert found == names, folder
        for name in names:
            source = (ROOT / folder / name).read_text(encoding="utf-8")
            assert not re.search(r"\|\s*safe\b|autoescape\s+false|Markup", source), name
