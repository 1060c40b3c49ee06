"""The jinja2 environments of the letter and the bilan: one escaping rule per output kind.

A template's name says what it makes, and so how every `{{ value }}` is escaped:
- `*.html.j2`: autoescape on, for the template *and the macros it imports* (a macro
  file is compiled by the environment that imports it, so a macro shared with the
  text templates is escaped here too: its output is never trusted unescaped);
- `*.md.j2`: every value goes through `escape_markdown` (one line, no markup);
- anything else is text: values are written as typed.
Control characters are taken out of every value. Links are written only when the
`safe_link` test passes (http, https, mailto). Nothing here marks user text safe.

jinja2 is imported by `Templates.environment`, at the first render: a running bot
that sends no letter and makes no bilan never loads it (issue 20, memory).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from bot.formatting import escape_markdown, safe_link, without_controls

if TYPE_CHECKING:
    from jinja2 import Environment


def _text(value: object) -> str:
    return without_controls(str(value))


def _html(value: object) -> object:
    # Markup is what our own templates and macros produced, already escaped.
    return value if isinstance(value, Markup) else _text(value)


def _markdown(value: object) -> str:
    return escape_markdown(str(value))


_FINALIZE: Mapping[str, Callable[[Any], object]] = {
    "html": _html,
    "markdown": _markdown,
    "text": _text,
}


def kind_of(template: str) -> str:
    """« html », « markdown » or « text », from the template's name."""
    if template.endswith(".html.j2"):
        return "html"
    return "markdown" if template.endswith(".md.j2") else "text"


@dataclass
class Templates:
    """The templates of one package (its `templates/` folder), each rendered by its kind."""

    package: str
    filters: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    globals: Mapping[str, Any] = field(default_factory=dict)
    keep_trailing_newline: bool = False
    _environments: dict[str, Environment] = field(default_factory=dict, init=False, repr=False)

    def environment(self, kind: str) -> Environment:
        if kind not in self._environments:
            from jinja2 import Environment, PackageLoader, StrictUndefined

            env = Environment(
                loader=PackageLoader(self.package, "templates"),
                autoescape=kind == "html",  # noqa: S701 - the others escape in `finalize`
                finalize=_FINALIZE[kind],
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=self.keep_trailing_newline,
                # Compiled once per process: no stat() of the file at each render (the
                # académie's Friday renders 6,000 letters).
                auto_reload=False,
            )
            env.filters.update(self.filters)
            env.globals.update(self.globals)
            env.tests["safe_link"] = safe_link
            self._environments[kind] = env
        return self._environments[kind]

    def render(self, template: str, **context: object) -> str:
        return self.environment(kind_of(template)).get_template(template).render(**context)
