"""Fixtures shared by the unit tests."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.database import Database


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated once per test process: running every migration for each test
    cost about 50 ms, a copy of the result costs a few."""
    path = tmp_path_factory.mktemp("template") / "rupn-bot.db"

    async def migrate() -> None:
        await (await Database.open(path)).close()

    asyncio.run(migrate())
    return path


@pytest.fixture
async def db(tmp_path: Path, migrated_template: Path) -> AsyncIterator[Database]:
    """A freshly migrated database in a temporary directory (a copy of the template;
    opening it checks the schema version like any start does)."""
    path = tmp_path / "rupn-bot.db"
    shutil.copyfile(migrated_template, path)
    database = await Database.open(path)
    try:
        yield database
    finally:
        await database.close()
