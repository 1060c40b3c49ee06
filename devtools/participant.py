"""A real matrix-nio client playing a human (the RUPN, a teacher) in tests and the demo."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nio

from devtools.synapse import Account

logger = logging.getLogger(__name__)

SYNC_TIMEOUT_MS = 1500
# Synapse sends at most 10 timeline events per room per sync by default.
SYNC_FILTER: dict[str, Any] = {"room": {"timeline": {"limit": 200}}}


class MatrixRequestError(RuntimeError):
    """A Matrix request answered with an error response."""

    def __init__(self, what: str, response: Any) -> None:
        super().__init__(f"{what} failed: {response}")
        self.response = response
        self.status_code: str | None = getattr(response, "status_code", None)


def _ok(response: Any, what: str) -> Any:
    """Return ``response`` unless it is a nio error response, in which case raise."""
    if isinstance(response, nio.ErrorResponse):
        raise MatrixRequestError(what, response)
    return response


@dataclass(frozen=True)
class SeenMessage:
    """A timeline event seen by a participant."""

    room_id: str
    event_id: str
    sender: str
    body: str
    msgtype: str
    formatted_body: str | None
    content: dict[str, Any]
    decrypted: bool
    event_type: str

    @property
    def in_reply_to(self) -> str | None:
        """Event id this message replies to, if any."""
        relates = self.content.get("m.relates_to")
        if not isinstance(relates, dict):
            return None
        reply = relates.get("m.in_reply_to")
        if not isinstance(reply, dict):
            return None
        event_id = reply.get("event_id")
        return event_id if isinstance(event_id, str) else None


def _to_seen(room_id: str, event: Any) -> SeenMessage | None:
    source: dict[str, Any] = event.source if isinstance(event.source, dict) else {}
    content = source.get("content")
    if not isinstance(content, dict):
        content = {}
    if isinstance(event, nio.MegolmEvent):
        event_type = "undecryptable"
    elif isinstance(event, nio.RoomMessage):
        event_type = "m.room.message"
    elif isinstance(event, nio.ReactionEvent):
        event_type = "m.reaction"
    elif isinstance(event, nio.RedactionEvent):
        event_type = "m.room.redaction"
    elif isinstance(event, nio.UnknownEvent):
        event_type = str(event.type)
    else:
        return None
    body = content.get("body")
    if not isinstance(body, str):
        text = content.get("org.matrix.msc1767.text", content.get("m.text"))
        body = text if isinstance(text, str) else ""
    formatted = content.get("formatted_body")
    return SeenMessage(
        room_id=room_id,
        event_id=str(event.event_id),
        sender=str(event.sender),
        body=body,
        msgtype=str(content.get("msgtype", "")),
        formatted_body=formatted if isinstance(formatted, str) else None,
        content=content,
        decrypted=bool(getattr(event, "decrypted", False)),
        event_type=event_type,
    )


class Participant:
    """A scripted Matrix user with end-to-end encryption and a background sync loop."""

    def __init__(
        self,
        homeserver: str,
        account: Account,
        store_dir: Path,
        *,
        display_name: str | None = None,
        auto_join: bool = True,
        session: tuple[str, str] | None = None,
    ) -> None:
        self.homeserver = homeserver
        self.account = account
        self.store_path = store_dir / account.localpart
        self.display_name = display_name
        self.auto_join = auto_join
        self.session = session
        """(device id, access token) from the authorization server: no password login."""
        self._client: nio.AsyncClient | None = None
        self._sync_task: asyncio.Task[None] | None = None
        self._messages: list[SeenMessage] = []
        self._new_message = asyncio.Condition()
        self._key_lock = asyncio.Lock()
        self._join_attempted: set[str] = set()
        self._synced = asyncio.Event()
        self.last_sync_error: BaseException | str | None = None

    @property
    def user_id(self) -> str:
        return self.account.user_id

    @property
    def client(self) -> nio.AsyncClient:
        """The underlying nio client (started)."""
        if self._client is None:
            raise RuntimeError(f"{self.user_id}: participant not started")
        return self._client

    @property
    def messages(self) -> Sequence[SeenMessage]:
        """Timeline events seen so far (a read-only view)."""
        return tuple(self._messages)

    def mark(self) -> int:
        """Current number of seen messages, to pass as ``after`` to ``wait_for``."""
        return len(self._messages)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Log in with the password, then sync in the background until ``stop()``."""
        if self._client is not None:
            raise RuntimeError(f"{self.user_id}: already started")
        await asyncio.to_thread(self.store_path.mkdir, parents=True, exist_ok=True)
        client = nio.AsyncClient(
            self.homeserver,
            self.account.user_id,
            store_path=str(self.store_path),
            config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
        )
        self._client = client
        try:
            if self.session is not None:
                client.restore_login(self.account.user_id, *self.session)
            else:
                _ok(
                    await client.login(self.account.password, device_name="devtools participant"),
                    f"{self.user_id}: login",
                )
            if self.display_name is not None:
                _ok(
                    await client.set_displayname(self.display_name),
                    f"{self.user_id}: set_displayname",
                )
            await self._sync_once(full_state=True)
        except BaseException:
            self._client = None
            await client.close()
            raise
        self._sync_task = asyncio.create_task(
            self._sync_loop(), name=f"participant-sync-{self.account.localpart}"
        )

    async def stop(self) -> None:
        """Stop syncing and close the HTTP session. Safe to call more than once."""
        task, self._sync_task = self._sync_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    # -- sync ----------------------------------------------------------------------------

    async def _sync_loop(self) -> None:
        delay = 0.2
        while True:
            try:
                await self._sync_once(full_state=False)
                delay = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_sync_error = exc
                logger.warning("%s: sync failed: %r", self.user_id, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _sync_once(self, *, full_state: bool) -> None:
        client = self.client
        response = await client.sync(
            timeout=SYNC_TIMEOUT_MS, sync_filter=SYNC_FILTER, full_state=full_state
        )
        _ok(response, f"{self.user_id}: sync")
        await self._maintain_keys()
        new: list[SeenMessage] = []
        for room_id, info in response.rooms.join.items():
            for event in info.timeline.events:
                seen = _to_seen(room_id, event)
                if seen is not None:
                    new.append(seen)
        if new:
            async with self._new_message:
                self._messages.extend(new)
                self._new_message.notify_all()
        if self.auto_join:
            for room_id in response.rooms.invite:
                if room_id not in self._join_attempted:
                    self._join_attempted.add(room_id)
                    await self.join(room_id)
        self._synced.set()

    async def _maintain_keys(self) -> None:
        client = self.client
        async with self._key_lock:
            if client.should_upload_keys:
                _ok(await client.keys_upload(), f"{self.user_id}: keys_upload")
            if client.should_query_keys:
                _ok(await client.keys_query(), f"{self.user_id}: keys_query")
            if client.should_claim_keys:
                _ok(
                    await client.keys_claim(client.get_users_for_key_claiming()),
                    f"{self.user_id}: keys_claim",
                )
            for to_device in await client.send_to_device_messages():
                _ok(to_device, f"{self.user_id}: send_to_device")

    # -- rooms ---------------------------------------------------------------------------

    async def create_encrypted_room(self, name: str, invite: Sequence[str] = ()) -> str:
        """Create a private encrypted room and return its id."""
        response = _ok(
            await self.client.room_create(
                name=name,
                preset=nio.RoomPreset.private_chat,
                invite=list(invite),
                initial_state=[
                    {
                        "type": "m.room.encryption",
                        "state_key": "",
                        "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                    }
                ],
            ),
            f"{self.user_id}: room_create {name!r}",
        )
        return str(response.room_id)

    async def invite(self, room_id: str, user_id: str) -> None:
        _ok(
            await self.client.room_invite(room_id, user_id),
            f"{self.user_id}: invite {user_id} to {room_id}",
        )

    async def join(self, room_id: str) -> None:
        _ok(await self.client.join(room_id), f"{self.user_id}: join {room_id}")

    async def wait_joined(
        self,
        room_id: str,
        user_ids: Sequence[str],
        timeout: float = 20,  # noqa: ASYNC109 (the API takes a timeout argument)
    ) -> None:
        """Wait until this participant's view of the room shows all ``user_ids`` joined."""
        deadline = time.monotonic() + timeout
        while True:
            room = self.client.rooms.get(room_id)
            missing = list(user_ids)
            if room is not None:
                missing = [
                    user
                    for user in user_ids
                    if user not in room.users or user in room.invited_users
                ]
            if not missing:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.user_id}: {missing} not joined to {room_id} after {timeout} s"
                )
            await asyncio.sleep(0.05)

    # -- sending -------------------------------------------------------------------------

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """Send any room event (encrypted if the room is), return its event id."""
        client = self.client
        # The sync loop may have seen a new member but not yet fetched their device keys.
        async with self._key_lock:
            if client.should_query_keys:
                _ok(await client.keys_query(), f"{self.user_id}: keys_query")
        response = _ok(
            await client.room_send(room_id, event_type, content, ignore_unverified_devices=True),
            f"{self.user_id}: send {event_type} to {room_id}",
        )
        return str(response.event_id)

    async def send_text(self, room_id: str, body: str) -> str:
        """Send an ``m.text`` message, return its event id."""
        return await self.send_event(
            room_id, "m.room.message", {"msgtype": "m.text", "body": body, "m.mentions": {}}
        )

    async def send_text_key_late(
        self, room_id: str, body: str, late_for: str
    ) -> tuple[str, Callable[[], Awaitable[None]]]:
        """Send `body` in a new Megolm session whose key reaches `late_for` only later.

        Returns the event id and `release`, which delivers the held-back
        `m.room_key` (at message index 0, as a key delayed in transit would be).
        """
        client = self.client
        olm = client.olm
        async with self._key_lock:
            if client.should_query_keys:
                _ok(await client.keys_query(), f"{self.user_id}: keys_query")
            missing = client.get_missing_sessions(room_id)
            if missing:
                _ok(await client.keys_claim(missing), f"{self.user_id}: keys_claim")
        olm.outbound_group_sessions.pop(room_id, None)  # a fresh session for this message
        held: dict[str, Any] = {}
        users = list(client.rooms[room_id].users)
        for _, payload in olm.share_group_session_parallel(
            room_id, users, ignore_unverified_devices=True
        ):
            messages = payload["messages"]
            if late_for in messages:
                held[late_for] = {**held.get(late_for, {}), **messages.pop(late_for)}
            if messages:
                await self._to_device({"messages": messages})
        olm.outbound_group_sessions[room_id].shared = True
        event_id = await self.send_text(room_id, body)

        async def release() -> None:
            await self._to_device({"messages": held})

        return event_id, release

    async def _to_device(self, content: dict[str, Any]) -> None:
        method, path, data = nio.Api.to_device(
            self.client.access_token, "m.room.encrypted", content, uuid.uuid4().hex
        )
        response = await self.client.send(method, path, data)
        if response.status != 200:
            raise MatrixRequestError(f"{self.user_id}: to-device", await response.text())

    async def redact(self, room_id: str, event_id: str) -> str:
        """Redact an event, return the redaction's event id."""
        response = _ok(
            await self.client.room_redact(room_id, event_id),
            f"{self.user_id}: redact {event_id}",
        )
        return str(response.event_id)

    # -- waiting -------------------------------------------------------------------------

    async def wait_for(
        self,
        predicate: Callable[[SeenMessage], bool],
        timeout: float = 20,  # noqa: ASYNC109 (the API takes a timeout argument)
        *,
        after: int = 0,
    ) -> SeenMessage:
        """Wait for a seen message with index >= ``after`` that matches ``predicate``."""
        index = after
        deadline = time.monotonic() + timeout
        async with self._new_message:
            while True:
                while index < len(self._messages):
                    message = self._messages[index]
                    index += 1
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_message.wait(), remaining)
        recent = "\n".join(
            f"  [{i}] {m.event_type} {m.msgtype} from {m.sender} in {m.room_id}: {m.body!r}"
            for i, m in list(enumerate(self._messages))[-8:]
        )
        raise TimeoutError(
            f"{self.user_id}: no matching message after index {after} within {timeout} s"
            f" (last sync error: {self.last_sync_error!r}). Last messages seen:\n"
            + (recent or "  (none)")
        )

    async def send_and_wait_reply(
        self,
        room_id: str,
        body: str,
        from_user: str,
        timeout: float = 20,  # noqa: ASYNC109 (the API takes a timeout argument)
    ) -> SeenMessage:
        """Send ``body`` and wait for ``from_user``'s reply (``m.in_reply_to``) to it."""
        after = self.mark()
        event_id = await self.send_text(room_id, body)
        return await self.wait_for(
            lambda m: m.room_id == room_id and m.sender == from_user and m.in_reply_to == event_id,
            timeout,
            after=after,
        )
