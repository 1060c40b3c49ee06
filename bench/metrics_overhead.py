"""What /metrics costs the dispatch path: bench/dispatch.py's mixes, metrics off and on.

The same batches go through the real processor with `[metrics]` off (NO_METRICS, the
default) and on (the Prometheus counters of bot/metrics/registry.py), interleaved run by
run (each first every other run) so that a busy machine slows both alike. On a shared
machine those medians move by ±15 % from one run to the next, more than counting can
cost; the verdict is therefore on the cost of one count, timed alone, against the time
the processor takes to handle one command.

    python -m bench.metrics_overhead [--runs 9] [--batch-size 50]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from collections.abc import Callable, Sequence

from bench.dispatch import MIXES, fixed_clock, make_batches, run_once
from bot.metrics import NO_METRICS, OK, SchoolMetrics
from bot.metrics.registry import Registry
from bot.schools import IMPLICIT_KEY, School
from bot.storage.posts import Post

GOAL_SHARE = 0.01
"""Counting a command must cost under 1 % of handling it."""
SCHOOL = School(IMPLICIT_KEY, "", frozenset(), None)
POST = Post(1, "!r", "send", "m.room.message", {}, "reply", "t", "pending", None, 0, None, None,
            None, None)  # fmt: skip


def _per_call_us(call: Callable[[], None], number: int = 200_000) -> float:
    started = time.perf_counter()
    for _ in range(number):
        call()
    return (time.perf_counter() - started) / number * 1e6


async def _medians(runs: int, batch_size: int) -> dict[str, tuple[float, float]]:
    medians: dict[str, tuple[float, float]] = {}
    for mix in MIXES:
        batches = make_batches(mix, batch_size)
        rates: dict[bool, list[float]] = {False: [], True: []}
        for run in range(runs):
            for metrics_on in (run % 2 == 0, run % 2 == 1):
                metrics: SchoolMetrics = (
                    Registry(fixed_clock).school(SCHOOL) if metrics_on else NO_METRICS
                )
                rates[metrics_on].append((await run_once(batches, metrics=metrics)).rate)
        medians[mix.name] = (statistics.median(rates[False]), statistics.median(rates[True]))
    return medians


async def main_async(runs: int, batch_size: int) -> None:
    print(f"Dispatch with metrics off and on, median of {runs} interleaved runs:")
    medians = await _medians(runs, batch_size)
    for name, (off, on) in medians.items():
        print(f"  {name:<14} off {off:>8,.0f} events/s, on {on:>8,.0f} events/s: {on / off:.3f}×")
    recorder = Registry(fixed_clock).school(SCHOOL)
    costs = {
        "a command counted, metrics off": _per_call_us(lambda: NO_METRICS.command("aide", OK)),
        "a command counted, metrics on": _per_call_us(lambda: recorder.command("aide", OK)),
        "a post counted sent, metrics on": _per_call_us(lambda: recorder.post_sent(POST)),
    }
    print("\nCost of one count (µs per call):")
    for label, micros in costs.items():
        print(f"  {label:<34}{micros:>8.2f}")
    per_command_us = 1e6 / medians["commands only"][0]
    share = costs["a command counted, metrics on"] / per_command_us
    verdict = "met" if share < GOAL_SHARE else "NOT met"
    print(
        f"\nHandling a command takes {per_command_us:.0f} µs; counting it {share:.2%} of that "
        f"(goal < {GOAL_SHARE:.0%}: {verdict})"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="What /metrics costs the dispatch path.")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the flood limit's warnings, by the thousand
    asyncio.run(main_async(args.runs, args.batch_size))


if __name__ == "__main__":
    main()
