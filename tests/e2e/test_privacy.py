"""The teachers' right to erasure, end to end: the real bot, a real Synapse, an encrypted
staff room, nio teachers who vote, react and sign up.

Inès votes in an open poll and takes the only seat of an atelier by 👍; Paul waits for
it. `!mesdonnees effacer` in the staff room: Paul gets the seat, Inès the confirmation
in a direct room, and afterwards no cell of any table holds her user id (raw or
percent-encoded) nor the id of any event her client sent. Her new vote in the still-open
poll and her new sign-up to the coming atelier then count once.

Paul declines the direct room `!mesdonnees` invites him to; asking again invites him again.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

import nio

from tests.e2e.conftest import StaffRoom
from tests.e2e.helpers import DATABASE, cells_containing, eventually, outbox_drained, query

PARIS = ZoneInfo("Europe/Paris")
START = "org.matrix.msc3381.poll.start"
RESPONSE = "org.matrix.msc3381.poll.response"
T = TypeVar("T")
ERASED_TEXT_START = "C’est fait : ce que rupn-bot gardait à votre sujet est effacé"


async def test_erasure_leaves_no_trace_and_a_fresh_start_counts_once(staff: StaffRoom) -> None:
    rupn, ines, paul, bot, room = staff.rupn, staff.prof1, staff.prof2, staff.bot_id, staff.room_id
    sent: list[str] = []  # every event Inès's client sends

    async def ines_sends(event_type: str, content: dict[str, object]) -> str:
        event_id = await ines.send_event(room, event_type, content)
        sent.append(event_id)
        return event_id

    async def vote(poll: str, answer: str) -> str:
        relation = {"rel_type": "m.reference", "event_id": poll}
        return await ines_sends(
            RESPONSE, {"m.relates_to": relation, RESPONSE: {"answers": [answer]}}
        )

    mark = ines.mark()
    await rupn.send_text(room, "!sondage Quel thème ? | Pronote | ENT")
    day = (datetime.now(PARIS) + timedelta(days=7)).date()
    await rupn.send_text(room, f"!atelier {day.day}/{day.month} 12h30 | Pronote | CDI | 1 place")
    poll = await ines.wait_for(lambda m: m.event_type == START, after=mark, timeout=30)
    notice = await ines.wait_for(
        lambda m: m.sender == bot and m.msgtype == "m.text" and "Pronote" in m.body, after=mark
    )
    first, second = (a["id"] for a in poll.content[START]["answers"])
    await vote(poll.event_id, first)
    thumb = {"rel_type": "m.annotation", "event_id": notice.event_id, "key": "👍"}
    await ines_sends("m.reaction", {"m.relates_to": thumb})

    async def signups() -> list[tuple[str, str]]:
        rows = await query(
            staff.workdir,
            "SELECT user_id, status FROM workshop_signups WHERE status != 'cancelled' ORDER BY id",
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    async def votes() -> list[tuple[str, list[str]]]:
        rows = await query(staff.workdir, "SELECT voter, answers FROM poll_responses")
        return [(str(r[0]), json.loads(r[1])) for r in rows]

    await eventually(lambda: _equal(signups(), [(ines.user_id, "confirmed")]), what="her 👍")
    await eventually(lambda: _equal(votes(), [(ines.user_id, [first])]), what="her vote")
    waiting = await staff.command(paul, "!inscription 1")
    assert "liste d’attente (position 1)" in waiting.body

    # Erased from the staff room: Paul gets the seat, she gets the confirmation privately.
    mark, paul_mark = ines.mark(), paul.mark()
    sent.append(await ines.send_text(room, "!mesdonnees effacer"))
    promotion = await paul.wait_for(lambda m: "une place s’est libérée" in m.body, after=paul_mark)
    assert promotion.body == (
        f"{paul.user_id} : une place s’est libérée, votre inscription à l’atelier n° 1 est "
        "confirmée."
    )
    confirmation = await ines.wait_for(
        lambda m: m.sender == bot and m.room_id != room and m.body.startswith(ERASED_TEXT_START),
        after=mark,
        timeout=60,
    )
    assert confirmation.msgtype == "m.notice"
    await outbox_drained(staff.workdir)
    needles = [ines.user_id, quote(ines.user_id, safe=""), *sent]

    async def no_trace() -> bool:
        # Her direct room's record goes at the job's tick after the confirmation.
        found = await asyncio.to_thread(cells_containing, staff.workdir / DATABASE, needles)
        assert found == [], found
        return True

    await eventually(no_trace, what="no cell with her user id or her event ids")
    assert await signups() == [(paul.user_id, "confirmed")]
    assert await votes() == []  # withdrawn from the open poll

    # A fresh start counts once.
    await vote(poll.event_id, second)
    again = await staff.command(ines, "!inscription 1")
    assert again.body.startswith(f"{ines.user_id} : l’atelier n° 1 (")
    assert again.body.endswith(
        " à 12h30) est complet : vous êtes sur liste d’attente (position 1)."
    )
    await eventually(lambda: _equal(votes(), [(ines.user_id, [second])]), what="her new vote")
    assert await signups() == [(paul.user_id, "confirmed"), (ines.user_id, "waiting")]


async def _equal(rows: Awaitable[T], expected: T) -> bool:
    assert await rows == expected
    return True


async def test_a_declined_invite_is_sent_again_on_the_next_request(staff: StaffRoom) -> None:
    """Paul declines the direct room `!mesdonnees` opens; asking again invites him again."""
    paul, bot, room = staff.prof2, staff.bot_id, staff.room_id
    paul.auto_join = False
    pointer = await staff.command(paul, "!mesdonnees")
    assert (
        pointer.body == "Je vous réponds en message privé : acceptez l’invitation du bot si besoin."
    )

    def invited() -> list[str]:
        return list(paul.client.invited_rooms)

    [declined] = await eventually(invited, what="the invite to a direct room")
    assert isinstance(await paul.client.room_leave(declined), nio.RoomLeaveResponse)

    paul.auto_join = True
    mark = paul.mark()
    await staff.command(paul, "!mesdonnees")
    answer = await paul.wait_for(lambda m: m.sender == bot and m.room_id != room, after=mark)
    assert answer.room_id != declined
    assert answer.body.startswith("Ce que rupn-bot garde à votre sujet :")
