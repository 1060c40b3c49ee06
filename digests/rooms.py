"""Which rooms receive the letter."""

from __future__ import annotations

from bot.context import Repositories, Settings


async def letter_rooms(repos: Repositories, settings: Settings) -> list[str]:
    """`[digest] rooms` if set, else the diffusion rooms (config, then `!diffusion ajouter`)."""
    if settings.digest_rooms:
        return list(settings.digest_rooms)
    return await repos.broadcast.diffusion_rooms(settings.broadcast_rooms)
