"""Parameters the bilan's SQL takes as JSON (local months, UTC offsets) and its median."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.storage.database import stored


def month_bounds(since: datetime, until: datetime, tz: ZoneInfo) -> list[tuple[int, int, str, str]]:
    """(year, month, start, end) of each local calendar month in [since, until), as stored."""
    first = since.astimezone(tz).date().replace(day=1)
    months: list[tuple[int, int, str, str]] = []
    while True:
        following = (first + timedelta(days=32)).replace(day=1)
        start = max(since, datetime.combine(first, datetime.min.time(), tzinfo=tz))
        end = min(until, datetime.combine(following, datetime.min.time(), tzinfo=tz))
        if start >= until:
            return months
        months.append((first.year, first.month, stored(start), stored(end)))
        first = following


def _offset_minutes(moment: datetime, tz: ZoneInfo) -> int:
    offset = moment.astimezone(tz).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


def offset_periods(since: datetime, until: datetime, tz: ZoneInfo) -> list[tuple[str, str, int]]:
    """The spans of [since, until) with one UTC offset in `tz`: (start, end, minutes)."""
    cursor, end = since.astimezone(UTC), until.astimezone(UTC)
    periods: list[tuple[str, str, int]] = []
    start, offset = cursor, _offset_minutes(cursor, tz)
    while cursor < end:
        step = min(cursor + timedelta(days=1), end)
        if _offset_minutes(step, tz) != offset:
            low, high = cursor, step  # the change is in (low, high]: to the second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset_minutes(middle, tz) == offset:
                    low = middle
                else:
                    high = middle
            periods.append((stored(start), stored(high), offset))
            start, offset = high, _offset_minutes(high, tz)
            step = high
        cursor = step
    periods.append((stored(start), stored(end), offset))
    return periods


def median(column: str, source: str) -> str:
    """SQL for the median of `column` over `source` (NULLs left out; NULL when empty)."""
    return (
        f"(SELECT AVG(v) FROM (SELECT {column} AS v,"  # noqa: S608 - names of ours, not input
        f" ROW_NUMBER() OVER (ORDER BY {column}) AS i, COUNT(*) OVER () AS n"
        f" FROM {source} WHERE {column} IS NOT NULL) WHERE i IN ((n + 1) / 2, (n + 2) / 2))"
    )
