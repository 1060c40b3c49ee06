"""A minimal raw matrix-nio bot, the latency baseline of `bench.latency`.

It does what any nio bot tutorial does: `sync_forever` with event callbacks,
end-to-end encryption, and a reply sent straight from the callback. It joins
the rooms it is invited to and answers every `!aide` with an m.notice that
replies to it. No database, no queue, no pacing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import nio

LONG_POLL_MS = 30_000
SYNC_FILTER: dict[str, Any] = {"presence": {"not_types": ["*"]}}


class EchoBot:
    """Replies "aide" to any "!aide", as a notice in reply to it."""

    def __init__(self, homeserver: str, user_id: str, password: str, store_dir: Path) -> None:
        self._password = password
        store_dir.mkdir(parents=True, exist_ok=True)
        self.client = nio.AsyncClient(
            homeserver,
            user_id,
            store_path=str(store_dir),
            config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
        )
        self._ready = False
        self._task: asyncio.Task[None] | None = None
        self.first_sync = asyncio.Event()
        # perf_counter timestamps of the last "!aide" handled, for the latency breakdown.
        self.seen_at: float | None = None
        self.send_started_at: float | None = None
        self.send_done_at: float | None = None
        self.replies = 0

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    async def start(self) -> None:
        response = await self.client.login(self._password, device_name="bench echo bot")
        if isinstance(response, nio.ErrorResponse):
            raise RuntimeError(f"echo bot login failed: {response}")
        self.client.add_event_callback(self._on_invite, nio.InviteMemberEvent)
        self.client.add_event_callback(self._on_message, nio.RoomMessageText)
        self.client.add_response_callback(self._on_sync, nio.SyncResponse)
        self._task = asyncio.create_task(
            self.client.sync_forever(timeout=LONG_POLL_MS, sync_filter=SYNC_FILTER, full_state=True)
        )
        await self.first_sync.wait()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.close()

    async def _on_sync(self, response: nio.SyncResponse) -> None:
        # Events of the first sync are history: only answer what comes after it.
        self._ready = True
        self.first_sync.set()

    async def _on_invite(self, room: nio.MatrixRoom, event: nio.InviteMemberEvent) -> None:
        if event.state_key == self.user_id and event.membership == "invite":
            await self.client.join(room.room_id)

    async def _on_message(self, room: nio.MatrixRoom, event: nio.RoomMessageText) -> None:
        if not self._ready or event.sender == self.user_id or event.body.strip() != "!aide":
            return
        self.seen_at = time.perf_counter()
        if self.client.should_query_keys:
            await self.client.keys_query()
        content = {
            "msgtype": "m.notice",
            "body": "aide",
            "m.mentions": {"user_ids": [event.sender]},
            "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
        }
        self.send_started_at = time.perf_counter()
        response = await self.client.room_send(
            room.room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        self.send_done_at = time.perf_counter()
        if isinstance(response, nio.ErrorResponse):
            raise RuntimeError(f"echo bot send failed: {response}")
        self.replies += 1
