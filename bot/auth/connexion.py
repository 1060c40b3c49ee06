"""`rupn-bot connexion`: the one interactive step, run once by the RUPN or the administrator.

On a MAS homeserver (Tchap since 2025, ProConnect accounts) it prints an
address and a code, waits while the account owner approves them in a
browser, and stores the OAuth 2.0 session; on a password homeserver it logs
in with the password. Either way `rupn-bot run` then starts on that session.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from bot.auth.device_flow import (
    Waiting,
    authorize_device,
    new_device_id,
    register_client,
    wait_for_tokens,
)
from bot.auth.discovery import OAuthServer, PasswordServer, discover
from bot.auth.http import request
from bot.auth.login import LoginSettings, password_login
from bot.auth.tokens import wall_clock_ms
from bot.errors import LoginRequired
from bot.session import LoginMethod, SavedSession, save_session


@dataclass(frozen=True)
class Terminal:
    """How the command talks to the person: print a line, ask the password (None: no answer)."""

    say: Callable[[str], None]
    ask_password: Callable[[], str | None]
    qr_code: bool = False
    """Draw the complete address as a QR code (a terminal, not a log)."""


def qr_text(url: str) -> str:
    """The address as a QR code in block characters, to scan with a phone."""
    import segno

    drawing = io.StringIO()
    segno.make(url, error="l").terminal(out=drawing, compact=True, border=1)
    return drawing.getvalue().rstrip("\n")


async def connect(settings: LoginSettings, terminal: Terminal) -> SavedSession:
    """Open and store a session for the bot's account; `LoginRequired` says why not."""
    server = await discover(settings.homeserver)
    if isinstance(server, PasswordServer):
        password = settings.password or terminal.ask_password()
        if not password:
            raise LoginRequired(
                "Ce serveur Matrix demande le mot de passe du compte du bot : tapez-le quand il "
                "est demandé, ou donnez-le par la variable RUPN_BOT_PASSWORD."
            )
        session = await password_login(settings, password)
    else:
        session = await _device_code(settings, server, terminal)
    terminal.say(
        f"Connexion réussie : la session {session.device_id} du compte {session.user_id} est "
        f"enregistrée dans {settings.data_dir}. Lancez maintenant « rupn-bot run »."
    )
    return session


async def _device_code(
    settings: LoginSettings, server: OAuthServer, terminal: Terminal
) -> SavedSession:
    client_id = await register_client(server, settings.homeserver)
    device_id = new_device_id()
    authorization = await authorize_device(server, client_id, device_id)
    minutes = max(1, authorization.expires_in // 60)
    terminal.say(
        "Ce serveur Matrix confie la connexion à un service d’authentification (OAuth 2.0, "
        "par exemple ProConnect)."
    )
    terminal.say(
        f"1. Ouvrez cette adresse dans un navigateur et connectez-vous avec le compte du bot "
        f"({settings.user_id}) : {authorization.verification_uri}"
    )
    terminal.say(f"2. Saisissez ce code : {authorization.user_code}")
    if authorization.verification_uri_complete:
        terminal.say(
            f"   (ou ouvrez directement l’adresse complète : "
            f"{authorization.verification_uri_complete})"
        )
    if terminal.qr_code:
        terminal.say("   ou scannez ce code avec un téléphone :")
        terminal.say(
            qr_text(authorization.verification_uri_complete or authorization.verification_uri)
        )
    terminal.say(f"Le code est valable {minutes} min.")
    pair = await wait_for_tokens(server, client_id, authorization, Waiting(terminal.say))
    whoami = await request(
        "GET",
        settings.homeserver + "/_matrix/client/v3/account/whoami",
        token=pair.access_token,
    )
    user_id = whoami.data.get("user_id")
    if not whoami.ok or user_id != settings.user_id:
        raise LoginRequired(
            f"La connexion a été validée avec le compte {user_id or 'inconnu'}, pas avec celui "
            f"du bot ({settings.user_id}, matrix.user_id) : rien n’a été enregistré. Relancez "
            "« rupn-bot connexion » et connectez-vous avec le compte du bot dans le navigateur."
        )
    expires = None if pair.expires_in_ms is None else wall_clock_ms() + pair.expires_in_ms
    session = SavedSession(
        homeserver=settings.homeserver,
        user_id=settings.user_id,
        device_id=device_id,
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_at_ms=expires,
        method=LoginMethod.OAUTH,
        client_id=client_id,
        token_endpoint=server.token_endpoint,
        new_device=True,
    )
    save_session(settings.data_dir, session)
    return session
