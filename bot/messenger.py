"""What handlers use to talk: the `Messenger` protocol and its outbox.

Handlers never wait for the network. Each call records an `OutgoingPost`;
the processor stores them in the same transaction as the handler's other
writes, and the sender delivers them at the pace the homeserver allows.
Each call returns the post's transaction id, a stable handle on the post
(its event id is in the post registry once it is sent).

Whether a text message is an m.text or an m.notice depends on its kind
alone, decided in `MSGTYPE_BY_KIND`.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from types import MappingProxyType
from typing import Any, Literal, Protocol

from bot.anonymise import is_anonymous
from bot.errors import UserError
from bot.formatting import markdown_to_html, sanitize_html
from bot.storage.posts import PRIORITY_FIRST, RESENDS_KEY, Action, OutgoingPost

UPLOAD_KEY = "rupn.upload"
"""Content key holding a file to upload before sending; never sent as such."""

Ref = tuple[str, int]
"""What a post belongs to: ("announcement", 3), ("poll", 12)…"""

ENVELOPE_KEY = "envelope"
"""Content key of a mail's own recipients and threading (a ticket), see `MailEnvelope`."""


@dataclass(frozen=True)
class MailEnvelope:
    """A mail's own recipients and thread, instead of the ``[email]`` recipients (a ticket
    to the helpdesk). Message ids are bare (no angle brackets), chosen by the caller so
    that a reply can be matched to what was sent."""

    to: tuple[str, ...]
    message_id: str
    reply_to: str | None = None
    cc: tuple[str, ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()

    def stored(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def loaded(cls, value: Mapping[str, Any]) -> MailEnvelope:
        return cls(
            to=tuple(value["to"]),
            message_id=value["message_id"],
            reply_to=value.get("reply_to"),
            cc=tuple(value.get("cc", ())),
            in_reply_to=value.get("in_reply_to"),
            references=tuple(value.get("references", ())),
        )


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
        thread_root: str | None = None,
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

    def send_mail(
        self,
        subject: str,
        text: str,
        html: str,
        *,
        kind: str,
        ref: Ref | None = None,
        resends: str | None = None,
        envelope: MailEnvelope | None = None,
    ) -> str:
        """An e-mail to the configured recipients (`[email]`), or to the envelope's,
        delivered by the mail sender; `html` may be empty (a text-only mail)."""
        ...


MAX_EVENT_BYTES = 65_536
"""The homeserver's limit for a whole event as sent (Synapse and Tchap alike)."""
ENVELOPE_BYTES = 1_024
"""What an m.room.encrypted event adds around its ciphertext: ids, keys, signatures."""


class MessageTooLarge(UserError):
    """A post that the homeserver would refuse (M_TOO_LARGE): refused before it is queued."""


def sent_size(content: dict[str, Any]) -> int:
    """The bytes of the event as sent in an encrypted room: base64 ciphertext, about 4/3."""
    plain = len(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode())
    return math.ceil(plain * 4 / 3) + ENVELOPE_BYTES


def check_size(content: dict[str, Any]) -> None:
    size = sent_size({k: v for k, v in content.items() if k != UPLOAD_KEY})
    if size > MAX_EVENT_BYTES:
        raise MessageTooLarge(
            f"Ce message est trop long pour Matrix : environ {math.ceil(size / 1024)} Ko une "
            f"fois chiffré, pour une limite de {MAX_EVENT_BYTES // 1024} Ko. Raccourcissez-le, "
            "ou mettez le détail derrière un lien."
        )


MAIL_ROOM = ""
"""The room_id of a queued e-mail: it goes to no room."""
MAIL_EVENT_TYPE = "email"

_ACTIONS: Mapping[str, Action] = {"send": "send", "redact": "redact", "mail": "mail"}


def new_txn_id() -> str:
    return f"rupn{uuid.uuid4().hex}"


MsgType = Literal["m.text", "m.notice"]

MSGTYPE_BY_KIND: Mapping[str, MsgType] = MappingProxyType(
    {
        # m.text: it must reach a person, or it asks someone to act.
        "workshop-notice": "m.text",  # an atelier in the diffusion rooms: an invitation to sign up
        "workshop-reminder-day": "m.text",  # mentions the participants
        "workshop-reminder-hour": "m.text",
        "workshop-promotion": "m.text",  # mentions the person who got a place
        "workshop-cancellation": "m.text",  # mentions every participant: do not come
        "workshop-change": "m.text",  # mentions every participant: new date or place
        "workshop-minimum": "m.text",  # asks the RUPN to confirm or cancel
        "assistance-answer": "m.text",  # the desk's answer, mentions who reported the breakdown
        "assistance-stale": "m.text",  # asks the RUPN to follow a request up
        "assistance-unmatched": "m.text",  # asks the RUPN to pass a desk's mail on
        "assistance-mail-report": "m.text",  # a ticket that could not go: the RUPN must act
        "workshop-poll-invitation": "m.text",  # mentions the voters of the theme
        "poll-reminder": "m.text",  # asks the room to answer before the deadline
        "announcement": "m.text",  # `!annonce` and news published to the diffusion rooms
        "undecryptable-alert": "m.text",  # mentions the RUPN: a message could not be read
        # m.notice, reviewed and kept: the person is looking, or nobody has to act now.
        "reply": "m.notice",  # answers to commands (bots never trigger bots)
        "message": "m.notice",  # the default kind of `Messenger.send`
        "workshop-signup": "m.notice",  # confirms the 👍 the person has just given
        "announcement-confirmation": "m.notice",  # answers the RUPN's `!annonce`, once sent
        "news-proposal": "m.notice",  # sorted at the RUPN's pace; a busy feed would ring all day
        "news-notice": "m.notice",  # a feed fails or recovers: informational
        "bilan-summary": "m.notice",  # answers the RUPN's `!bilan`, with its files
        "digest": "m.notice",  # the weekly letter: read at leisure, it rings nobody
        "digest-report": "m.text",  # tells the RUPN the letter could not be mailed
        "privacy-data": "m.notice",  # `!mesdonnees` in a direct room: the person asked for it
        "privacy-erased": "m.notice",  # confirms `!mesdonnees effacer` to the person who typed it
    }
)
"""The msgtype of each kind of message the bot sends: the one place that decides.

The rule: m.text for what must reach a person (it can notify); m.notice for
everything else, which the default push rules silence. `.m.rule.suppress_notices`
comes before `.m.rule.is_user_mention`, so an m.notice notifies nobody, even
with m.mentions. A kind that is not listed is an m.notice.

Not listed because they are not text messages: "poll-start", "poll-end"
(poll events), "poll-export", "workshop-ics" (m.file), "reaction",
"redaction", "announcement-withdrawal" (redactions), "digest-mail" (an e-mail). Edits
("announcement-edit", "workshop-notice-edit") keep the msgtype of the post
they replace (`edit_content`).
"""


def msgtype_for(kind: str) -> MsgType:
    return MSGTYPE_BY_KIND.get(kind, "m.notice")


def message_content(
    text: str,
    *,
    msgtype: MsgType,
    html: str | None = None,
    mentions: Sequence[str] = (),
    reply_to: str | None = None,
    thread_root: str | None = None,
) -> dict[str, Any]:
    """An m.room.message, with m.mentions always present (empty when nobody is pinged).

    An erased person (their user id became an anonymous token) is never mentioned."""
    people = sorted({m for m in mentions if not is_anonymous(m)})
    content: dict[str, Any] = {
        "msgtype": msgtype,
        "body": text,
        "m.mentions": {"user_ids": people} if people else {},
    }
    if html is not None:
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = sanitize_html(html)
    if thread_root is not None:
        # In a thread: the answer stays in it, and quotes the message it answers for
        # clients without threads (`is_falling_back`).
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": thread_root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": reply_to or thread_root},
        }
    elif reply_to is not None:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content


