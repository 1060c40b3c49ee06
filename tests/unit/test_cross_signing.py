"""The bot's cross-signing keys: stored privately, reloaded, and signing what Synapse checks."""

from __future__ import annotations

import stat
from pathlib import Path

from signedjson.key import decode_verify_key_base64
from signedjson.sign import verify_signed_json

from bot.cross_signing import (
    KEYS_FILE,
    CrossSigningKeys,
    IdentityReport,
    IdentityState,
    device_is_signed,
    load_keys,
    save_keys,
)

BOT = "@bot:example.org"


def _verify(obj: dict[str, object], public: str) -> None:
    verify_signed_json(obj, BOT, decode_verify_key_base64("ed25519", public, public))


def test_keys_are_private_and_reloaded_identically(tmp_path: Path) -> None:
    keys = CrossSigningKeys.generate()
    save_keys(tmp_path, BOT, keys)
    mode = stat.S_IMODE((tmp_path / KEYS_FILE).stat().st_mode)
    assert mode == 0o600
    again = load_keys(tmp_path, BOT)
    assert again is not None
    for role in ("master", "self_signing", "user_signing"):
        assert again.public(role) == keys.public(role)
    assert load_keys(tmp_path, "@someone-else:example.org") is None


def test_sub_keys_are_signed_by_the_master_key() -> None:
    keys = CrossSigningKeys.generate()
    master = keys.key_object(BOT, "master")
    assert master == {
        "user_id": BOT,
        "usage": ["master"],
        "keys": {f"ed25519:{keys.public('master')}": keys.public("master")},
    }
    for role in ("self_signing", "user_signing"):
        _verify(keys.key_object(BOT, role), keys.public("master"))


def test_a_device_signature_is_checked_as_the_server_does() -> None:
    keys = CrossSigningKeys.generate()
    device = {
        "user_id": BOT,
        "device_id": "DEV",
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {"curve25519:DEV": "abc", "ed25519:DEV": "def"},
        "signatures": {BOT: {"ed25519:DEV": "device-self-signature"}},
        "unsigned": {"device_display_name": "rupn-bot"},
    }
    signed = keys.sign_device(BOT, device)
    assert "unsigned" not in signed
    assert signed["signatures"][BOT]["ed25519:DEV"] == "device-self-signature"
    _verify(signed, keys.public("self_signing"))
    ssk = keys.public("self_signing")
    query = {
        "self_signing_keys": {BOT: {"keys": {f"ed25519:{ssk}": ssk}}},
        "device_keys": {BOT: {"DEV": signed}},
    }
    assert device_is_signed(query, BOT, "DEV")
    assert not device_is_signed({**query, "device_keys": {BOT: {"DEV": device}}}, BOT, "DEV")
    other = CrossSigningKeys.generate().public("self_signing")
    foreign = {**query, "self_signing_keys": {BOT: {"keys": {f"ed25519:{other}": other}}}}
    assert not device_is_signed(foreign, BOT, "DEV")


def test_status_lines_are_french() -> None:
    report = IdentityReport(IdentityState.SIGNED, "AbCdEfGhIjKl")
    assert report.fingerprint() == "AbCd EfGh IjKl"
    assert IdentityState.FOREIGN_IDENTITY.describe().startswith("session du bot NON signée")
