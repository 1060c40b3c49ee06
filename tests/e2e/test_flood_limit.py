"""The flood limit end to end, in an encrypted room with nio teachers: exploring `!aide`
and commands typed while the bot was stopped are all answered; a burst gets
« Doucement » once, and nothing more.

The tests share one staff room (a module fixture), each teacher in one scene only: the
limit is per person, counted when each command was sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import pytest

from devtools.participant import Participant, SeenMessage
from devtools.synapse import ThrowawaySynapse
from tests.e2e.conftest import StaffRoom, close_staff_room, make_staff_room
from tests.e2e.helpers import outbox_drained

pytestmark = pytest.mark.e2e

SLOW_DOWN = (
    "Doucement : vous avez envoyé beaucoup de commandes en peu de temps. "
    "Je reprends dans une minute."
)
HELP_TOPICS = (
    "annonces",
    "ateliers",
    "inscription",
    "desinscription",
    "mesdonnees",
    "annonce",
    "sondage",
    "atelier",
    "cafe",
    "veille",
)
NOT_FOUND = "Aucun atelier ni café numérique n° 1. Tapez !ateliers pour voir les prochains."
NO_WORKSHOP = "Aucun atelier ni café numérique n’est prévu pour l’instant."
ALLOWED = 15


@dataclass
class Flood:
    staff: StaffRoom
    prof3: Participant  # a third teacher, for the burst


@pytest.fixture(scope="module")
async def flood(
    synapse: ThrowawaySynapse, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Flood]:
    workdir = tmp_path_factory.mktemp("flood")
    account = await synapse.register("profflood", "prof-pw")
    prof3 = Participant(synapse.base_url, account, workdir / "clients")
    staff: StaffRoom | None = None
    try:
        async with asyncio.TaskGroup() as group:
            room = group.create_task(make_staff_room(synapse, workdir, start_bot=True))
            group.create_task(prof3.start())
        staff = room.result()
        await staff.rupn.invite(staff.room_id, prof3.user_id)
        await prof3.join(staff.room_id)
        await prof3.wait_joined(staff.room_id, [staff.bot_id, staff.rupn.user_id])
        await staff.rupn.wait_joined(staff.room_id, [prof3.user_id])
        yield Flood(staff, prof3)
    finally:
        await prof3.stop()
        if staff is not None:
            await close_staff_room(staff)


async def running(flood: Flood) -> StaffRoom:
    if not flood.staff.bot.running:
        await flood.staff.bot.start()
    return flood.staff


async def send_all(who: Participant, room_id: str, bodies: Sequence[str]) -> list[str]:
    """Send `bodies` one after the other, without waiting for answers; their event ids."""
    return [await who.send_text(room_id, body) for body in bodies]


async def replies(staff: StaffRoom, who: Participant, event_ids: Sequence[str]) -> list[str]:
    """The bot's reply to each of `event_ids`, in order, as `who` sees them."""
    seen: list[SeenMessage] = [await staff.wait_reply(who, e) for e in event_ids]
    return [m.body for m in seen]


async def test_exploring_help_then_withdrawing_is_never_limited(flood: Flood) -> None:
    staff = await running(flood)
    bodies = ["!aide", *(f"!aide {t}" for t in HELP_TOPICS), "!desinscription 1"]
    answers = await replies(staff, staff.prof1, await send_all(staff.prof1, staff.room_id, bodies))
    assert SLOW_DOWN not in answers
    assert answers[0].startswith("**Commandes de rupn-bot**\n")
    assert [a.split("**")[1].split()[0] for a in answers[1:-1]] == [f"!{t}" for t in HELP_TOPICS]
    assert answers[-1] == NOT_FOUND


async def test_commands_typed_while_the_bot_was_stopped_are_all_answered(flood: Flood) -> None:
    staff = await running(flood)
    await staff.bot.stop()
    bodies = ["!aide", "!ateliers", "!aide inscription", "!inscription 1"] * 2
    sent = await send_all(staff.prof2, staff.room_id, bodies)
    await staff.bot.start()
    answers = await replies(staff, staff.prof2, sent)
    assert SLOW_DOWN not in answers
    assert [a for a in answers if a.startswith("Aucun")] == [NO_WORKSHOP, NOT_FOUND] * 2


async def test_a_burst_gets_one_notice_and_nothing_more(flood: Flood) -> None:
    staff = await running(flood)
    prof3 = flood.prof3
    sent = await send_all(prof3, staff.room_id, ["!ateliers"] * 22)
    notice = await staff.wait_reply(prof3, sent[ALLOWED])
    assert notice.body == SLOW_DOWN
    await replies(staff, prof3, sent[:ALLOWED])
    await outbox_drained(staff.workdir)
    # The bot's answer to a later command, as the teacher sees it: nothing else is coming.
    await staff.wait_reply(prof3, await staff.rupn.send_text(staff.room_id, "!ateliers"))
    from_bot = [m for m in prof3.messages if m.sender == staff.bot_id and m.in_reply_to in sent]
    assert [m.body for m in from_bot] == [NO_WORKSHOP] * ALLOWED + [SLOW_DOWN]
