"""Exceptions of rupn-bot.

The tree, and who sees what::

    RupnError                    base of everything raised on purpose
    ├── UserError                carries French text shown to the user as is
    │   ├── PermissionDenied     the sender may not use this command
    │   ├── NotFound             a numbered item (poll, atelier…) does not exist
    │   └── InvalidArguments     the command's arguments do not parse
    ├── MatrixError              the homeserver answered with an error (errcode, status)
    │   ├── RateLimited          429 M_LIMIT_EXCEEDED, with retry_after_ms
    │   └── SessionRejected      the access token is no longer valid
    ├── HomeserverUnreachable    connection refused, timeout, DNS: retry later
    └── StorageError             the database cannot be used (e.g. newer than the code)

`UserError` text reaches the chat room; every other exception is logged and
the user sees only `INTERNAL_ERROR_TEXT`. Never send `str(exc)` of anything
that is not a `UserError`.
"""

from __future__ import annotations

INTERNAL_ERROR_TEXT = "Une erreur interne est survenue ; elle a été journalisée."


class RupnError(Exception):
    """Base class of the exceptions rupn-bot raises on purpose."""


class UserError(RupnError):
    """An error whose message is French text meant for the person in the chat."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PermissionDenied(UserError):
    """The sender is not allowed to do this."""


class NotFound(UserError):
    """The thing the sender named does not exist."""


class InvalidArguments(UserError):
    """The command's arguments could not be parsed.

    `usage` and `example` name the sub-command that was meant (« !annonce
    programmer <quand> | <texte> »); without them the router shows the command's.
    """

    def __init__(
        self, message: str, *, usage: str | None = None, example: str | None = None
    ) -> None:
        super().__init__(message)
        self.usage = usage
        self.example = example


class MatrixError(RupnError):
    """The homeserver refused a request."""

    def __init__(self, errcode: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{errcode}: {message}")
        self.errcode = errcode
        self.status = status


class RateLimited(MatrixError):
    """The homeserver asks us to slow down for `retry_after_ms` milliseconds."""

    def __init__(self, retry_after_ms: int, message: str = "rate limited") -> None:
        super().__init__("M_LIMIT_EXCEEDED", message, status=429)
        self.retry_after_ms = retry_after_ms


class SessionRejected(MatrixError):
    """The saved access token was refused (logged out, expired account…)."""


class HomeserverUnreachable(RupnError):
    """The homeserver could not be reached; the request may be retried."""


class StorageError(RupnError):
    """The database cannot be opened or migrated."""
