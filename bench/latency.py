"""Command → reply latency of `!aide`: rupn-bot against a raw nio echo bot.

One throwaway Synapse, one teacher (a real nio client with encryption), two
encrypted rooms: one with rupn-bot (run in-process with `bot.app.run_app`),
one with `bench.echo_bot.EchoBot`. The teacher sends `!aide` and waits for
the reply in turn in each room (interleaved, so that both see the same
machine); the round trip is measured on the teacher's clock, from just
before the send to the moment the teacher's sync delivers the reply.

Both bots are instrumented from the outside (nothing in `bot/` is changed)
to split each round trip into milestones: when the bot's /sync returned
the command, when it started sending the reply, when the send returned.

    python -m bench.latency [--rounds 30] [--warmup 3] [--paced-rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nio

from bench.echo_bot import EchoBot
from bench.shutdown import stop_quietly
from bot.app import RunningBot, run_app
from bot.config import Config, parse_config
from bot.domain import IncomingMessage, SyncBatch
from bot.storage.posts import OutgoingPost
from devtools.participant import Participant
from devtools.synapse import Account, ThrowawaySynapse

GOAL_RATIO = 1.10
COMMAND = "!aide"
REPLY_TIMEOUT_S = 30.0


@dataclass
class Milestones:
    """perf_counter times, within one round, of what the bot did (None: not seen)."""

    decrypted: float | None = None
    synced: float | None = None
    queued: float | None = None
    send_started: float | None = None
    send_done: float | None = None


@dataclass
class Round:
    """One round trip, times in seconds relative to the teacher's send."""

    total: float
    teacher_send: float
    bot_decrypted: float | None
    bot_synced: float | None
    bot_queued: float | None
    bot_send_started: float | None
    bot_send_done: float | None
    bot_was_polling: bool


@dataclass
class Series:
    name: str
    rounds: list[Round] = field(default_factory=list)

    def totals(self) -> list[float]:
        return [r.total for r in self.rounds]


