"""The Element-grade client (matrix-js-sdk + Rust crypto) works against the real Synapse."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devtools.element import ElementClient, ElementMessage
from devtools.synapse import ThrowawaySynapse

pytestmark = pytest.mark.e2e

_counter = itertools.count(1)


@pytest.fixture
async def teachers(
    synapse: ThrowawaySynapse, tmp_path: Path
) -> AsyncIterator[tuple[ElementClient, ElementClient]]:
    """Two Element users with cross-signing, excluding insecure devices (MSC4153)."""
    n = next(_counter)
    alice = ElementClient(
        synapse.base_url, await synapse.register(f"elalice{n}", "alice-pw"), tmp_path / "alice.log"
    )
    bob = ElementClient(
        synapse.base_url, await synapse.register(f"elbob{n}", "bob-pw"), tmp_path / "bob.log"
    )
    try:
        await asyncio.gather(alice.start(), bob.start())
        for client in (alice, bob):
            await client.set_isolation("only_signed")
        yield alice, bob
    finally:
        await asyncio.gather(alice.stop(), bob.stop())


async def test_element_clients_talk_react_vote_and_push(
    teachers: tuple[ElementClient, ElementClient],
) -> None:
    alice, bob = teachers
    assert alice.device_id and bob.device_id
    room = await alice.create_room("Salle des professeurs", invite=[bob.user_id])
    await bob.join(room)
    await alice.wait_joined(room, [alice.user_id, bob.user_id])
    await bob.wait_joined(room, [alice.user_id, bob.user_id])

    status = await alice.device_status(bob.user_id, bob.device_id)
    assert status is not None and status.signed_by_owner
    assert bob.device_id in await alice.user_devices(bob.user_id)

    # An encrypted message, readable despite "exclude insecure devices": Bob's device is signed.
    hello = await bob.send_text(room, "Bonjour Alice")
    seen = await alice.wait_for(room, lambda m: m.event_id == hello and not m.decryption_failure)
    assert (seen.type, seen.body, seen.sender) == ("m.room.message", "Bonjour Alice", bob.user_id)
    assert seen.encrypted and seen.shield_colour == "NONE"
    await alice.read_receipt(room, hello)

    # Reactions: Element Web sends them in the clear, Element X encrypts them.
    plain = await alice.react(room, hello, "👍")
    secret = await alice.react(room, hello, "✅", encrypted=True)
    assert (await alice.fetch_event(room, plain))["type"] == "m.reaction"
    assert (await alice.fetch_event(room, secret))["type"] == "m.room.encrypted"

    def reaction(event_id: str) -> ElementMessage:
        return next(m for m in reactions if m.event_id == event_id)

    await bob.wait_for(room, lambda m: m.event_id == secret and m.type == "m.reaction")
    reactions = [m for m in await bob.messages(room) if m.type == "m.reaction"]
    assert (reaction(plain).reaction_key, reaction(plain).encrypted) == ("👍", False)
    assert (reaction(secret).reaction_key, reaction(secret).encrypted) == ("✅", True)
    assert reaction(secret).relation == ("m.annotation", hello)

    # Undoing a reaction is a redaction.
    await alice.redact(room, plain)
    await bob.wait_for(room, lambda m: m.event_id == plain and m.redacted)

    # A poll and a vote, as Element sends them.
    poll, answers = await bob.send_poll(room, "Réunion jeudi ?", ["Oui", "Non"])
    vote = await alice.vote(room, poll, [answers[0]])
    response = await bob.wait_for(room, lambda m: m.event_id == vote)
    assert response.type == "org.matrix.msc3381.poll.response"
    assert response.content["org.matrix.msc3381.poll.response"] == {"answers": [answers[0]]}
    assert response.relation == ("m.reference", poll) and response.encrypted

    # Push rules: a mention in m.text notifies Alice; the same mention in m.notice does not.
    after = await alice.mark(room)
    text = await bob.send_text(room, "Alice, tu peux venir ?", mentions=[alice.user_id])
    notice = await bob.send_text(
        room, "Alice, tu peux venir ?", mentions=[alice.user_id], msgtype="m.notice"
    )
    in_thread = await bob.send_text(room, "Dans le fil", thread_root_id=text)
    await alice.wait_for(
        room, lambda m: m.event_id == in_thread and not m.decryption_failure, after=after
    )
    seen_by_alice = {m.event_id: m for m in await alice.messages(room, after)}
    assert (seen_by_alice[text].notify, seen_by_alice[text].highlight) == (True, True)
    assert seen_by_alice[text].push_rule == ".m.rule.is_user_mention"
    assert not seen_by_alice[notice].notify
    assert seen_by_alice[notice].push_rule == ".m.rule.suppress_notices"
    assert seen_by_alice[in_thread].relation == ("m.thread", text)
    # Nobody is notified of their own messages.
    assert not any(m.notify for m in await bob.messages(room) if m.sender == bob.user_id)
