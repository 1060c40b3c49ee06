"""Anonymous tokens, and Matrix user ids found in free text.

What replaces a person's user id once their data is erased or expired is a random
token (`anonyme:<16 hex>`), drawn anew for each erasure and each expiry run: it keeps
distinct counts right inside what it rewrites (a poll's voters, a workshop's sign-ups)
and cannot be derived from the user id, so nothing links it back to the person. It is
never a valid Matrix id (no « @ »), so that nobody is ever mentioned by it.

The storage layer knows no Matrix id syntax: it asks this module.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from urllib.parse import quote

ERASED_PREFIX = "anonyme:"

_MATRIX_ID = re.compile(r"@[A-Za-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(?::\d+)?")
_ENCODED_ID = re.compile(r"%40[A-Za-z0-9._=\-/+]+%3A[A-Za-z0-9.\-]+")
_PERSON = re.compile(f"{_MATRIX_ID.pattern}|{re.escape(ERASED_PREFIX)}[0-9a-f]{{16}}")

MAYBE_USER_ID_LIKE = "%@%:%"
"""A LIKE pattern that every text holding a raw user id matches (a cheap pre-filter)."""


def new_token() -> str:
    """A fresh anonymous token, unrelated to anybody's user id."""
    return ERASED_PREFIX + secrets.token_hex(8)


def is_anonymous(user_id: str) -> bool:
    return user_id.startswith(ERASED_PREFIX)


def encoded(user_id: str) -> str:
    """The user id as it appears in matrix.to links (pills): percent-encoded."""
    return quote(user_id, safe="")


def anonymise_text(text: str, token_of: Callable[[str], str]) -> str:
    """Every Matrix user id in `text` (raw or percent-encoded) replaced by its token."""
    text = _MATRIX_ID.sub(lambda m: token_of(m.group(0)), text)
    return _ENCODED_ID.sub(
        lambda m: token_of(m.group(0).replace("%40", "@").replace("%3A", ":")), text
    )


def masked(text: str, mask: str) -> str:
    """Every user id and every anonymous token in `text` replaced by `mask` (a text that
    must name nobody, not even as a token: the bilan)."""
    return _PERSON.sub(mask, text)


class Tokens:
    """One token per person for one expiry run: the same person, the same token."""

    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}

    def __call__(self, user_id: str) -> str:
        if is_anonymous(user_id):
            return user_id
        token = self._tokens.get(user_id)
        if token is None:
            token = self._tokens[user_id] = new_token()
        return token
