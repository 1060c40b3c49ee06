"""`rupn-bot identite etat | reinitialiser`: the cross-signing identity, from the command line.

It works on the saved session (the device the bot uses), without syncing, so
it can run while the bot is stopped. Resetting is the only way the identity is
ever replaced: the running bot never does it by itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from bot.auth.tokens import StaticToken, TokenKeeper, TokenSource
from bot.config import PASSWORD_ENV_VAR, Config
from bot.cross_signing import (
    IdentityReport,
    IdentityState,
    device_is_signed,
    load_keys,
)
from bot.data_dir import DataDirError, DataDirLock
from bot.errors import HomeserverUnreachable, MatrixError
from bot.identity_reset import ApprovalTimeout, reset_identity
from bot.keys_api import AuthRequired, KeysApi
from bot.session import SavedSession, load_session

EXIT_OK = 0
EXIT_FAILURE = 1


def identity_command(
    config: Config, action: str, ask_password: Callable[[], str | None] = lambda: None
) -> int:
    """Print the state, or reset the identity; returns the exit status.

    The password is asked only if the homeserver lists the password stage.
    """
    data_dir = config.storage.data_dir
    session = load_session(data_dir)
    if session is None or session.user_id != config.matrix.user_id:
        print(
            "Aucune session du bot n’est enregistrée dans "
            f"{data_dir} : lancez d’abord « rupn-bot connexion », ou le bot une fois "
            "(rupn-bot run)."
        )
        return EXIT_FAILURE
    lock = DataDirLock(data_dir)
    try:
        lock.acquire()
    except DataDirError as exc:
        if action == "reinitialiser":
            print(exc.args[0])  # French: the running bot must be stopped first
            return EXIT_FAILURE
        # `etat` beside the running bot: its token as stored, never refreshed here (a
        # refresh would rotate the pair under the bot's feet).
        return _run(config, action, session, StaticToken(session.access_token), ask_password)
    try:
        return _run(config, action, session, TokenKeeper(data_dir, session), ask_password)
    finally:
        lock.release()


def _run(
    config: Config,
    action: str,
    session: SavedSession,
    tokens: TokenSource,
    ask_password: Callable[[], str | None],
) -> int:
    data_dir = config.storage.data_dir
    api = KeysApi(config.matrix.homeserver, tokens)
    try:
        if action == "reinitialiser":
            report = asyncio.run(
                reset_identity(
                    api, data_dir, session.user_id, session.device_id, ask_password,
                    lambda line: print(line, flush=True),
                )
            )  # fmt: skip
            print(
                "Nouvelle identité de chiffrement publiée ; la session "
                f"{session.device_id} du bot est signée."
            )
            _print_report(report)
            return EXIT_OK
        return asyncio.run(_state(api, data_dir, session.user_id, session.device_id))
    except AuthRequired:
        print(
            "Le serveur demande le mot de passe du compte du bot, qui n’a pas été donné ou a été "
            f"refusé (variable {PASSWORD_ENV_VAR}) : rien n’a été changé."
        )
    except ApprovalTimeout:
        print(
            "La réinitialisation n’a pas été approuvée dans les 10 minutes : rien n’a été "
            "changé. Relancez « rupn-bot identite reinitialiser »."
        )
    except HomeserverUnreachable as exc:
        print(f"Le serveur Matrix ne répond pas ({exc}) : rien n’a été changé.")
    except MatrixError as exc:
        print(f"Le serveur Matrix a refusé l’opération ({exc.errcode}) : rien n’a été changé.")
    return EXIT_FAILURE


def _print_report(report: IdentityReport) -> None:
    print(f"État : {report.state.describe()}.")
    if report.master_key:
        print(f"Clé maîtresse : {report.fingerprint()}")


async def _state(api: KeysApi, data_dir: Path, user_id: str, device_id: str) -> int:
    query = await api.query(user_id)
    master = next(iter((query.get("master_keys") or {}).get(user_id, {}).get("keys", {})), None)
    local = load_keys(data_dir, user_id)
    print(f"Compte : {user_id}, session {device_id}")
    if master is None:
        print("Le compte n’a pas encore d’identité de chiffrement : le bot la créera au démarrage.")
        return EXIT_FAILURE
    public = str(master).split(":", 1)[1]
    if device_is_signed(query, user_id, device_id):
        _print_report(IdentityReport(IdentityState.SIGNED, public))
        return EXIT_OK
    if local is None or local.public("master") != public:
        _print_report(IdentityReport(IdentityState.FOREIGN_IDENTITY, public))
        return EXIT_FAILURE
    print("État : la session n’est pas encore signée ; le bot la signera à son prochain démarrage.")
    return EXIT_FAILURE
