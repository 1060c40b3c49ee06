"""Stopping what a benchmark started, even after a failure half-way."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable


async def stop_quietly(*stoppers: Callable[[], Awaitable[object]] | None) -> None:
    """Call each stopper in order; one that fails does not prevent the next."""
    for stopper in stoppers:
        if stopper is not None:
            with contextlib.suppress(Exception):
                await stopper()
