"""Render: the letter through the jinja2 templates in digests/templates/.

The templates hold every word of the letter; this module only supplies them
the data and the date filters. The same templates make the Matrix message (text
body and HTML) and the e-mail (text and HTML parts, subject). Escaping follows the
template's kind (digests/templating.py): the mail's HTML is not sanitised afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.dates import format_day, format_when
from digests.model import Letter
from digests.templating import Templates


@dataclass(frozen=True)
class Rendered:
    text: str
    html: str


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=256)  # 200 rooms' letters show a handful of dates: babel once each
def _when(moment: datetime, tz: ZoneInfo) -> str:
    return format_when(moment, tz)


@lru_cache(maxsize=256)
def _day(day: date, weekday: bool = False) -> str:
    return format_day(day, weekday=weekday)


TEMPLATES = Templates("digests", filters={"when": _when, "day": _day})


def _render(name: str, letter: Letter, tz: ZoneInfo) -> str:
    text = TEMPLATES.render(name, letter=letter, tz=tz)
    return text.strip() + ("\n" if name.endswith(".html.j2") else "")


def render_letter(letter: Letter, tz: ZoneInfo) -> Rendered:
    """The Matrix message: plain body and HTML (sanitised again by the messenger)."""
    return Rendered(_render("letter.txt.j2", letter, tz), _render("letter.html.j2", letter, tz))


def render_mail(letter: Letter, tz: ZoneInfo) -> RenderedMail:
    return RenderedMail(
        subject=_render("subject.txt.j2", letter, tz),
        text=_render("mail.txt.j2", letter, tz),
        html=_render("mail.html.j2", letter, tz),
    )