def edit_content(
    original: Mapping[str, Any], text: str, *, html: str | None = None
) -> dict[str, Any]:
    """An m.replace edit of the post whose content is `original`, now showing `text`.

    The msgtype of the original is kept, inside m.new_content and outside, so that
    an edit never turns a notice into a message or the reverse. The sender adds the
    original's event id to m.relates_to. Nobody is mentioned again.
    """
    msgtype: MsgType = "m.text" if original.get("msgtype") == "m.text" else "m.notice"
    return {
        **message_content(f"* {text}", msgtype=msgtype, html=f"* {html}" if html else None),
        "m.new_content": message_content(text, msgtype=msgtype, html=html),
        "m.relates_to": {"rel_type": "m.replace"},
    }


class RoomOwners(Protocol):
    async def schools_of(self, room_ids: Collection[str]) -> Mapping[str, str]:
        """The school owning each of these rooms that is owned."""
        ...


async def stamped(
    posts: Sequence[OutgoingPost],
    owners: RoomOwners,
    school: str,
    *,
    requester: str | None = None,
    priority: int = PRIORITY_FIRST,
) -> list[OutgoingPost]:
    """Who caused these posts, and which school each is for: the school owning the room it
    goes to (an erasure typed in A's room promotes B's waiting list in B's rooms: those
    posts are B's), else `school`, the one of the unit that queued it (a mail, a direct
    room). Metrics and the outbox's round-robin between schools count each post there."""
    if not posts:
        return []
    rooms = await owners.schools_of({p.room_id for p in posts if p.action != "mail"})
    return [
        replace(p, requester=requester, priority=priority, school=rooms.get(p.room_id, school))
        for p in posts
    ]


class Outbox:
    """A `Messenger` that collects posts until the caller stores them (`stamped` says
    for which school each is)."""

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
        thread_root: str | None = None,
        kind: str = "message",
        ref: Ref | None = None,
    ) -> str:
        if markdown and html is None:
            html = markdown_to_html(text)
        content = message_content(
            text,
            msgtype=msgtype_for(kind),
            html=html,
            mentions=mentions,
            reply_to=reply_to,
            thread_root=thread_root,
        )
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

    def send_mail(
        self,
        subject: str,
        text: str,
        html: str,
        *,
        kind: str,
        ref: Ref | None = None,
        resends: str | None = None,
        envelope: MailEnvelope | None = None,
    ) -> str:
        """Queued like a post (action "mail", no room); bot/mailer.py delivers it."""
        content: dict[str, Any] = {"subject": subject, "text": text, "html": html}
        if resends is not None:  # sent again: the mailer gives it that mail's Message-ID
            content[RESENDS_KEY] = resends
        if envelope is not None:
            content[ENVELOPE_KEY] = envelope.stored()
        return self._add(MAIL_ROOM, "mail", MAIL_EVENT_TYPE, content, kind, ref)

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
        if action == "send":
            check_size(content)
        txn_id = new_txn_id()
        self._posts.append(
            OutgoingPost(
                room_id=room_id,
                action=_ACTIONS[action],
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
