"""The configuration error, whose text is French: one problem per line."""

from __future__ import annotations

from collections.abc import Sequence

from bot.errors import RupnError


class ConfigError(RupnError):
    """The configuration cannot be used.

    `str(error)` is French text: one problem per line. `problems` holds the
    same lines as a tuple.
    """

    def __init__(self, problems: str | Sequence[str]) -> None:
        lines = (problems,) if isinstance(problems, str) else tuple(problems)
        super().__init__("\n".join(lines))
        self.problems: tuple[str, ...] = lines


class UnechoedValueError(ValueError):
    """A validation failure whose input must not be repeated (it holds a secret)."""
