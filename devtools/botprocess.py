"""Run the real bot (`python -m bot run`) as a child process, for tests and the demo."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from devtools.bot_forks import BotForkServer, ForkedBot
from devtools.synapse import Account

READY_LINE = "Bot ready as "


def write_bot_config(
    path: Path,
    *,
    homeserver: str,
    bot: Account,
    admins: Sequence[str],
    data_dir: Path,
    max_sends_per_second: float = 50.0,
    poll_check_seconds: float = 1.0,
    bot_extra: Mapping[str, Any] | None = None,
    feeds: Sequence[Mapping[str, Any]] = (),
    matrix_extra: Mapping[str, Any] | None = None,
    sections: Mapping[str, Mapping[str, Any]] | None = None,
    with_password: bool = True,
    academie: Mapping[str, Any] | None = None,
    etablissements: Sequence[Mapping[str, Any]] = (),
    directory: Sequence[Sequence[str]] = (),
) -> Path:
    """A config file for a bot account on a throwaway homeserver.

    Polls are checked every `poll_check_seconds` (1 s: a seeded deadline passes at once).
    `bot_extra` adds keys to [bot] (e.g. broadcast_rooms), `matrix_extra` to [matrix];
    `feeds` adds [[feeds]] blocks; `sections` adds whole sections ([digest], [email]);
    without `with_password`, the bot has only a stored session or a token to go on.
    A shared deployment: `academie` is its [academie] section, `etablissements` its
    [[etablissements]] blocks, `directory` the lines (uai, nom, rupn, zone) of its CSV
    directory, written next to the config file; `admins` is then empty.
    JSON literals are valid TOML for the strings, numbers, booleans and lists used here.
    """
    lines = [
        "[matrix]",
        f"homeserver = {json.dumps(homeserver)}",
        f"user_id = {json.dumps(bot.user_id)}",
        *([f"password = {json.dumps(bot.password)}"] if with_password else []),
        'device_name = "rupn-bot"',
        *(f"{key} = {json.dumps(value)}" for key, value in (matrix_extra or {}).items()),
        "",
        "[storage]",
        f"data_dir = {json.dumps(str(data_dir))}",
        "",
        "[bot]",
        *([f"admins = {json.dumps(list(admins))}"] if admins else []),
        'timezone = "Europe/Paris"',
        f"max_sends_per_second = {max_sends_per_second}",
        f"poll_check_seconds = {poll_check_seconds}",
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in (bot_extra or {}).items()]
    if directory:
        csv = path.with_name("etablissements.csv")
        rows = ["uai;nom;rupn;zone", *(";".join(row) for row in directory)]
        csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
        academie = {**(academie or {}), "etablissements": csv.name}
    blocks = [
        *((f"[{name}]", values) for name, values in (sections or {}).items()),
        *(("[[feeds]]", feed) for feed in feeds),
        *([("[academie]", academie)] if academie is not None else []),
        *(("[[etablissements]]", school) for school in etablissements),
    ]
    for header, values in blocks:
        lines += ["", header, *(f"{key} = {json.dumps(value)}" for key, value in values.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)  # it holds the password: rupn-bot refuses a readable one
    return path


class BotProcess:
    """The bot in its own process, so tests can SIGTERM or kill -9 it."""

    fork_server: ClassVar[BotForkServer | None] = None
    """Set (the end-to-end tests do): bots are forked from it, their modules already imported."""

    def __init__(self, config_path: Path, log_path: Path) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self._process: asyncio.subprocess.Process | ForkedBot | None = None
        self.clock_offset_s: float | None = None
        """Set: the bot runs with its clock shifted (devtools/clocked_bot.py)."""
        self.env: dict[str, str] = {}
        """Added to the environment at each start (e.g. RUPN_SMTP_PASSWORD)."""

    def _command(self) -> tuple[str, list[str]]:
        """The module `python -m` runs, and its arguments."""
        config = ["--config", str(self.config_path)]
        if self.clock_offset_s is None:
            return "bot", ["run", *config]
        return "devtools.clocked_bot", [*config, "--offset-seconds", str(self.clock_offset_s)]

    async def _spawn(self) -> asyncio.subprocess.Process | ForkedBot:
        module, argv = self._command()
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        with self.log_path.open("ab") as log:  # there before the bot, for start() to read
            if BotProcess.fork_server is not None:
                return await BotProcess.fork_server.spawn(module, argv, env, str(self.log_path))
            return await asyncio.create_subprocess_exec(
                sys.executable, "-m", module, *argv, stdout=log, stderr=log, env=env
            )

    async def start(self, ready_timeout: float = 60) -> None:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._process = await self._spawn()
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if READY_LINE in self._log_since(offset):
                return
            if self._process.returncode is not None:
                break
            await asyncio.sleep(0.02)  # a test waits for this at each (re)start
        raise RuntimeError(f"the bot did not become ready:\n{self.log_text()[offset:][-3000:]}")

    async def stop(self, grace_s: float = 30) -> int:
        """SIGTERM, as a service manager would; returns the exit code."""
        return await self._end(signal.SIGTERM, grace_s)

    async def kill(self) -> int:
        """kill -9: no chance to clean up."""
        return await self._end(signal.SIGKILL, 10)

    async def _end(self, signum: int, grace_s: float) -> int:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return process.returncode if process and process.returncode is not None else 0
        process.send_signal(signum)
        return await asyncio.wait_for(process.wait(), grace_s)

    async def exited(self, timeout_s: float = 30) -> int:
        """Wait until the bot stops by itself; returns its exit code."""
        process = self._process
        if process is None:
            raise RuntimeError("the bot was not started")
        code = await asyncio.wait_for(process.wait(), timeout_s)
        self._process = None
        return code

    @property
    def pid(self) -> int:
        """The running bot's process id (bench/memory.py reads its memory)."""
        if self._process is None:
            raise RuntimeError("the bot is not running")
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    def _log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", errors="replace")

    def log_text(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")
