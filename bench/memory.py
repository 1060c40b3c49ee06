"""The bot's resident memory against a bare matrix-nio client's, in the same rooms.

One throwaway Synapse; three teachers (real nio clients with encryption, the first one
the RUPN and the bot's admin); the bot (`python -m bot run`, the real entry point, a
default configuration: no letter, no mail, no feeds) and a bare nio client
(bench/bare_client.py), each in its own process. Both start before any room exists:
their resident memory (VmRSS in /proc/<pid>/status) is read at the moment they are
ready. The RUPN then creates N encrypted rooms and invites the other two teachers, the
bot and the bare client into each; once everybody has joined every room, the RUPN types
`!aide` in ten of them and waits for each answer. When both processes' memory has
settled, it is read again.

Printed: both figures, their ratio (goal ≤ 1.3×), each split into anonymous memory
(heap, Python's objects) and file-backed pages (the shared libraries: pydantic-core's
and nh3's compiled code count here), the bot's memory at ready and its cost per room
(the slope from ready to the end, over N rooms); then where the fixed
cost comes from (the memory of fresh interpreters after nio, pydantic and the config,
the Markdown and HTML libraries, the whole bot); then, in fresh interpreters that have
imported the bot, how long each lazily imported library takes on its first use (goal
≤ 0.5 s: the delay the first command that needs it adds).

Measured and left out (December 2026, 150 rooms): `malloc_trim` every 5 s after start-up
(75.8 MiB at the end instead of 76.0: the memory is live objects, not freed heap);
`MALLOC_ARENA_MAX=1` (-0.2 MiB); pydantic's `defer_build` on the config's sections
(-0.2 MiB); a smaller sqlite3 statement cache (-0.1 MiB). Where the gap to the bare
client goes, beyond nio: pydantic (its compiled core's pages, 4.4 MiB, and its modules,
4.5 MiB), rupn-bot's own modules (4.2 MiB of objects, a third of it frozen dataclasses'
generated methods), nh3 (1.8 MiB of pages), markdown-it (1.1 MiB), apscheduler (0.9 MiB),
signedjson and PyNaCl for cross-signing at every start (0.8 MiB).

    python -m bench.memory [--rooms 150]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.bare_client import READY
from bench.shutdown import stop_quietly
from devtools.botprocess import BotProcess, write_bot_config
from devtools.participant import Participant
from devtools.synapse import Account, ThrowawaySynapse

GOAL_RATIO = 1.3
GOAL_FIRST_USE_S = 0.5
HELP_ROOMS = 10
CREATE_BATCH = 10
SETTLE_SAMPLES = 3
"""Memory has settled when this many readings a second apart are equal (± 0.1 MiB)."""
SETTLE_TIMEOUT_S = 60.0

FIRST_USES = {
    "the bilan's pipeline (the first !bilan)": (
        "import digests.bilan.build, digests.bilan.model, digests.bilan.render"
    ),
    "pygal (the bilan's charts)": "import pygal",
    "aiosmtplib (the first mail)": "import aiosmtplib",
    "feedparser (the first feed read)": "import feedparser",
    "icalendar (the first .ics invitation)": "import icalendar",
    "jinja2 (the first letter or bilan)": (
        "from digests.render import TEMPLATES; TEMPLATES.environment('html')"
    ),
    "school calendar (the first date checked)": (
        "from datetime import date; from bot.school_calendar import SchoolCalendar; "
        "SchoolCalendar('A').is_school_day(date(2026, 12, 24))"
    ),
}
"""What each feature runs on its first use, in a process that has imported the bot."""

IMPORTS = {
    "nio (the bare client's imports)": "import nio",
    "nio + pydantic + bot.config": "import nio, bot.config",
    "nio + nh3 + markdown-it (bot.formatting)": "import nio, bot.formatting",
    "bot.app (everything the bot imports)": "import bot.app",
}
"""Where the fixed cost comes from: the memory of a fresh interpreter after each import."""


def rss_split_mib(pid: int) -> tuple[float, float]:
    """The resident memory of process `pid` as (anonymous, file-backed): the heap and
    Python's objects against the pages of the shared libraries it has mapped."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="ascii").splitlines()[1:]:
        name, _, value = line.partition(":")
        fields[name] = int(value.split()[0])
    return fields["Anonymous"] / 1024, (fields["Rss"] - fields["Anonymous"]) / 1024


