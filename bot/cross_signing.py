"""The bot account's cross-signing identity, so that Element and Tchap trust its device.

Since 2026 Element's clients exclude devices that their owner has not signed
(MSC4153): they withhold room keys from them and hide what they send. The bot
therefore owns master, self-signing and user-signing keys, keeps their private
parts in `data_dir` (0600, beside the session), and signs its own device with
the self-signing key.

Decisions:
- Canonical JSON and Ed25519 signatures come from matrix-org's `signedjson`
  (the code Synapse uses), never from hand-written code.
- The keys are created once and reused on every start and for every new
  device (e.g. after the encryption store was lost): signing a new device
  needs no password.
- An identity already on the server whose private keys are not in
  `data_dir` is never replaced silently: every client would warn that the
  bot's identity changed. The bot logs how to reset it and keeps running;
  only `rupn-bot identite reinitialiser` replaces it, with the password.
- Uploading keys may require user-interactive auth; Synapse lets the first
  upload through without it (MSC3967). When asked, the bot answers with
  `m.login.password` if the server lists it; a MAS homeserver asks for the
  owner's approval instead (`bot.keys_api`).
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from signedjson.key import (
    decode_signing_key_base64,
    decode_verify_key_base64,
    encode_signing_key_base64,
    encode_verify_key_base64,
    generate_signing_key,
    get_verify_key,
)
from signedjson.sign import SignatureVerifyException, sign_json, verify_signed_json
from signedjson.types import SigningKey

from bot.errors import MatrixError
from bot.keys_api import AuthRequired, KeysApi
from bot.private_files import write_private

log = logging.getLogger(__name__)

KEYS_FILE = "cross-signing-keys.json"
ROLES = ("master", "self_signing", "user_signing")


class IdentityState(Enum):
    """What `!statut` and the start-up log say about the bot's device."""

    SIGNED = "signed"
    FOREIGN_IDENTITY = "foreign"  # a master key exists on the server, not ours
    AUTH_REQUIRED = "auth-required"  # the server asks for the password, none given
    DISABLED = "disabled"  # `matrix.cross_signing = false`
    UNKNOWN = "unknown"  # not checked yet, or the homeserver did not answer

    def describe(self) -> str:
        """One French line for `!statut`."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    IdentityState.SIGNED: "session du bot signée par son compte (signature croisée) : "
    "Element et Tchap lui font confiance",
    IdentityState.FOREIGN_IDENTITY: "session du bot NON signée : le compte a une identité de "
    "chiffrement créée ailleurs ; voir « rupn-bot identite reinitialiser »",
    IdentityState.AUTH_REQUIRED: "session du bot NON signée : le serveur demande le mot de "
    "passe du bot (RUPN_BOT_PASSWORD) pour publier ses clés",
    IdentityState.DISABLED: "signature croisée désactivée (matrix.cross_signing = false) : "
    "Element et Tchap peuvent ignorer le bot",
    IdentityState.UNKNOWN: "signature croisée pas encore vérifiée",
}


@dataclass(frozen=True)
class IdentityReport:
    state: IdentityState
    master_key: str | None = None  # public part, unpadded base64

    def fingerprint(self) -> str:
        """The master key in groups of four, as Element shows keys."""
        key = self.master_key or ""
        return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


class CrossSigningKeys:
    """The three private keys, named by their public part (`ed25519:<public>`)."""

    def __init__(self, keys: Mapping[str, SigningKey]) -> None:
        self._keys = dict(keys)

    @classmethod
    def generate(cls) -> CrossSigningKeys:
        keys = {}
        for role in ROLES:
            key = generate_signing_key("pending")
            key.version = encode_verify_key_base64(get_verify_key(key))
            keys[role] = key
        return cls(keys)

    def private(self, role: str) -> SigningKey:
        return self._keys[role]

    def public(self, role: str) -> str:
        return str(encode_verify_key_base64(get_verify_key(self._keys[role])))

    def key_object(self, user_id: str, role: str) -> dict[str, Any]:
        """The public key as uploaded; sub-keys are signed by the master key."""
        public = self.public(role)
        body: dict[str, Any] = {
            "user_id": user_id,
            "usage": [role],
            "keys": {f"ed25519:{public}": public},
        }
        if role != "master":
            body = sign_json(body, user_id, self._keys["master"])
        return body

    def sign_device(self, user_id: str, device_keys: dict[str, Any]) -> dict[str, Any]:
        """The device's keys, as the server holds them, with our self-signing signature."""
        # sign_json updates the nested signatures in place: work on a copy.
        unsigned_free = copy.deepcopy({k: v for k, v in device_keys.items() if k != "unsigned"})
        signed: dict[str, Any] = sign_json(unsigned_free, user_id, self._keys["self_signing"])
        return signed

    def to_json(self, user_id: str) -> dict[str, Any]:
        return {
            "user_id": user_id,
            **{role: encode_signing_key_base64(self._keys[role]) for role in ROLES},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CrossSigningKeys:
        keys = {}
        for role in ROLES:
            seed = str(data[role])
            key = decode_signing_key_base64("ed25519", "pending", seed)
            key.version = encode_verify_key_base64(get_verify_key(key))
            keys[role] = key
        return cls(keys)


def load_keys(data_dir: Path, user_id: str) -> CrossSigningKeys | None:
    path = data_dir / KEYS_FILE
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("user_id") != user_id:
        log.warning("%s belongs to %s, not %s: ignored", path, data.get("user_id"), user_id)
        return None
    return CrossSigningKeys.from_json(data)


def save_keys(data_dir: Path, user_id: str, keys: CrossSigningKeys) -> None:
    """Write the private keys atomically, readable by the bot's account only (0600)."""
    write_private(data_dir / KEYS_FILE, json.dumps(keys.to_json(user_id)))


def _server_key(query: dict[str, Any], section: str, user_id: str) -> str | None:
    """The public key of `section` (master_keys…) the server holds for `user_id`."""
    entry = (query.get(section) or {}).get(user_id) or {}
    for key_id in entry.get("keys", {}):
        if str(key_id).startswith("ed25519:"):
            return str(key_id).split(":", 1)[1]
    return None


def _device(query: dict[str, Any], user_id: str, device_id: str) -> dict[str, Any] | None:
    device = ((query.get("device_keys") or {}).get(user_id) or {}).get(device_id)
    return device if isinstance(device, dict) else None


def device_is_signed(query: dict[str, Any], user_id: str, device_id: str) -> bool:
    """Whether the server's copy of the device carries a valid self-signing signature."""
    ssk = _server_key(query, "self_signing_keys", user_id)
    device = _device(query, user_id, device_id)
    if ssk is None or device is None:
        return False
    try:
        verify_signed_json(device, user_id, decode_verify_key_base64("ed25519", ssk, ssk))
    except SignatureVerifyException:
        return False
    return True


class CrossSigning:
    """Makes sure the bot's current device is signed by the bot account's identity."""

    def __init__(
        self,
        api: KeysApi,
        data_dir: Path,
        user_id: str,
        device_id: str,
        password: str | None,
    ) -> None:
        self._api = api
        self._data_dir = data_dir
        self._user_id = user_id
        self._device_id = device_id
        self._password = password

    async def ensure(self) -> IdentityReport:
        """Create or reuse the identity, sign this device if needed, and check it."""
        query = await self._api.query(self._user_id)
        server_master = _server_key(query, "master_keys", self._user_id)
        keys = load_keys(self._data_dir, self._user_id)
        if server_master is None:
            if keys is None:
                keys = CrossSigningKeys.generate()
                save_keys(self._data_dir, self._user_id, keys)
                log.info("Created the cross-signing identity of %s", self._user_id)
            try:
                await self._upload(keys)
            except AuthRequired:
                log.error(_AUTH_REQUIRED_TEXT)
                return IdentityReport(IdentityState.AUTH_REQUIRED)
            query = await self._api.query(self._user_id)
        elif (
            keys is None
            or keys.public("master") != server_master
            or (
                _server_key(query, "self_signing_keys", self._user_id)
                != keys.public("self_signing")
            )
        ):
            log.error(_FOREIGN_TEXT, self._user_id)
            return IdentityReport(IdentityState.FOREIGN_IDENTITY, server_master)
        return await self._sign_device(keys, query)

    async def reset(self) -> IdentityReport:
        """Replace the account's identity with new keys (explicit, asks the password)."""
        keys = CrossSigningKeys.generate()
        await self._upload(keys)  # AuthRequired propagates: the CLI asks for it
        save_keys(self._data_dir, self._user_id, keys)
        log.warning("Cross-signing identity of %s replaced", self._user_id)
        return await self._sign_device(keys, await self._api.query(self._user_id))

    async def _upload(self, keys: CrossSigningKeys) -> None:
        body = {
            "master_key": keys.key_object(self._user_id, "master"),
            "self_signing_key": keys.key_object(self._user_id, "self_signing"),
            "user_signing_key": keys.key_object(self._user_id, "user_signing"),
        }
        await self._api.upload_signing_keys(self._user_id, body, self._password)

    async def _sign_device(self, keys: CrossSigningKeys, query: dict[str, Any]) -> IdentityReport:
        master = keys.public("master")
        if device_is_signed(query, self._user_id, self._device_id):
            return IdentityReport(IdentityState.SIGNED, master)
        device = _device(query, self._user_id, self._device_id)
        if device is None:
            raise MatrixError("M_NOT_FOUND", f"device {self._device_id} has no published keys")
        signed = keys.sign_device(self._user_id, device)
        await self._api.upload_signatures(self._user_id, self._device_id, signed)
        query = await self._api.query(self._user_id)
        if not device_is_signed(query, self._user_id, self._device_id):
            raise MatrixError("M_INVALID_SIGNATURE", "the server did not keep the signature")
        log.info("Signed device %s with the cross-signing identity", self._device_id)
        return IdentityReport(IdentityState.SIGNED, master)


_AUTH_REQUIRED_TEXT = (
    "Signature croisée impossible : le serveur demande le mot de passe du bot pour publier "
    "ses clés. Redémarrez le bot avec la variable RUPN_BOT_PASSWORD (ou matrix.password). "
    "En attendant, Element et Tchap peuvent ignorer les messages du bot."
)
_FOREIGN_TEXT = (
    "Le compte %s a déjà une identité de chiffrement (signature croisée) dont les clés privées "
    "ne sont pas dans data_dir : le bot ne la remplace pas sans vous, car chaque client "
    "afficherait que son identité a changé. Si ces clés sont perdues, arrêtez le bot et lancez "
    "« rupn-bot identite reinitialiser --config … ». En attendant, la session du bot n’est pas "
    "signée : Element et Tchap peuvent ignorer ses messages."
)
