"""The yardstick of bench/memory.py: a bare matrix-nio client, in its own process.

An `AsyncClient` with end-to-end encryption, logged in with a password, that joins
every room it is invited to and syncs (decrypting, sharing and fetching keys, as
nio's `sync_forever` does) until it is killed. It imports nio and nothing of
rupn-bot or devtools, so that its resident memory is what nio costs by itself.
It prints READY once its first sync is done.

    python -m bench.bare_client HOMESERVER USER_ID PASSWORD STORE_DIR
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import nio

READY = "READY"


async def run(homeserver: str, user_id: str, password: str, store: Path) -> None:
    client = nio.AsyncClient(
        homeserver,
        user_id,
        store_path=str(store),
        config=nio.AsyncClientConfig(encryption_enabled=True),
    )
    login = await client.login(password, device_name="bare nio client")
    if isinstance(login, nio.LoginError):
        raise SystemExit(f"login failed: {login.message}")

    async def on_invite(room: nio.MatrixRoom, event: nio.InviteMemberEvent) -> None:
        if event.state_key == user_id and event.membership == "invite":
            await client.join(room.room_id)

    client.add_event_callback(on_invite, nio.InviteMemberEvent)

    async def announce_ready() -> None:
        await client.synced.wait()
        print(READY, flush=True)

    ready = asyncio.create_task(announce_ready())
    try:
        await client.sync_forever(timeout=30_000, full_state=True)
    finally:
        ready.cancel()
        await client.close()


def main() -> None:
    homeserver, user_id, password, store = sys.argv[1:5]
    Path(store).mkdir(parents=True, exist_ok=True)
    asyncio.run(run(homeserver, user_id, password, Path(store)))


if __name__ == "__main__":
    main()
