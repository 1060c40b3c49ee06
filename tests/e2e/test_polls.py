"""`!sondage` end to end: native MSC3381 polls answered by real clients in an encrypted room."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devtools.participant import Participant, SeenMessage
from tests.e2e.conftest import StaffRoom, download
from tests.e2e.helpers import at, eventually, query, seed

pytestmark = pytest.mark.e2e

START = "org.matrix.msc3381.poll.start"
RESPONSE = "org.matrix.msc3381.poll.response"
END = "org.matrix.msc3381.poll.end"
PARIS = ZoneInfo("Europe/Paris")
COUNT_LINE = re.compile(r"^(\d+)\. (.+?) — (\d+) votes?", re.MULTILINE)


def counts(results: str) -> dict[str, int]:
    return {m.group(2): int(m.group(3)) for m in COUNT_LINE.finditer(results)}


async def create_poll(staff: StaffRoom, command: str) -> SeenMessage:
    mark = staff.prof1.mark()
    await staff.rupn.send_text(staff.room_id, command)
    return await staff.prof1.wait_for(
        lambda m: m.event_type == START and m.sender == staff.bot_id, after=mark, timeout=30
    )


async def vote(who: Participant, room_id: str, poll: SeenMessage, *answers: str) -> str:
    return await who.send_event(
        room_id,
        RESPONSE,
        {
            "m.relates_to": {"rel_type": "m.reference", "event_id": poll.event_id},
            RESPONSE: {"answers": list(answers)},
        },
    )


def answer_ids(poll: SeenMessage) -> list[str]:
    return [a["id"] for a in poll.content[START]["answers"]]


async def results(staff: StaffRoom, number: int) -> str:
    return (await staff.command(staff.rupn, f"!sondage résultats {number}")).body


async def counted(staff: StaffRoom, number: int, expected: dict[str, int]) -> str:
    """The results once they show `expected` (votes are events the bot handles as they come)."""

    async def probe() -> str:
        text = await results(staff, number)
        assert counts(text) == expected, text
        return text

    return await eventually(probe, what=f"results of poll {number}")


def ends(staff: StaffRoom, poll: SeenMessage) -> Callable[[SeenMessage], bool]:
    """The bot's end event for `poll`."""
    return lambda m: (
        m.event_type == END
        and m.sender == staff.bot_id
        and m.content.get("m.relates_to", {}).get("event_id") == poll.event_id
    )


async def test_votes_changes_of_mind_and_withdrawals(staff: StaffRoom) -> None:
    poll = await create_poll(
        staff, "!sondage Quel créneau pour l’atelier ? | Lundi | Mardi | Jeudi"
    )
    assert poll.decrypted
    content = poll.content[START]
    assert content["question"]["org.matrix.msc1767.text"] == "Quel créneau pour l’atelier ?"
    assert [a["org.matrix.msc1767.text"] for a in content["answers"]] == ["Lundi", "Mardi", "Jeudi"]
    assert content["max_selections"] == 1
    lundi, mardi, jeudi = answer_ids(poll)

    await vote(staff.prof1, staff.room_id, poll, lundi)
    await vote(staff.prof1, staff.room_id, poll, mardi)  # changes her mind
    await vote(staff.prof2, staff.room_id, poll, jeudi)
    await vote(staff.rupn, staff.room_id, poll, lundi)
    await vote(staff.rupn, staff.room_id, poll)  # withdraws
    text = await counted(staff, 1, {"Lundi": 0, "Mardi": 1, "Jeudi": 1})
    assert text.startswith("Résultats du sondage n° 1")

    await staff.rupn.send_text(staff.room_id, "!sondage clore 1")
    ended = await staff.prof2.wait_for(lambda m: m.event_type == END, timeout=30)
    assert "2. Mardi — 1 vote (50 %)" in ended.body
    assert ended.content["m.relates_to"] == {"rel_type": "m.reference", "event_id": poll.event_id}
    await vote(staff.prof2, staff.room_id, poll, lundi)  # after the end: ignored
    # The command comes after the vote, and the bot handles events in order: its answer
    # would count the vote if it were counted.
    assert counts(await results(staff, 1)) == {"Lundi": 0, "Mardi": 1, "Jeudi": 1}


