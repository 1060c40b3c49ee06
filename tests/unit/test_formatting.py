"""Tests of bot.formatting (Markdown, HTML sanitising) and of the message content shape."""

from __future__ import annotations

import pytest

from bot.formatting import markdown_to_html, sanitize_html
from bot.messenger import Outbox, message_content

# --- markdown_to_html ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ("**gras**", "<p><strong>gras</strong></p>"),
        ("*italique* et _aussi_", "<p><em>italique</em> et <em>aussi</em></p>"),
        ("~~barré~~", "<p><s>barré</s></p>"),
        ("`code`", "<p><code>code</code></p>"),
        (
            "[Éduscol](https://eduscol.education.fr)",
            '<p><a href="https://eduscol.education.fr">Éduscol</a></p>',
        ),
        ("- un\n- deux", "<ul>\n<li>un</li>\n<li>deux</li>\n</ul>"),
        ("1. un\n2. deux", "<ol>\n<li>un</li>\n<li>deux</li>\n</ol>"),
        ("3. trois\n4. quatre", '<ol start="3">\n<li>trois</li>\n<li>quatre</li>\n</ol>'),
        (
            "```python\nx = 1\n```",
            '<pre><code class="language-python">x = 1\n</code></pre>',
        ),
        ("Ligne un\nLigne deux", "<p>Ligne un\nLigne deux</p>"),
        ("a < b & c", "<p>a &lt; b &amp; c</p>"),
    ],
)
def test_markdown_to_html(markdown: str, html: str) -> None:
    assert markdown_to_html(markdown) == html


def test_markdown_raw_html_is_escaped_not_rendered() -> None:
    html = markdown_to_html('<script>alert(1)</script> <b onclick="x()">b</b>')
    assert "<script" not in html
    assert "<b" not in html
    assert "&lt;script&gt;" in html


def test_markdown_javascript_link_is_not_a_link() -> None:
    assert "<a" not in markdown_to_html("[clic](javascript:alert(1))")


# --- sanitize_html -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<p>a<script>alert(1)</script>b</p>", "<p>ab</p>"),
        ("<style>p { color: red }</style><p>t</p>", "<p>t</p>"),
        ('<iframe src="https://example.org"></iframe><p>ok</p>', "<p>ok</p>"),
        ('<b onclick="voler()">gras</b>', "<b>gras</b>"),
        (
            '<img src="mxc://e.org/abc" onerror="x()" alt="logo">',
            '<img src="mxc://e.org/abc" alt="logo">',
        ),
        ('<a href="javascript:alert(1)">lien</a>', "lien"),
        ('<a href="JavaScript:alert(1)">lien</a>', "lien"),
        ('<a href="mxc://e.org/doc">pièce jointe</a>', "pièce jointe"),  # links: http(s), mailto
        ('<a href="ftp://e.org/doc">doc</a>', "doc"),
        ('<a href="data:text/html,x">d</a>', "d"),
        ("a<!-- commentaire -->b", "ab"),
        ('<p style="color: red">t</p>', "<p>t</p>"),
        ("<marquee>m</marquee>", "m"),
        ('<img src="https://e.org/x.png" alt="x">', "x"),
        ('<img src="http://e.org/x.png">', ""),
        ('<img src="data:image/png;base64,AAAA">', ""),
        ('<code class="evil">x</code>', "<code>x</code>"),
        ('<font color="red" style="x">r</font>', '<font color="red">r</font>'),
    ],
)
def test_sanitize_html_drops_dangerous_things(dirty: str, clean: str) -> None:
    assert sanitize_html(dirty) == clean


@pytest.mark.parametrize(
    "html",
    [
        "<p><strong>gras</strong> <em>it</em> <b>b</b> <i>i</i> <u>u</u> <s>s</s> <del>d</del></p>",
        "<h1>t</h1><h2>t</h2><h3>t</h3><h4>t</h4><h5>t</h5><h6>t</h6>",
        "<blockquote>citation</blockquote>",
        '<ol start="2"><li>deux</li></ol><ul><li>puce</li></ul>',
        "<p>x<sup>2</sup> H<sub>2</sub>O<br>suite</p><hr>",
        '<pre><code class="language-python">x = 1</code></pre>',
        '<a href="https://eduscol.education.fr" target="_blank">lien</a>',
        '<a href="mailto:rupn@example.org">écrire</a>',
        '<img src="mxc://e.org/abc" alt="logo" width="32" height="32" title="t">',
        '<span data-mx-spoiler="">secret</span>',
        '<span data-mx-color="#ff0000" data-mx-bg-color="#000000">c</span>',
        "<details><summary>résumé</summary>détail</details>",
        "<div><table><caption>c</caption><thead><tr><th>h</th></tr></thead>"
        "<tbody><tr><td>1</td></tr></tbody></table></div>",
    ],
)
def test_sanitize_html_keeps_matrix_subset(html: str) -> None:
    assert sanitize_html(html) == html


