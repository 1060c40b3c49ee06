"""Time is injected: code asks a `Clock` instead of calling `datetime.now()`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current time as an aware datetime."""


def system_clock() -> datetime:
    """The real clock, in UTC."""
    return datetime.now(UTC)
