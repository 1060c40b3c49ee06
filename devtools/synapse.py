"""A throwaway Synapse homeserver on loopback, for end-to-end tests and the demo."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import aiohttp
from signedjson.key import generate_signing_key, write_signing_keys

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
ADMIN_LOCALPART = "synapse-admin"

# Rate limits high enough that tests which log in, join or invite many times are never
# throttled. ``rc_message`` is configurable separately (see ``ThrowawaySynapse``).
_GENEROUS = {"per_second": 1000.0, "burst_count": 1000}
_GENEROUS_RATELIMITS: dict[str, Any] = {
    "rc_login": {"address": _GENEROUS, "account": _GENEROUS, "failed_attempts": _GENEROUS},
    "rc_joins": {"local": _GENEROUS, "remote": _GENEROUS},
    "rc_joins_per_room": _GENEROUS,
    "rc_invites": {"per_room": _GENEROUS, "per_user": _GENEROUS, "per_issuer": _GENEROUS},
    "rc_registration": _GENEROUS,
    "rc_room_creation": _GENEROUS,
    "rc_key_requests": _GENEROUS,
}


@dataclass(frozen=True)
class Account:
    """A registered account on the throwaway homeserver."""

    user_id: str
    localpart: str
    password: str
    admin: bool


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like Twisted, so that a port in TIME_WAIT after a restart counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


# What makes coverage.py measure a Python subprocess (its `patch = ["subprocess"]`).
_COVERAGE_VARIABLES = frozenset({"COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG"})


def _without_coverage(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment minus coverage's hooks: Synapse is not ours to measure, and tracing
    it would slow every test down."""
    return {k: v for k, v in environ.items() if k not in _COVERAGE_VARIABLES}


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


