"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives: for the
end-to-end tests and `make demo`. It runs in its own thread (aiosmtpd's Controller)."""

from __future__ import annotations

import email
import email.policy
import socket
import warnings
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.data, policy=email.policy.default)
        if not isinstance(message, EmailMessage):  # pragma: no cover - policy.default makes one
            raise TypeError("not an EmailMessage")
        return message


@dataclass
class _Handler:
    received: list[ReceivedMail] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.content)
        )
        return "250 Message accepted for delivery"


class MailCatcher:
    """`start()` listens on 127.0.0.1:`port` (chosen now, so a bot can be configured
    before the server is up); with `login`, AUTH is offered and a wrong password refused."""

    def __init__(self, *, login: str | None = None, password: str | None = None) -> None:
        self.port = free_port()
        self._handler = _Handler()
        self._credentials = (login, password)
        self._controller: Controller | None = None

    @property
    def received(self) -> list[ReceivedMail]:
        return list(self._handler.received)

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        login, password = self._credentials
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        ) == (login, password)
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535

    def start(self) -> None:
        if self._controller is not None:
            return
        login, _ = self._credentials
        options: dict[str, Any] = {}
        if login is not None:
            # AUTH offered and checked; not `auth_required`: aiosmtpd would warn at each
            # connection, in its own thread, where pytest's warnings-as-errors hang it.
            options = {"authenticator": self._authenticate}
        with warnings.catch_warnings():
            # AUTH without TLS: on loopback, for tests and the demo, that is the point.
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            self._controller = Controller(
                self._handler, hostname="127.0.0.1", port=self.port, auth_require_tls=False,
                server_hostname="localhost",  # no DNS lookup of our own name (getfqdn)
                **options,
            )  # fmt: skip
            self._controller.start()

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
            controller.loop.close()
