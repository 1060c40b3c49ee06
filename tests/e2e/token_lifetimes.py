"""Commands sent across several lifetimes of the bot's access token (refresh tokens scenes)."""

from __future__ import annotations

import itertools
import time

from bot.session import load_session
from tests.e2e.conftest import StaffRoom
from tests.e2e.helpers import eventually, outbox_drained

REFRESHED = "Access token refreshed"


def token_expired(staff: StaffRoom) -> bool:
    """Whether the access token the bot stored last has expired (a moment, not a sleep)."""
    session = load_session(staff.workdir / "botdata")
    assert session is not None and session.expires_at_ms is not None
    return time.time() * 1000 > session.expires_at_ms


async def commands_across_lifetimes(staff: StaffRoom, lifetimes: int) -> None:
    """Each command waits for the stored token to expire: all answered, each exactly once."""
    commands = []
    people = itertools.cycle((staff.prof1, staff.prof2, staff.rupn))
    for _ in range(lifetimes):
        await eventually(lambda: token_expired(staff), what="the bot's token expired")
        who = next(people)
        reply = await staff.command(who, "!aide")
        assert reply.body.startswith("**Commandes de rupn-bot**")
        commands.append((who, reply.in_reply_to or ""))
    assert staff.bot.log_text().count(REFRESHED) >= lifetimes - 1
    await outbox_drained(staff.workdir)
    await staff.command(staff.prof1, "!aide")  # the bot handles events in order
    assert all(len(staff.replies_to(who, event_id)) == 1 for who, event_id in commands)
