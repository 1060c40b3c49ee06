"""The test harness itself: a throwaway Synapse and two encrypted participants."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from devtools.participant import Participant
from devtools.synapse import ThrowawaySynapse

pytestmark = pytest.mark.e2e


async def test_encrypted_message_and_restart(tmp_path: Path) -> None:
    started = time.monotonic()
    async with ThrowawaySynapse(tmp_path / "synapse") as server:
        print(f"synapse cold start: {server.last_start_seconds:.2f} s")
        alice_account = await server.register("alice", "alice-password", displayname="Alice")
        bob_account = await server.register("bob", "bob-password")
        assert alice_account.user_id == "@alice:rupn.test"
        await server.override_ratelimit(alice_account.user_id, 0, 0)

        alice = Participant(server.base_url, alice_account, tmp_path / "stores")
        bob = Participant(server.base_url, bob_account, tmp_path / "stores")
        await alice.start()
        await bob.start()
        try:
            room_id = await alice.create_encrypted_room("Salle des profs", [bob.user_id])
            await alice.wait_joined(room_id, [alice.user_id, bob.user_id])
            after = bob.mark()
            event_id = await alice.send_text(room_id, "Bonjour")
            seen = await bob.wait_for(lambda m: m.event_id == event_id, after=after)
            assert seen.decrypted
            assert seen.body == "Bonjour"
            assert seen.sender == alice.user_id
            assert seen.event_type == "m.room.message"
            assert seen.msgtype == "m.text"
        finally:
            await alice.stop()
            await bob.stop()

        await server.restart()
        print(f"synapse restart: {server.last_start_seconds:.2f} s")
        # Accounts (and the admin account) survive; a fresh login still decrypts.
        bob_again = Participant(server.base_url, bob_account, tmp_path / "stores2")
        alice_again = Participant(server.base_url, alice_account, tmp_path / "stores2")
        await bob_again.start()
        await alice_again.start()
        try:
            await alice_again.wait_joined(room_id, [alice.user_id, bob.user_id])
            after = bob_again.mark()
            event_id = await alice_again.send_text(room_id, "Re-bonjour")
            seen = await bob_again.wait_for(lambda m: m.event_id == event_id, after=after)
            assert seen.decrypted
            assert seen.body == "Re-bonjour"
            await server.override_ratelimit(bob_account.user_id, 0, 0)
        finally:
            await alice_again.stop()
            await bob_again.stop()
    print(f"test body: {time.monotonic() - started:.2f} s")
