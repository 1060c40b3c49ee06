"""The bot's resident memory serving 50 établissements, against the same bot serving one.

One throwaway Synapse and two bots, each the real entry point (`python -m bot run`) in
its own process, measured in the same run and the same rooms: a shared bot whose
configuration names 50 schools in a CSV directory (bot/config/directory.py's format,
one RUPN each), and a single-school bot whose admins are those same 50 RUPN. Each RUPN
creates three encrypted rooms and invites both bots: the shared bot claims each room for
its RUPN's school, the single-school bot takes them all as its own. Ten members per
school join their school's three rooms, 500 members in all: they are registered with
the shared-secret admin API and join over plain HTTP, without any device (no encryption
keys: the bots have none of their keys to track). A teacher with an encrypted nio client
is in ten of the rooms, one per school, and types `!aide` there; both bots answer. Once
both processes' memory has settled (bench/memory.py's reading), it is read.

Printed: both figures, each split into anonymous and file-backed memory, their memory at
ready, and the ratio (goal: the shared bot ≤ 1.5× the single-school one).

    python -m bench.memory_schools
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from bench.academie import synthetic_school
from bench.memory import HELP_ROOMS, rss_mib, rss_split_mib, settled_rss
from bench.shutdown import stop_quietly
from devtools.botprocess import BotProcess, write_bot_config
from devtools.participant import Participant, SeenMessage
from devtools.synapse import Account, ThrowawaySynapse

GOAL_RATIO = 1.5
SCHOOLS = 50
ROOMS_PER_SCHOOL = 3
MEMBERS_PER_SCHOOL = 10
JOIN_TIMEOUT_S = 300.0
CONCURRENCY = 10
"""Requests in flight at once (room creations, logins, joins)."""


class PlainClient:
    """A Matrix account over plain HTTP: no device keys, no sync (a member who never
    opens an encrypted client, or the RUPN's room creations)."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self._http, self._base, self._token = http, base_url, token

    @classmethod
    async def login(
        cls, http: aiohttp.ClientSession, synapse: ThrowawaySynapse, account: Account
    ) -> PlainClient:
        answer = await synapse.login(account.localpart, account.password)
        return cls(http, synapse.base_url, str(answer["access_token"]))

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self._http.post(
            self._base + path, json=body, headers={"Authorization": f"Bearer {self._token}"}
        ) as resp:
            data: dict[str, Any] = await resp.json()
            if resp.status >= 400:
                raise RuntimeError(f"POST {path} -> HTTP {resp.status}: {data}")
            return data

    async def create_encrypted_room(self, name: str, invite: Sequence[str]) -> str:
        answer = await self._post(
            "/_matrix/client/v3/createRoom",
            {
                "name": name,
                "preset": "private_chat",
                "invite": list(invite),
                "initial_state": [
                    {
                        "type": "m.room.encryption",
                        "state_key": "",
                        "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                    }
                ],
            },
        )
        return str(answer["room_id"])

    async def join(self, room_id: str) -> None:
        await self._post(f"/_matrix/client/v3/join/{quote(room_id)}", {})

    async def room_members(self, room_id: str) -> set[str]:
        """Who has joined the room, through the admin API (`self` is a server admin's)."""
        async with self._http.get(
            f"{self._base}/_synapse/admin/v1/rooms/{quote(room_id)}/members",
            headers={"Authorization": f"Bearer {self._token}"},
        ) as resp:
            data: dict[str, Any] = await resp.json()
        return set(data.get("members", ()))


async def bounded(calls: Sequence[Any]) -> list[Any]:
    """Await the coroutines `calls`, CONCURRENCY at a time, in order."""
    results: list[Any] = []
    for first in range(0, len(calls), CONCURRENCY):
        results += await asyncio.gather(*calls[first : first + CONCURRENCY])
    return results


@dataclass(frozen=True)
class SchoolRooms:
    uai: str
    name: str
    rupn: Account
    members: tuple[Account, ...]


@dataclass(frozen=True)
class Figures:
    shared_ready: float
    single_ready: float
    shared: float
    single: float
    shared_split: tuple[float, float]
    single_split: tuple[float, float]
    rooms: int
    members: int

    @property
    def ratio(self) -> float:
        return self.shared / self.single


async def register_schools(synapse: ThrowawaySynapse) -> list[SchoolRooms]:
    rng = random.Random(2026)  # noqa: S311 - synthetic names
    schools = []
    for n in range(SCHOOLS):
        school = synthetic_school(n, rng)
        rupn = await synapse.register(f"rupn{n}", f"rupn{n}-pw")
        await synapse.override_ratelimit(rupn.user_id, 0, 0)  # creations and invites
        members = await bounded(
            [
                synapse.register(f"membre{n}-{m}", f"membre{n}-{m}-pw")
                for m in range(MEMBERS_PER_SCHOOL)
            ]
        )
        schools.append(SchoolRooms(school.key, school.name, rupn, tuple(members)))
    return schools


async def wait_all_joined(admin: PlainClient, rooms: Sequence[str], users: Sequence[str]) -> None:
    """Until `users` have joined every room (the bots accept their invites on their own)."""
    deadline = time.monotonic() + JOIN_TIMEOUT_S
    waiting = list(rooms)
    while waiting:
        joined = await bounded([admin.room_members(room) for room in waiting])
        waiting = [r for r, members in zip(waiting, joined, strict=True) if set(users) - members]
        if waiting and time.monotonic() > deadline:
            raise TimeoutError(f"{len(waiting)} room(s) still without {', '.join(users)}")
        if waiting:
            await asyncio.sleep(1.0)  # polled: these joins are the bots' own, no event of ours


async def fill_school_rooms(
    synapse: ThrowawaySynapse,
    http: aiohttp.ClientSession,
    schools: Sequence[SchoolRooms],
    invited: Sequence[str],
    teacher: str,
) -> list[str]:
    """Each RUPN's three rooms, `invited` (and the teacher in one room of the first ten
    schools) invited; the school's members joined. Returns the rooms, school by school."""
    rupns = await bounded([PlainClient.login(http, synapse, s.rupn) for s in schools])
    rooms: list[str] = []
    for n, (school, rupn) in enumerate(zip(schools, rupns, strict=True)):
        for r in range(ROOMS_PER_SCHOOL):
            guests = [*invited, *(m.user_id for m in school.members)]
            if r == 0 and n < HELP_ROOMS:
                guests.append(teacher)
            rooms.append(await rupn.create_encrypted_room(f"{school.name} — salle {r + 1}", guests))
    joins = []
    for n, school in enumerate(schools):
        clients = await bounded([PlainClient.login(http, synapse, m) for m in school.members])
        school_rooms = rooms[n * ROOMS_PER_SCHOOL : (n + 1) * ROOMS_PER_SCHOOL]
        joins += [client.join(room) for client in clients for room in school_rooms]
    await bounded(joins)
    return rooms


def bot_configs(
    workdir: Path, synapse: ThrowawaySynapse, shared: Account, single: Account,
    schools: Sequence[SchoolRooms],
) -> tuple[Path, Path]:  # fmt: skip
    """The shared bot's (a CSV directory of the 50 schools) and the single-school bot's (the
    50 RUPN as its admins), each with its own data directory."""
    directory = [(s.uai, s.name, s.rupn.user_id, "B") for s in schools]
    (workdir / "academie").mkdir()
    (workdir / "etablissement").mkdir()
    return (
        write_bot_config(
            workdir / "academie" / "config.toml", homeserver=synapse.base_url, bot=shared,
            admins=[], data_dir=workdir / "academie" / "data",
            academie={"nom": "Académie de démonstration"}, directory=directory,
        ),
        write_bot_config(
            workdir / "etablissement" / "config.toml", homeserver=synapse.base_url, bot=single,
            admins=[s.rupn.user_id for s in schools], data_dir=workdir / "etablissement" / "data",
        ),
    )  # fmt: skip


def reply_to(room: str, event_id: str, sender: str) -> Callable[[SeenMessage], bool]:
    return lambda m: m.room_id == room and m.sender == sender and m.in_reply_to == event_id


async def ask_help(teacher: Participant, rooms: Sequence[str], bots: Sequence[str]) -> None:
    """`!aide` in each room, answered by every bot."""
    for room in rooms:
        after = teacher.mark()
        event_id = await teacher.send_text(room, "!aide")
        for bot in bots:
            await teacher.wait_for(reply_to(room, event_id, bot), timeout=60, after=after)


async def measure(workdir: Path) -> Figures:
    synapse = ThrowawaySynapse(workdir / "synapse")
    await synapse.start()
    teacher: Participant | None = None
    bots: list[BotProcess] = []
    try:
        async with aiohttp.ClientSession() as http:
            accounts = [await synapse.register(n, f"{n}-pw") for n in ("academie", "college")]
            prof = await synapse.register("prof", "prof-pw")
            for account in [*accounts, prof]:
                await synapse.override_ratelimit(account.user_id, 0, 0)  # joins count too
            schools = await register_schools(synapse)
            configs = bot_configs(workdir, synapse, accounts[0], accounts[1], schools)
            bots = [BotProcess(c, c.with_name("bot.log")) for c in configs]
            for bot in bots:
                await bot.start()
            ready = [rss_mib(bot.pid) for bot in bots]
            teacher = Participant(synapse.base_url, prof, workdir / "clients")
            await teacher.start()
            started = time.monotonic()
            bot_ids = [a.user_id for a in accounts]
            rooms = await fill_school_rooms(synapse, http, schools, bot_ids, prof.user_id)
            admin = PlainClient(http, synapse.base_url, await synapse.admin_token())
            await wait_all_joined(admin, rooms, bot_ids)
            print(
                f"{len(rooms)} rooms of {SCHOOLS} schools created, {SCHOOLS * MEMBERS_PER_SCHOOL}"
                f" members and both bots joined in {time.monotonic() - started:.0f} s"
            )
            await ask_help(teacher, rooms[::ROOMS_PER_SCHOOL][:HELP_ROOMS], bot_ids)
            shared, single = await settled_rss(*(bot.pid for bot in bots))
            return Figures(
                ready[0], ready[1], shared, single, rss_split_mib(bots[0].pid),
                rss_split_mib(bots[1].pid), len(rooms), SCHOOLS * MEMBERS_PER_SCHOOL,
            )  # fmt: skip
    finally:
        await stop_quietly(
            *(bot.stop for bot in bots), teacher.stop if teacher else None, synapse.stop
        )


def print_figures(f: Figures) -> None:
    verdict = "met" if f.ratio <= GOAL_RATIO else "NOT met"
    print(
        f"\nResident memory (VmRSS) in the same {f.rooms} encrypted rooms ({f.members} members"
        f" without devices, a teacher with one), {HELP_ROOMS} `!aide` answered by each bot"
    )
    rows = (
        (f"shared bot, {SCHOOLS} schools", f.shared, f.shared_ready, f.shared_split),
        ("single-school bot", f.single, f.single_ready, f.single_split),
    )
    for label, end, ready, (anonymous, mapped) in rows:
        print(
            f"  {label:<24}{end:6.1f} MiB   at ready {ready:6.1f} MiB   "
            f"({anonymous:.1f} MiB anonymous, {mapped:.1f} MiB file-backed)"
        )
    print(f"  ratio                   {f.ratio:6.2f}×      goal ≤ {GOAL_RATIO}×: {verdict}")


async def main_async() -> bool:
    with tempfile.TemporaryDirectory(prefix="rupn-memory-schools-") as tmp:
        figures = await measure(Path(tmp))
    print_figures(figures)
    return figures.ratio <= GOAL_RATIO


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A shared bot's memory vs a single school's.")
    parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("nio").setLevel(logging.ERROR)
    with contextlib.suppress(KeyboardInterrupt):
        if not asyncio.run(main_async()):
            raise SystemExit(1)


if __name__ == "__main__":
    main()
