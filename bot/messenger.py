"""What handlers use to talk: the `Messenger` protocol and its outbox.

Handlers never wait for the network. Each call records an `OutgoingPost`;
the processor stores them in the same transaction as the handler's other
writes, and the sender delivers them at the pace the homeserver allows.
Each call returns the post's transaction id, a stable handle on the post
(its event id is in the post registry once it is sent).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from bot.formatting import markdown_to_html, sanitize_html
from bot.storage.posts import OutgoingPost

UPLOAD_KEY = "rupn.upload"
"""Content key holding a file to upload before sending; never sent as such."""

Ref = tuple[str, int]
"""What a post belongs to: ("announcement", 3), ("poll", 12)…"""


class Messenger(Protocol):
    def send(
        self,
        room_id: str,
        text: str,
        *,
        html: str | None = None,
        markdown: bool = False,
        mentions: Sequence[str] = (),
        reply_to: str | None = None,
        kind: str = "message",
        ref: Ref | None = None,
    ) -> str: ...

    def send_event(
        self,
        room_id: str,
        event_type: str,
        content: dict[str, Any],
        *,
        kind: str,
        ref: Ref | None = None,
        relates_to_txn: str | None = None,
    ) -> str: ...

    def react(self, room_id: str, event_id: str, key: str, *, kind: str = "reaction") -> str: ...

    def send_file(
        self,
        room_id: str,
        filename: str,
        data: bytes,
        mimetype: str,
        *,
        kind: str,
        ref: Ref | None = None,
    ) -> str: ...

    def redact(
        self,
        room_id: str,
        *,
        event_id: str | None = None,
        txn_id: str | None = None,
        reason: str | None = None,
        kind: str = "redaction",
    ) -> str: ...


def new_txn_id() -> str:
    return f"rupn{uuid.uuid4().hex}"


def notice_content(
    text: str,
    *,
    html: str | None = None,
    mentions: Sequence[str] = (),
    reply_to: str | None = None,
) -> dict[str, Any]:
    """An m.notice, with m.mentions always present (empty when nobody is pinged)."""
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": text,
        "m.mentions": {"user_ids": sorted(set(mentions))} if mentions else {},
    }
    if html is not None:
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = sanitize_html(html)
    if reply_to is not None:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content


class Outbox:
    """A `Messenger` that collects posts until the caller stores them."""

    def __init__(self) -> None:
        self._posts: list[OutgoingPost] = []

    def drain(self) -> list[OutgoingPost]:
        posts, self._posts = self._posts, []
        return posts

    def __len__(self) -> int:
        return len(self._posts)

    def send(
        self,
        room_id: str,
        text: str,
        *,
        html: str | None = None,
        markdown: bool = False,
        mentions: Sequence[str] = (),
        reply_to: str | None = None,
        kind: str = "message",
        ref: Ref | None = None,
    ) -> str:
        if markdown and html is None:
            html = markdown_to_html(text)
        content = notice_content(text, html=html, mentions=mentions, reply_to=reply_to)
        return self.send_event(room_id, "m.room.message", content, kind=kind, ref=ref)

    def send_event(
        self,
        room_id: str,
        event_type: str,
        content: dict[str, Any],
        *,
        kind: str,
        ref: Ref | None = None,
        relates_to_txn: str | None = None,
    ) -> str:
        """`relates_to_txn`: the sender puts that post's event id in m.relates_to."""
        return self._add(
            room_id, "send", event_type, content, kind, ref, target_txn_id=relates_to_txn
        )

    def send_file(
        self,
        room_id: str,
        filename: str,
        data: bytes,
        mimetype: str,
        *,
        kind: str,
        ref: Ref | None = None,
    ) -> str:
        """An m.file; the sender uploads `data` (encrypted in encrypted rooms) just before."""
        content = {
            "msgtype": "m.file",
            "body": filename,
            "filename": filename,
            "info": {"mimetype": mimetype, "size": len(data)},
            "m.mentions": {},
            UPLOAD_KEY: {"data": base64.b64encode(data).decode("ascii"), "mimetype": mimetype},
        }
        return self._add(room_id, "send", "m.room.message", content, kind, ref)

    def react(self, room_id: str, event_id: str, key: str, *, kind: str = "reaction") -> str:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        return self._add(room_id, "send", "m.reaction", content, kind, None)

    def redact(
        self,
        room_id: str,
        *,
        event_id: str | None = None,
        txn_id: str | None = None,
        reason: str | None = None,
        kind: str = "redaction",
    ) -> str:
        if (event_id is None) == (txn_id is None):
            raise ValueError("redact needs exactly one of event_id and txn_id")
        content = {"reason": reason} if reason else {}
        return self._add(
            room_id,
            "redact",
            "m.room.redaction",
            content,
            kind,
            None,
            target_event_id=event_id,
            target_txn_id=txn_id,
        )

    def _add(
        self,
        room_id: str,
        action: str,
        event_type: str,
        content: dict[str, Any],
        kind: str,
        ref: Ref | None,
        *,
        target_event_id: str | None = None,
        target_txn_id: str | None = None,
    ) -> str:
        txn_id = new_txn_id()
        self._posts.append(
            OutgoingPost(
                room_id=room_id,
                action="send" if action == "send" else "redact",
                event_type=event_type,
                content=content,
                kind=kind,
                txn_id=txn_id,
                ref_type=ref[0] if ref else None,
                ref_id=ref[1] if ref else None,
                target_txn_id=target_txn_id,
                target_event_id=target_event_id,
            )
        )
        return txn_id