async def test_no_vote_lost_across_stop_and_kill9(staff: StaffRoom) -> None:
    poll = await create_poll(staff, "!sondage Thème ? | ENT | Pronote | Tablettes | IA")
    ids = answer_ids(poll)
    voters = [staff.prof1, staff.prof2, staff.rupn]

    # Votes sent while the bot is stopped count when it is back.
    await staff.bot.stop()
    await vote(staff.prof1, staff.room_id, poll, ids[0])
    await staff.bot.start()

    # A burst of 100 responses from three voters, kill -9 in the middle.
    truth: dict[str, str] = {}
    sent: list[str] = []

    async def burst(who: Participant, offset: int, n: int) -> None:
        for i in range(n):
            answer = ids[(offset + i) % len(ids)]
            sent.append(await vote(who, staff.room_id, poll, answer))
            truth[who.user_id] = answer

    sizes = (34, 33, 33)
    tasks = [
        asyncio.create_task(burst(w, k, n))
        for k, (w, n) in enumerate(zip(voters, sizes, strict=True))
    ]
    await eventually(lambda: len(sent) >= 20, interval=0.02, what="votes sent")
    await staff.bot.kill()  # about a fifth of the way through the burst
    assert len(sent) < sum(sizes)
    await asyncio.gather(*tasks)
    await staff.bot.start()
    expected = {text: 0 for text in ("ENT", "Pronote", "Tablettes", "IA")}
    names = dict(zip(ids, expected, strict=True))
    for answer in truth.values():
        expected[names[answer]] += 1
    await counted(staff, 1, expected)


async def test_anonymous_poll_forgets_voters_and_exports_csv(staff: StaffRoom) -> None:
    poll = await create_poll(
        staff,
        "!sondage Besoin d’aide sur… | Pronote | Écrans numériques | ENT | plusieurs | anonyme",
    )
    assert poll.content[START]["kind"] == "org.matrix.msc3381.poll.undisclosed"
    pronote, ecrans, _ = answer_ids(poll)
    await vote(staff.prof1, staff.room_id, poll, pronote, ecrans)
    await vote(staff.prof2, staff.room_id, poll, ecrans)
    await counted(staff, 1, {"Pronote": 1, "Écrans numériques": 2, "ENT": 0})
    await staff.rupn.send_text(staff.room_id, "!sondage clore 1")
    await staff.prof1.wait_for(ends(staff, poll), timeout=30)

    rows = await query(staff.workdir, "SELECT voter FROM poll_responses")
    [(final,)] = await query(staff.workdir, "SELECT final_results FROM polls WHERE id = 1")
    assert rows == []
    for user in (staff.prof1.user_id, staff.prof2.user_id):
        assert user not in final

    mark = staff.rupn.mark()
    await staff.rupn.send_text(staff.room_id, "!sondage export 1")
    upload = await staff.rupn.wait_for(
        lambda m: m.sender == staff.bot_id and m.msgtype == "m.file", after=mark, timeout=30
    )
    assert upload.decrypted
    data = await download(staff.rupn, upload)
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    assert "Écrans numériques;2" in text
    assert "Pronote;1" in text


async def test_deadlines_close_polls_while_running_and_while_stopped(staff: StaffRoom) -> None:
    """Deadlines are seeded in the bot's database rather than waited for.

    The first one passes while the bot runs: its deadline job (every second in these
    tests: `poll_check_seconds`) closes the poll at its next tick. The second passes
    while the bot is stopped: the job runs once at start-up and closes it then.
    """
    later = datetime.now(PARIS) + timedelta(days=2)
    end = f"fin : {later.day}/{later.month} {later.hour}h{later.minute:02d}"
    first = await create_poll(staff, f"!sondage Premier ? | Oui | Non | {end}")
    second = await create_poll(staff, f"!sondage Second ? | Oui | Non | {end}")

    mark = staff.prof1.mark()
    soon = datetime.now(UTC) + timedelta(seconds=1)
    assert await seed(staff.workdir, "UPDATE polls SET deadline = ? WHERE id = 1", at(soon)) == 1
    ended = await staff.prof1.wait_for(ends(staff, first), after=mark, timeout=20)
    assert "Premier" in ended.body or "Premier" in str(ended.content)
    assert staff.bot.running
    # The second poll's deadline has not passed: it is still open.
    still_open = await results(staff, 2)
    assert "Fin prévue : " in still_open and "Sondage clos" not in still_open

    await staff.bot.stop()
    passed = datetime.now(UTC)  # after the stop: the deadline passes while the bot is down
    assert await seed(staff.workdir, "UPDATE polls SET deadline = ? WHERE id = 2", at(passed))
    mark = staff.prof1.mark()
    await staff.bot.start()
    ended = await staff.prof1.wait_for(ends(staff, second), after=mark, timeout=30)
    assert "Second" in ended.body or "Second" in str(ended.content)
    # Closed once: the start-up run did not end the first poll again.
    assert len([m for m in staff.prof1.messages if ends(staff, first)(m)]) == 1