class InProcessRupnBot:
    """rupn-bot in this event loop, through `run_app`, with timing hooks on its adapter."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.milestones = Milestones()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._polling = False

    async def start(self) -> None:
        ready = asyncio.Event()

        def on_ready(running: RunningBot) -> None:
            self._instrument(running)
            ready.set()

        self._stop = asyncio.Event()
        self._task = asyncio.create_task(run_app(self.config, self._stop, on_ready=on_ready))
        waiter = asyncio.ensure_future(ready.wait())
        await asyncio.wait({self._task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.is_set():
            waiter.cancel()
            await self._task  # raises what stopped the bot
            raise RuntimeError("rupn-bot stopped before it was ready")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    def reset(self) -> None:
        self.milestones = Milestones()

    def polling(self) -> bool:
        """Is the bot waiting in a /sync long poll right now?"""
        return self._polling

    def _instrument(self, running: RunningBot) -> None:
        adapter = running.adapter
        sync: Callable[..., Awaitable[SyncBatch]] = adapter.sync
        send_event: Callable[..., Awaitable[str]] = adapter.send_event
        # The sender and the processor share one PostsRepository.
        posts = getattr(running.sender, "_posts")  # noqa: B009 - bench instrumentation
        queue: Callable[..., Awaitable[None]] = posts.queue

        async def on_text(room: nio.MatrixRoom, event: nio.RoomMessageText) -> None:
            # Where the echo bot's callback runs: nio has just decrypted the event.
            if self.milestones.decrypted is None and event.body == COMMAND:
                self.milestones.decrypted = time.perf_counter()

        async def timed_queue(outgoing: Sequence[OutgoingPost], now: Any) -> None:
            await queue(outgoing, now)
            if outgoing and self.milestones.queued is None:
                self.milestones.queued = time.perf_counter()

        async def timed_sync(*args: Any, **kwargs: Any) -> SyncBatch:
            self._polling = True
            try:
                batch = await sync(*args, **kwargs)
            finally:
                self._polling = False
            if self.milestones.synced is None and any(
                isinstance(e, IncomingMessage) and e.body == COMMAND for e in batch.events
            ):
                self.milestones.synced = time.perf_counter()
            return batch

        async def timed_send_event(*args: Any, **kwargs: Any) -> str:
            if self.milestones.send_started is None:
                self.milestones.send_started = time.perf_counter()
            event_id = await send_event(*args, **kwargs)
            if self.milestones.send_done is None:
                self.milestones.send_done = time.perf_counter()
            return event_id

        # Instance attributes shadow the methods: the sync loop and the sender look them up
        # at each call. Only this benchmark's timing is added; the bot's code is unchanged.
        setattr(adapter, "sync", timed_sync)  # noqa: B010
        setattr(adapter, "send_event", timed_send_event)  # noqa: B010
        setattr(posts, "queue", timed_queue)  # noqa: B010
        getattr(adapter, "_client").add_event_callback(on_text, nio.RoomMessageText)  # noqa: B009


def rupn_config(
    synapse: ThrowawaySynapse, bot: Account, admin: str, data_dir: Path, rate: float
) -> Config:
    return parse_config(
        {
            "matrix": {
                "homeserver": synapse.base_url,
                "user_id": bot.user_id,
                "password": bot.password,
                "device_name": "rupn-bot bench",
            },
            "storage": {"data_dir": str(data_dir)},
            "bot": {"admins": [admin], "timezone": "Europe/Paris", "max_sends_per_second": rate},
        },
        base_dir=data_dir,
        environ={},
    )


async def round_trip(
    teacher: Participant,
    room_id: str,
    bot_user: str,
    milestones: Callable[[], Milestones],
    polling: Callable[[], bool],
) -> Round:
    after = teacher.mark()
    was_polling = polling()
    t0 = time.perf_counter()
    event_id = await teacher.send_text(room_id, COMMAND)
    t_sent = time.perf_counter()
    await teacher.wait_for(
        lambda m: m.room_id == room_id and m.sender == bot_user and m.in_reply_to == event_id,
        REPLY_TIMEOUT_S,
        after=after,
    )
    t_seen = time.perf_counter()
    m = milestones()

    def rel(t: float | None) -> float | None:
        return None if t is None else t - t0

    return Round(
        total=t_seen - t0,
        teacher_send=t_sent - t0,
        bot_decrypted=rel(m.decrypted),
        bot_synced=rel(m.synced),
        bot_queued=rel(m.queued),
        bot_send_started=rel(m.send_started),
        bot_send_done=rel(m.send_done),
        bot_was_polling=was_polling,
    )


def echo_milestones(echo: EchoBot) -> Milestones:
    return Milestones(
        decrypted=echo.seen_at, send_started=echo.send_started_at, send_done=echo.send_done_at
    )


def reset_echo(echo: EchoBot) -> None:
    echo.seen_at = echo.send_started_at = echo.send_done_at = None


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f}"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def _median_of(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def print_series(series: Series) -> None:
    totals = series.totals()
    print(
        f"  {series.name}: n={len(totals)}  median {_ms(statistics.median(totals))} ms"
        f"  p90 {_ms(percentile(totals, 90))} ms  min {_ms(min(totals))} ms"
        f"  max {_ms(max(totals))} ms"
    )


STEPS: tuple[tuple[str, str], ...] = (
    ("bot_decrypted", "bot's nio client decrypted the command"),
    ("bot_synced", "bot's adapter.sync returned (keys, conversion)"),
    ("bot_queued", "reply queued in the processor's transaction"),
    ("bot_send_started", "bot started sending the reply"),
    ("bot_send_done", "bot's send returned (encrypt + PUT)"),
    ("total", "teacher's sync delivered the reply"),
)


def _steps(r: Round) -> list[tuple[str, float | None]]:
    return [(label, getattr(r, name)) for name, label in STEPS]


def _print_steps(steps: Sequence[tuple[str, float | None]], teacher_send: float) -> None:
    print(f"    {'teacher send returned (encrypt + PUT)':<48}{_ms(teacher_send)}")
    previous = 0.0
    for label, value in steps:
        if value is None:
            continue
        print(f"    {label:<48}{_ms(value)}   (+{_ms(value - previous).strip()})")
        previous = value


def print_milestones(series: Series) -> None:
    """Median time (ms after the teacher's send) at which each step was reached."""
    rounds = series.rounds
    medians = [(label, _median_of([getattr(r, name) for r in rounds])) for name, label in STEPS]
    print(f"  {series.name} — median milestones, ms after the teacher starts sending:")
    _print_steps(medians, statistics.median(r.teacher_send for r in rounds))
    slowest = max(rounds, key=lambda r: r.total)
    print("    slowest round:")
    _print_steps(_steps(slowest), slowest.teacher_send)
    if any(r.bot_synced is not None for r in rounds):
        polled = sum(r.bot_was_polling for r in rounds)
        print(
            f"    bot already in its /sync long poll when the command was sent:"
            f" {polled}/{len(rounds)} rounds"
        )


async def measure(
    teacher: Participant,
    targets: Sequence[
        tuple[Series, str, str, Callable[[], Milestones], Callable[[], None], Callable[[], bool]]
    ],
    rounds: int,
    warmup: int,
) -> None:
    """Interleave the targets' round trips: warm-up first, then `rounds` measured ones."""
    for index in range(warmup + rounds):
        # Alternate who goes first, so that neither always follows the other.
        ordered = targets if index % 2 == 0 else list(reversed(targets))
        for series, room_id, bot_user, milestones, reset, polling in ordered:
            reset()
            result = await round_trip(teacher, room_id, bot_user, milestones, polling)
            if index >= warmup:
                series.rounds.append(result)
            # Let the bots go back to their long poll, as between two human messages.
            await asyncio.sleep(0.05)


async def main_async(rounds: int, warmup: int, paced_rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="rupn-latency-") as tmp:
        workdir = Path(tmp)
        synapse = ThrowawaySynapse(workdir / "synapse")
        started = time.monotonic()
        await synapse.start()
        teacher: Participant | None = None
        echo: EchoBot | None = None
        bot: InProcessRupnBot | None = None
        try:
            teacher_account = await synapse.register("prof", "prof-pw")
            bot_account = await synapse.register("rupnbot", "bot-pw")
            echo_account = await synapse.register("echobot", "echo-pw")
            teacher = Participant(synapse.base_url, teacher_account, workdir / "clients")
            await teacher.start()
            echo = EchoBot(
                synapse.base_url,
                echo_account.user_id,
                echo_account.password,
                workdir / "echo-store",
            )
            await echo.start()
            echo_room = await teacher.create_encrypted_room("Écho", invite=[echo.user_id])
            rupn_room = await teacher.create_encrypted_room(
                "Salle des professeurs", invite=[bot_account.user_id]
            )
            # The teacher is the configured admin, so that the bot accepts the invitation.
            data_dir = workdir / "rupn-bot"
            bot = InProcessRupnBot(
                rupn_config(synapse, bot_account, teacher.user_id, data_dir, rate=50.0)
            )
            await bot.start()
            await teacher.wait_joined(echo_room, [echo.user_id])
            await teacher.wait_joined(rupn_room, [bot_account.user_id])
            setup_s = time.monotonic() - started
            print(
                f"rupn-bot latency benchmark — command {COMMAND!r} → reply, "
                f"encrypted rooms, teacher's clock; {warmup} warm-up + {rounds} rounds each, "
                f"interleaved (setup {setup_s:.1f} s)\n"
            )

            rupn = Series("rupn-bot (max_sends_per_second = 50)")
            raw = Series("raw nio echo bot")
            the_echo = echo
            the_bot = bot
            await measure(
                teacher,
                [
                    (
                        rupn,
                        rupn_room,
                        bot_account.user_id,
                        lambda: the_bot.milestones,
                        the_bot.reset,
                        the_bot.polling,
                    ),
                    (
                        raw,
                        echo_room,
                        echo.user_id,
                        lambda: echo_milestones(the_echo),
                        lambda: reset_echo(the_echo),
                        lambda: True,
                    ),
                ],
                rounds,
                warmup,
            )
            print_series(rupn)
            print_series(raw)
            ratio = statistics.median(rupn.totals()) / statistics.median(raw.totals())
            p90_ratio = percentile(rupn.totals(), 90) / percentile(raw.totals(), 90)
            verdict = "met" if ratio <= GOAL_RATIO else "NOT met"
            print(
                f"  ratio rupn-bot / echo: median {ratio:.2f}, p90 {p90_ratio:.2f}"
                f" — goal ≤ {GOAL_RATIO:.2f} (median): {verdict}\n"
            )
            print_milestones(rupn)
            print_milestones(raw)
            print()

            await bot.stop()
            bot = InProcessRupnBot(
                rupn_config(synapse, bot_account, teacher.user_id, data_dir, rate=1.0)
            )
            await bot.start()
            paced = Series("rupn-bot (max_sends_per_second = 1.0, the default)")
            paced_bot = bot
            await measure(
                teacher,
                [
                    (
                        paced,
                        rupn_room,
                        bot_account.user_id,
                        lambda: paced_bot.milestones,
                        paced_bot.reset,
                        paced_bot.polling,
                    )
                ],
                paced_rounds,
                1,
            )
            print("For information, with the default pacing:")
            print_series(paced)
            print_milestones(paced)
            print(f"\nTotal time {time.monotonic() - started:.1f} s")
        finally:
            await stop_quietly(
                bot.stop if bot else None,
                echo.stop if echo else None,
                teacher.stop if teacher else None,
                synapse.stop,
            )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="!aide round-trip latency, rupn-bot vs raw nio.")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--paced-rounds", type=int, default=10)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # "Missing session for device …" while the first Megolm sessions are shared (warm-up).
    logging.getLogger("nio.crypto").setLevel(logging.ERROR)
    asyncio.run(main_async(args.rounds, args.warmup, args.paced_rounds))


if __name__ == "__main__":
    main()
