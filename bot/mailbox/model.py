"""What the mailbox reader hands to the assistance requests, and how."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class DeskReply:
    """One mail received in the bot's mailbox, reduced to what a request needs.

    Message ids are bare (no angle brackets). `new_text` is only what the
    writer added: quoted history and signature are already removed.
    """

    message_id: str
    # In-Reply-To first, then References from the most recent to the oldest, without repeats.
    refers_to: tuple[str, ...]
    subject: str
    sender: str
    received_at: datetime
    new_text: str


class ReplySink(Protocol):
    async def accept(self, reply: DeskReply) -> None:
        """Record the reply and queue its chat messages in one transaction.

        Returns once committed. Idempotent on `reply.message_id`: a mail read
        twice (a crash before the reader marked it) is recorded and posted once.
        Raises only for an internal error; the reader then leaves the mail
        unmarked and tries again later.
        """
        ...
