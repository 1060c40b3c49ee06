"""The notice the admins get when the running bot opened a new session by itself.

The old session was revoked (deleted from the account's list of sessions, say)
and a password was at hand: the bot logged in again, as a new device signed
with its kept identity. The RUPN is told once, in the direct room the bot
keeps with each admin, so that a removal they did not make does not go unseen.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.direct import DirectRooms
from bot.work import Units

NEW_SESSION_NOTICE = (
    "rupn-bot a dû ouvrir une nouvelle session : la précédente a été supprimée ou révoquée "
    "(par exemple depuis la liste des sessions du compte du bot). Il s’est reconnecté avec son "
    "mot de passe et a signé la nouvelle session avec son identité de chiffrement : rien n’est à "
    "faire, sauf si ce n’était pas voulu (changez alors le mot de passe du compte du bot)."
)
"""Sent once to each admin when the bot logged in again by itself."""


async def tell_admins(units: Units, direct: DirectRooms, admins: Sequence[str], text: str) -> None:
    """One notice to each admin, in the direct room the bot keeps with them."""
    rooms = await direct.ensure(admins)
    async with units.unit() as scope:
        for admin in admins:
            if admin in rooms:
                scope.messenger.send(rooms[admin], text, kind="session-notice")
