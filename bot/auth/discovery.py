"""How a homeserver authenticates: OAuth 2.0 next-gen auth (MAS), or passwords.

In order (MSC2965, then the login flows): `GET /_matrix/client/v1/auth_metadata`,
the unstable `org.matrix.msc2965` endpoint, else `GET /_matrix/client/v3/login`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.auth.http import request
from bot.errors import LoginRequired

METADATA_PATHS = (
    "/_matrix/client/v1/auth_metadata",
    "/_matrix/client/unstable/org.matrix.msc2965/auth_metadata",
)


@dataclass(frozen=True)
class OAuthServer:
    issuer: str
    token_endpoint: str
    registration_endpoint: str
    device_authorization_endpoint: str
    account_management_uri: str | None = None


@dataclass(frozen=True)
class PasswordServer:
    """The homeserver offers `m.login.password` and no OAuth 2.0 metadata."""


async def discover(homeserver: str) -> OAuthServer | PasswordServer:
    for path in METADATA_PATHS:
        answer = await request("GET", homeserver + path)
        if answer.ok and answer.data.get("issuer"):
            data = answer.data
            wanted = ("token_endpoint", "registration_endpoint", "device_authorization_endpoint")
            missing = [key for key in wanted if not isinstance(data.get(key), str)]
            if missing:
                raise LoginRequired(
                    f"Le service d’authentification de {homeserver} ({data['issuer']}) ne "
                    f"propose pas ce dont le bot a besoin ({', '.join(missing)}) : demandez à "
                    "l’administrateur du serveur un jeton pour le bot (RUPN_BOT_ACCESS_TOKEN)."
                )
            account = data.get("account_management_uri")
            return OAuthServer(
                issuer=str(data["issuer"]),
                token_endpoint=str(data["token_endpoint"]),
                registration_endpoint=str(data["registration_endpoint"]),
                device_authorization_endpoint=str(data["device_authorization_endpoint"]),
                account_management_uri=account if isinstance(account, str) else None,
            )
    flows = await request("GET", homeserver + "/_matrix/client/v3/login")
    types = {
        str(flow.get("type")) for flow in flows.data.get("flows") or [] if isinstance(flow, dict)
    }
    if "m.login.password" in types:
        return PasswordServer()
    raise LoginRequired(
        f"Le serveur Matrix {homeserver} ne propose ni connexion OAuth 2.0 ni mot de passe "
        "(vérifiez matrix.homeserver) : demandez à son administrateur un jeton pour le bot "
        "(RUPN_BOT_ACCESS_TOKEN)."
    )
