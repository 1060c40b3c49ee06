"""Start the bot by forking a process that has already imported it, for the end-to-end tests.

The scenes start the bot about a hundred times, and each `python -m bot run` spends over a
second of CPU importing nio, pydantic, aiohttp and the bot's modules before it does anything.
`python -m devtools.bot_forks` imports them once and then forks one bot per request: each is
the same program as `python -m bot run` (`bot.cli.main`, or `devtools.clocked_bot`'s),
with its own arguments, environment, log file as stdout and stderr, and process id; it ends
as `python -m` would, through `SystemExit`.

The protocol is JSON lines. A request on stdin: {"module", "argv", "env", "log"}; on stdout,
{"pid"} at once, and {"exited", "code"} when that bot ends (a negative code: the signal that
ended it, as asyncio reports it).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import random
import selectors
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

# What `python -m <module>` runs: the module holding its main.
MAINS = {"bot": "bot.cli", "devtools.clocked_bot": "devtools.clocked_bot"}
PRELOADED = (*MAINS.values(), "bot.app")


class _Main(Protocol):
    def __call__(self, argv: Sequence[str] | None = None) -> int: ...


# -- the fork server --------------------------------------------------------------------------


def _child(request: Mapping[str, Any]) -> Callable[[], int]:
    """In the forked child: its own standard streams and environment; returns its main."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.closerange(3, 256)  # the server's pipes are not the bot's
    os.environ.clear()
    os.environ.update(request["env"])
    random.seed()  # not the server's sequence, shared by every fork
    argv = [str(arg) for arg in request["argv"]]
    sys.argv = [request["module"], *argv]
    main: _Main = importlib.import_module(MAINS[request["module"]]).main
    return lambda: main(argv)


def _answer(message: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _reap() -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _answer({"exited": pid, "code": os.waitstatus_to_exitcode(status)})


def serve() -> Callable[[], int] | None:
    """Fork a bot per request until stdin closes; returns the bot's main in a child."""
    for module in PRELOADED:
        importlib.import_module(module)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin, selectors.EVENT_READ)
    selector.register(wake_read, selectors.EVENT_READ)
    _answer({"ready": True})
    while True:
        for key, _ in selector.select():
            if key.fileobj == wake_read:
                os.read(wake_read, 512)
                _reap()
                continue
            line = sys.stdin.readline()
            if not line:
                return None
            request = json.loads(line)
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                selector.close()
                return _child(request)
            _answer({"pid": pid})


# -- the client, in the test process ---------------------------------------------------------


class ForkedBot:
    """A bot forked by the server: what BotProcess uses of an asyncio subprocess."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._exited = asyncio.Event()
        self._code = 0

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    async def wait(self) -> int:
        await self._exited.wait()
        return self._code

    def _ended(self, code: int) -> None:
        self.returncode = self._code = code
        self._exited.set()


class BotForkServer:
    """`python -m devtools.bot_forks`, and the bots it forked, seen from the test process."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._spawned: asyncio.Queue[int] = asyncio.Queue()
        self._bots: dict[int, ForkedBot] = {}
        self._exits: dict[int, int] = {}  # an exit read before its pid was claimed
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "devtools.bot_forks",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        stdout = self._process.stdout
        if stdout is None or not await stdout.readline():
            raise RuntimeError("the bot's fork server did not start")
        self._reader = asyncio.create_task(self._read(stdout))

    async def _read(self, stdout: asyncio.StreamReader) -> None:
        while line := await stdout.readline():
            message = json.loads(line)
            if "pid" in message:
                self._spawned.put_nowait(int(message["pid"]))
            else:
                pid, code = int(message["exited"]), int(message["code"])
                bot = self._bots.pop(pid, None)
                if bot is None:
                    self._exits[pid] = code
                else:
                    bot._ended(code)

    async def spawn(
        self, module: str, argv: Sequence[str], env: Mapping[str, str], log: str
    ) -> ForkedBot:
        """Fork a bot running `module`'s main with `argv`; its output goes to `log`."""
        process = self._process
        if process is None or process.stdin is None or process.returncode is not None:
            raise RuntimeError("the bot's fork server is not running")
        request = {"module": module, "argv": list(argv), "env": dict(env), "log": log}
        async with self._lock:
            process.stdin.write((json.dumps(request) + "\n").encode())
            await process.stdin.drain()
            pid = await asyncio.wait_for(self._spawned.get(), 30)
        bot = ForkedBot(pid)
        if pid in self._exits:
            bot._ended(self._exits.pop(pid))
        else:
            self._bots[pid] = bot
        return bot

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        await asyncio.wait_for(process.wait(), 10)
        if self._reader is not None:
            await self._reader


def main() -> None:
    job = serve()
    if job is not None:  # a forked bot: it ends as `python -m` ends
        raise SystemExit(job())


if __name__ == "__main__":
    main()
