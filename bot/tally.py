"""Counting MSC3381 poll responses: pure functions, no I/O.

Rules (MSC3381): only a voter's latest response counts; an empty response
withdraws the vote; a response naming an unknown answer id is spoiled (it
counts for nothing, and still replaces the voter's earlier response); at
most `max_selections` answers are taken, in the order given; responses sent
after the poll's end are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Response:
    voter: str
    answers: tuple[str, ...]
    sent_at: datetime
    order: int = 0  # tie-break for equal timestamps: arrival order


@dataclass(frozen=True)
class Tally:
    counts: dict[str, int] = field(hash=False)  # answer id → votes, in the poll's order
    voters: int  # voters whose latest response is a valid, non-empty vote
    spoiled: int
    choices: dict[str, tuple[str, ...]] = field(hash=False)  # voter → answers counted

    def share(self, answer_id: str) -> float:
        return self.counts.get(answer_id, 0) / self.voters if self.voters else 0.0


def latest_by_voter(responses: Iterable[Response], until: datetime | None) -> dict[str, Response]:
    latest: dict[str, Response] = {}
    for response in responses:
        if until is not None and response.sent_at > until:
            continue
        current = latest.get(response.voter)
        if current is None or (response.sent_at, response.order) >= (
            current.sent_at,
            current.order,
        ):
            latest[response.voter] = response
    return latest


def tally(
    responses: Iterable[Response],
    answer_ids: Sequence[str],
    max_selections: int,
    *,
    until: datetime | None = None,
) -> Tally:
    known = set(answer_ids)
    counts = dict.fromkeys(answer_ids, 0)
    choices: dict[str, tuple[str, ...]] = {}
    spoiled = 0
    for voter, response in sorted(latest_by_voter(responses, until).items()):
        picked = tuple(dict.fromkeys(response.answers))[:max_selections]
        if not picked:
            continue
        if any(a not in known for a in picked):
            spoiled += 1
            continue
        choices[voter] = picked
        for answer in picked:
            counts[answer] += 1
    return Tally(counts, len(choices), spoiled, choices)
