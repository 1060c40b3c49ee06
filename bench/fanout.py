"""Fan-out of one `!annonce` to many diffusion rooms, against Synapse's DEFAULT rate limits.

One throwaway Synapse with `rc_message` left at Synapse's default (0.2 message/s,
burst 10), one RUPN (a real nio client with encryption), N encrypted diffusion
rooms plus a control room. rupn-bot runs in-process (`bot.app.run_app`) with the
N rooms as `bot.broadcast_rooms`. The RUPN sends `!annonce …` in the control room;
the time is measured on the RUPN's clock, from just before the send to the moment
its sync shows the last of the N posts, and to the confirmation.

Setup (creating rooms, inviting, the bot's joins) is done with both accounts
exempted from `rc_message` (Synapse counts joins as messages); the bot's exemption
is removed before measuring, so only the announcement is throttled. The RUPN stays
exempted: its single command is not what is measured.

The floor is what Synapse's token bucket (and the bot's own pacer) allow for the
messages the bot sends: the "en cours de publication" acknowledgement, the N posts,
then the confirmation.

    python -m bench.fanout [--rooms 50] [--paces 1.0 50.0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bench.shutdown import stop_quietly
from bot.app import RunningBot, run_app
from bot.config import Config, parse_config
from devtools.participant import Participant
from devtools.synapse import Account, ThrowawaySynapse
from handlers.announcements.commands import ACK_THRESHOLD

GOAL_RATIO = 1.10
# Synapse's defaults for rc_message (synapse/config/ratelimiting.py).
SERVER_RATE = 0.2
SERVER_BURST = 10
SETTLE_AFTER_CONFIRMATION_S = 5.0


def floor_times(messages: int, pace: float, rate: float, burst: int) -> list[float]:
    """Earliest time of each of `messages` sends, from the first one.

    Synapse allows message k (1-based) once (k - burst) / rate seconds have passed since
    a full bucket; the bot's pacer spaces two sends by 1 / pace.
    """
    times: list[float] = []
    for k in range(1, messages + 1):
        server = max(0.0, (k - burst) / rate)
        paced = times[-1] + 1.0 / pace if times else 0.0
        times.append(max(server, paced))
    return times


def bot_messages(rooms: int) -> int:
    """The acknowledgement (above ACK_THRESHOLD rooms), one post per room, the confirmation."""
    return (1 if rooms > ACK_THRESHOLD else 0) + rooms + 1


@dataclass
class Result:
    pace: float
    rooms: int
    last_post_s: float | None
    confirmation_s: float | None
    floor_last_post_s: float
    floor_confirmation_s: float
    ack_s: float | None
    ack_position: int | None
    floor_ack_s: float | None
    reached: int
    duplicates: int
    undecryptable: int
    rate_limited: int
    confirmation: str | None


class InProcessBot:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.running: RunningBot | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        ready = asyncio.Event()

        def on_ready(running: RunningBot) -> None:
            self.running = running
            ready.set()

        self._task = asyncio.create_task(run_app(self.config, self._stop, on_ready=on_ready))
        waiter = asyncio.ensure_future(ready.wait())
        await asyncio.wait({self._task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.is_set():
            waiter.cancel()
            await self._task
            raise RuntimeError("rupn-bot stopped before it was ready")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task


def bot_config(
    synapse: ThrowawaySynapse,
    bot: Account,
    admin: str,
    data_dir: Path,
    pace: float,
    rooms: Sequence[str],
) -> Config:
    return parse_config(
        {
            "matrix": {
                "homeserver": synapse.base_url,
                "user_id": bot.user_id,
                "password": bot.password,
                "device_name": "rupn-bot fanout bench",
            },
            "storage": {"data_dir": str(data_dir)},
            "bot": {
                "admins": [admin],
                "timezone": "Europe/Paris",
                "max_sends_per_second": pace,
                "broadcast_rooms": list(rooms),
            },
        },
        base_dir=data_dir,
        environ={},
    )


async def remove_override(synapse: ThrowawaySynapse, user_id: str) -> None:
    """Back to the server's default rc_message for `user_id` (devtools only has POST)."""
    # bench-only use of the devtools helper's private request method
    await synapse._request(
        "DELETE",
        f"/_synapse/admin/v1/users/{quote(user_id, safe='')}/override_ratelimit",
        token=await synapse.admin_token(),
    )


