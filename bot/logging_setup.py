"""Logging of rupn-bot: one stderr handler on the root logger that masks secrets.

Call `configure_logging` once at start-up, then `add_secret` with every secret
the process learns (the password, the access token): from then on, any record
that goes through the root handler has each occurrence replaced by ``***``,
whether it sits in the message, its arguments, the exception text or the stack.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
JOURNAL_FORMAT = "<%(priority)d>%(levelname)s %(name)s: %(message)s"
MASK = "***"
QUIET_LOGGERS = ("nio", "peewee", "apscheduler")
"""Chatty third-party loggers, limited to WARNING (apscheduler logs two lines per job run)."""

_SYSLOG_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class UtcFormatter(logging.Formatter):
    """Every timestamp in UTC, ISO 8601 with a Z: one time zone in the whole log."""

    def __init__(self) -> None:
        super().__init__(LOG_FORMAT, LOG_DATE_FORMAT)
        self.converter = time.gmtime


class JournalFormatter(logging.Formatter):
    """Under systemd: no timestamp (journald stamps each line), a `<N>` syslog priority."""

    def __init__(self) -> None:
        super().__init__(JOURNAL_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record.priority = _SYSLOG_PRIORITY.get(record.levelno, 6)
        return super().format(record)


def log_formatter(environ: dict[str, str] | None = None) -> logging.Formatter:
    """journald's format when stderr goes to the journal (systemd sets JOURNAL_STREAM)."""
    environ = dict(os.environ) if environ is None else environ
    return JournalFormatter() if environ.get("JOURNAL_STREAM") else UtcFormatter()


_lock = threading.Lock()
_secrets: tuple[str, ...] = ()
_handler: logging.Handler | None = None


def add_secret(value: str) -> None:
    """Mask `value` in every record formatted by the root handler from now on.

    Empty values are ignored (masking them would mangle every message).
    """
    global _secrets
    if not value:
        return
    with _lock:
        if value not in _secrets:
            # Longest first, so that a secret containing another is masked whole.
            _secrets = tuple(sorted((*_secrets, value), key=len, reverse=True))


def clear_secrets() -> None:
    """Forget every registered secret (for tests)."""
    global _secrets
    with _lock:
        _secrets = ()


def mask_secrets(text: str) -> str:
    """Replace each registered secret in `text` with ``***``."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class SecretMaskingFilter(logging.Filter):
    """Rewrites records so that no registered secret reaches the output.

    The message is rendered (``msg % args``) and masked, then stored back with
    no arguments; the exception and stack texts are rendered and masked too.
    The filter never drops a record.
    """

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it
            return True
        record.msg = mask_secrets(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_secrets(record.stack_info)
        return True


def configure_logging(level: str = "INFO") -> logging.Handler:
    """Send logs to stderr through a secret-masking handler on the root logger.

    Calling it again replaces the handler it installed before. Returns the handler.
    """
    global _handler
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(log_formatter())
    handler.addFilter(SecretMaskingFilter())
    with _lock:
        if _handler is not None:
            root.removeHandler(_handler)
        _handler = handler
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
