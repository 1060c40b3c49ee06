"""/sante's rules: is the bot in service? Pure: the facts come in, French reasons go out.

Two ways to be out of service, each for longer than its threshold (`[metrics]`):

- **sync stuck**: no sync batch handled (the homeserver unreachable, the session lost,
  the loop wedged), so nobody's command is read;
- **outbox blocked**: while sync works (the homeserver answers), the oldest pending Matrix
  post waits past the threshold *and* the queue has not moved (nothing sent nor failed)
  for as long. The second condition keeps a long but moving queue healthy: the Friday
  letter of a few hundred rooms at one post a second takes minutes by design.

Right after a start both clocks count from the start: a bot is not « stuck » for the
hours it was stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Thresholds:
    sync_stuck: timedelta
    outbox_stuck: timedelta


@dataclass(frozen=True)
class HealthFacts:
    now: datetime
    started_at: datetime
    last_sync: datetime | None  # the last sync batch handled, perhaps before this start
    oldest_pending: datetime | None  # when the oldest pending Matrix post was queued
    last_delivery: datetime | None  # since this start: the last Matrix post sent or failed

    def since(self, moment: datetime | None) -> timedelta:
        """Time elapsed since `moment`, or since the start if that is later (or unknown)."""
        latest = self.started_at if moment is None else max(moment, self.started_at)
        return max(timedelta(0), self.now - latest)

    @property
    def sync_lag(self) -> timedelta:
        return self.since(self.last_sync)


def problem(facts: HealthFacts, thresholds: Thresholds) -> str | None:
    """Why the bot is out of service, in French; None when it is in service."""
    lag = facts.sync_lag
    if lag > thresholds.sync_stuck:
        return (
            f"synchronisation bloquée : aucune synchronisation réussie depuis "
            f"{french_duration(lag)} (seuil : {french_duration(thresholds.sync_stuck)})"
        )
    if facts.oldest_pending is None:
        return None
    waiting = facts.now - facts.oldest_pending
    still = facts.since(facts.last_delivery)
    if waiting > thresholds.outbox_stuck and still > thresholds.outbox_stuck:
        return (
            f"file d’envoi bloquée : un message attend depuis {french_duration(waiting)} et "
            f"aucun n’est parti depuis {french_duration(still)} "
            f"(seuil : {french_duration(thresholds.outbox_stuck)})"
        )
    return None


def french_duration(span: timedelta) -> str:
    """« 45 s », « 12 min », « 3 h 05 », « 2 j 4 h »: rounded down, for a person."""
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d}"
    days, hours = divmod(hours, 24)
    return f"{days} j {hours} h"
