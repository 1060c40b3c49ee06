"""One escaping rule for every output (CONVENTIONS 16): what a person or a feed typed is text.

Examples with the exact text a teacher sees; the property test over every template is
in test_escaping_property.py.
"""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from bot.formatting import escape_markdown, safe_link, sanitize_html
from digests.bilan.render import render_bilan
from digests.collect import title_of
from digests.render import render_letter, render_mail
from tests.unit.typed_samples import NOTICE, PARIS, bilan, files, letter

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
