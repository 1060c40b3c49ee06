"""A real IMAP server on loopback (Debian's Dovecot) holding the bot's mailbox: for the
end-to-end tests and the demo.

Everything lives in a throwaway directory: the configuration (no system file is read), the
runtime directory, the log, a passwd-file with one plaintext account, and the maildir.
Dovecot runs in the foreground as the current user (root in CI), listening on 127.0.0.1
only: IMAP on one free port (plaintext login allowed, since it is loopback) and, with
`tls=True`, IMAPS on another with a self-signed certificate made on the spot. `stop()`
then `start()` again keeps the mailbox: that is how a test takes the server down and up.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import getpass
import grp
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from bot.config.assistance import IMAP_PASSWORD_ENV_VAR
from bot.mailbox.folders import quoted_mailbox
from devtools.smtp import free_port

DOVECOT = "dovecot"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class DovecotMissing(RuntimeError):
    """Dovecot is not installed: `make install` installs Debian's dovecot-imapd."""


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _answering_sockets(directory: Path) -> list[Path]:
    """The Unix sockets in `directory` that a process may still answer on. A killed
    server's processes go one by one, and a new Dovecot refuses to start (« Socket already
    exists ») unless connecting to each old socket is refused: then it replaces it."""
    answering = []
    for path in directory.glob("**/*"):
        if not path.is_socket():
            continue
        with socket.socket(socket.AF_UNIX) as sock:
            if sock.connect_ex(str(path)) not in (errno.ECONNREFUSED, errno.ENOENT):
                answering.append(path)
    return answering


def _greets(port: int) -> bool:
    """Whether an IMAP server answers on `port` (a listening port alone is not enough: the
    login process may still be starting)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            return sock.recv(64).startswith(b"* OK")
    except OSError:
        return False


@dataclass(frozen=True)
class _Users:
    """Whom Dovecot's processes run as, and where the mail lives."""

    login: str  # the login process (imap-login)
    internal: str  # its internal services (anvil, stats)
    group: str
    mail_uid: int  # the mail processes: they read and write the maildir
    mail_gid: int
    mail_root: Path


def _users(directory: Path) -> _Users:
    """As the current user; as root (CI), the unprivileged accounts Debian's package creates.

    Dovecot refuses to run its login process, or to touch mail, as root: the maildir then
    belongs to `dovecot`, in a directory of its own under the system's temporary directory
    (pytest's are private to root, so `dovecot` could not reach one inside them)."""
    if os.getuid() != 0:
        login = getpass.getuser()
        group = grp.getgrgid(os.getgid()).gr_name
        return _Users(login, login, group, os.getuid(), os.getgid(), directory / "home")
    account = pwd.getpwnam("dovecot")
    mail_root = Path(tempfile.mkdtemp(prefix="rupn-bot-imap-"))
    os.chown(mail_root, account.pw_uid, account.pw_gid)
    return _Users("dovenull", "dovecot", "dovecot", account.pw_uid, account.pw_gid, mail_root)


def _self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throwaway key and certificate for 127.0.0.1 (openssl, which Dovecot depends on)."""
    key, cert = directory / "key.pem", directory / "cert.pem"
    openssl = shutil.which("openssl")  # Dovecot's package depends on it
    if openssl is None:
        raise DovecotMissing("openssl is not installed")
    subprocess.run(
        [openssl, "req", "-x509", "-nodes", "-days", "2",
         "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return key, cert


class ThrowawayDovecot:
    """One Dovecot and one mailbox account (`user` / `password`) under `directory`."""

    def __init__(
        self,
        directory: Path,
        *,
        user: str = "rupn-bot@college.example",
        password: str = "imap-secret-pw",  # noqa: S107 - a throwaway mailbox
        tls: bool = False,
        capabilities: str | None = None,
    ) -> None:
        """`capabilities` replaces what Dovecot announces (e.g. without IDLE or MOVE, to play
        a poorer server); `tls` adds IMAPS on `tls_port` and STARTTLS, with `ca_file`."""
        if shutil.which(DOVECOT) is None:
            raise DovecotMissing("dovecot is not installed (Debian: apt-get install dovecot-imapd)")
        self.directory = directory
        self.user = user
        self.password = password
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.log_path = directory / "dovecot.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._users = _users(directory)
        # Its sockets: a short path of its own (a Unix socket's path must fit in 108 bytes,
        # and pytest's temporary directories under xdist are longer).
        self._run_dir = Path(tempfile.mkdtemp(prefix="rupn-dovecot-"))
        self.ca_file: Path | None = None
        self._config = self._write_config(tls, capabilities)

    def _write_config(self, tls: bool, capabilities: str | None) -> Path:
        d = self.directory
        for sub in ("state", "home"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        users = self._users
        (d / "passwd").write_text(
            f"{self.user}:{{PLAIN}}{self.password}::::{users.mail_root}/%u::\n"
        )
        ssl = "no"
        listeners = (
            f"  inet_listener imap {{\n    address = 127.0.0.1\n    port = {self.port}\n  }}\n"
        )
        if tls:
            key, cert = _self_signed_certificate(d)
            self.ca_file = cert
            ssl = f"yes\nssl_cert = <{cert}\nssl_key = <{key}"
            listeners += (
                f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {self.tls_port}\n"
                "    ssl = yes\n  }\n"
            )
        config = d / "dovecot.conf"
        config.write_text(
            f"""# Throwaway Dovecot for rupn-bot's tests: nothing outside this directory.
