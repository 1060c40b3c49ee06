"""One escaping rule for every output (CONVENTIONS 16): what a person or a feed typed is text.

The examples show the exact text a teacher sees; the property test at the end feeds
hostile strings through every template and HTML builder and asserts that no markup
of theirs survives, and that what they typed stays visible as text (never a hole).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime
from functools import cache
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from bot.formatting import (
    escape_markdown,
    markdown_to_html,
    pill_links,
    safe_link,
    sanitize_html,
    text_to_html,
    without_controls,
)
from bot.school_year import SchoolYear
from bot.storage.bilan import (
    Consultations,
    Diffusion,
    Gatherings,
    KeyCount,
    MonthCount,
    NewsWatch,
    Reading,
    Satisfaction,
    SourceCounts,
    ThemeCount,
)
from digests.bilan.build import indicator_values
from digests.bilan.model import Bilan
from digests.bilan.render import RenderedBilan, render_bilan
from digests.collect import title_of
from digests.model import EventLine, Letter, NewsLine, PollLine
from digests.render import Rendered, RenderedMail, render_letter, render_mail

PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2026, 12, 7)
NOON = datetime(2026, 12, 8, 12, 30, tzinfo=PARIS)
NOTICE = "https://matrix.to/#/!salle:example.org/$avis"
VOTE = "https://matrix.to/#/!salle:example.org/$sondage"


def letter(
    *,
    title: str = "Portes ouvertes",
    source: str | None = "Éduscol",
    link: str = "https://eduscol.education.fr/article",
    question: str = "Quel créneau ?",
    theme: str = "Pix",
    place: str | None = "CDI",
    word: str = "Bonne semaine",
    cafe_theme: str = "L’IA en classe",
) -> Letter:
    return Letter(
        room_id="!salle:example.org",
        week_monday=MONDAY,
        covers_from=None,
        news=(NewsLine(title, source, link),),
        polls=(PollLine(question, None, 1, 3, VOTE),),
        events=(
            EventLine("atelier", theme, NOON, place, 3, NOTICE),
            EventLine("cafe", cafe_theme, NOON, None, None, NOTICE),
        ),
        words=(word,),
    )


def bilan(text: str) -> Bilan:
    """A small year where every name a person typed is `text`."""
    reading = Reading(2, 3.0, 50.0)
    diffusion = Diffusion((MonthCount(2025, 9, 2, 1),), 2, reading, 3, 1, reading)
    news = NewsWatch((SourceCounts(text, 5, 3, 1, 1),))
    satisfaction = Satisfaction(1, 2, (KeyCount(text, 1), KeyCount("Un peu", 1)))
    ateliers = Gatherings(
        "atelier", 2, 1, 1, 0, 0, 3, 2, 1, 2, 1, 1, 0, (ThemeCount(text, 1, 2),), satisfaction
    )
    cafes = replace(ateliers, kind="cafe", themes=(ThemeCount(f"Café {text}", 1, 4),))
    consultations = Consultations(2, 1, 1, 1, 50.0, (KeyCount(text, 4), KeyCount("ENT", 2)))
    values = indicator_values(diffusion, news, ateliers, cafes, consultations)
    made_at = datetime(2026, 6, 15, 12, 0, tzinfo=PARIS)
    return Bilan(
        SchoolYear(2025), PARIS, made_at, diffusion, news, ateliers, cafes, consultations, values
    )


def files(rendered: RenderedBilan) -> tuple[str, str]:
    return rendered.file("html").data.decode(), rendered.file("md").data.decode()


# --- defect 5: titles are the plain text a person reads ------------------------------------


@pytest.mark.parametrize(
    ("body", "title"),
    [
        ("Réunion [clic](javascript:alert(2))", "Réunion clic"),
        ("# **Portes** ouvertes\n\nSamedi", "Portes ouvertes"),
        ("![Affiche](https://exemple.fr/a.png) du forum", "Affiche du forum"),
        ("Voir <https://eduscol.fr> ou <JaVaScRiPt:alert(1)>", "Voir https://eduscol.fr ou"),
        ("Atelier <img src=x onerror=alert(1)> midi", "Atelier <img src=x onerror=alert(1)> midi"),
        ("> - Conseil &amp; *pédagogique*", "Conseil & pédagogique"),
        ("\n\n", "(sans titre)"),
    ],
)  # fmt: skip
def test_an_announcement_title_is_the_text_a_person_reads(body: str, title: str) -> None:
    assert title_of(body) == title


def test_a_feed_title_is_kept_as_the_feed_wrote_it() -> None:
    assert title_of("corps *ignoré*", "1. Les *astérisques* du flux") == (
        "1. Les *astérisques* du flux"
    )


def test_an_img_typed_in_a_theme_stays_visible_in_the_letter() -> None:
    rendered = render_letter(letter(theme="Pix <img src=x>"), PARIS)
    line = (
        f'<li><a href="{NOTICE}">Atelier « Pix &lt;img src=x&gt; »</a> — mardi 8 décembre à '
        "12h30, CDI — 3 places libres</li>"
    )
    assert line in rendered.html
    assert line in sanitize_html(rendered.html)  # what the messenger sends: no hole
    assert "• Atelier « Pix <img src=x> » — mardi 8 décembre à 12h30, CDI" in rendered.text


# --- defect 6: macros escape, links only http(s)/mailto, the bilan in HTML and Markdown -----


def test_the_mail_shows_hostile_themes_as_text() -> None:
    mail = render_mail(
        letter(
            theme='<img src="http://pisteur.example/p.png">',
            cafe_theme="<script>alert(1)</script>",
        ),
        PARIS,
    )
    assert "<img" not in mail.html and "<script" not in mail.html
    assert "Atelier « &lt;img src=&#34;http://pisteur.example/p.png&#34;&gt; »" in mail.html
    assert "Café numérique « &lt;script&gt;alert(1)&lt;/script&gt; »" in mail.html
    assert "• Café numérique « <script>alert(1)</script> » — mardi 8 décembre" in mail.text


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:x", "data:text/html,x"]
)
def test_a_feed_link_that_is_not_http_is_no_link(link: str) -> None:
    rendered, mail = render_letter(letter(link=link), PARIS), render_mail(letter(link=link), PARIS)
    for html in (rendered.html, mail.html):
        assert "<li>Portes ouvertes (Éduscol)</li>" in html
        assert link.strip() not in html
    for text in (rendered.text, mail.text):
        assert "• Portes ouvertes (Éduscol)\n" in text
        assert link.strip() not in text


def test_an_http_feed_link_stays_a_link() -> None:
    rendered = render_letter(letter(), PARIS)
    assert (
        '<li><a href="https://eduscol.education.fr/article">Portes ouvertes</a> (Éduscol)</li>'
        in rendered.html
    )
    assert "• Portes ouvertes (Éduscol) : https://eduscol.education.fr/article\n" in rendered.text


def test_the_bilan_shows_a_hostile_theme_as_text() -> None:
    html, markdown = files(render_bilan(bilan("<script>alert(1)</script>")))
    assert "<script" not in html
    assert (
        '<tr><td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td class="n">1</td>'
        '<td class="n">2</td></tr>'
    ) in html
    assert "| \\<script\\>alert(1)\\</script\\> | 1 | 2 |" in markdown
    assert re.search(r"(?<!\\)<", markdown) is None  # every < escaped


def test_the_markdown_bilan_has_no_link_nor_image_of_theirs() -> None:
    _, markdown = files(render_bilan(bilan("[clic](javascript:alert(2)) ![x](http://e.fr/p.png)")))
    assert "| \\[clic\\](javascript:alert(2)) \\!\\[x\\](http://e.fr/p.png) | 1 | 2 |" in markdown
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    assert "<a " not in html and "<img" not in html


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("Pix | ENT", "Pix \\| ENT"),
        ("*gras* _it_ `code` ~~b~~", "\\*gras\\* \\_it\\_ \\`code\\` \\~\\~b\\~\\~"),
        ("a &amp; <b>", "a \\&amp; \\<b\\>"),
        ("- liste", "\\- liste"),
        ("1. liste", "1\\. liste"),
        ("deux\nlignes", "deux lignes"),
        ("38\u00a0%", "38\u00a0%"),
    ],
)
def test_escape_markdown(text: str, escaped: str) -> None:
    assert escape_markdown(text) == escaped


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://eduscol.education.fr/a?b=1#c", True),
        ("http://exemple.fr", True),
        ("HTTPS://EXEMPLE.FR", True),
        ("mailto:rupn@exemple.fr", True),
        ("https://matrix.to/#/!salle:example.org/$e?via=example.org", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html;base64,PHNjcmlwdD4=", False),
        ("mxc://example.org/abc", False),
        ("ftp://exemple.fr", False),
        ("/relatif", False),
        ("https://", False),
        ('https://e.fr/" onmouseover="x', False),
        (None, False),
    ],
)
def test_safe_link(url: str | None, allowed: bool) -> None:
    assert safe_link(url) is allowed


# --- the property: hostile strings through every template ----------------------------------

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
