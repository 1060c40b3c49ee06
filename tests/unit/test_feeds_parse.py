"""Feed parsing: robustness on feedparser's corpus, Matrix-subset HTML, SPIP specifics."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.feeds.parse import ParsedFeed, parse_feed, shorten_text
from bot.formatting import MATRIX_ATTRIBUTES, MATRIX_TAGS

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
CORPUS = FEEDS / "feedparser-corpus"
SPIP = FEEDS / "spip"
CORPUS_FILES = sorted((CORPUS / "tests").rglob("*.xml"))
SPIP_FILES = sorted(SPIP.glob("*.xml"))
ALL_FILES = CORPUS_FILES + SPIP_FILES
SPIP_UTF8 = SPIP / "SYNTHETIC-spip-backend-utf8.xml"
SPIP_LATIN1 = SPIP / "SYNTHETIC-spip-backend-iso-8859-1.xml"

FORBIDDEN = re.compile(r"<script|<iframe|<style|\son[a-z]+\s*=|javascript:|<!--", re.IGNORECASE)


def _ids(path: Path) -> str:
    return str(path.relative_to(FEEDS))


def _base_url(path: Path) -> str:
    return f"https://feeds.example.invalid/{path.relative_to(FEEDS).as_posix()}"


def _parse(path: Path) -> ParsedFeed:
    return parse_feed(path.read_bytes(), _base_url(path))


class _TagLister(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in MATRIX_TAGS:
            self.problems.append(f"tag <{tag}>")
        allowed = MATRIX_ATTRIBUTES.get(tag, set())
        for name, value in attrs:
            if name not in allowed:
                self.problems.append(f"attribute {name} on <{tag}>")
            if tag == "img" and name == "src" and not (value or "").startswith("mxc://"):
                self.problems.append(f"img src {value!r}")
            if name == "href" and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"href {value!r}")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_comment(self, data: str) -> None:
        self.problems.append("comment")


def _matrix_subset_problems(fragment: str) -> list[str]:
    lister = _TagLister()
    lister.feed(fragment)
    lister.close()
    problems = lister.problems
    if FORBIDDEN.search(fragment):
        problems.append(f"forbidden token in {fragment[:200]!r}")
    for img in re.findall(r"<img\b[^>]*>", fragment, re.IGNORECASE):
        if 'src="mxc://' not in img:
            problems.append(f"non-mxc image {img!r}")
    return problems


def test_corpus_is_present() -> None:
    assert len(CORPUS_FILES) == 149
    assert (CORPUS / "LICENSE").is_file()
    assert len(SPIP_FILES) == 2


@pytest.mark.parametrize("path", ALL_FILES, ids=_ids)
def test_every_file_parses_to_matrix_subset(path: Path) -> None:
    parsed = _parse(path)
    assert isinstance(parsed.title, str)
    for entry in parsed.entries:
        assert entry.key
        assert _matrix_subset_problems(entry.summary_html) == [], entry
        assert "<" not in entry.summary_text or "<" in entry.summary_html.replace("&lt;", "<")
        assert len(entry.summary_text) <= 400 + 1
        if entry.published is not None:
            assert entry.published.tzinfo is UTC


@pytest.mark.parametrize("path", ALL_FILES, ids=_ids)
def test_keys_unique_and_stable(path: Path) -> None:
    first = [entry.key for entry in _parse(path).entries]
    second = [entry.key for entry in _parse(path).entries]
    assert first == second
    assert len(set(first)) == len(first)


def test_truncated_or_garbage_input_does_not_raise() -> None:
    body = SPIP_UTF8.read_bytes()
    for cut in (0, 1, 10, len(body) // 3, len(body) // 2, len(body) - 20):
        parse_feed(body[:cut], "https://spip.example.invalid/srane/backend.php")
    parse_feed(b"\x00\xff\xfe garbage <<<", "https://x.invalid/")
    parse_feed(b"<html><body>not a feed</body></html>", "https://x.invalid/")


def test_spip_utf8_entry() -> None:
    parsed = _parse(SPIP_UTF8)
    assert not parsed.bozo
    assert parsed.title == "SYNTHETIQUE - SRANE exemple"
    (entry,) = parsed.entries
    assert entry.key == "https://spip.example.invalid/srane/spip.php?article1125"
    assert entry.link == entry.key
    assert entry.title == "Journée «\xa0IA et pédagogie\xa0» : l'inscription est ouverte"
    # SPIP gives dc:date and no pubDate.
    assert entry.published == datetime(2025, 3, 12, 9, 30, tzinfo=UTC)
    assert "<strong>cycle de formation</strong>" in entry.summary_html
    assert 'class="spip_in"' not in entry.summary_html
    assert 'rel="tag"' not in entry.summary_html
    assert "a &lt; b" in entry.summary_html
    assert "a < b" in entry.summary_text
    assert "œuvres citées" in entry.summary_text


def test_spip_latin1_relative_links_and_dc_date() -> None:
    body = SPIP_LATIN1.read_bytes()
    parsed = parse_feed(body, "http://spip.example.invalid/lettres/spip.php?page=backend")
    assert not parsed.bozo
    (entry,) = parsed.entries
    assert entry.title == "Cœur de métier : l'évaluation"
    assert entry.published == datetime(2009, 11, 5, 14, 0, tzinfo=UTC)
    # `spip.php?article41` in the description is resolved against the feed URL.
    assert 'href="http://spip.example.invalid/lettres/spip.php?article41"' in entry.summary_html
    assert 'href="spip.php' not in entry.summary_html
    # The relative image is not mxc://: dropped entirely, not left as an empty <img>.
    assert "<img" not in entry.summary_html
    assert "caractères : à é è ç «\xa0guillemets\xa0»" in entry.summary_text


def test_relative_entry_link_is_resolved() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title>
<item><title>a</title><link>spip.php?article7</link><description>d</description></item>
</channel></rss>"""
    parsed = parse_feed(body, "https://spip.example.invalid/srane/backend.php")
    (entry,) = parsed.entries
    assert entry.link == "https://spip.example.invalid/srane/spip.php?article7"
    assert entry.key == entry.link


def test_key_falls_back_to_content_hash() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title>
<item><title>one</title><description>first</description></item>
<item><title>two</title><description>second</description></item>
</channel></rss>"""
    keys = [entry.key for entry in parse_feed(body, "https://x.invalid/feed").entries]
    assert len(keys) == 2
    assert all(key.startswith("sha256:") for key in keys)
    assert keys[0] != keys[1]


def test_long_summary_is_shortened_without_breaking_tags() -> None:
    words = " ".join(f"mot{i}" for i in range(300))
    description = f"&lt;p&gt;&lt;b&gt;{words}&lt;/b&gt;&lt;/p&gt;&lt;p&gt;fin&lt;/p&gt;"
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><guid>g1</guid><title>a</title><description>{description}</description>"
        "</item></channel></rss>"
    ).encode()
    (entry,) = parse_feed(body, "https://x.invalid/feed", summary_chars=50).entries
    assert entry.summary_text.endswith("…")
    assert len(entry.summary_text) <= 51
    assert entry.summary_html.startswith("<p><b>mot0 mot1")
    assert entry.summary_html.endswith("…</b></p>")
    assert "fin" not in entry.summary_html
    assert _matrix_subset_problems(entry.summary_html) == []


def test_shorten_text() -> None:
    assert shorten_text("court", 10) == "court"
    assert shorten_text("un deux trois quatre", 12) == "un deux…"