def rss_mib(pid: int) -> float:
    """The resident memory of process `pid`, as the kernel counts it."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


async def settled_rss(*pids: int) -> list[float]:
    """The processes' memory once it no longer moves (or after SETTLE_TIMEOUT_S)."""
    readings: list[list[float]] = []
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while time.monotonic() < deadline:
        readings.append([rss_mib(pid) for pid in pids])
        last = readings[-SETTLE_SAMPLES:]
        if len(last) == SETTLE_SAMPLES and all(
            max(r[i] for r in last) - min(r[i] for r in last) <= 0.1 for i in range(len(pids))
        ):
            break
        await asyncio.sleep(1.0)  # a reading a second: memory has no event to wait on
    return readings[-1]


class BareClient:
    """bench/bare_client.py as a child process."""

    def __init__(self, synapse: ThrowawaySynapse, account: Account, store: Path) -> None:
        self._args = [synapse.base_url, account.user_id, account.password, str(store)]
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the bare client is not running")
        return self._process.pid

    async def start(self, timeout: float = 60) -> None:  # noqa: ASYNC109
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.bare_client", *self._args,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), timeout)
        if line.decode().strip() != READY:
            raise RuntimeError(f"the bare client did not start: {line!r}")

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.terminate()
            await process.wait()


@dataclass(frozen=True)
class Figures:
    rooms: int
    bot_ready: float
    bare_ready: float
    bot: float
    bare: float
    bot_split: tuple[float, float] = (0.0, 0.0)
    bare_split: tuple[float, float] = (0.0, 0.0)

    @property
    def ratio(self) -> float:
        return self.bot / self.bare

    def slope_kib(self, ready: float, end: float) -> float:
        return (end - ready) * 1024 / self.rooms


async def fill_rooms(
    rupn: Participant, others: Sequence[str], members: Sequence[str], count: int
) -> list[str]:
    """`count` encrypted rooms created by the RUPN, each joined by all of `members`.

    Created `CREATE_BATCH` at a time: one by one, Synapse's round trips would make it
    minutes; all at once, the joins pile up behind the creations."""
    rooms: list[str] = []
    for first in range(0, count, CREATE_BATCH):
        names = [f"Salle {i + 1:03d}" for i in range(first, min(count, first + CREATE_BATCH))]
        rooms += await asyncio.gather(
            *(rupn.create_encrypted_room(name, invite=others) for name in names)
        )
    for room in rooms:
        await rupn.wait_joined(room, members, timeout=120)
    return rooms


async def measure(room_count: int, workdir: Path) -> Figures:
    synapse = ThrowawaySynapse(workdir / "synapse")
    await synapse.start()
    teachers: list[Participant] = []
    bot: BotProcess | None = None
    bare: BareClient | None = None
    try:
        accounts = [await synapse.register(f"prof{i}", f"prof{i}-pw") for i in range(1, 4)]
        bot_account = await synapse.register("rupnbot", "bot-pw")
        bare_account = await synapse.register("nu", "nu-pw")
        for account in [*accounts, bot_account, bare_account]:
            await synapse.override_ratelimit(account.user_id, 0, 0)  # joins count as messages
        teachers = [Participant(synapse.base_url, a, workdir / "clients") for a in accounts]
        for teacher in teachers:
            await teacher.start()
        rupn = teachers[0]
        config = write_bot_config(
            workdir / "config.toml",
            homeserver=synapse.base_url,
            bot=bot_account,
            admins=[rupn.user_id],
            data_dir=workdir / "rupn-bot",
        )
        bot = BotProcess(config, workdir / "bot.log")
        await bot.start()
        bot_ready = rss_mib(bot.pid)
        bare = BareClient(synapse, bare_account, workdir / "bare")
        await bare.start()
        bare_ready = rss_mib(bare.pid)

        started = time.monotonic()
        others = [t.user_id for t in teachers[1:]] + [bot_account.user_id, bare_account.user_id]
        rooms = await fill_rooms(rupn, others, others, room_count)
        print(f"{room_count} rooms created and joined in {time.monotonic() - started:.0f} s")
        for room in rooms[:HELP_ROOMS]:
            await rupn.send_and_wait_reply(room, "!aide", bot_account.user_id, timeout=60)
        bot_end, bare_end = await settled_rss(bot.pid, bare.pid)
        return Figures(
            room_count, bot_ready, bare_ready, bot_end, bare_end,
            rss_split_mib(bot.pid), rss_split_mib(bare.pid),
        )  # fmt: skip
    finally:
        await stop_quietly(
            bot.stop if bot else None,
            bare.stop if bare else None,
            *(t.stop for t in teachers),
            synapse.stop,
        )


