"""Replacing the bot account's cross-signing identity, whatever the homeserver asks for.

A password homeserver lists the `m.login.password` stage: the password is
asked then (never before, never where it is not listed). A MAS homeserver
answers with the `m.oauth` stage and an address where the account owner
approves the reset; the upload is retried until the approval lands (at most
ten minutes, with a countdown), after which the server allows it for ten
minutes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.auth.device_flow import Waiting
from bot.cross_signing import CrossSigning, IdentityReport
from bot.keys_api import ApprovalRequired, AuthRequired, KeysApi

APPROVAL_WAIT_S = 600.0
RETRY_EVERY_S = 2.0


class ApprovalTimeout(Exception):
    """The owner did not approve the reset in time."""


async def reset_identity(
    api: KeysApi,
    data_dir: Path,
    user_id: str,
    device_id: str,
    ask_password: Callable[[], str | None],
    say: Callable[[str], None],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> IdentityReport:
    """New keys uploaded and this device signed; `AuthRequired` / `ApprovalTimeout` if not."""
    password: str | None = None
    deadline: float | None = None
    waiting = Waiting(say)
    while True:
        signing = CrossSigning(api, data_dir, user_id, device_id, password)
        try:
            return await signing.reset()
        except AuthRequired:
            if password is not None:
                raise  # listed, given, and refused
            password = ask_password()
            if not password:
                raise
        except ApprovalRequired as needed:
            if deadline is None:
                deadline = monotonic() + APPROVAL_WAIT_S
                say(
                    "Le serveur demande au propriétaire du compte du bot d’approuver la "
                    "réinitialisation de son identité de chiffrement. Ouvrez cette adresse dans "
                    f"un navigateur, connectez-vous avec le compte du bot ({user_id}) et "
                    f"approuvez : {needed.url}"
                )
            remaining = deadline - monotonic()
            if remaining <= 0:
                raise ApprovalTimeout from None
            waiting.tick(remaining)
            await sleep(RETRY_EVERY_S)
