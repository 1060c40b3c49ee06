"""SQL fragments over the polls' votes, shared by the satisfaction and consultation
sections, and the polls' templates the bilan tells apart."""

from __future__ import annotations

NEEDS_TEMPLATE = "besoins"
"""`polls.template` of `!sondage besoins` (handlers/polls/commands.py)."""
FEEDBACK_TEMPLATE = "retour-atelier"
"""`polls.template` of the satisfaction poll after an atelier or a café
(handlers/workshops/attendance.py, FEEDBACK_TEMPLATE)."""


# Votes of the polls listed in a `chosen (poll_id)` CTE: a closed poll's frozen results,
# or, for a poll still open, each voter's latest response before the deadline that names
# only known answers (bot/tally.py's rules; a repeated answer in one response is rare
# enough to be counted as given). `votes (poll_id, answer_id, votes)` and
# `turnout (poll_id, voters, members)`; an open poll's members are the audience of its
# start event when the engagement log has it.
POLL_VOTES = """
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
ANSWER_VOTES = """
answer_votes AS (
    SELECT chosen.poll_id, a.key AS position, json_extract(a.value, '$.text') AS text,
           COALESCE(v.votes, 0) AS votes
    FROM chosen JOIN polls AS p ON p.id = chosen.poll_id, json_each(p.answers) AS a
    LEFT JOIN votes AS v ON v.poll_id = p.id AND v.answer_id = json_extract(a.value, '$.id')
)
"""