async def announce(
    rupn: Participant,
    bot: InProcessBot,
    control_room: str,
    rooms: Sequence[str],
    number: int,
    pace: float,
) -> Result:
    bot_user = bot.config.matrix.user_id
    text = f"**Bench fan-out {number}** : réunion ENT jeudi à 17h au CDI (pacing {pace:g}/s)."
    room_set = set(rooms)
    expected = f"Annonce n° {number} publiée dans {len(rooms)} salons"
    times = floor_times(bot_messages(len(rooms)), pace, SERVER_RATE, SERVER_BURST)
    floor_confirm = times[-1]
    timeout = floor_confirm * 1.5 + 90
    has_ack = bot_messages(len(rooms)) > len(rooms) + 1
    ack_prefix = f"Annonce n° {number} en cours de publication"
    ack: float | None = None
    posts_before_ack = 0
    reached: set[str] = set()

    after = rupn.mark()
    t0 = time.perf_counter()
    await rupn.send_text(control_room, f"!annonce {text}")
    last_post: float | None = None
    confirmation: float | None = None
    confirmation_text: str | None = None

    def is_post(m: object) -> bool:
        return (
            getattr(m, "sender", None) == bot_user
            and getattr(m, "room_id", None) in room_set
            and getattr(m, "room_id", None) not in reached
        )

    with contextlib.suppress(TimeoutError):
        while len(reached) < len(rooms) or confirmation is None:
            remaining = timeout - (time.perf_counter() - t0)
            seen = await rupn.wait_for(
                lambda m: (
                    is_post(m)
                    or (
                        m.sender == bot_user
                        and m.room_id == control_room
                        and (m.body.startswith(expected) or m.body.startswith(ack_prefix))
                    )
                ),
                max(0.1, remaining),
                after=after,
            )
            now = time.perf_counter() - t0
            after = rupn.messages.index(seen) + 1
            if seen.room_id == control_room and seen.body.startswith(ack_prefix):
                ack, posts_before_ack = now, len(reached)
            elif seen.room_id == control_room:
                confirmation, confirmation_text = now, seen.body
            else:
                reached.add(seen.room_id)
                if len(reached) == len(rooms):
                    last_post = now
    await asyncio.sleep(SETTLE_AFTER_CONFIRMATION_S)
    mine = [m for m in rupn.messages if m.sender == bot_user and m.room_id in room_set]
    counts = Counter(m.room_id for m in mine if m.body.startswith(f"**Bench fan-out {number}**"))
    undecryptable = sum(1 for m in mine if m.event_type == "undecryptable")
    running = bot.running
    # Floors follow the order in which the bot actually sent its messages.
    ack_position = posts_before_ack + 1
    last_position = len(rooms) + (1 if has_ack and ack_position <= len(rooms) else 0)
    return Result(
        pace=pace,
        rooms=len(rooms),
        last_post_s=last_post,
        confirmation_s=confirmation,
        floor_last_post_s=times[last_position - 1],
        ack_s=ack,
        ack_position=ack_position if ack is not None else None,
        floor_ack_s=times[ack_position - 1] if ack is not None else None,
        floor_confirmation_s=floor_confirm,
        reached=len(counts),
        duplicates=sum(c - 1 for c in counts.values()),
        undecryptable=undecryptable,
        rate_limited=running.sender.rate_limited if running else -1,
        confirmation=confirmation_text,
    )


def _ratio(value: float | None, floor: float) -> str:
    if value is None:
        return "not reached"
    if floor <= 0:
        return "floor 0"
    return f"{value / floor:.3f}×"


