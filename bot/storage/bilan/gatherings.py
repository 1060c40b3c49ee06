"""Sections 3 and 4: ateliers and cafés dated in the year, and their feedback polls."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import aiosqlite

from bot.storage.bilan.periods import offset_periods
from bot.storage.bilan.poll_votes import ANSWER_VOTES, POLL_VOTES
from bot.storage.bilan.results import Gatherings, KeyCount, Satisfaction, ThemeCount, WorkshopKind
from bot.storage.database import Database, stored

MIDDAY = ("11:30:00", "14:00:00")
"""« Pause méridienne »: an atelier starting in [11h30, 14h), local time."""
END_OF_DAY = "16:00:00"
"""« Fin de journée »: starting at 16h or later, local time."""

# Ateliers and cafés of a school dated in [since, until): the first parameter is the UTC
# offsets (JSON), then the cut-off (before it, a workshop not cancelled was held), since,
# until, the school.
# Participants: those marked present once attendance is recorded, else the sign-ups.
WORKSHOPS = """
offsets AS (
    SELECT json_extract(value, '$[0]') AS start, json_extract(value, '$[1]') AS end,
           json_extract(value, '$[2]') AS minutes
    FROM json_each(?)
),
cutoff AS (SELECT ? AS at),
base AS (
    SELECT w.kind, w.theme, w.minimum,
           w.status = 'cancelled' AS cancelled,
           w.status = 'done' AS done,
           w.status <> 'cancelled' AND w.starts_at < cutoff.at AS held,
           (SELECT COUNT(*) FROM workshop_signups AS s WHERE s.workshop_id = w.id
              AND s.status = 'confirmed' AND s.signed_up_at < w.starts_at) AS signed_up,
           (SELECT COUNT(*) FROM workshop_signups AS s WHERE s.workshop_id = w.id
              AND s.attended = 1) AS present,
           (SELECT time(w.starts_at, o.minutes || ' minutes') FROM offsets AS o
              WHERE w.starts_at >= o.start AND w.starts_at < o.end) AS local_time
    FROM workshops AS w, cutoff
    WHERE w.starts_at >= ? AND w.starts_at < ? AND w.school = ?
),
w AS (SELECT *, CASE WHEN done THEN present ELSE signed_up END AS participants FROM base)
"""


async def gatherings(
    db: Database, since: datetime, until: datetime, cutoff: datetime, tz: ZoneInfo, school: str
) -> dict[WorkshopKind, Gatherings]:
    """Sections 3 and 4: ateliers and cafés dated in the year, by kind.

    Sign-ups count when confirmed before the start: someone marked present who had
    not signed up (added by `!atelier presents`) is present, not signed up.
    Cancelled « for lack of sign-ups »: cancelled with a minimum that the confirmed
    sign-ups did not reach (the reason itself is not recorded).
    """
    offsets = json.dumps(offset_periods(since, until, tz))
    params = (offsets, stored(cutoff), stored(since), stored(until), school)
    rows = await db.fetchall(
        f"WITH {WORKSHOPS}"  # noqa: S608 - constant SQL fragments
        " SELECT kind,"
        " SUM(NOT cancelled) AS organised, SUM(held) AS held,"
        " SUM(NOT cancelled AND minimum IS NOT NULL) AS on_demand,"
        " SUM(cancelled) AS cancelled,"
        " SUM(cancelled AND minimum IS NOT NULL AND signed_up < minimum) AS lacking,"
        " TOTAL(CASE WHEN held THEN signed_up END) AS signed_up,"
        " TOTAL(CASE WHEN held THEN present END) AS present,"
        " SUM(held AND done) AS recorded,"
        " TOTAL(CASE WHEN held THEN participants END) AS participants,"
        " SUM(NOT cancelled AND local_time >= ? AND local_time < ?) AS midday,"
        " SUM(NOT cancelled AND local_time >= ?) AS end_of_day"
        " FROM w GROUP BY kind",
        (*params, *MIDDAY, END_OF_DAY),
    )
    themes = await db.fetchall(
        f"WITH {WORKSHOPS}"  # noqa: S608 - constant SQL fragments
        " SELECT kind, theme, COUNT(*) AS sessions,"
        " TOTAL(CASE WHEN held THEN participants END) AS participants"
        " FROM w WHERE NOT cancelled"
        " GROUP BY kind, theme ORDER BY kind, sessions DESC, participants DESC, theme",
        params,
    )
    satisfaction = await _satisfaction(db, since, until, school)
    by_kind = {row["kind"]: row for row in rows}
    result: dict[WorkshopKind, Gatherings] = {}
    kinds: tuple[WorkshopKind, ...] = ("atelier", "cafe")
    for kind in kinds:
        row = by_kind.get(kind)

        def count(column: str, row: aiosqlite.Row | None = row) -> int:
            return int(row[column] or 0) if row is not None else 0

        result[kind] = Gatherings(
            kind=kind,
            organised=count("organised"),
            held=count("held"),
            on_demand=count("on_demand"),
            cancelled=count("cancelled"),
            cancelled_lacking=count("lacking"),
            signed_up=count("signed_up"),
            present=count("present"),
            attendance_recorded=count("recorded"),
            participants=count("participants"),
            midday=count("midday"),
            end_of_day=count("end_of_day"),
            other_slot=count("organised") - count("midday") - count("end_of_day"),
            themes=tuple(
                ThemeCount(t["theme"], t["sessions"], int(t["participants"]))
                for t in themes
                if t["kind"] == kind
            ),
            satisfaction=satisfaction.get(kind, Satisfaction(0, 0, ())),
        )
    return result


async def _satisfaction(
    db: Database, since: datetime, until: datetime, school: str
) -> dict[WorkshopKind, Satisfaction]:
    """The feedback polls of the ateliers (or cafés) dated in the year, added up by the
    position of their answers (« Oui, très », « Un peu », « Pas vraiment »)."""
    chosen = (
        "chosen AS (SELECT w.feedback_poll_id AS poll_id, w.kind FROM workshops AS w"
        " WHERE w.feedback_poll_id IS NOT NULL AND w.starts_at >= ? AND w.starts_at < ?"
        " AND w.school = ?)"
    )
    window = (stored(since), stored(until), school)
    answers = await db.fetchall(
        f"WITH {chosen}, {POLL_VOTES}, {ANSWER_VOTES}"  # noqa: S608 - constant SQL fragments
        " SELECT chosen.kind, av.position, MIN(av.text) AS text, SUM(av.votes) AS votes"
        " FROM answer_votes AS av JOIN chosen ON chosen.poll_id = av.poll_id"
        " GROUP BY chosen.kind, av.position ORDER BY chosen.kind, av.position",
        window,
    )
    turnout = await db.fetchall(
        f"WITH {chosen}, {POLL_VOTES}"  # noqa: S608 - constant SQL fragments
        " SELECT chosen.kind, COUNT(*) AS polls, TOTAL(t.voters) AS voters"
        " FROM turnout AS t JOIN chosen ON chosen.poll_id = t.poll_id"
        " GROUP BY chosen.kind",
        window,
    )
    return {
        row["kind"]: Satisfaction(
            row["polls"],
            int(row["voters"]),
            tuple(KeyCount(a["text"], a["votes"]) for a in answers if a["kind"] == row["kind"]),
        )
        for row in turnout
    }
