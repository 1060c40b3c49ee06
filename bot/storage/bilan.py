"""The bilan's indicators, computed in SQL over a school year.

Every figure is an aggregate made by SQLite: counts, sums and medians (window
functions), per month and per local time slot (the bounds of the months and the
UTC offsets of the time zone are passed in as JSON, so that summer time is right).
Python only maps the few result rows to frozen dataclasses: a year of 500,000
engagement rows costs a dozen statements. Nothing here returns a person: no user
id, no name, only numbers and what the RUPN typed (themes, poll answers, feeds).

What each figure means is documented where it is shown (digests/bilan/model.py,
`INDICATORS`); the choices that only SQL can see are commented below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import aiosqlite

from bot.storage.database import Database, stored

NEEDS_TEMPLATE = "besoins"
"""`polls.template` of `!sondage besoins` (handlers/polls/commands.py)."""
FEEDBACK_TEMPLATE = "retour-atelier"
"""`polls.template` of the satisfaction poll after an atelier or a café
(handlers/workshops/attendance.py, FEEDBACK_TEMPLATE)."""

MIDDAY = ("11:30:00", "14:00:00")
"""« Pause méridienne »: an atelier starting in [11h30, 14h), local time."""
END_OF_DAY = "16:00:00"
"""« Fin de journée »: starting at 16h or later, local time."""

# A post's audience: joined members when it was posted, without the bot (already left out
# of `members`) and without the author of the announcement when they are a member.
_AUDIENCE = "MAX(s.members - s.author_member, 0)"

WorkshopKind = Literal["atelier", "cafe"]


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonthCount:
    year: int
    month: int
    announcements: int  # the RUPN's own
    news: int  # news entries published as announcements


@dataclass(frozen=True, slots=True)
class KeyCount:
    """An answer of polls (a need, a degree of satisfaction) and its votes."""

    label: str
    count: int


@dataclass(frozen=True, slots=True)
class Reading:
    """Distinct readers of a kind of post, per item (all its rooms added up)."""

    items: int  # items with an engagement record
    readers_median: float | None
    rate_median: float | None  # percent of the audience, 0–100


@dataclass(frozen=True, slots=True)
class Diffusion:
    months: tuple[MonthCount, ...]
    rooms: int
    announcements: Reading
    reactions: int
    letters: int
    letter_reading: Reading

    @property
    def published(self) -> int:
        return sum(m.announcements + m.news for m in self.months)

    @property
    def news(self) -> int:
        return sum(m.news for m in self.months)


@dataclass(frozen=True, slots=True)
class SourceCounts:
    name: str
    received: int
    proposed: int
    published: int
    set_aside: int


@dataclass(frozen=True, slots=True)
class NewsWatch:
    sources: tuple[SourceCounts, ...]  # most published first

    def total(self, field: Literal["received", "proposed", "published", "set_aside"]) -> int:
        return sum(getattr(source, field) for source in self.sources)


@dataclass(frozen=True, slots=True)
class ThemeCount:
    theme: str
    sessions: int
    participants: int


@dataclass(frozen=True, slots=True)
class Satisfaction:
    polls: int
    respondents: int
    answers: tuple[KeyCount, ...]  # in the polls' order: « Oui, très », « Un peu »…

    def share(self, *positions: int) -> float | None:
        """Percent of the votes given to the answers at `positions` (None: no vote)."""
        total = sum(answer.count for answer in self.answers)
        if not total:
            return None
        chosen = sum(self.answers[i].count for i in positions if i < len(self.answers))
        return 100.0 * chosen / total


@dataclass(frozen=True, slots=True)
class Gatherings:
    """Ateliers or cafés numériques dated in the year."""

    kind: WorkshopKind
    organised: int  # not cancelled (held, or still to come)
    held: int  # not cancelled, started before the cut-off
    on_demand: int  # organised with a minimum of sign-ups (« à la demande »)
    cancelled: int
    cancelled_lacking: int  # cancelled while short of their minimum
    signed_up: int  # confirmed before the start, for the ones held
    present: int  # marked present (`!atelier presents`), for the ones held
    attendance_recorded: int
    participants: int  # present where attendance was recorded, else signed up
    midday: int
    end_of_day: int
    other_slot: int
    themes: tuple[ThemeCount, ...]
    satisfaction: Satisfaction


@dataclass(frozen=True, slots=True)
class Consultations:
    polls: int  # started with `!sondage` (needs polls included), satisfaction polls apart
    needs_polls: int
    feedback_polls: int
    measured: int  # polls whose participation is known (members counted)
    participation_median: float | None  # percent, 0–100
    needs_themes: tuple[KeyCount, ...]  # the leading themes of the needs polls


# --- parameters ----------------------------------------------------------------------------


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


def _median(column: str, source: str) -> str:
    """SQL for the median of `column` over `source` (NULLs left out; NULL when empty)."""
    return (
        f"(SELECT AVG(v) FROM (SELECT {column} AS v,"  # noqa: S608 - names of ours, not input
        f" ROW_NUMBER() OVER (ORDER BY {column}) AS i, COUNT(*) OVER () AS n"
        f" FROM {source} WHERE {column} IS NOT NULL) WHERE i IN ((n + 1) / 2, (n + 2) / 2))"
    )


# Votes of the polls listed in a `chosen (poll_id)` CTE: a closed poll's frozen results,
# or, for a poll still open, each voter's latest response before the deadline that names
# only known answers (bot/tally.py's rules; a repeated answer in one response is rare
# enough to be counted as given). `votes (poll_id, answer_id, votes)` and
# `turnout (poll_id, voters, members)`; an open poll's members are the audience of its
# start event when the engagement log has it.
_POLL_VOTES = """
closed AS (
    SELECT p.id AS poll_id, c.key AS answer_id, c.value AS votes
    FROM chosen JOIN polls AS p ON p.id = chosen.poll_id,
         json_each(p.final_results, '$.counts') AS c
    WHERE p.final_results IS NOT NULL
),
latest AS (
    SELECT r.poll_id, r.answers, p.max_selections, p.answers AS choices,
           ROW_NUMBER() OVER (PARTITION BY r.poll_id, r.voter
                              ORDER BY r.sent_at DESC, r.id DESC) AS n
    FROM chosen JOIN polls AS p ON p.id = chosen.poll_id
         JOIN poll_responses AS r ON r.poll_id = p.id
    WHERE p.final_results IS NULL AND (p.deadline IS NULL OR r.sent_at <= p.deadline)
),
valid AS (
    SELECT l.poll_id, l.answers, l.max_selections FROM latest AS l
    WHERE l.n = 1 AND json_array_length(l.answers) > 0
      AND NOT EXISTS (
          SELECT 1 FROM json_each(l.answers) AS x
          WHERE x.value NOT IN (SELECT json_extract(c.value, '$.id')
                                FROM json_each(l.choices) AS c))
),
votes AS (
    SELECT poll_id, answer_id, votes FROM closed
    UNION ALL
    SELECT v.poll_id, x.value, COUNT(*)
    FROM valid AS v, json_each(v.answers) AS x
    WHERE x.key < v.max_selections
    GROUP BY v.poll_id, x.value
),
turnout AS (
    SELECT p.id AS poll_id,
           CASE WHEN p.final_results IS NOT NULL
                THEN json_extract(p.final_results, '$.voters')
                ELSE (SELECT COUNT(*) FROM valid AS v WHERE v.poll_id = p.id) END AS voters,
           CASE WHEN p.final_results IS NOT NULL
                THEN json_extract(p.final_results, '$.members')
                ELSE (SELECT s.members FROM posts AS q JOIN post_stats AS s ON s.post_id = q.id
                      WHERE q.ref_type = 'poll' AND q.ref_id = p.id AND q.kind = 'poll-start'
                      ORDER BY q.id LIMIT 1) END AS members
    FROM chosen JOIN polls AS p ON p.id = chosen.poll_id
)
"""

# The answers of the chosen polls with their votes, in each poll's order.
_ANSWER_VOTES = """
answer_votes AS (
    SELECT chosen.poll_id, a.key AS position, json_extract(a.value, '$.text') AS text,
           COALESCE(v.votes, 0) AS votes
    FROM chosen JOIN polls AS p ON p.id = chosen.poll_id, json_each(p.answers) AS a
    LEFT JOIN votes AS v ON v.poll_id = p.id AND v.answer_id = json_extract(a.value, '$.id')
)
"""


# --- the repository ------------------------------------------------------------------------


class BilanRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def diffusion(self, since: datetime, until: datetime, tz: ZoneInfo) -> Diffusion:
        """Section 1: announcements (news included), their rooms, readers and reactions;
        the weekly letters."""
        window = (stored(since), stored(until))
        months = month_bounds(since, until, tz)
        month_rows = await self._db.fetchall(
            "WITH months AS (SELECT key AS i, json_extract(value, '$[0]') AS start,"
            " json_extract(value, '$[1]') AS end FROM json_each(?))"
            " SELECT m.i,"
            " COUNT(a.id) FILTER (WHERE a.entry_id IS NULL) AS own,"
            " COUNT(a.id) FILTER (WHERE a.entry_id IS NOT NULL) AS news"
            " FROM months AS m LEFT JOIN announcements AS a ON a.status = 'sent'"
            "  AND a.published_at >= m.start AND a.published_at < m.end"
            " GROUP BY m.i ORDER BY m.i",
            (json.dumps([[start, end] for _, _, start, end in months]),),
        )
        counts = {row["i"]: (row["own"], row["news"]) for row in month_rows}
        rooms = await self._db.fetchone(
            "SELECT COUNT(DISTINCT p.room_id) AS n FROM announcements AS a"
            " JOIN posts AS p ON p.ref_type = 'announcement' AND p.ref_id = a.id"
            "  AND p.kind = 'announcement' AND p.status = 'sent'"
            " WHERE a.status = 'sent' AND a.published_at >= ? AND a.published_at < ?",
            window,
        )
        reactions = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM announcements AS a"
            " JOIN posts AS p ON p.ref_type = 'announcement' AND p.ref_id = a.id"
            "  AND p.kind = 'announcement'"
            " JOIN post_reactions AS r ON r.post_id = p.id"
            " WHERE a.status = 'sent' AND a.published_at >= ? AND a.published_at < ?",
            window,
        )
        letters = await self._db.fetchone(
            "SELECT (SELECT COUNT(*) FROM digest_weeks"
            "  WHERE outcome = 'sent' AND decided_at >= ?1 AND decided_at < ?2)"
            " + (SELECT COUNT(*) FROM digest_extra_letters"
            "  WHERE sent_at >= ?1 AND sent_at < ?2) AS n",
            window,
        )
        return Diffusion(
            months=tuple(
                MonthCount(year, month, *counts.get(i, (0, 0)))
                for i, (year, month, _, _) in enumerate(months)
            ),
            rooms=rooms["n"] if rooms else 0,
            announcements=await self._reading("announcement", "announcement", window),
            reactions=reactions["n"] if reactions else 0,
            letters=letters["n"] if letters else 0,
            letter_reading=await self._reading("digest", "digest", window),
        )

    async def _reading(self, kind: str, ref_type: str, window: tuple[str, str]) -> Reading:
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
        row = await self._db.fetchone(
            "WITH per AS ("  # noqa: S608 - constant SQL fragments
            f" SELECT s.ref_id, SUM(s.readers) AS readers, SUM({_AUDIENCE}) AS audience"
            " FROM post_stats AS s"
            " WHERE s.kind = ? AND s.ref_type = ? AND s.sent_at >= ? AND s.sent_at < ?"
            f"{withdrawn} GROUP BY s.ref_id),"
            " rated AS (SELECT readers,"
            "  CASE WHEN audience > 0 THEN 100.0 * MIN(readers, audience) / audience END AS rate"
            "  FROM per)"
            f" SELECT (SELECT COUNT(*) FROM rated) AS items,"
            f" {_median('readers', 'rated')} AS readers,"
            f" {_median('rate', 'rated')} AS rate",
            (kind, ref_type, *window),
        )
        if row is None:  # pragma: no cover - an aggregate always returns a row
            return Reading(0, None, None)
        return Reading(row["items"], row["readers"], row["rate"])

    async def news(self, since: datetime, until: datetime) -> NewsWatch:
        """Section 2: per source followed during the year, what its entries became.

        A source counts when it was active or brought entries during the year (and was
        added before its end). « Proposés »: offered to the RUPN's sorting (waiting,
        published or set aside); filtered and primed entries were only received.
        """
        rows = await self._db.fetchall(
            "SELECT f.name,"
            " COUNT(e.id) AS received,"
            " COUNT(e.id) FILTER (WHERE e.status IN ('proposed', 'published', 'ignored'))"
            "  AS proposed,"
            " COUNT(e.id) FILTER (WHERE e.status = 'published') AS published,"
            " COUNT(e.id) FILTER (WHERE e.status = 'ignored') AS set_aside"
            " FROM feeds AS f LEFT JOIN feed_entries AS e ON e.feed_id = f.id"
            "  AND e.created_at >= ? AND e.created_at < ?"
            " WHERE f.added_at < ?"
            " GROUP BY f.id HAVING MAX(f.active) = 1 OR COUNT(e.id) > 0"
            " ORDER BY published DESC, received DESC, f.name",
            (stored(since), stored(until), stored(until)),
        )
        return NewsWatch(
            tuple(
                SourceCounts(
                    r["name"], r["received"], r["proposed"], r["published"], r["set_aside"]
                )
                for r in rows
            )
        )

    async def gatherings(
        self, since: datetime, until: datetime, cutoff: datetime, tz: ZoneInfo
    ) -> dict[WorkshopKind, Gatherings]:
        """Sections 3 and 4: ateliers and cafés dated in the year, by kind.

        Sign-ups count when confirmed before the start: someone marked present who had
        not signed up (added by `!atelier presents`) is present, not signed up.
        Cancelled « for lack of sign-ups »: cancelled with a minimum that the confirmed
        sign-ups did not reach (the reason itself is not recorded).
        """
        offsets = json.dumps(offset_periods(since, until, tz))
        params = (offsets, stored(cutoff), stored(since), stored(until))
        rows = await self._db.fetchall(
            f"WITH {_WORKSHOPS}"  # noqa: S608 - constant SQL fragments
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
        themes = await self._db.fetchall(
            f"WITH {_WORKSHOPS}"  # noqa: S608 - constant SQL fragments
            " SELECT kind, theme, COUNT(*) AS sessions,"
            " TOTAL(CASE WHEN held THEN participants END) AS participants"
            " FROM w WHERE NOT cancelled"
            " GROUP BY kind, theme ORDER BY kind, sessions DESC, participants DESC, theme",
            params,
        )
        satisfaction = await self._satisfaction(since, until)
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
        self, since: datetime, until: datetime
    ) -> dict[WorkshopKind, Satisfaction]:
        """The feedback polls of the ateliers (or cafés) dated in the year, added up by the
        position of their answers (« Oui, très », « Un peu », « Pas vraiment »)."""
        chosen = (
            "chosen AS (SELECT w.feedback_poll_id AS poll_id, w.kind FROM workshops AS w"
            " WHERE w.feedback_poll_id IS NOT NULL AND w.starts_at >= ? AND w.starts_at < ?)"
        )
        window = (stored(since), stored(until))
        answers = await self._db.fetchall(
            f"WITH {chosen}, {_POLL_VOTES}, {_ANSWER_VOTES}"  # noqa: S608 - constant SQL fragments
            " SELECT chosen.kind, av.position, MIN(av.text) AS text, SUM(av.votes) AS votes"
            " FROM answer_votes AS av JOIN chosen ON chosen.poll_id = av.poll_id"
            " GROUP BY chosen.kind, av.position ORDER BY chosen.kind, av.position",
            window,
        )
        turnout = await self._db.fetchall(
            f"WITH {chosen}, {_POLL_VOTES}"  # noqa: S608 - constant SQL fragments
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

    async def consultations(self, since: datetime, until: datetime) -> Consultations:
        """Section 5: polls started in the year, their participation, the needs' themes.

        Participation is voters over the room's members (the bot excepted), for the polls
        whose members are known: frozen at closing, or the audience of the poll's post.
        """
        chosen = (
            "chosen AS (SELECT id AS poll_id, COALESCE(template, '') AS template FROM polls"
            " WHERE created_at >= ? AND created_at < ?)"
        )
        window = (stored(since), stored(until))
        row = await self._db.fetchone(
            f"WITH {chosen}, {_POLL_VOTES},"  # noqa: S608 - constant SQL fragments
            " rates AS (SELECT CASE WHEN t.members > 0"
            "  THEN 100.0 * MIN(t.voters, t.members) / t.members END AS rate"
            "  FROM turnout AS t JOIN chosen ON chosen.poll_id = t.poll_id"
            "  WHERE chosen.template <> ?)"
            " SELECT"
            " (SELECT COUNT(*) FROM chosen WHERE template <> ?) AS polls,"
            " (SELECT COUNT(*) FROM chosen WHERE template = ?) AS needs,"
            " (SELECT COUNT(*) FROM chosen WHERE template = ?) AS feedback,"
            " (SELECT COUNT(rate) FROM rates) AS measured,"
            f" {_median('rate', 'rates')} AS participation",
            (*window, FEEDBACK_TEMPLATE, FEEDBACK_TEMPLATE, NEEDS_TEMPLATE, FEEDBACK_TEMPLATE),
        )
        themes = await self._db.fetchall(
            f"WITH {chosen}, {_POLL_VOTES}, {_ANSWER_VOTES}"  # noqa: S608 - constant SQL fragments
            " SELECT av.text, SUM(av.votes) AS votes"
            " FROM answer_votes AS av JOIN chosen ON chosen.poll_id = av.poll_id"
            " WHERE chosen.template = ?"
            " GROUP BY av.text HAVING SUM(av.votes) > 0"
            " ORDER BY votes DESC, MIN(av.position), av.text LIMIT 5",
            (*window, NEEDS_TEMPLATE),
        )
        if row is None:  # pragma: no cover - an aggregate always returns a row
            return Consultations(0, 0, 0, 0, None, ())
        return Consultations(
            polls=row["polls"],
            needs_polls=row["needs"],
            feedback_polls=row["feedback"],
            measured=row["measured"],
            participation_median=row["participation"],
            needs_themes=tuple(KeyCount(t["text"], t["votes"]) for t in themes),
        )


# Ateliers and cafés dated in [since, until): the first parameter is the UTC offsets
# (JSON), then the cut-off (before it, a workshop not cancelled was held), since, until.
# Participants: those marked present once attendance is recorded, else the sign-ups.
_WORKSHOPS = """
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
    WHERE w.starts_at >= ? AND w.starts_at < ?
),
w AS (SELECT *, CASE WHEN done THEN present ELSE signed_up END AS participants FROM base)
"""
