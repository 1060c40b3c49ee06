"""`!etablissements`: the académie's admins list the schools served, and reload the CSV."""

from __future__ import annotations

from collections import Counter
from typing import Literal

from bot.context import Context, SchoolsDirectory
from bot.errors import InvalidArguments
from bot.router import PREFIX, ParseEnv, Router
from bot.tenancy import school_label

router = Router("etablissements")

RELOAD = "recharger"
Action = Literal["liste", "recharger"]


def parse_action(text: str, _: ParseEnv) -> Action:
    words = text.split()
    if not words:
        return "liste"
    if len(words) == 1 and words[0].lower() == RELOAD:
        return "recharger"
    raise InvalidArguments(
        f"Tapez {PREFIX}etablissements seul pour la liste, ou {PREFIX}etablissements "
        f"{RELOAD} pour relire l’annuaire."
    )


@router.command(
    "etablissements",
    summary="liste les établissements servis, ou relit leur annuaire (académie)",
    usage=f"[{RELOAD}]",
    example=f"{PREFIX}etablissements {RELOAD}",
    admin=True,
    academie_only=True,
    parse=parse_action,
)
async def etablissements(ctx: Context, action: Action) -> None:
    directory = ctx.directory
    if directory is None:  # the processor gives it to the académie's commands
        raise RuntimeError("!etablissements without the académie's directory")
    if action == "recharger":
        ctx.reply((await directory.reload()).message)
        return
    ctx.reply(await listing(ctx, directory))


async def listing(ctx: Context, directory: SchoolsDirectory) -> str:
    """Each school served, with the number of rooms it owns where the bot is."""
    joined = set(ctx.info.joined_rooms())
    owned = await ctx.repos.rooms.owned()
    rooms = Counter(key for room, key in owned.items() if room in joined)
    schools = directory.schools
    lines = [f"Établissements servis ({len(schools)}) :"]
    for school in schools:
        count = rooms[school.key]
        lines.append(f"- {school_label(school)} : {count} salon{'s' if count > 1 else ''}")
    return "\n".join(lines)