def _probe(program: str) -> float:
    """The last line `program` prints, run by a fresh interpreter."""
    done = subprocess.run(  # noqa: S603 - our own interpreter, a fixed program
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def first_use_seconds(statement: str) -> float:
    """Seconds `statement` takes in a fresh interpreter that has imported the bot."""
    return _probe(
        "import time, bot.app\n"
        f"start = time.perf_counter()\n{statement}\n"
        "print(time.perf_counter() - start)"
    )


def import_rss_mib(statement: str) -> float:
    """The memory of a fresh interpreter once `statement` has run (nothing else imported)."""
    return _probe(
        f"{statement}\n"
        "for line in open('/proc/self/status', encoding='ascii'):\n"
        "    if line.startswith('VmRSS:'):\n"
        "        print(int(line.split()[1]) / 1024)"
    )


def print_figures(f: Figures) -> None:
    verdict = "met" if f.ratio <= GOAL_RATIO else "NOT met"
    print(f"\nResident memory (VmRSS) in {f.rooms} encrypted rooms, {HELP_ROOMS} `!aide` answered")
    print(f"  rupn-bot          {f.bot:6.1f} MiB   at ready {f.bot_ready:6.1f} MiB")
    print(f"  bare nio client   {f.bare:6.1f} MiB   at ready {f.bare_ready:6.1f} MiB")
    print(f"  ratio             {f.ratio:6.2f}×      goal ≤ {GOAL_RATIO}×: {verdict}")
    splits = (("rupn-bot", f.bot_split), ("bare nio client", f.bare_split))
    for label, (anonymous, mapped) in splits:
        print(f"  {label:<17} {anonymous:6.1f} MiB anonymous, {mapped:5.1f} MiB file-backed")
    print(
        f"  per room          rupn-bot {f.slope_kib(f.bot_ready, f.bot):5.1f} KiB, "
        f"bare nio client {f.slope_kib(f.bare_ready, f.bare):5.1f} KiB"
    )


def print_imports() -> None:
    print("\nMemory of a fresh interpreter after its imports")
    for label, statement in IMPORTS.items():
        print(f"  {label:<42} {import_rss_mib(statement):5.1f} MiB")


def print_first_uses() -> None:
    print(f"\nFirst use of a lazily imported library (goal ≤ {GOAL_FIRST_USE_S} s)")
    for label, statement in FIRST_USES.items():
        seconds = first_use_seconds(statement)
        verdict = "met" if seconds <= GOAL_FIRST_USE_S else "NOT met"
        print(f"  {label:<42} {seconds:5.2f} s   {verdict}")


async def main_async(room_count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="rupn-memory-") as tmp:
        print_figures(await measure(room_count, Path(tmp)))
    print_imports()
    print_first_uses()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="rupn-bot's memory vs a bare nio client's.")
    parser.add_argument("--rooms", type=int, default=150)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("nio").setLevel(logging.ERROR)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main_async(args.rooms))


if __name__ == "__main__":
    main()
