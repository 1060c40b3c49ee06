"""The engagement log of the bot's posts, for the bilan: readers, audiences, reactions.

Everything is written in the transaction of the sync batch that brought it (event
handlers), or when a post is sent (a settled hook); the tables are described in
bot/storage/engagement.py.

Decisions:
- Counted posts are those of `COUNTED_KINDS` (announcements, weekly letters, workshop
  notices, poll starts). Their row is written once the sender has sent them, with the
  room's joined members at that moment (the bot excluded) and whether the person who
  caused the post (`posts.requester`) is one of them: the read rate's denominator leaves
  them out (`members - author_member`) and their own receipts never count (the receipt's
  user id is compared with `posts.requester`; nothing more is stored). A post queued by
  a job (a scheduled announcement, the letter) has no author. A crash between sending
  and the hook loses the row (the post is then not counted).
- Readers come from public read receipts only (`m.read`): the adapter never hands over
  private ones (`m.read.private`), nor the bot's own. A reader is a key (HMAC of the user
  id with the school year's secret), never a user id. Per room and reader, a marker
  holds the latest counted post their receipts cover; a receipt that moves it forward
  counts the reader once for every counted post in between: a receipt on today's
  message also counts last week's announcement that had no receipt yet. A receipt
  never moves a marker back; counts stay when a marker is erased.
- Posts are ordered as sent (`post_stats.seq`), the room's timeline order, not by post
  id: the fair outbox may send a post queued later first.
- Approximation: a receipt on someone else's message covers the counted posts sent at or
  before the receipt's timestamp (when it was read), not exactly those before that
  message in the timeline, which the bot does not keep. A receipt on one of the bot's
  posts covers exactly the counted posts sent up to it.
- The first receipt of a reader in a room in a school year counts the year's counted
  posts of that room, those sent before they joined included (they can scroll back to
  them): a rate may exceed 100 %. A new school year starts new keys, and only that
  year's posts are counted, so last year's posts are never counted twice. After an
  erasure, the person's next receipt counts the year's posts again, as a newcomer's.
- Reactions are kept per reaction event on counted posts only, the key normalised (skin
  tones and variation selectors removed: 👍🏽 counts as 👍) and cut to MAX_KEY
  characters, the reactor as a key (HMAC of the user id with the secret of the school
  year the post was sent in, so that a 👍 before and a 👍🏽 after the rentrée are one).
  Synapse refuses only a byte-identical duplicate: a person's equivalent reactions are
  all kept, one of them counted per post and key. A redaction deletes its own reaction
  event only: if it was the counted one, an equivalent one left is counted instead, so
  the person's reaction counts while any of them remains.
"""

from __future__ import annotations

import logging
import unicodedata

from bot.context import Context
from bot.domain import IncomingReaction, IncomingReceipt, IncomingRedaction
from bot.router import Router
from bot.school_year import school_year_of
from bot.storage.engagement import COUNTED_KINDS
from bot.storage.posts import Post
from bot.work import Units

log = logging.getLogger(__name__)

router = Router("engagement")

MAX_KEY = 16
"""Reaction keys are emojis; free-text reactions are cut to this many characters."""
_SKIN_TONES = frozenset(chr(c) for c in range(0x1F3FB, 0x1F400))
_VARIATION_SELECTORS = frozenset({"\ufe0e", "\ufe0f"})


def reaction_key(key: str) -> str:
    """👍🏽 → 👍, ❤️ → ❤: one key per emoji, whatever the skin tone or presentation."""
    kept = "".join(c for c in key.strip() if c not in _SKIN_TONES | _VARIATION_SELECTORS)
    return unicodedata.normalize("NFC", kept)[:MAX_KEY]


@router.on(IncomingReceipt)
async def on_receipt(ctx: Context, event: IncomingReceipt) -> None:
    if event.user_id == ctx.settings.bot_user_id:
        return
    year = school_year_of(ctx.now, ctx.tz, *ctx.settings.year_start)
    await ctx.repos.engagement.read_up_to(
        event.room_id,
        event.user_id,
        ctx.pseudonyms.reader_key(event.user_id, year.label),
        event.event_id,
        event.timestamp,
        year_start=year.start(ctx.tz),
    )


@router.on(IncomingReaction)
async def on_reaction(ctx: Context, event: IncomingReaction) -> None:
    key = reaction_key(event.key)
    if event.sender == ctx.settings.bot_user_id or not key:
        return
    engagement = ctx.repos.engagement
    sent_at = await engagement.counted_sent_at(event.room_id, event.target_event_id)
    if sent_at is None:
        return
    year = school_year_of(sent_at, ctx.tz, *ctx.settings.year_start)
    await engagement.add_reaction(
        event.room_id,
        event.target_event_id,
        event.event_id,
        key,
        event.timestamp,
        reactor_key=ctx.pseudonyms.reader_key(event.sender, year.label),
    )


@router.on(IncomingRedaction)
async def on_redaction(ctx: Context, event: IncomingRedaction) -> None:
    await ctx.repos.engagement.remove_reaction(event.redacted_event_id)


@router.on_post_settled
async def post_sent(units: Units, post: Post) -> None:
    """A counted post was sent (or failed: then nothing is recorded)."""
    if post.kind not in COUNTED_KINDS or post.action != "send":
        return
    async with units.unit() as scope:
        members = set(scope.info.member_ids(post.room_id)) - {scope.settings.bot_user_id}
        recorded = await scope.repos.engagement.record_sent(
            post.txn_id, members=len(members), author_member=post.requester in members
        )
    if recorded:
        log.debug(
            "Post %d (%s) counted for the bilan: %d members", post.id, post.kind, len(members)
        )
