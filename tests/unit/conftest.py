"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.database import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A freshly migrated database in a temporary directory."""
    database = await Database.open(tmp_path / "rupn-bot.db")
    try:
        yield database
    finally:
        await database.close()
