"""Sections 1 and 2: the announcements, their readers and reactions, the weekly letters;
what the followed news sources brought."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.storage.bilan.periods import median, month_bounds
from bot.storage.bilan.results import Diffusion, MonthCount, NewsWatch, Reading, SourceCounts
from bot.storage.database import Database, stored

# A post's audience: joined members when it was posted, without the bot (already left out
# of `members`) and without the author of the announcement when they are a member.
_AUDIENCE = "MAX(s.members - s.author_member, 0)"
# The school whose figures a statement computes: its first parameter.
_SCHOOL = "me(school) AS (SELECT ?)"
_MINE = "(SELECT school FROM me)"


async def diffusion(
    db: Database, since: datetime, until: datetime, tz: ZoneInfo, school: str
) -> Diffusion:
    """Section 1: a school's announcements (news included), their rooms, readers and
    reactions; its weekly letters."""
    window = (stored(since), stored(until))
    months = month_bounds(since, until, tz)
    month_rows = await db.fetchall(
        f"WITH {_SCHOOL}, months AS (SELECT key AS i, json_extract(value, '$[0]') AS start,"  # noqa: S608
        " json_extract(value, '$[1]') AS end FROM json_each(?))"
        " SELECT m.i,"
        " COUNT(a.id) FILTER (WHERE a.entry_id IS NULL) AS own,"
        " COUNT(a.id) FILTER (WHERE a.entry_id IS NOT NULL) AS news"
        " FROM months AS m LEFT JOIN announcements AS a ON a.status = 'sent'"
        f"  AND a.school = {_MINE} AND a.published_at >= m.start AND a.published_at < m.end"
        " GROUP BY m.i ORDER BY m.i",
        (school, json.dumps([[start, end] for _, _, start, end in months])),
    )
    counts = {row["i"]: (row["own"], row["news"]) for row in month_rows}
    rooms = await db.fetchone(
        f"WITH {_SCHOOL} SELECT COUNT(DISTINCT p.room_id) AS n FROM announcements AS a"  # noqa: S608
        " JOIN posts AS p ON p.ref_type = 'announcement' AND p.ref_id = a.id"
        "  AND p.kind = 'announcement' AND p.status = 'sent'"
        " WHERE a.status = 'sent' AND a.published_at >= ? AND a.published_at < ?"
        f" AND a.school = {_MINE}",
        (school, *window),
    )
    # One per person, post and emoji: a teacher's 👍 and 👍🏽 on one post are one reaction.
    reactions = await db.fetchone(
        f"WITH {_SCHOOL} SELECT COUNT(*) AS n FROM announcements AS a"  # noqa: S608
        " JOIN posts AS p ON p.ref_type = 'announcement' AND p.ref_id = a.id"
        "  AND p.kind = 'announcement'"
        " JOIN post_reactions AS r ON r.post_id = p.id AND r.counted = 1"
        " WHERE a.status = 'sent' AND a.published_at >= ? AND a.published_at < ?"
        f" AND a.school = {_MINE}",
        (school, *window),
    )
    letters = await db.fetchone(
        "SELECT (SELECT COUNT(*) FROM digest_weeks"
        "  WHERE outcome = 'sent' AND decided_at >= :start AND decided_at < :end"
        "  AND school = :school)"
        " + (SELECT COUNT(*) FROM digest_extra_letters"
        "  WHERE sent_at >= :start AND sent_at < :end AND school = :school) AS n",
        {"start": window[0], "end": window[1], "school": school},
    )
    return Diffusion(
        months=tuple(
            MonthCount(year, month, *counts.get(i, (0, 0)))
            for i, (year, month, _, _) in enumerate(months)
        ),
        rooms=rooms["n"] if rooms else 0,
        announcements=await _reading(db, "announcement", "announcement", window, school),
        reactions=reactions["n"] if reactions else 0,
        letters=letters["n"] if letters else 0,
        letter_reading=await _reading(db, "digest", "digest", window, school),
    )


async def _reading(
    db: Database, kind: str, ref_type: str, window: tuple[str, str], school: str
) -> Reading:
    """Medians over items (an announcement, a week's letter) of their rooms' readers.

    A withdrawn announcement is left out. Readers are a lower bound: private read
    receipts never reach the bot.
    """
    withdrawn = (
        " AND NOT EXISTS (SELECT 1 FROM announcements AS a"
        " WHERE a.id = s.ref_id AND a.status <> 'sent')"
        if ref_type == "announcement"
        else ""
    )
    row = await db.fetchone(
        f"WITH {_SCHOOL}, per AS ("  # noqa: S608 - constant SQL fragments
        f" SELECT s.ref_id, SUM(s.readers) AS readers, SUM({_AUDIENCE}) AS audience"
        " FROM post_stats AS s"
        " WHERE s.kind = ? AND s.ref_type = ? AND s.sent_at >= ? AND s.sent_at < ?"
        f" AND s.school = {_MINE}"
        f"{withdrawn} GROUP BY s.ref_id),"
        " rated AS (SELECT readers,"
        "  CASE WHEN audience > 0 THEN 100.0 * MIN(readers, audience) / audience END AS rate"
        "  FROM per)"
        f" SELECT (SELECT COUNT(*) FROM rated) AS items,"
        f" {median('readers', 'rated')} AS readers,"
        f" {median('rate', 'rated')} AS rate",
        (school, kind, ref_type, *window),
    )
    if row is None:  # pragma: no cover - an aggregate always returns a row
        return Reading(0, None, None)
    return Reading(row["items"], row["readers"], row["rate"])


async def news(db: Database, since: datetime, until: datetime, school: str) -> NewsWatch:
    """Section 2: per source the school followed during the year, what its entries became
    for the school (each school decides on its own rows of an académie's source).

    A school's own source counts when it was active or brought entries during the year
    (and was added before its end). A source of the config file's [[feeds]] is a
    single-school bot's own; for an académie's school it counts only when the school
    published or set aside at least one of its entries that year: reading the académie's
    sources for every school makes no school active. « Proposés »: offered to the RUPN's
    sorting (waiting, published or set aside); filtered and primed entries were only
    received.
    """
    rows = await db.fetchall(
        "WITH mine AS (SELECT feed_id, status FROM feed_entries"
        "  WHERE school = ? AND created_at >= ? AND created_at < ?)"
        " SELECT f.name,"
        " COUNT(m.status) AS received,"
        " COUNT(m.status) FILTER (WHERE m.status IN ('proposed', 'published', 'ignored'))"
        "  AS proposed,"
        " COUNT(m.status) FILTER (WHERE m.status = 'published') AS published,"
        " COUNT(m.status) FILTER (WHERE m.status = 'ignored') AS set_aside"
        " FROM feeds AS f LEFT JOIN mine AS m ON m.feed_id = f.id"
        " WHERE f.added_at < ? AND (f.school = ? OR f.school IS NULL)"
        " GROUP BY f.id HAVING CASE WHEN f.school IS NULL AND ? != ''"
        "  THEN COUNT(m.status) FILTER (WHERE m.status IN ('published', 'ignored')) > 0"
        "  ELSE MAX(f.active) = 1 OR COUNT(m.status) > 0 END"
        " ORDER BY published DESC, received DESC, f.name",
        (school, stored(since), stored(until), stored(until), school, school),
    )
    return NewsWatch(
        tuple(
            SourceCounts(r["name"], r["received"], r["proposed"], r["published"], r["set_aside"])
            for r in rows
        )
    )
