"""Pseudonymous keys for people, so that engagement is counted without keeping who.

A reader of the bot's posts is stored as HMAC-SHA256(user id) with a secret of the
school year, kept in `data_dir/pseudonym-keys.json` (0600): a new secret each school
year, so that two years' markers cannot be linked. The secrets never leave data_dir.
Erased or expired rows get no pseudonym but a random token (bot/anonymise.py): nothing
derived from the user id survives an erasure.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Iterable
from pathlib import Path

from bot.private_files import write_private

KEYS_FILE = "pseudonym-keys.json"
_FORMER_ERASURE_SECRET = "anonymous"  # noqa: S105 - the name of a key, not a secret
"""Erasures used to write HMAC(user id) with this secret; it is destroyed at start."""


class Pseudonyms:
    def __init__(self, data_dir: Path | None) -> None:
        """`data_dir` None: secrets in memory only (unit tests, previews)."""
        self._path = data_dir / KEYS_FILE if data_dir is not None else None
        self._lock = threading.Lock()
        self._secrets: dict[str, str] = {}
        self._reader_keys: dict[tuple[str, str], str] = {}  # receipts come by the thousand
        if self._path is not None and self._path.exists():
            self._secrets = json.loads(self._path.read_text(encoding="utf-8"))
            if self._secrets.pop(_FORMER_ERASURE_SECRET, None) is not None:
                # Erased people's former pseudonyms can no longer be recomputed.
                write_private(self._path, json.dumps(self._secrets, indent=1) + "\n")

    def _secret(self, name: str) -> bytes:
        with self._lock:
            if name not in self._secrets:
                self._secrets[name] = secrets.token_hex(32)
                if self._path is not None:
                    write_private(self._path, json.dumps(self._secrets, indent=1) + "\n")
            return bytes.fromhex(self._secrets[name])

    def reader_key(self, user_id: str, school_year: str) -> str:
        """The reader's key for read markers in `school_year` (« 2025-2026 »)."""
        key = self._reader_keys.get((user_id, school_year))
        if key is None:
            digest = hmac.new(self._secret(school_year), user_id.encode(), hashlib.sha256)
            key = self._reader_keys[(user_id, school_year)] = digest.hexdigest()
        return key

    def existing_reader_keys(self, user_id: str, school_years: Iterable[str]) -> list[str]:
        """The reader's keys in those of `school_years` that have a secret already: a
        lookup, which never draws (nor writes) the secret of a year without markers."""
        with self._lock:
            known = [year for year in school_years if year in self._secrets]
        return [self.reader_key(user_id, year) for year in known]

    def forget(self, user_id: str) -> None:
        """Drop the person's cached keys (after `!mesdonnees effacer`)."""
        for cached in [k for k in self._reader_keys if k[0] == user_id]:
            del self._reader_keys[cached]
