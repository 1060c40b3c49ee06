"""The bot as Element and Tchap users meet it: trusted, readable, notifying when it must.

Teachers here are Element-grade clients (matrix-js-sdk + Rust crypto) that
exclude insecure devices (MSC4153), as Element does since 2026. The RUPN and
a control teacher are nio clients.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.session import load_session
from devtools.element import ElementClient, ElementMessage
from devtools.synapse import ThrowawaySynapse
from tests.e2e.conftest import StaffRoom, close_staff_room, make_staff_room
from tests.e2e.helpers import at, eventually, query, seed

pytestmark = pytest.mark.e2e

PARIS = ZoneInfo("Europe/Paris")
POLL_START = "org.matrix.msc3381.poll.start"


_teachers = itertools.count(1)


@asynccontextmanager
async def staff_with_element(
    synapse: ThrowawaySynapse, workdir: Path, *, cross_signing: bool = True, teachers: int = 1
) -> AsyncIterator[tuple[StaffRoom, list[ElementClient]]]:
    """The staff room with the bot, plus Element teachers in "exclude insecure devices" mode.

    The Element clients start (a Node process each) while the staff room is set up.
    """
    accounts = await asyncio.gather(
        *(synapse.register(f"elteacher{next(_teachers)}", "prof-pw") for _ in range(teachers))
    )
    clients = [
        ElementClient(synapse.base_url, account, workdir / f"element{n}.log")
        for n, account in enumerate(accounts)
    ]
    staff: StaffRoom | None = None
    try:
        async with asyncio.TaskGroup() as group:
            room = group.create_task(
                make_staff_room(
                    synapse, workdir, matrix_extra={"cross_signing": cross_signing}, start_bot=True
                )
            )
            for client in clients:
                group.create_task(client.start())
        staff = room.result()
        for client in clients:
            await client.set_isolation("only_signed")
            await staff.rupn.invite(staff.room_id, client.user_id)
            await client.join(staff.room_id)
            await client.wait_joined(staff.room_id, [staff.bot_id, staff.rupn.user_id])
        # The nio clients and the bot must see them joined before encrypting for them.
        await staff.rupn.wait_joined(staff.room_id, [c.user_id for c in clients])
        yield staff, clients
    finally:
        await asyncio.gather(*(client.stop() for client in clients))
        if staff is not None:
            await close_staff_room(staff)


def bot_reply_to(staff: StaffRoom, event_id: str) -> Callable[[ElementMessage], bool]:
    # The relation is in clear: wait for the room key too (a to-device message may be late).
    return lambda m: (
        m.sender == staff.bot_id and m.in_reply_to == event_id and not m.decryption_failure
    )


async def test_element_teacher_is_answered_and_trusts_the_bot(
    synapse: ThrowawaySynapse, tmp_path: Path
) -> None:
    async with staff_with_element(synapse, tmp_path) as (staff, [teacher]):
        status = await teacher.device_status(staff.bot_id, _bot_device(staff))
        assert status is not None and status.signed_by_owner

        command = await teacher.send_text(staff.room_id, "!aide")
        reply = await teacher.wait_for(staff.room_id, bot_reply_to(staff, command), timeout=30)
        assert reply.decryption_failure is None
        assert reply.encrypted and reply.shield_colour == "NONE" and reply.shield_reason is None
        assert "Commandes de rupn-bot" in reply.body
        # A plain command reply is a notice: it does not notify, mention or not.
        assert reply.msgtype == "m.notice"
        assert not reply.notify and reply.push_rule == ".m.rule.suppress_notices"


async def test_negative_control_without_cross_signing_the_teacher_is_lost(
    synapse: ThrowawaySynapse, tmp_path: Path
) -> None:
    """The same scene with the bootstrap off: what the test above guards against happens."""
    async with staff_with_element(synapse, tmp_path, cross_signing=False) as (staff, [teacher]):
        status = await teacher.device_status(staff.bot_id, _bot_device(staff))
        assert status is not None and not status.signed_by_owner

        mark = staff.rupn.mark()
        first = await teacher.send_text(staff.room_id, "!aide")
        second = await teacher.send_text(staff.room_id, "!ateliers")
        # The RUPN is told, in French, without the content, once for both messages.
        alert = await staff.rupn.wait_for(
            lambda m: m.sender == staff.bot_id and "je ne peux pas lire" in m.body,
            after=mark,
            timeout=30,
        )
        assert alert.body == (
            f"{staff.rupn.user_id} : je ne peux pas lire les messages chiffrés de "
            f"{teacher.user_id} dans « Salle des professeurs » : son application ne partage "
            "ses clés qu’avec les sessions vérifiées, et elle ne considère pas la mienne comme "
            "vérifiée. Je n’ai donc pas vu ce qui a été écrit (commandes comprises), et je ne "
            "peux pas y répondre. Tapez !statut : si la session du bot y est « NON signée », "
            "voyez la section Dépannage du guide. Sinon, demandez à cette personne de mettre à "
            "jour son application, puis de renvoyer sa commande."
        )
        assert alert.msgtype == "m.text"
        assert alert.content["m.mentions"] == {"user_ids": [staff.rupn.user_id]}
        assert "!aide" not in alert.body and "!ateliers" not in alert.body

        # A later command from a nio teacher is answered: the bot worked through the batch.
        control = await staff.command(staff.prof1, "!aide")
        # ... but the Element teacher can read none of it, and got no answer.
        await teacher.wait_for(
            staff.room_id,
            lambda m: (
                m.event_id == control.event_id and m.decryption_failure == "UNSIGNED_SENDER_DEVICE"
            ),
        )
        messages = await teacher.messages(staff.room_id)
        assert not [m for m in messages if m.in_reply_to in (first, second)]
        assert staff.replies_to(staff.rupn, first) == staff.replies_to(staff.rupn, second) == []
        alerts = [m for m in staff.rupn.messages[mark:] if "je ne peux pas lire" in m.body]
        assert len(alerts) == 1


async def test_element_votes_and_reactions_count(synapse: ThrowawaySynapse, tmp_path: Path) -> None:
    async with staff_with_element(synapse, tmp_path, teachers=2) as (staff, [web, mobile]):
        # A vote through the js-sdk's poll path.
        await staff.rupn.send_text(staff.room_id, "!sondage Quel thème ? | Pronote | ENT")
        poll = await web.wait_for(staff.room_id, lambda m: m.type == POLL_START, timeout=30)
        assert poll.decryption_failure is None and poll.shield_colour == "NONE"
        answers = poll.content[POLL_START]["answers"]
        await web.vote(staff.room_id, poll.event_id, [answers[1]["id"]])
        await mobile.vote(staff.room_id, poll.event_id, [answers[1]["id"]])
        await mobile.vote(staff.room_id, poll.event_id, [answers[0]["id"]])  # changes its mind
        results = await _eventually_contains(staff, "!sondage résultats 1", "1. Pronote — 1 vote")
        assert "2. ENT — 1 vote" in results

        # Reactions: Element Web sends 👍 in the clear, Element X encrypts it.
        day = datetime.now(PARIS).date() + timedelta(days=7)
        mark = await web.mark(staff.room_id)
        await staff.rupn.send_text(
            staff.room_id, f"!atelier {day.day}/{day.month} 12h30 | Pronote | CDI | 5 places"
        )
        notice = await web.wait_for(
            staff.room_id,
            lambda m: m.sender == staff.bot_id and "Pronote" in m.body and m.msgtype == "m.text",
            after=mark,
            timeout=30,
        )
        plain = await web.react(staff.room_id, notice.event_id, "👍")
        secret = await mobile.react(staff.room_id, notice.event_id, "👍🏽", encrypted=True)
        assert (await mobile.fetch_event(staff.room_id, secret))["type"] == "m.room.encrypted"
        await _eventually_contains(staff, "!ateliers", "2 inscrits, 3 places restantes sur 5")

        # The bilan's log: both reactions count as one emoji, without who reacted, and
        # Element's read receipt (on the main thread, as Element sends it) makes a reader.
        await web.read_receipt(staff.room_id, notice.event_id, thread_id="main")

        async def logged(reactions: list[str], readers: int) -> bool:
            keys = await query(staff.workdir, "SELECT reaction_key FROM post_reactions")
            counted = await query(
                staff.workdir, "SELECT readers FROM post_stats WHERE kind = 'workshop-notice'"
            )
            return sorted(k for (k,) in keys) == reactions and counted == [(readers,)]

        await eventually(lambda: logged(["👍", "👍"], 1), what="reactions and reader logged")
        await web.redact(staff.room_id, plain)
        await mobile.redact(staff.room_id, secret)
        await _eventually_contains(staff, "!ateliers", "0 inscrit, 5 places restantes sur 5")
        await eventually(lambda: logged([], 1), what="the reactions taken back")


async def test_reminders_and_promotions_notify_the_element_teacher(
    synapse: ThrowawaySynapse, tmp_path: Path
) -> None:
    async with staff_with_element(synapse, tmp_path) as (staff, [teacher]):
        day = datetime.now(PARIS).date() + timedelta(days=7)
        mark = await teacher.mark(staff.room_id)
        await staff.rupn.send_text(
            staff.room_id, f"!atelier {day.day}/{day.month} 12h30 | Pix | CDI | 1 place"
        )
        notice = await teacher.wait_for(
            staff.room_id,
            lambda m: m.sender == staff.bot_id and "Pix" in m.body and m.msgtype == "m.text",
            after=mark,
            timeout=30,
        )
        first = await staff.prof1.send_event(
            staff.room_id,
            "m.reaction",
            {
                "m.relates_to": {
                    "rel_type": "m.annotation",
                    "event_id": notice.event_id,
                    "key": "👍",
                }
            },
        )
        await _eventually_contains(staff, "!ateliers", "1 inscrit, 0 place restante sur 1")
        await teacher.react(staff.room_id, notice.event_id, "👍")
        await _eventually_contains(staff, "!ateliers", "1 en liste d’attente")

        # A place frees up: the promotion mentions the teacher, and notifies them.
        mark = await teacher.mark(staff.room_id)
        await staff.prof1.redact(staff.room_id, first)
        promotion = await teacher.wait_for(
            staff.room_id,
            lambda m: m.sender == staff.bot_id and "une place s’est libérée" in m.body,
            after=mark,
            timeout=30,
        )
        _assert_notifies(promotion, teacher.user_id)

        # The atelier is now in 50 minutes (seeded while the bot is stopped): at restart the
        # one-hour reminder goes out, and it notifies the teacher too.
        await staff.bot.stop()
        soon = at(datetime.now(UTC) + timedelta(minutes=50))
        assert await seed(staff.workdir, "UPDATE workshops SET starts_at = ?", soon) == 1
        mark = await teacher.mark(staff.room_id)
        await staff.bot.start()
        reminder = await teacher.wait_for(
            staff.room_id,
            lambda m: m.sender == staff.bot_id and "Pix" in m.body and teacher.user_id in m.body,
            after=mark,
            timeout=60,
        )
        _assert_notifies(reminder, teacher.user_id)

        # A reply to the teacher's own command mentions them, but does not notify.
        command = await teacher.send_text(staff.room_id, "!ateliers")
        reply = await teacher.wait_for(staff.room_id, bot_reply_to(staff, command), timeout=30)
        assert teacher.user_id in reply.content["m.mentions"]["user_ids"]
        assert not reply.notify and not reply.highlight


def _assert_notifies(message: ElementMessage, user_id: str) -> None:
    assert message.decryption_failure is None and message.shield_colour == "NONE"
    assert message.msgtype == "m.text"
    assert user_id in message.content["m.mentions"]["user_ids"]
    assert message.notify and message.highlight
    assert message.push_rule == ".m.rule.is_user_mention"


def _bot_device(staff: StaffRoom) -> str:
    session = load_session(staff.workdir / "botdata")
    assert session is not None
    return session.device_id


async def _eventually_contains(staff: StaffRoom, command: str, expected: str) -> str:
    """The bot's reply to `command` once it contains `expected` (reactions land asynchronously)."""

    async def probe() -> str:
        body = (await staff.command(staff.rupn, command)).body
        assert expected in body, body
        return body

    return await eventually(probe, what=command)