def print_result(r: Result) -> None:
    ack = bot_messages(r.rooms) - r.rooms - 1
    print(
        f"max_sends_per_second = {r.pace:g}: {bot_messages(r.rooms)} bot messages "
        f"({ack} acknowledgement + {r.rooms} posts + 1 confirmation)"
    )

    def line(label: str, value: float | None, floor: float) -> str:
        shown = "—" if value is None else f"{value:7.1f} s"
        ratio = _ratio(value, floor)
        verdict = ""
        if value is not None and floor > 0:
            verdict = "  goal ≤ 1.10×: " + ("met" if value / floor <= GOAL_RATIO else "NOT met")
        return f"  {label:<34}{shown}   floor {floor:7.1f} s   ratio {ratio}{verdict}"

    print(line("last of the posts seen by the RUPN", r.last_post_s, r.floor_last_post_s))
    if r.floor_ack_s is not None:
        label = f"acknowledgement (bot message {r.ack_position})"
        print(line(label, r.ack_s, r.floor_ack_s))
    print(line("confirmation seen by the RUPN", r.confirmation_s, r.floor_confirmation_s))
    print(
        f"  rooms reached {r.reached}/{r.rooms} (lost {r.rooms - r.reached}), "
        f"duplicates {r.duplicates}, undecryptable {r.undecryptable}, "
        f"429 received by the bot's sender {r.rate_limited}"
    )
    shown = r.confirmation
    if shown is not None and len(shown) > 90:
        shown = shown[:90] + "…"
    print(f"  confirmation: {shown!r}")
    print()


async def main_async(room_count: int, paces: Sequence[float]) -> None:
    with tempfile.TemporaryDirectory(prefix="rupn-fanout-") as tmp:
        workdir = Path(tmp)
        synapse = ThrowawaySynapse(workdir / "synapse", rc_message=None)
        started = time.monotonic()
        await synapse.start()
        rupn: Participant | None = None
        bot: InProcessBot | None = None
        try:
            rupn_account = await synapse.register("rupn", "rupn-pw")
            bot_account = await synapse.register("rupnbot", "bot-pw")
            # Setup is not measured: both accounts exempted (joins count as messages).
            await synapse.override_ratelimit(rupn_account.user_id, 0, 0)
            await synapse.override_ratelimit(bot_account.user_id, 0, 0)
            rupn = Participant(synapse.base_url, rupn_account, workdir / "clients")
            await rupn.start()
            control = await rupn.create_encrypted_room("Bot", invite=[bot_account.user_id])
            rooms = [
                await rupn.create_encrypted_room(f"Salle {i + 1:02d}", invite=[bot_account.user_id])
                for i in range(room_count)
            ]
            data_dir = workdir / "rupn-bot"
            for index, pace in enumerate(paces):
                if index:
                    # Let the bot's bucket empty again: at most `burst` actions to forget.
                    await asyncio.sleep(SERVER_BURST / SERVER_RATE + 2)
                bot = InProcessBot(
                    bot_config(synapse, bot_account, rupn.user_id, data_dir, pace, rooms)
                )
                await bot.start()
                if index == 0:
                    for room in [control, *rooms]:
                        await rupn.wait_joined(room, [bot_account.user_id], timeout=120)
                    await remove_override(synapse, bot_account.user_id)
                    print(
                        f"rupn-bot fan-out benchmark — {room_count} encrypted diffusion rooms, "
                        f"Synapse's default rc_message ({SERVER_RATE:g} msg/s, burst "
                        f"{SERVER_BURST}) for the bot; RUPN exempted; setup "
                        f"{time.monotonic() - started:.1f} s\n"
                    )
                    # The bot's joins were exempt; give its sync a moment to settle.
                    await asyncio.sleep(2)
                result = await announce(rupn, bot, control, rooms, index + 1, pace)
                print_result(result)
                await bot.stop()
                bot = None
            print(f"Total time {time.monotonic() - started:.1f} s")
        finally:
            await stop_quietly(bot.stop if bot else None, rupn.stop if rupn else None, synapse.stop)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="!annonce fan-out vs Synapse's rate limits.")
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument(
        "--paces",
        type=float,
        nargs="+",
        default=[1.0, 50.0],
        help="bot.max_sends_per_second of each run (one announcement per run)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("nio.crypto").setLevel(logging.ERROR)
    asyncio.run(main_async(args.rooms, args.paces))


if __name__ == "__main__":
    main()
