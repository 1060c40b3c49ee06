"""Exceptions of rupn-bot.

The tree, and who sees what::

    RupnError                    base of everything raised on purpose
    ├── UserError                carries French text shown to the user as is
    │   ├── PermissionDenied     the sender may not use this command
    │   ├── NotFound             a numbered item (poll, atelier…) does not exist
    │   └── InvalidArguments     the command's arguments do not parse
    ├── MatrixError              the homeserver answered with an error (errcode, status)
    │   ├── RateLimited          429 M_LIMIT_EXCEEDED, with retry_after_ms
    │   └── SessionRejected      the access token is no longer valid (soft_logout: refresh it)
    │       ├── SessionRevoked   the session is gone (refresh refused, device deleted)
    │       └── AccountExpired   ORG_MATRIX_EXPIRED_ACCOUNT: the account must be renewed
    ├── HomeserverUnreachable    connection refused, timeout, DNS: retry later
    ├── StorageError             the database cannot be used (e.g. newer than the code)
    └── LoginRequired            no usable session: an operator must act (French text, exit 77)

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
    """The access token was refused; with `soft_logout`, a refresh may bring it back."""

    def __init__(
        self, errcode: str, message: str, *, soft_logout: bool = False, status: int | None = None
    ) -> None:
        super().__init__(errcode, message, status=status)
        self.soft_logout = soft_logout


class SessionRevoked(SessionRejected):
    """The session cannot be renewed: refresh token refused, or the device was deleted."""


class AccountExpired(SessionRejected):
    """The account itself expired (Synapse's account validity, used by Tchap)."""


class HomeserverUnreachable(RupnError):
    """The homeserver could not be reached; the request may be retried."""


class StorageError(RupnError):
    """The database cannot be opened or migrated."""


EXIT_LOGIN_REQUIRED = 77
"""Exit status of `rupn-bot run` when an operator must act (log in again, renew the account).

systemd must not restart the bot in a loop on it: the unit says `RestartPreventExitStatus=77`.
77 is EX_NOPERM in sysexits.h.
"""


class LoginRequired(RupnError):
    """No usable session and no way to open one unattended; the message (French) says what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
