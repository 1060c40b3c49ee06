"""Preview: the letter as it would go out now, offline (`rupn-bot lettre --apercu`).

What `!lettre aperçu` shows after its header, made without the Matrix
connection: the bot's database is only read, through a read-only SQLite
connection (the running bot may keep writing: WAL lets a reader in), and the
data_dir lock is not taken. Nothing is queued, sent, mailed or committed.

Offline, two things differ from the running bot:
- room aliases (``#salle:serveur``) in ``[digest] rooms`` and
  ``[bot] broadcast_rooms`` cannot be resolved: they are skipped, with a note
  when that changes the room whose letter is shown;
- room members are unknown: participation reads « 12 réponses », without
  « sur N », as the templates write it whenever members are unknown.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from bot.config import Config
from bot.context import JobContext, Repositories, Settings
from bot.errors import RupnError, StorageError
from bot.messenger import Outbox
from bot.storage.database import DATABASE_FILE, Database, QueryError
from digests.render import render_letter
from digests.rooms import letter_rooms
from digests.send import compose

NOTHING_TO_SAY = "Rien à dire pour l’instant : aucune lettre ne partirait."
NO_ROOM = (
    "Aucun salon ne reçoit la lettre : ajoutez un salon de diffusion avec « !diffusion "
    "ajouter » dans le salon concerné, ou renseignez [digest] rooms dans la configuration."
)
OFFLINE_IDENTITY = "inconnue (aperçu hors ligne, sans connexion au serveur Matrix)"

Warn = Callable[[str], None]


class PreviewError(RupnError):
    """The preview cannot be made; the message (French) says why and what to do."""


@dataclass(frozen=True)
class OfflineInfo:
    """A `BotInfo` for a bot that is not connected: it knows no room and no member."""

    started_at: datetime

    def joined_rooms(self) -> list[str]:
        return []

    def room_name(self, room_id: str) -> str:
        return room_id

    def find_room(self, reference: str) -> str | None:
        return None

    def member_ids(self, room_id: str) -> list[str]:
        return []

    def identity_summary(self) -> str:
        return OFFLINE_IDENTITY


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


def room_ids(references: Sequence[str]) -> tuple[str, ...]:
    """The room ids among configured references; aliases (``#…``) need the homeserver."""
    return tuple(ref for ref in references if ref.startswith("!"))


def _aliases(references: Sequence[str]) -> list[str]:
    return [ref for ref in references if not ref.startswith("!")]


def _quoted(references: Sequence[str]) -> str:
    return ", ".join(f"« {ref} »" for ref in references)


def aliases_only(key: str, aliases: Sequence[str]) -> str:
    return (
        f"Aucun salon utilisable pour l’aperçu : {key} ne contient que des adresses de salon "
        f"({_quoted(aliases)}), que seul le serveur Matrix sait traduire. Indiquez plutôt "
        "l’identifiant du salon (« !… », dans ses paramètres avancés), ou demandez "
        "« !lettre aperçu » au bot."
    )


def aliases_skipped(key: str, aliases: Sequence[str], room_id: str) -> str:
    return (
        f"Attention : les adresses de salon de {key} ({_quoted(aliases)}) ne peuvent pas être "
        f"traduites sans le serveur Matrix ; voici la lettre du salon {room_id}, qui n’est "
        "peut-être pas le premier salon à la recevoir."
    )


def settings_of(config: Config) -> Settings:
    """The bot's Settings (`Settings.from_config`, as `bot.app` builds them), with the
    configured room ids only: aliases need the homeserver."""
    return Settings.from_config(
        config,
        broadcast_rooms=room_ids(config.bot.broadcast_rooms),
        digest_rooms=room_ids(config.digest.rooms),
    )


@asynccontextmanager
async def read_only_database(config: Config) -> AsyncIterator[Database]:
    """The bot's database, read only (`Database.open_read_only`), closed on leaving;
    what cannot be read is a `PreviewError` (French, with what to do)."""
    try:
        db = await Database.open_read_only(config.storage.data_dir / DATABASE_FILE)
    except StorageError as exc:
        raise PreviewError(str(exc)) from None
    try:
        yield db
    except QueryError as exc:
        raise PreviewError(f"Lecture de la base de données impossible ({exc}).") from None
    finally:
        await db.close()


async def _rooms(repos: Repositories, settings: Settings, config: Config, warn: Warn) -> list[str]:
    """The letter rooms the bot would use, as far as they are known offline."""
    if config.digest.rooms:
        key, references = "[digest] rooms", config.digest.rooms
        if not settings.digest_rooms:  # never fall back on the diffusion rooms: not the bot's
            raise PreviewError(aliases_only(key, _aliases(references)))
    else:
        key, references = "[bot] broadcast_rooms", config.bot.broadcast_rooms
    rooms = await letter_rooms(repos, settings)
    aliases = _aliases(references)
    if not rooms:
        raise PreviewError(aliases_only(key, aliases) if aliases else NO_ROOM)
    if references and not references[0].startswith("!"):
        warn(aliases_skipped(key, aliases, rooms[0]))
    return rooms


async def preview_text(config: Config, now: datetime, *, warn: Warn = _to_stderr) -> str:
    """The plain text of the first letter room's letter as it would go out at `now`.

    `NOTHING_TO_SAY` when no letter would go; `PreviewError` when there is no
    database or no room; `warn` gets a French line when aliases were skipped.
    """
    settings = settings_of(config)
    async with read_only_database(config) as db:
        repos = Repositories.open(db)
        rooms = await _rooms(repos, settings, config, warn)
        scope = JobContext(
            now=now,
            messenger=Outbox(),  # never drained: nothing is queued nor stored
            repos=repos,
            settings=settings,
            info=OfflineInfo(started_at=now),
        )
        letters = await compose(scope, rooms[:1])
    if letters.empty:
        return NOTHING_TO_SAY
    return render_letter(letters.letters[0], settings.tz).text
