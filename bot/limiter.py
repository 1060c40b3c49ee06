"""The flood limit on a person's commands, counted at the moment each was sent.

A person (not an admin) may send COMMANDS_ALLOWED commands in any COMMANDS_WINDOW.
The first command beyond is answered once with SLOW_DOWN_TEXT; that person's
commands are then ignored (not run, not answered) for COMMANDS_PAUSE.

Decisions:
- only commands (`!…` messages, unknown ones included) count; reactions, poll votes,
  receipts and plain messages are never limited, and admins never are;
- the allowance is sized for normal use: `!aide` then ten `!aide <commande>` within a
  minute, then a sign-up and a withdrawal, never come near it; twenty commands in
  30 seconds do;
- a command counts at the moment it was sent (its origin_server_ts), not when the bot
  handles it: commands typed while the bot was stopped arrive together, but were
  typed minutes apart;
- that moment is claimed by the sender's homeserver, so it is only believed within
  what the bot saw: not after the bot received the event, not before the batch before
  it was handled (minus CLOCK_SKEW). Whatever a homeserver claims, the commands of a
  flood are counted within the real span of the flood plus CLOCK_SKEW; and a person's
  commands are counted in the order they came, never earlier than the previous one;
- the state is in memory: a restart forgets it, which only lets a flooding person
  start again after the restart. Ignored commands are still covered by the batch's
  sync token, so they are never replayed.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

COMMANDS_ALLOWED = 15
COMMANDS_WINDOW = timedelta(seconds=30)
COMMANDS_PAUSE = timedelta(seconds=60)
CLOCK_SKEW = timedelta(seconds=10)
"""How far a homeserver's clock, and a sync racing a new event, may be believed off."""
SLOW_DOWN_TEXT = (
    "Doucement : vous avez envoyé beaucoup de commandes en peu de temps. "
    "Je reprends dans une minute."
)


class Verdict(enum.Enum):
    RUN = "run"
    SLOW_DOWN = "slow down"  # not run; the person is told why, once
    IGNORE = "ignore"  # not run, not answered


@dataclass(frozen=True)
class Arrival:
    """When events can have been sent: after `earliest`, before `latest` (the bot saw them)."""

    earliest: datetime
    latest: datetime

    @classmethod
    def after(cls, previous: datetime | None, now: datetime) -> Arrival:
        """Events of a batch handled at `now`, the one before having been handled at `previous`.

        Without a previous batch (a database that never recorded one), they count at `now`.
        """
        if previous is None:
            return cls(now, now)
        return cls(min(previous - CLOCK_SKEW, now), now)

    @classmethod
    def kept(cls, received: datetime) -> Arrival:
        """An event the bot kept undecryptable since `received`: counted as if it came then."""
        return cls(received - CLOCK_SKEW, received)

    def sent_at(self, claimed: datetime) -> datetime:
        """The moment an event was sent: what its homeserver claims, kept within the bounds."""
        return min(max(claimed, self.earliest), self.latest)


class CommandLimiter:
    """Who may run a command now; see the module's docstring."""

    def __init__(self) -> None:
        self._recent: dict[str, deque[datetime]] = {}
        self._last: dict[str, datetime] = {}
        self._paused_until: dict[str, datetime] = {}

    def check(self, user: str, sent: datetime) -> Verdict:
        """The verdict on `user`'s command sent at `sent` (as `Arrival.sent_at` believes it)."""
        last = self._last.get(user)
        if last is not None and sent < last:
            sent = last
        self._last[user] = sent
        until = self._paused_until.get(user)
        if until is not None:
            if sent < until:
                return Verdict.IGNORE
            del self._paused_until[user]
        recent = self._recent.setdefault(user, deque())
        while recent and sent - recent[0] >= COMMANDS_WINDOW:
            recent.popleft()
        if len(recent) < COMMANDS_ALLOWED:
            recent.append(sent)
            return Verdict.RUN
        del self._recent[user]
        self._paused_until[user] = sent + COMMANDS_PAUSE
        return Verdict.SLOW_DOWN