def test_sanitize_html_adds_no_rel_and_strips_whitespace() -> None:
    assert sanitize_html('  <a href="https://e.org">l</a>\n') == '<a href="https://e.org">l</a>'


# --- message_content -----------------------------------------------------------------------


def test_message_content_plain() -> None:
    assert message_content("Bonjour", msgtype="m.notice") == {
        "msgtype": "m.notice",
        "body": "Bonjour",
        "m.mentions": {},
    }


def test_message_content_full() -> None:
    content = message_content(
        "Bonjour @prof",
        msgtype="m.text",
        html="<p>Bonjour <script>x</script><b>prof</b></p>",
        mentions=["@prof:example.org", "@admin:example.org", "@prof:example.org"],
        reply_to="$question",
    )
    assert content == {
        "msgtype": "m.text",
        "body": "Bonjour @prof",
        "m.mentions": {"user_ids": ["@admin:example.org", "@prof:example.org"]},
        "format": "org.matrix.custom.html",
        "formatted_body": "<p>Bonjour <b>prof</b></p>",
        "m.relates_to": {"m.in_reply_to": {"event_id": "$question"}},
    }


def test_outbox_send_markdown_renders_html() -> None:
    outbox = Outbox()
    outbox.send("!salle:example.org", "**Important**", markdown=True)
    [post] = outbox.drain()
    assert post.event_type == "m.room.message"
    assert post.content == {
        "msgtype": "m.notice",
        "body": "**Important**",
        "m.mentions": {},
        "format": "org.matrix.custom.html",
        "formatted_body": "<p><strong>Important</strong></p>",
    }


def test_outbox_send_html_wins_over_markdown() -> None:
    outbox = Outbox()
    outbox.send("!salle:example.org", "**x**", html="<i>x</i>", markdown=True)
    [post] = outbox.drain()
    assert post.content["formatted_body"] == "<i>x</i>"


def test_outbox_react_and_redact_shapes() -> None:
    outbox = Outbox()
    first = outbox.react("!salle:example.org", "$vote", "👍")
    second = outbox.redact("!salle:example.org", event_id="$vieux")
    assert first != second
    reaction, redaction = outbox.drain()
    assert reaction.event_type == "m.reaction"
    assert reaction.kind == "reaction"
    assert reaction.content == {
        "m.relates_to": {"rel_type": "m.annotation", "event_id": "$vote", "key": "👍"}
    }
    assert redaction.action == "redact"
    assert redaction.target_event_id == "$vieux"
    assert redaction.content == {}
    assert len(outbox) == 0


def test_outbox_redact_needs_exactly_one_target() -> None:
    outbox = Outbox()
    with pytest.raises(ValueError, match="exactly one"):
        outbox.redact("!salle:example.org")
    with pytest.raises(ValueError, match="exactly one"):
        outbox.redact("!salle:example.org", event_id="$a", txn_id="t")


# --- dead ends: images that cannot be shown, links that lead nowhere, extra classes ---------


def test_a_markdown_image_on_the_web_becomes_a_link() -> None:
    assert markdown_to_html("Voir ![le logo](https://exemple.fr/logo.png)") == (
        '<p>Voir <a href="https://exemple.fr/logo.png">le logo</a></p>'
    )
    assert markdown_to_html("![](http://exemple.fr/x.png)") == (
        '<p><a href="http://exemple.fr/x.png">image</a></p>'
    )


def test_a_relative_link_keeps_its_text_only() -> None:
    assert markdown_to_html("[le règlement](/reglement.pdf) !") == "<p>le règlement !</p>"
    assert sanitize_html('<a href="../x">texte</a>') == "texte"


def test_an_image_without_a_matrix_source_becomes_its_alt_text() -> None:
    assert sanitize_html('<p><img src="http://e.fr/a.png" alt="Schéma"> fin</p>') == (
        "<p>Schéma fin</p>"
    )
    assert (
        sanitize_html('<img src="mxc://srv/abc" alt="ok">') == '<img src="mxc://srv/abc" alt="ok">'
    )


def test_code_keeps_only_its_language_class() -> None:
    assert sanitize_html('<code class="language-python evil">x</code>') == (
        '<code class="language-python">x</code>'
    )
    assert sanitize_html('<code class="evil">y</code>') == "<code>y</code>"
