"""Render: the letter through the jinja2 templates in digests/templates/.

The templates hold every word of the letter; this module only supplies them
the data and the date filters. The same templates make the Matrix message (text
body and HTML) and the e-mail (text and HTML parts, subject).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.dates import format_day, format_when
from digests.model import Letter

if TYPE_CHECKING:
    from jinja2 import Environment


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


@cache
def environment() -> Environment:
    # jinja2 on first render, not when the bot starts (one place: this function).
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("digests", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["day"] = _day
    return env


def _render(name: str, letter: Letter, tz: ZoneInfo) -> str:
    text = environment().get_template(name).render(letter=letter, tz=tz)
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
