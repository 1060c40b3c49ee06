"""The OAuth 2.0 device authorization grant (RFC 8628) with Matrix scopes (MSC2967).

The bot registers itself as a public native client (MSC2966), asks for the
client-server API and a device id of its own choosing, then polls the token
endpoint while the account owner approves the code in a browser.
"""

from __future__ import annotations

import asyncio
import secrets
import string
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.auth.discovery import OAuthServer
from bot.auth.http import request
from bot.auth.refresh import TokenPair
from bot.errors import HomeserverUnreachable, LoginRequired

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SCOPE_API = "urn:matrix:client:api:*"
SCOPE_DEVICE = "urn:matrix:client:device:"
SLOW_DOWN_STEP_S = 5  # RFC 8628 §3.5


def new_device_id() -> str:
    """Ten capital letters, as Synapse makes them."""
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(10))


@dataclass(frozen=True)
class DeviceAuthorization:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: int
    interval: int


class Waiting:
    """What the person sees while the bot waits (French lines, a countdown)."""

    def __init__(self, say: Callable[[str], None], every_s: float = 30.0) -> None:
        self._say = say
        self._every = every_s
        self._last: float | None = None

    def tick(self, remaining_s: float) -> None:
        if self._last is not None and self._last - remaining_s < self._every:
            return
        self._last = remaining_s
        minutes, seconds = divmod(max(0, int(remaining_s)), 60)
        self._say(f"En attente de votre validation… il reste {minutes} min {seconds:02d} s.")

    def say(self, text: str) -> None:
        self._say(text)


async def register_client(server: OAuthServer, homeserver: str) -> str:
    """A public native client for the bot (MSC2966); returns its client_id."""
    answer = await request(
        "POST",
        server.registration_endpoint,
        json={
            "client_name": "rupn-bot",
            "client_uri": homeserver,
            "application_type": "native",
            "token_endpoint_auth_method": "none",
            "grant_types": [DEVICE_CODE_GRANT, "refresh_token"],
            "response_types": [],
        },
    )
    client_id = answer.data.get("client_id")
    if not answer.ok or not isinstance(client_id, str):
        raise LoginRequired(
            f"Le service d’authentification {server.issuer} a refusé d’enregistrer le bot "
            f"comme application ({answer.errcode}) : demandez à l’administrateur du serveur "
            "un jeton pour le bot (RUPN_BOT_ACCESS_TOKEN)."
        )
    return client_id


async def authorize_device(
    server: OAuthServer, client_id: str, device_id: str
) -> DeviceAuthorization:
    answer = await request(
        "POST",
        server.device_authorization_endpoint,
        form={"client_id": client_id, "scope": f"{SCOPE_API} {SCOPE_DEVICE}{device_id}"},
    )
    data = answer.data
    if not answer.ok or not isinstance(data.get("device_code"), str):
        raise LoginRequired(
            f"Le service d’authentification {server.issuer} a refusé la demande de code "
            f"({answer.errcode})."
        )
    complete = data.get("verification_uri_complete")
    return DeviceAuthorization(
        device_code=str(data["device_code"]),
        user_code=str(data["user_code"]),
        verification_uri=str(data["verification_uri"]),
        verification_uri_complete=complete if isinstance(complete, str) else None,
        expires_in=int(data.get("expires_in") or 600),
        interval=int(data.get("interval") or 5),
    )


EXPIRED_TEXT = (
    "Le code a expiré avant d’être validé : rien n’a été enregistré. Relancez « rupn-bot "
    "connexion » et validez le nouveau code dans le temps indiqué."
)
DENIED_TEXT = (
    "La connexion a été refusée dans le navigateur : rien n’a été enregistré. Relancez "
    "« rupn-bot connexion » si c’était une erreur."
)


async def wait_for_tokens(
    server: OAuthServer,
    client_id: str,
    authorization: DeviceAuthorization,
    waiting: Waiting,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> TokenPair:
    """Poll the token endpoint until the owner approves (or denies, or the code expires)."""
    deadline = monotonic() + authorization.expires_in
    interval = authorization.interval
    while True:
        remaining = deadline - monotonic()
        if remaining <= 0:
            raise LoginRequired(EXPIRED_TEXT)
        waiting.tick(remaining)
        await sleep(interval)
        answer = await request(
            "POST",
            server.token_endpoint,
            form={
                "grant_type": DEVICE_CODE_GRANT,
                "device_code": authorization.device_code,
                "client_id": client_id,
            },
        )
        if answer.ok:
            token = answer.data.get("access_token")
            if not isinstance(token, str):
                raise HomeserverUnreachable("the token answer has no access_token")
            refresh = answer.data.get("refresh_token")
            expires = answer.data.get("expires_in")
            return TokenPair(
                token,
                refresh if isinstance(refresh, str) else None,
                int(expires * 1000) if isinstance(expires, int | float) else None,
            )
        match answer.errcode:
            case "authorization_pending":
                continue
            case "slow_down":
                interval += SLOW_DOWN_STEP_S
                waiting.say(
                    f"Le service d’authentification demande d’interroger moins souvent : "
                    f"une vérification toutes les {interval} s."
                )
            case "expired_token":
                raise LoginRequired(EXPIRED_TEXT)
            case "access_denied":
                raise LoginRequired(DENIED_TEXT)
            case _:
                raise LoginRequired(
                    f"Le service d’authentification a refusé la connexion ({answer.errcode}) : "
                    "rien n’a été enregistré."
                )