base_dir = {self._run_dir}
state_dir = {d / "state"}
log_path = {self.log_path}
protocols = imap
listen = 127.0.0.1
ssl = {ssl}
disable_plaintext_auth = no
auth_failure_delay = 0  # a wrong password is answered at once (tests)
auth_mechanisms = plain login
default_internal_user = {users.internal}
default_internal_group = {users.group}
default_login_user = {users.login}
mail_uid = {users.mail_uid}
mail_gid = {users.mail_gid}
first_valid_uid = {users.mail_uid}
first_valid_gid = {users.mail_gid}
mail_location = maildir:~/Maildir
mail_plugins =
{f"imap_capability = {capabilities}" if capabilities else ""}
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d / "passwd"}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d / "passwd"}
}}
service imap-login {{
  chroot =
{listeners}}}
service anvil {{
  chroot =
}}
service auth {{
  user = {getpass.getuser()}  # reads the passwd-file in the (private) throwaway directory
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""
        )
        return config

    def assistance_keys(self) -> dict[str, str | int]:
        """The `[assistance]` keys of a bot reading this mailbox (password: `environment`)."""
        return {
            "imap_host": "127.0.0.1",
            "imap_port": self.port,
            "imap_security": "aucune",  # loopback only: the reader refuses it elsewhere
            "imap_user": self.user,
        }

    @property
    def environment(self) -> dict[str, str]:
        """What a bot reading this mailbox needs in its environment (BotProcess.env)."""
        return {IMAP_PASSWORD_ENV_VAR: self.password}

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    async def start(self) -> None:
        """Start Dovecot and return once it accepts connections."""
        if self.running:
            return
        with (self.directory / "dovecot.stderr").open("ab") as stderr:  # the child keeps it
            # Popen returns at once; the server is not tied to one event loop.
            self._process = subprocess.Popen(  # noqa: ASYNC220
                [DOVECOT, "-F", "-c", str(self._config)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # its children are stopped with it, not with the tests
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not _greets(self.port):  # IMAPS is served by the same login process
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited at start; see {self.log_path}")
            if time.monotonic() > deadline:
                await self.stop()
                raise TimeoutError(f"dovecot did not listen within {START_TIMEOUT} s")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        """Kill the server and all its processes at once, as a crash would: once this
        returns, connections are refused, and no process of the old server answers on its
        sockets (a restart would fail). (After SIGTERM, Dovecot's processes still accept
        connections for a moment while shutting down, and never answer them.)"""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + STOP_TIMEOUT
        while (  # noqa: ASYNC110
            _listening(self.port) or _answering_sockets(self._run_dir)
        ) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        """Stop, and remove what lives outside `directory`: the sockets' directory and, as
        root, the mailbox."""
        await self.stop()
        shutil.rmtree(self._run_dir, ignore_errors=True)
        if not self._users.mail_root.is_relative_to(self.directory):
            shutil.rmtree(self._users.mail_root, ignore_errors=True)

    # The desk's side, and the test's eyes on the mailbox: plain imaplib, in a thread.

    def _client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=5)
        client.login(self.user, self.password)
        return client

    def _append(self, message: bytes, folder: str) -> None:
        client = self._client()
        try:
            status, _ = client.append(folder, "", None, message)
            if status != "OK":
                raise RuntimeError(f"APPEND to {folder} failed: {status}")
        finally:
            client.logout()

    async def deliver(self, message: EmailMessage | bytes, folder: str = "INBOX") -> None:
        """Put a mail in the mailbox, as the desk's answer arriving would."""
        raw = message if isinstance(message, bytes) else message.as_bytes()
        await asyncio.to_thread(self._append, raw, folder)

    def drop_into_maildir(self, message: EmailMessage | bytes) -> None:
        """Put a mail straight into INBOX's maildir, as the mail server's delivery agent does:
        works while the IMAP server is down (it finds the mail when it comes back)."""
        raw = message if isinstance(message, bytes) else message.as_bytes()
        # The passwd-file's home field is taken as written: `%u` is not expanded there.
        fresh = self._users.mail_root / "%u" / "Maildir" / "new"
        fresh.mkdir(parents=True, exist_ok=True)
        path = fresh / f"{time.time_ns()}.{os.getpid()}.rupn-bot-tests"
        path.write_bytes(raw)
        if os.getuid() == 0:  # the maildir belongs to the mail processes' user
            for owned in (*reversed(path.parents[:3]), path):
                os.chown(owned, self._users.mail_uid, self._users.mail_gid)

    def _message_ids(self, folder: str) -> list[str]:
        client = self._client()
        try:
            status, _ = client.select(quoted_mailbox(folder), readonly=True)
            if status != "OK":
                return []  # the folder does not exist (yet)
            _, data = client.search(None, "ALL")
            ids: list[str] = []
            for number in data[0].split():
                _, fetched = client.fetch(number, "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
                header = fetched[0][1] if isinstance(fetched[0], tuple) else b""
                ids.append(header.decode().partition(":")[2].strip().strip("<>"))
            return ids
        finally:
            client.logout()

    async def message_ids(self, folder: str = "INBOX") -> list[str]:
        """The Message-IDs (bare) of the mails in `folder` (`/` between levels, as this
        server's separator is), in mailbox order."""
        return await asyncio.to_thread(self._message_ids, folder)
