"""Which session `rupn-bot run` uses, and how it opens a new one when the old one is gone.

In order: an operator's token (`RUPN_BOT_ACCESS_TOKEN`), the session saved in
`data_dir` (by an earlier start or by `rupn-bot connexion`), a password login
(`RUPN_BOT_PASSWORD` or `matrix.password`). `run` never prompts: without any
of them it raises `LoginRequired`, whose French text says what to do.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from bot.auth.http import request
from bot.auth.tokens import wall_clock_ms
from bot.config import Config
from bot.errors import AccountExpired, LoginRequired, MatrixError
from bot.session import LoginMethod, SavedSession, forget_session, load_session, save_session

log = logging.getLogger(__name__)

ACCESS_TOKEN_ENV_VAR = "RUPN_BOT_ACCESS_TOKEN"  # noqa: S105 (a variable name, not a secret)
EXPIRED_ACCOUNT = "ORG_MATRIX_EXPIRED_ACCOUNT"
CONNEXION_HINT = (
    "lancez « rupn-bot connexion --config … » (une fois, en interactif), puis relancez le bot"
)


@dataclass(frozen=True)
class LoginSettings:
    homeserver: str
    user_id: str
    device_name: str
    data_dir: Path
    password: str | None = None
    access_token: str | None = None
    """An operator's token (RUPN_BOT_ACCESS_TOKEN)."""


def login_settings(config: Config, environ: Mapping[str, str] | None = None) -> LoginSettings:
    """How `run` may open a session: an operator's token, the stored one, the password."""
    env = os.environ if environ is None else environ
    return LoginSettings(
        homeserver=config.matrix.homeserver,
        user_id=config.matrix.user_id,
        device_name=config.matrix.device_name,
        data_dir=config.storage.data_dir,
        password=config.password_value(),
        access_token=env.get(ACCESS_TOKEN_ENV_VAR) or None,
    )


def crypto_store_exists(data_dir: Path, user_id: str, device_id: str) -> bool:
    """Whether the encryption store of this device is in `data_dir` (one store per device)."""
    return (data_dir / "crypto" / f"{user_id}_{device_id}.db").exists()


def expired_text(user_id: str) -> str:
    return (
        f"Le compte du bot {user_id} a expiré (un compte Tchap expire s’il n’est pas renouvelé) : "
        "ouvrez le courriel de renouvellement envoyé à l’adresse du compte du bot, suivez son "
        "lien, puis relancez le bot."
    )


def revoked_text(data_dir: Path) -> str:
    return (
        "La session du bot a été révoquée (jeton refusé, ou session supprimée de la liste des "
        f"sessions du compte) et aucun mot de passe n’est fourni : {CONNEXION_HINT}. "
        f"La session enregistrée dans {data_dir} a été oubliée."
    )


def _check_expired(errcode: str, user_id: str) -> None:
    if errcode == EXPIRED_ACCOUNT:
        raise AccountExpired(errcode, expired_text(user_id), status=403)


async def password_login(settings: LoginSettings, password: str) -> SavedSession:
    """`m.login.password` with an `m.id.user` identifier, asking for a refresh token."""
    answer = await request(
        "POST",
        settings.homeserver + "/_matrix/client/v3/login",
        json={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": settings.user_id},
            "password": password,
            "initial_device_display_name": settings.device_name,
            "refresh_token": True,
        },
    )
    if not answer.ok:
        _check_expired(answer.errcode, settings.user_id)
        if answer.errcode == "M_FORBIDDEN":
            raise LoginRequired(
                f"Le serveur Matrix a refusé le mot de passe du compte {settings.user_id} : "
                "vérifiez matrix.password ou la variable RUPN_BOT_PASSWORD."
            )
        raise MatrixError(answer.errcode, str(answer.data.get("error")), status=answer.status)
    data = answer.data
    expires = data.get("expires_in_ms")
    session = SavedSession(
        homeserver=settings.homeserver,
        user_id=str(data["user_id"]),
        device_id=str(data["device_id"]),
        access_token=str(data["access_token"]),
        refresh_token=str(data["refresh_token"]) if data.get("refresh_token") else None,
        expires_at_ms=wall_clock_ms() + expires if isinstance(expires, int) else None,
        method=LoginMethod.PASSWORD,
        new_device=True,
    )
    save_session(settings.data_dir, session)
    log.info("Logged in with the password as %s, new device %s", session.user_id,
             session.device_id)  # fmt: skip
    return session


async def operator_session(settings: LoginSettings, token: str) -> SavedSession:
    """The session of an operator's token: its user and device come from /whoami."""
    answer = await request(
        "GET", settings.homeserver + "/_matrix/client/v3/account/whoami", token=token
    )
    if not answer.ok:
        _check_expired(answer.errcode, settings.user_id)
        raise LoginRequired(
            f"Le serveur Matrix refuse le jeton de la variable {ACCESS_TOKEN_ENV_VAR} "
            f"({answer.errcode}) : demandez un nouveau jeton à l’administrateur du serveur."
        )
    user_id = str(answer.data.get("user_id"))
    device_id = answer.data.get("device_id")
    if user_id != settings.user_id:
        raise LoginRequired(
            f"Le jeton de la variable {ACCESS_TOKEN_ENV_VAR} appartient au compte {user_id}, "
            f"pas à {settings.user_id} (matrix.user_id) : le bot ne l’utilise pas."
        )
    if not isinstance(device_id, str) or not device_id:
        raise LoginRequired(
            f"Le jeton de la variable {ACCESS_TOKEN_ENV_VAR} n’est lié à aucune session "
            "(device) : le chiffrement de bout en bout en a besoin. Demandez un jeton de "
            "compatibilité (mas-cli manage issue-compatibility-token) ou de session personnelle."
        )
    session = SavedSession(settings.homeserver, user_id, device_id, token,
                           method=LoginMethod.TOKEN)  # fmt: skip
    save_session(settings.data_dir, session)  # `rupn-bot identite` works on it too
    log.info("Using the operator's token for %s, device %s", user_id, device_id)
    return session


async def open_session(settings: LoginSettings) -> SavedSession:
    """The session to start with; never prompts."""
    if settings.access_token:
        return await operator_session(settings, settings.access_token)
    saved = load_session(settings.data_dir)
    if saved and saved.user_id == settings.user_id and saved.homeserver == settings.homeserver:
        if crypto_store_exists(settings.data_dir, saved.user_id, saved.device_id):
            if saved.new_device:  # its store now exists: losing it later needs a new device
                saved = replace(saved, new_device=False)
                save_session(settings.data_dir, saved)
            log.info("Restored session of %s on device %s (%s)", saved.user_id, saved.device_id,
                     saved.method.value)  # fmt: skip
            return saved
        if saved.new_device:
            log.info("First start on device %s (opened by rupn-bot connexion)", saved.device_id)
            return saved
        log.warning("The encryption store of device %s is missing; a new device is needed",
                    saved.device_id)  # fmt: skip
    if settings.password:
        return await password_login(settings, settings.password)
    raise LoginRequired(
        f"Aucune session utilisable du bot dans {settings.data_dir} et aucun mot de passe "
        f"(RUPN_BOT_PASSWORD) : {CONNEXION_HINT}."
    )


async def reopen_session(settings: LoginSettings) -> SavedSession:
    """The session was revoked: log in again with the password, else `LoginRequired`."""
    if not settings.password:
        forget_session(settings.data_dir)
        raise LoginRequired(revoked_text(settings.data_dir))
    return await password_login(settings, settings.password)
