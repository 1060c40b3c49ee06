"""`!statut`: is the bot healthy? For the RUPN who runs it."""

from __future__ import annotations

from bot import __version__
from bot.context import Context
from bot.dates import format_when
from bot.router import Router, no_arguments

router = Router("statut")


@router.command(
    "statut",
    summary="état du bot : salons rejoints, messages envoyés et en attente",
    admin=True,
    parse=no_arguments,
)
async def statut(ctx: Context, _: None) -> None:
    # The school's own figures: its posts and its rooms (a single-school bot's: every room
    # no other school owns).
    counts = await ctx.repos.posts.count_by_status(ctx.school.key)
    joined = ctx.info.joined_rooms()
    if ctx.school.implicit:
        owned = await ctx.repos.rooms.owned()
        rooms = sum(owned.get(r, ctx.school.key) == ctx.school.key for r in joined)
    else:
        rooms = len(set(joined).intersection(await ctx.repos.rooms.rooms_of(ctx.school.key)))
    since = format_when(ctx.info.started_at, ctx.tz, with_year=True)
    lines = [
        f"rupn-bot {__version__}, en service depuis le {since}.",
        f"Salons rejoints : {rooms}.",
        f"Messages envoyés : {counts.get('sent', 0)} ; en attente : {counts.get('pending', 0)} ; "
        f"en échec : {counts.get('failed', 0)}.",
        f"Chiffrement : {ctx.info.identity_summary()}.",
    ]
    ctx.reply("\n".join(lines))
