"""What `rupn-bot check-config` says about the login: the method `run` will use, the session."""

from __future__ import annotations

from bot.auth.login import (
    ACCESS_TOKEN_ENV_VAR,
    LoginSettings,
    crypto_store_exists,
)
from bot.session import LoginMethod, SavedSession, load_session

METHOD_NAMES = {
    LoginMethod.PASSWORD: "mot de passe",
    LoginMethod.OAUTH: "OAuth 2.0, code d’appareil (rupn-bot connexion)",
    LoginMethod.TOKEN: "jeton d’opérateur",
}


def _usable(settings: LoginSettings, saved: SavedSession | None) -> SavedSession | None:
    if saved is None or saved.user_id != settings.user_id:
        return None
    if saved.homeserver != settings.homeserver:
        return None
    if not crypto_store_exists(settings.data_dir, saved.user_id, saved.device_id):
        return None
    return saved


def login_lines(settings: LoginSettings) -> list[str]:
    """Two French lines: which method `run` will use, and whether a session is stored."""
    saved = load_session(settings.data_dir) if settings.data_dir.is_dir() else None
    usable = _usable(settings, saved)
    if settings.access_token:
        method = f"jeton d’opérateur (variable d’environnement {ACCESS_TOKEN_ENV_VAR})"
    elif usable is not None:
        method = f"session enregistrée ({METHOD_NAMES[usable.method]})"
    elif settings.password:
        method = "mot de passe (une nouvelle session sera ouverte au démarrage)"
    else:
        method = "aucune : lancez « rupn-bot connexion --config … » avant « rupn-bot run »"
    if saved is None:
        stored = "non"
    elif usable is None:
        stored = f"session {saved.device_id} inutilisable (autre compte, autre serveur ou sans "
        stored += "magasin de chiffrement)"
    else:
        stored = f"oui, session {saved.device_id} ({METHOD_NAMES[saved.method]})"
    return [f"  connexion : {method}", f"  session enregistrée : {stored}"]
