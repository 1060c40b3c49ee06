"""The entry point of `rupn-bot connexion` (the CLI imports it only for this command)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

from bot.auth.connexion import Terminal, connect
from bot.auth.login import login_settings
from bot.config import Config
from bot.data_dir import DataDirLock, prepare_data_dir
from bot.errors import (
    EXIT_LOGIN_REQUIRED,
    HomeserverUnreachable,
    LoginRequired,
    MatrixError,
    StorageError,
)

EXIT_OK = 0


def connexion_command(config: Config, ask_password: Callable[[], str | None]) -> int:
    """Open the bot's session interactively; returns the exit status."""
    settings = login_settings(config, environ={})  # an operator's token is not a session to open
    terminal = Terminal(
        say=lambda line: print(line, flush=True),
        ask_password=ask_password,
        qr_code=sys.stdout.isatty(),
    )
    lock = DataDirLock(config.storage.data_dir)
    try:
        prepare_data_dir(config.storage.data_dir)
        lock.acquire()  # the running bot must be stopped: its session is being replaced
        asyncio.run(connect(settings, terminal))
    except StorageError as exc:
        print(exc, file=sys.stderr)  # French, with what to do
        return 1
    except LoginRequired as exc:
        print(exc.message, file=sys.stderr)
        return EXIT_LOGIN_REQUIRED
    except HomeserverUnreachable as exc:
        print(f"Le serveur ne répond pas ({exc}) : rien n’a été enregistré.", file=sys.stderr)
        return 1
    except MatrixError as exc:
        print(f"Le serveur a refusé la connexion ({exc.errcode}) : rien n’a été enregistré.",
              file=sys.stderr)  # fmt: skip
        return 1
    finally:
        lock.release()
    return EXIT_OK