class ThrowawaySynapse:
    """A Synapse subprocess listening on 127.0.0.1 with an SQLite database in ``workdir``.

    The database, keys and secrets live in ``workdir``, so ``restart()`` keeps accounts.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        server_name: str = "rupn.test",
        port: int | None = None,
        rc_message: tuple[float, int] | None = (1000.0, 1000),
        extra_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.workdir = workdir.resolve()
        self.server_name = server_name
        self.port = port if port is not None else _free_port()
        self.rc_message = rc_message
        self.extra_config = dict(extra_config or {})
        """Merged into homeserver.yaml last (refresh tokens, account validity, MAS mode)."""
        self.config_path = self.workdir / "homeserver.yaml"
        self.log_path = self.workdir / "homeserver.log"
        self.stdio_path = self.workdir / "synapse-stdio.log"
        self._log_config_path = self.workdir / "log_config.yaml"
        self._shared_secret = secrets.token_hex(32)
        self._process: asyncio.subprocess.Process | None = None
        self._session: aiohttp.ClientSession | None = None
        self._admin_token: str | None = None
        self.last_start_seconds: float | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    # -- configuration -------------------------------------------------------------------

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "server_name": self.server_name,
            "public_baseurl": self.base_url + "/",
            "pid_file": str(self.workdir / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    # ``client`` also mounts /_synapse/admin (synapse/app/homeserver.py).
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {
                "name": "sqlite3",
                "args": {"database": str(self.workdir / "homeserver.db")},
            },
            "media_store_path": str(self.workdir / "media_store"),
            "signing_key_path": str(self.workdir / f"{self.server_name}.signing.key"),
            "log_config": str(self._log_config_path),
            "registration_shared_secret": self._shared_secret,
            "macaroon_secret_key": secrets.token_hex(32),
            "form_secret": secrets.token_hex(32),
            "report_stats": False,
            "enable_registration": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "url_preview_enabled": False,
            "presence": {"enabled": False},
            "bcrypt_rounds": 4,
            **_GENEROUS_RATELIMITS,
        }
        if self.rc_message is not None:
            per_second, burst_count = self.rc_message
            config["rc_message"] = {"per_second": per_second, "burst_count": burst_count}
        config.update(self.extra_config)
        return config

    def _log_config(self) -> dict[str, Any]:
        return {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "precise": {"format": "%(asctime)s - %(name)s - %(levelname)s - %(message)s"}
            },
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "formatter": "precise",
                    "filename": str(self.log_path),
                    "encoding": "utf8",
                }
            },
            "root": {"level": "WARNING", "handlers": ["file"]},
        }

    def _write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        # The secrets must survive a restart only within this object; a new object in the
        # same workdir re-reads them so that the database's macaroons stay valid.
        if self.config_path.exists():
            previous = json.loads(self.config_path.read_text(encoding="utf-8"))
            self._shared_secret = previous["registration_shared_secret"]
            config = self._config()
            for key in ("registration_shared_secret", "macaroon_secret_key", "form_secret"):
                config[key] = previous[key]
        else:
            config = self._config()
        # YAML is a superset of JSON.
        self.config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
        self._log_config_path.write_text(json.dumps(self._log_config(), indent=2), "utf-8")

    def _write_signing_key(self) -> None:
        """The server's signing key, as `synapse.app.homeserver --generate-keys` writes it.

        Written here with signedjson (Synapse's own key library) rather than by that
        command, which costs a second Python process importing all of Synapse (~4 s).
        """
        path = self.workdir / f"{self.server_name}.signing.key"
        if path.exists():
            return
        key = generate_signing_key("a_" + secrets.token_hex(2))
        with open(path, "w", encoding="utf-8", opener=lambda p, f: os.open(p, f, 0o600)) as file:
            write_signing_keys(file, [key])

    # -- process -------------------------------------------------------------------------

    async def start(self) -> None:
        """Write the config, generate keys once, start Synapse and wait until it answers."""
        if self.running:
            raise RuntimeError("Synapse is already running")
        # Otherwise another server on the port would answer the readiness probe.
        if not _port_is_free(self.port):
            raise RuntimeError(f"127.0.0.1:{self.port} is already in use")
        started = time.monotonic()
        await asyncio.to_thread(self._write_config)
        await asyncio.to_thread(self._write_signing_key)
        stdio = await asyncio.to_thread(self.stdio_path.open, "ab")
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "synapse.app.homeserver",
                "-c",
                str(self.config_path),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=stdio,
                stderr=stdio,
                cwd=self.workdir,
                env=_without_coverage(os.environ),
            )
        finally:
            stdio.close()
        try:
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise
        self.last_start_seconds = time.monotonic() - started

    async def _wait_ready(self) -> None:
        url = f"{self.base_url}/_matrix/client/versions"
        deadline = time.monotonic() + READY_TIMEOUT
        session = self._http()
        while True:
            process = self._process
            if process is None or process.returncode is not None:
                code = None if process is None else process.returncode
                raise RuntimeError(
                    f"Synapse exited with code {code} before being ready.\n"
                    f"{await self._log_tails()}"
                )
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                    if resp.status == 200:
                        return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Synapse not ready after {READY_TIMEOUT:.0f} s.\n{await self._log_tails()}"
                )
            await asyncio.sleep(0.1)

    async def _log_tails(self) -> str:
        log = await asyncio.to_thread(_tail, self.log_path)
        stdio = await asyncio.to_thread(_tail, self.stdio_path)
        return f"--- {self.log_path} ---\n{log}\n--- {self.stdio_path} ---\n{stdio}"

    async def stop(self) -> None:
        """Stop Synapse (SIGTERM, then SIGKILL after 10 s). Safe to call more than once."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def restart(self) -> None:
        """Stop and start again on the same port with the same database."""
        await self.stop()
        await self.start()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- HTTP ----------------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self._http().request(
            method,
            self.base_url + path,
            json=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=30),
        ) as resp:
            text = await resp.text()
            if resp.status >= 400:
                raise RuntimeError(f"{method} {path} -> HTTP {resp.status}: {text}")
            data = json.loads(text) if text else {}
        if not isinstance(data, dict):
            raise RuntimeError(f"{method} {path} returned non-object JSON: {text}")
        return data

    # -- admin API -----------------------------------------------------------------------

    async def register(
        self,
        localpart: str,
        password: str,
        *,
        admin: bool = False,
        displayname: str | None = None,
    ) -> Account:
        """Create an account through the shared-secret registration admin API."""
        path = "/_synapse/admin/v1/register"
        nonce = str((await self._request("GET", path))["nonce"])
        mac = hmac.new(self._shared_secret.encode(), digestmod=hashlib.sha1)
        mac.update(
            b"\x00".join(
                [
                    nonce.encode(),
                    localpart.encode(),
                    password.encode(),
                    b"admin" if admin else b"notadmin",
                ]
            )
        )
        body: dict[str, Any] = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        if displayname is not None:
            body["displayname"] = displayname
        result = await self._request("POST", path, body=body)
        return Account(
            user_id=str(result["user_id"]), localpart=localpart, password=password, admin=admin
        )

    async def admin_token(self) -> str:
        """Access token of a server admin account (registered and logged in once, cached)."""
        if self._admin_token is None:
            # Derived from the shared secret, so that it survives reusing the workdir.
            password = hmac.new(
                self._shared_secret.encode(), ADMIN_LOCALPART.encode(), hashlib.sha256
            ).hexdigest()
            try:
                await self.register(ADMIN_LOCALPART, password, admin=True)
            except RuntimeError as exc:
                if "M_USER_IN_USE" not in str(exc):
                    raise
            login = await self.login(ADMIN_LOCALPART, password)
            self._admin_token = str(login["access_token"])
        return self._admin_token

    async def login(self, user: str, password: str) -> dict[str, Any]:
        """A password login (a new device); the answer holds access_token and device_id."""
        return await self._request(
            "POST",
            "/_matrix/client/v3/login",
            body={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": user},
                "password": password,
            },
        )

    async def devices(self, user_id: str) -> list[str]:
        """The ids of the devices (sessions) an account has, as the server knows them."""
        answer = await self._request(
            "GET",
            f"/_synapse/admin/v2/users/{quote(user_id, safe='')}/devices",
            token=await self.admin_token(),
        )
        return sorted(str(device["device_id"]) for device in answer["devices"])

    async def delete_device(self, user_id: str, device_id: str) -> None:
        """Delete a session, as its owner does from the list of sessions (tokens revoked)."""
        await self._request(
            "DELETE",
            f"/_synapse/admin/v2/users/{quote(user_id, safe='')}/devices/{quote(device_id)}",
            token=await self.admin_token(),
        )

    async def expire_account(self, user_id: str) -> None:
        """End the account's validity now (needs `account_validity` in the config)."""
        await self._request(
            "POST",
            "/_synapse/admin/v1/account_validity/validity",
            body={"user_id": user_id, "expiration_ts": 1000, "enable_renewal_emails": False},
            token=await self.admin_token(),
        )

    async def override_ratelimit(
        self, user_id: str, messages_per_second: int, burst_count: int
    ) -> None:
        """Set a per-user message rate limit (0, 0 exempts the user)."""
        await self._request(
            "POST",
            f"/_synapse/admin/v1/users/{quote(user_id, safe='')}/override_ratelimit",
            body={"messages_per_second": messages_per_second, "burst_count": burst_count},
            token=await self.admin_token(),
        )
