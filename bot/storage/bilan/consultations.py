"""Section 5: the polls started in the year, their participation, the needs' themes."""

from __future__ import annotations

from datetime import datetime

from bot.storage.bilan.periods import median
from bot.storage.bilan.poll_votes import ANSWER_VOTES, FEEDBACK_TEMPLATE, NEEDS_TEMPLATE, POLL_VOTES
from bot.storage.bilan.results import Consultations, KeyCount
from bot.storage.database import Database, stored


async def consultations(
    db: Database, since: datetime, until: datetime, school: str
) -> Consultations:
    """Section 5: polls started in the year, their participation, the needs' themes.

    Participation is voters over the room's members (the bot excepted), for the polls
    whose members are known: frozen at closing, or the audience of the poll's post.
    """
    chosen = (
        "chosen AS (SELECT id AS poll_id, COALESCE(template, '') AS template FROM polls"
        " WHERE created_at >= ? AND created_at < ? AND school = ?)"
    )
    window = (stored(since), stored(until), school)
    row = await db.fetchone(
        f"WITH {chosen}, {POLL_VOTES},"  # noqa: S608 - constant SQL fragments
        " rates AS (SELECT CASE WHEN t.members > 0"
        "  THEN 100.0 * MIN(t.voters, t.members) / t.members END AS rate"
        "  FROM turnout AS t JOIN chosen ON chosen.poll_id = t.poll_id"
        "  WHERE chosen.template <> ?)"
        " SELECT"
        " (SELECT COUNT(*) FROM chosen WHERE template <> ?) AS polls,"
        " (SELECT COUNT(*) FROM chosen WHERE template = ?) AS needs,"
        " (SELECT COUNT(*) FROM chosen WHERE template = ?) AS feedback,"
        " (SELECT COUNT(rate) FROM rates) AS measured,"
        f" {median('rate', 'rates')} AS participation",
        (*window, FEEDBACK_TEMPLATE, FEEDBACK_TEMPLATE, NEEDS_TEMPLATE, FEEDBACK_TEMPLATE),
    )
    themes = await db.fetchall(
        f"WITH {chosen}, {POLL_VOTES}, {ANSWER_VOTES}"  # noqa: S608 - constant SQL fragments
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
