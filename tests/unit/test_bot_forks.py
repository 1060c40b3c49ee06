"""A bot forked by devtools/bot_forks.py is the same program as `python -m bot`."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devtools.bot_forks import BotForkServer


@pytest.fixture
async def server() -> AsyncIterator[BotForkServer]:
    forks = BotForkServer()
    await forks.start()
    yield forks
    await forks.stop()


async def python_m_bot(argv: list[str], log: Path) -> int:
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *argv, stdout=out, stderr=out
        )
        return await process.wait()


@pytest.mark.parametrize(
    ("argv", "code"),
    [(["--version"], 0), (["run", "--config", "introuvable.toml"], 2)],
    ids=["version", "missing-config"],
)
async def test_a_forked_bot_answers_and_ends_as_python_m_bot(
    server: BotForkServer, tmp_path: Path, argv: list[str], code: int
) -> None:
    forked_log, spawned_log = tmp_path / "forked.log", tmp_path / "spawned.log"
    bot = await server.spawn("bot", argv, dict(os.environ), str(forked_log))
    assert await asyncio.wait_for(bot.wait(), 30) == code
    assert bot.returncode == code
    assert await python_m_bot(argv, spawned_log) == code
    assert forked_log.read_text(encoding="utf-8") == spawned_log.read_text(encoding="utf-8")


async def test_each_fork_is_its_own_process_with_its_own_arguments(
    server: BotForkServer, tmp_path: Path
) -> None:
    logs = [tmp_path / f"bot{i}.log" for i in range(2)]
    bots = [
        await server.spawn(
            "bot", ["run", "--config", f"absent{i}.toml"], dict(os.environ), str(log)
        )
        for i, log in enumerate(logs)
    ]
    assert len({bot.pid for bot in bots}) == 2
    assert [await asyncio.wait_for(bot.wait(), 30) for bot in bots] == [2, 2]
    for i, log in enumerate(logs):
        assert f"Fichier de configuration introuvable : absent{i}.toml" in log.read_text("utf-8")
