"""`!diffusion`: which rooms receive the announcements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, assert_never

from bot.context import Context
from bot.errors import InvalidArguments, NotFound, PermissionDenied, UserError
from bot.router import PREFIX, ParseEnv, Router
from bot.tenancy import ROOM_OF_ANOTHER_SCHOOL_TEXT, check_rooms_of_school

router = Router("diffusion")

Action = Literal["ajouter", "retirer", "liste"]
ACTIONS: tuple[Action, ...] = ("ajouter", "retirer", "liste")


@dataclass(frozen=True)
class DiffusionArgs:
    action: Action
    room: str | None


def parse_diffusion(text: str, env: ParseEnv) -> DiffusionArgs:
    words = text.split()
    if not words or words[0].lower() not in ACTIONS:
        raise InvalidArguments("Précisez ajouter, retirer ou liste.")
    action: Action = ACTIONS[ACTIONS.index(words[0].lower())]
    if action == "liste" and len(words) > 1:
        line = f"{PREFIX}diffusion liste"
        raise InvalidArguments("Rien n’est attendu après « liste ».", usage=line, example=line)
    if len(words) > 2:
        raise InvalidArguments("Un seul salon à la fois, désigné par son adresse (#nom:serveur).")
    return DiffusionArgs(action, words[1] if len(words) == 2 else None)


def _target(ctx: Context, reference: str | None) -> str:
    if reference is None:
        return ctx.room_id
    room_id = ctx.info.find_room(reference)
    if room_id is None:
        raise NotFound(
            f"Le bot n’est pas dans le salon {reference}. Invitez-le d’abord dans ce salon, "
            "puis tapez !diffusion ajouter depuis ce salon."
        )
    return room_id


@router.command(
    "diffusion",
    summary="choisit les salons qui reçoivent les annonces (par défaut, celui où vous tapez)",
    usage="ajouter|retirer|liste [salon]",
    example="!diffusion ajouter",
    admin=True,
    parse=parse_diffusion,
)
async def diffusion(ctx: Context, args: DiffusionArgs) -> None:
    match args.action:
        case "liste":
            await _list(ctx)
        case "ajouter":
            room_id, name = _changeable(ctx, args.room)
            if await ctx.repos.rooms.claim(room_id, ctx.school.key, ctx.now) != ctx.school.key:
                raise PermissionDenied(ROOM_OF_ANOTHER_SCHOOL_TEXT)
            if await ctx.repos.broadcast.add(room_id, ctx.sender, ctx.now):
                ctx.reply(f"Le salon « {name} » recevra désormais les annonces.")
            else:
                ctx.reply(f"Le salon « {name} » reçoit déjà les annonces.")
        case "retirer":
            room_id, name = _changeable(ctx, args.room)
            await check_rooms_of_school(ctx, [(room_id, args.room or name)])
            if await ctx.repos.broadcast.remove(room_id):
                ctx.reply(f"Le salon « {name} » ne recevra plus les annonces.")
            else:
                ctx.reply(f"Le salon « {name} » ne faisait pas partie des salons de diffusion.")
        case _:
            assert_never(args.action)


def _changeable(ctx: Context, reference: str | None) -> tuple[str, str]:
    """The room id and name; a room from the config file cannot be changed in chat."""
    room_id = _target(ctx, reference)
    name = ctx.info.room_name(room_id)
    if room_id in ctx.settings.broadcast_rooms:
        raise UserError(
            f"Le salon « {name} » est déclaré dans la configuration (bot.broadcast_rooms) : "
            "il reçoit les annonces tant qu’il y figure. Modifiez le fichier pour le retirer."
        )
    return room_id, name


async def _list(ctx: Context) -> None:
    configured = list(ctx.settings.broadcast_rooms)
    added = [r for r in await ctx.repos.broadcast.list() if r not in configured]
    if not configured and not added:
        ctx.reply(
            "Aucun salon de diffusion pour l’instant. Tapez !diffusion ajouter dans un salon "
            "pour qu’il reçoive les annonces."
        )
        return
    lines = ["Salons de diffusion :"]
    lines += [f"- {ctx.info.room_name(r)} (configuration)" for r in configured]
    lines += [f"- {ctx.info.room_name(r)}" for r in added]
    ctx.reply("\n".join(lines))
