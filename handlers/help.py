"""`!aide`: generated from the command registry, filtered by what the asker may use."""

from __future__ import annotations

from bot.context import Context
from bot.errors import NotFound
from bot.router import PREFIX, Command, Router, optional_word

router = Router("aide")

ADMIN_NOTE = "réservée aux RUPN"


def _line(command: Command) -> str:
    note = f" ({ADMIN_NOTE})" if command.admin else ""
    return f"- {command.usage_line} — {command.summary}{note}"


def overview(commands: list[Command]) -> str:
    lines = ["**Commandes de rupn-bot**", ""]
    lines += [_line(c) for c in commands]
    lines += ["", f"Tapez {PREFIX}aide suivi d’un nom de commande pour le détail et un exemple."]
    return "\n".join(lines)


def detail(command: Command) -> str:
    lines = [f"**{command.usage_line}**", "", command.summary.capitalize() + "."]
    if command.details:
        lines += ["", command.details, ""]
    if command.aliases:
        lines.append("Autres noms : " + ", ".join(PREFIX + a for a in command.aliases) + ".")
    lines.append(f"Exemple : {command.example}")
    if command.admin:
        lines.append(f"Commande {ADMIN_NOTE}.")
    return "\n".join(lines)


@router.command(
    "aide",
    summary="affiche la liste des commandes, ou le détail de l’une d’elles",
    usage="[commande]",
    example="!aide statut",
    aliases=("help",),
    parse=optional_word,
)
async def aide(ctx: Context, name: str | None) -> None:
    if name is None:
        ctx.reply(overview(list(ctx.commands.visible_to(ctx.is_admin))), markdown=True)
        return
    command = ctx.commands.lookup(name.removeprefix(PREFIX))
    if command is None:
        raise NotFound(
            f"Commande inconnue : {PREFIX}{name.removeprefix(PREFIX)}. "
            f"Tapez {PREFIX}aide pour la liste des commandes."
        )
    ctx.reply(detail(command), markdown=True)
