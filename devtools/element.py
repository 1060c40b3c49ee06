"""An Element-grade Matrix client for end-to-end tests: matrix-js-sdk with Rust crypto in Node.

nio behaves differently from Element and Tchap on what matters to the bot: device isolation
(MSC4153), unencrypted reactions, poll votes, push rules. ``ElementClient`` drives
``devtools/element/teacher.mjs`` (one Matrix client per Node process) over JSON lines on
stdin/stdout; the SDK's own logging goes to a log file whose tail is quoted in errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import itertools
import json
import logging
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, Self

from devtools.synapse import Account

log = logging.getLogger(__name__)

ELEMENT_DIR = Path(__file__).resolve().parent / "element"
SCRIPT = ELEMENT_DIR / "teacher.mjs"
PACKAGE_LOCK = ELEMENT_DIR / "package-lock.json"
# npm writes this hidden lockfile on every install; the Makefile uses it as its stamp too.
INSTALLED_STAMP = ELEMENT_DIR / "node_modules" / ".package-lock.json"

REQUEST_TIMEOUT = 30.0
START_TIMEOUT = 90.0
# A `messages` answer holds whole events: allow long lines.
LINE_LIMIT = 64 * 1024 * 1024

IsolationMode = Literal["only_signed", "all"]


class ElementClientError(RuntimeError):
    """The Node client answered a request with an error."""


class ElementProcessDied(RuntimeError):
    """The Node process exited (or never started)."""


def _tail(path: Path, lines: int = 30) -> str:
    """The last lines of a (possibly large) log file, for error messages."""
    try:
        with path.open("rb") as file:
            file.seek(max(0, path.stat().st_size - 32_768))
            text = file.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


# -- installing the Node packages -----------------------------------------------------------


def node_packages_fresh() -> bool:
    """Whether node_modules was installed from the current package-lock.json."""
    return (
        INSTALLED_STAMP.exists() and INSTALLED_STAMP.stat().st_mtime >= PACKAGE_LOCK.stat().st_mtime
    )


def ensure_node_packages() -> None:
    """Run ``npm ci`` in devtools/element if node_modules is missing or stale.

    Blocking (call it through ``asyncio.to_thread``); a file lock keeps concurrent test
    processes from installing on top of each other.
    """
    if node_packages_fresh():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: the Element-grade client needs Node 20 and npm")
    key = hashlib.sha256(str(ELEMENT_DIR).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"rupn-element-npm-{key}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if node_packages_fresh():
            return
        log.info("installing the Node packages of %s", ELEMENT_DIR)
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=ELEMENT_DIR,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"npm ci failed in {ELEMENT_DIR}:\n{result.stdout}\n{result.stderr}")
        INSTALLED_STAMP.touch()


# -- what the client answers ------------------------------------------------------------------


@dataclass(frozen=True)
class ElementMessage:
    """A timeline event as this Element user sees it (decrypted when possible)."""

    index: int
    event_id: str
    sender: str
    type: str  # the clear type, or m.room.encrypted when decryption failed
    content: dict[str, Any]
    encrypted: bool  # sent as m.room.encrypted
    decryption_failure: str | None  # a DecryptionFailureCode, e.g. MEGOLM_KEY_WITHHELD
    shield_colour: str | None  # NONE, GREY or RED; None if not encrypted or undecryptable
    shield_reason: str | None  # an EventShieldReason name, e.g. UNSIGNED_DEVICE
    notify: bool  # this user's push rules say notify
    highlight: bool
    push_rule: str | None  # the matching push rule, e.g. .m.rule.suppress_notices
    redacted: bool

    @property
    def body(self) -> str:
        body = self.content.get("body")
        return body if isinstance(body, str) else ""

    @property
    def msgtype(self) -> str | None:
        msgtype = self.content.get("msgtype")
        return msgtype if isinstance(msgtype, str) else None

    @property
    def relates_to(self) -> dict[str, Any]:
        relates = self.content.get("m.relates_to")
        return relates if isinstance(relates, dict) else {}

    @property
    def in_reply_to(self) -> str | None:
        reply = self.relates_to.get("m.in_reply_to")
        event_id = reply.get("event_id") if isinstance(reply, dict) else None
        return event_id if isinstance(event_id, str) else None

    @property
    def relation(self) -> tuple[str, str] | None:
        """(rel_type, event_id) of an annotation, reference, thread or replacement."""
        rel_type, event_id = self.relates_to.get("rel_type"), self.relates_to.get("event_id")
        if isinstance(rel_type, str) and isinstance(event_id, str):
            return rel_type, event_id
        return None

    @property
    def reaction_key(self) -> str | None:
        key = self.relates_to.get("key")
        return key if self.type == "m.reaction" and isinstance(key, str) else None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ElementMessage:
        shield = data.get("shield") or {}
        push = data.get("push") or {}
        return cls(
            index=int(data["index"]),
            event_id=str(data["eventId"]),
            sender=str(data["sender"]),
            type=str(data["type"]),
            content=dict(data.get("content") or {}),
            encrypted=bool(data.get("encrypted")),
            decryption_failure=data.get("decryptionFailure"),
            shield_colour=shield.get("colour"),
            shield_reason=shield.get("reason"),
            notify=bool(push.get("notify")),
            highlight=bool(push.get("highlight")),
            push_rule=push.get("ruleId"),
            redacted=bool(data.get("redacted")),
        )

    def summary(self) -> str:
        failure = f" UTD:{self.decryption_failure}" if self.decryption_failure else ""
        return f"[{self.index}] {self.type} from {self.sender}{failure}: {self.body[:60]!r}"


@dataclass(frozen=True)
class DeviceStatus:
    """``crypto.getDeviceVerificationStatus`` as this user sees another device."""

    signed_by_owner: bool
    cross_signing_verified: bool
    locally_verified: bool
    is_verified: bool


# -- the client -------------------------------------------------------------------------------


class ElementClient:
    """One Element user (a new device logged in with the password) in a Node process."""

    def __init__(
        self,
        base_url: str,
        account: Account,
        log_path: Path,
        *,
        session: tuple[str, str] | None = None,
    ) -> None:
        self.base_url = base_url
        self.account = account
        self.session = session
        """(device id, access token) from the authorization server: no password login."""
        self.log_path = log_path
        self.device_id: str | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._log_file: IO[bytes] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._died: str | None = None

    @property
    def user_id(self) -> str:
        return self.account.user_id

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- process and protocol ----------------------------------------------------------------

    async def start(self, *, cross_signing: bool = True, device_name: str | None = None) -> str:
        """Log in (new device), start Rust crypto and sync, bootstrap cross-signing.

        ``cross_signing=False`` leaves the device unsigned by its owner, as an old client would.
        Returns the device id.
        """
        if self._process is not None:
            raise RuntimeError(f"{self.user_id}: already started")
        await asyncio.to_thread(ensure_node_packages)
        node = shutil.which("node")
        if node is None:
            raise ElementProcessDied(
                "node is not installed: the Element-grade client needs Node 20"
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log_path.open("ab")
        self._died = None
        self._process = await asyncio.create_subprocess_exec(
            node, str(SCRIPT), str(self.log_path),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=self._log_file, cwd=ELEMENT_DIR, limit=LINE_LIMIT,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read_answers(), name=f"element-{self.user_id}")
        result = await self._request(
            "start",
            START_TIMEOUT,
            baseUrl=self.base_url,
            userId=self.user_id,
            password=self.account.password,
            deviceName=device_name,
            crossSigning=cross_signing,
            **(
                {"deviceId": self.session[0], "accessToken": self.session[1]}
                if self.session
                else {}
            ),
        )
        self.device_id = str(result["deviceId"])
        if cross_signing and not result.get("crossSigningReady"):
            raise ElementClientError(
                f"{self.user_id}: cross-signing is not ready after bootstrap."
                f" Log tail:\n{_tail(self.log_path)}"
            )
        return self.device_id

    async def stop(self) -> None:
        """Stop the client and its process. Safe to call more than once."""
        process = self._process
        if process is not None and process.returncode is None and self._died is None:
            try:
                await self._request("stop", 10)
            except (ElementClientError, ElementProcessDied, TimeoutError) as exc:
                log.warning("%s: stop: %s", self.user_id, exc)
        self._process = None
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()  # node also exits when its stdin closes
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    async def _read_answers(self) -> None:
        process = self._process
        assert process is not None and process.stdout is not None  # noqa: S101 (set by start)
        while line := await process.stdout.readline():
            try:
                message = json.loads(line)
                future = self._pending.pop(message["id"], None)
            except (ValueError, KeyError, TypeError):
                log.warning("%s: unexpected line from node: %r", self.user_id, line[:200])
                continue
            if future is None or future.done():
                continue
            if "error" in message:
                future.set_exception(ElementClientError(f"{self.user_id}: {message['error']}"))
            else:
                future.set_result(dict(message.get("result") or {}))
        code = await process.wait()
        self._died = (
            f"{self.user_id}: node exited with code {code}. Log tail:\n{_tail(self.log_path)}"
        )
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ElementProcessDied(self._died))
        self._pending.clear()

    async def _request(self, cmd: str, timeout: float, **args: Any) -> dict[str, Any]:  # noqa: ASYNC109
        process = self._process
        if self._died is not None:
            raise ElementProcessDied(self._died)
        if process is None or process.stdin is None:
            raise ElementProcessDied(f"{self.user_id}: not started")
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        line = json.dumps({"id": request_id, "cmd": cmd, **args}, ensure_ascii=False) + "\n"
        try:
            process.stdin.write(line.encode())
            await process.stdin.drain()
            return await asyncio.wait_for(future, timeout)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise ElementProcessDied(
                f"{self.user_id}: node is gone. Log tail:\n{_tail(self.log_path)}"
            ) from exc
        except TimeoutError:
            raise TimeoutError(
                f"{self.user_id}: no answer to {cmd!r} within {timeout} s."
                f" Log tail:\n{_tail(self.log_path)}"
            ) from None
        finally:
            self._pending.pop(request_id, None)

    # -- commands ----------------------------------------------------------------------------

    async def set_isolation(self, mode: IsolationMode) -> None:
        """Device isolation: "only_signed" is MSC4153's "exclude insecure devices"."""
        await self._request("isolation", REQUEST_TIMEOUT, mode=mode)

    async def create_room(
        self, name: str, invite: Sequence[str] = (), *, encrypted: bool = True
    ) -> str:
        result = await self._request(
            "create_room", REQUEST_TIMEOUT, name=name, invite=list(invite), encrypted=encrypted
        )
        return str(result["roomId"])

    async def join(self, room_id: str) -> None:
        await self._request("join", REQUEST_TIMEOUT, roomId=room_id)

    async def wait_joined(self, room_id: str, user_ids: Sequence[str], timeout: float = 20) -> None:  # noqa: ASYNC109
        """Wait until this client's view of the room shows every user in ``user_ids`` joined."""
        await self._request(
            "wait_joined",
            timeout + 5,
            roomId=room_id,
            userIds=list(user_ids),
            timeoutMs=timeout * 1000,
        )

    async def send_text(
        self,
        room_id: str,
        body: str,
        *,
        thread_root_id: str | None = None,
        reply_to: str | None = None,
        mentions: Sequence[str] = (),
        msgtype: str = "m.text",
    ) -> str:
        """Send a message as Element composes it (``m.mentions`` always present)."""
        result = await self._request(
            "send_text",
            REQUEST_TIMEOUT,
            roomId=room_id,
            body=body,
            threadRootId=thread_root_id,
            replyTo=reply_to,
            mentions=list(mentions),
            msgtype=msgtype,
        )
        return str(result["eventId"])

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """Send any room event, encrypted in an encrypted room (as the SDK decides)."""
        result = await self._request(
            "send_event", REQUEST_TIMEOUT, roomId=room_id, type=event_type, content=content
        )
        return str(result["eventId"])

    async def react(self, room_id: str, event_id: str, key: str, *, encrypted: bool = False) -> str:
        """Annotate ``event_id``: unencrypted as Element Web/Tchap, ``encrypted`` as Element X."""
        result = await self._request(
            "react", REQUEST_TIMEOUT, roomId=room_id, eventId=event_id, key=key, encrypted=encrypted
        )
        return str(result["eventId"])

    async def redact(self, room_id: str, event_id: str, reason: str | None = None) -> str:
        result = await self._request(
            "redact", REQUEST_TIMEOUT, roomId=room_id, eventId=event_id, reason=reason
        )
        return str(result["eventId"])

    async def vote(self, room_id: str, poll_event_id: str, answer_ids: Sequence[str]) -> str:
        """Vote as Element does (``PollResponseEvent``); an empty list un-votes."""
        result = await self._request(
            "vote",
            REQUEST_TIMEOUT,
            roomId=room_id,
            pollEventId=poll_event_id,
            answerIds=list(answer_ids),
        )
        return str(result["eventId"])

    async def send_poll(
        self, room_id: str, question: str, answers: Sequence[str], *, max_selections: int = 1
    ) -> tuple[str, list[str]]:
        """Start a disclosed poll as Element does; returns (event id, answer ids)."""
        result = await self._request(
            "send_poll", REQUEST_TIMEOUT, roomId=room_id, question=question,
            answers=list(answers), maxSelections=max_selections,
        )  # fmt: skip
        return str(result["eventId"]), [str(a) for a in result["answerIds"]]

    async def read_receipt(self, room_id: str, event_id: str, thread_id: str | None = None) -> None:
        """A public ``m.read`` receipt (``thread_id="main"`` as Element with threads on)."""
        await self._request(
            "read_receipt", REQUEST_TIMEOUT, roomId=room_id, eventId=event_id, threadId=thread_id
        )

    async def fetch_event(self, room_id: str, event_id: str) -> dict[str, Any]:
        """The event as the server stores it (wire type, ciphertext): ``GET /rooms/…/event/…``."""
        result = await self._request(
            "fetch_event", REQUEST_TIMEOUT, roomId=room_id, eventId=event_id
        )
        return dict(result["event"])

    async def messages(self, room_id: str, since: int = 0) -> list[ElementMessage]:
        """Every event seen in the room from index ``since`` on, decryption awaited."""
        result = await self._request("messages", REQUEST_TIMEOUT, roomId=room_id, sinceIndex=since)
        return [ElementMessage.from_json(m) for m in result["messages"]]

    async def mark(self, room_id: str) -> int:
        """The number of events seen so far in the room, to pass as ``after`` to ``wait_for``."""
        return int((await self._request("count", REQUEST_TIMEOUT, roomId=room_id))["count"])

    async def wait_for(
        self,
        room_id: str,
        predicate: Callable[[ElementMessage], bool],
        timeout: float = 20,  # noqa: ASYNC109 (the API takes a timeout argument)
        *,
        after: int = 0,
    ) -> ElementMessage:
        """Poll ``messages`` until one with index >= ``after`` matches ``predicate``.

        Earlier messages are checked again each time: a late room key changes them.
        """
        deadline = time.monotonic() + timeout
        while True:
            seen = await self.messages(room_id, after)
            for message in seen:
                if predicate(message):
                    return message
            if time.monotonic() > deadline:
                recent = "\n".join(f"  {m.summary()}" for m in seen[-10:]) or "  (none)"
                raise TimeoutError(
                    f"{self.user_id}: no matching message in {room_id} after index {after}"
                    f" within {timeout} s. Last messages seen:\n{recent}"
                )
            await asyncio.sleep(0.1)

    async def user_devices(self, user_id: str) -> list[str]:
        result = await self._request("user_devices", REQUEST_TIMEOUT, userId=user_id)
        return [str(d) for d in result["deviceIds"]]

    async def device_status(self, user_id: str, device_id: str) -> DeviceStatus | None:
        """Verification status of a device (keys downloaded first); None if unknown."""
        result = await self._request(
            "device_status", REQUEST_TIMEOUT, userId=user_id, deviceId=device_id
        )
        status = result.get("status")
        if not status:
            return None
        return DeviceStatus(
            signed_by_owner=bool(status["signedByOwner"]),
            cross_signing_verified=bool(status["crossSigningVerified"]),
            locally_verified=bool(status["locallyVerified"]),
            is_verified=bool(status["isVerified"]),
        )
