"""The real bot with its clock shifted, for tests and the demo:
`python -m devtools.clocked_bot --config bot.toml --offset-seconds 86400`.

Everything is the production bot (`bot.app.run_bot`) but the clock it is given:
`system_clock() + offset`, so a restart with the same offset continues the same
shifted time. Used to put the bot on a school Friday at the letter's hour
whatever day the tests run.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from bot.app import run_bot
from bot.clock import system_clock
from bot.config import load_config
from bot.logging_setup import add_secret, configure_logging


def shifted_clock(offset_s: float) -> datetime:
    return system_clock() + timedelta(seconds=offset_s)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devtools.clocked_bot")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--offset-seconds", type=float, required=True)
    args = parser.parse_args(argv)
    config = load_config(args.config)
    configure_logging("INFO")
    password = config.password_value()
    if password is not None:
        add_secret(password)
    offset = float(args.offset_seconds)
    logging.getLogger(__name__).info("Clock shifted by %.0f s", offset)
    return run_bot(config, clock=lambda: shifted_clock(offset))


if __name__ == "__main__":
    raise SystemExit(main())
