"""A job's round over every school puts their posts in round-robin order once, at its end.

Interleaving the schools rewrites every pending post of the jobs; done at each school's
queue, an académie's Friday letters (1,000 schools, 3,000 letters pending) cost the square
of its schools. The order the sender sees at the end of the round is the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import Repositories, Settings
from bot.router import JobSpec
from bot.scheduler import _logged
from bot.schools import School
from bot.storage.database import Database
from bot.storage.digests import LETTER_KIND
from bot.work import Units
from tests.unit.fakes import START, FakeBotInfo

SCHOOLS = [
    School(f"086000{n}X", f"Collège {n}", frozenset({f"@rupn{n}:ac.example"}), "B")
    for n in range(4)
]
ROOMS_PER_SCHOOL = 2


def _rooms(school: School) -> list[str]:
    return [f"!{school.key}-{r}:ac.example" for r in range(ROOMS_PER_SCHOOL)]


async def _letters(units: Units) -> None:
    async with units.unit() as scope:
        for room in _rooms(units.settings.school):
            scope.messenger.send(room, "📬 La lettre numérique", kind=LETTER_KIND)


async def test_the_schools_letters_are_interleaved_once_per_round(db: Database) -> None:
    interleavings: list[str] = []
    execute = db.execute

    async def counted(sql: str, params: Sequence[Any] = ()) -> Any:
        if sql.startswith("WITH jobs AS"):
            interleavings.append(sql)
        return await execute(sql, params)

    db.execute = counted  # type: ignore[method-assign]
    settings = Settings(admins=frozenset(), tz=ZoneInfo("Europe/Paris"))
    units = Units(
        db, Repositories.open(db), settings, FakeBotInfo(), lambda: START, lambda: None,
        schools=SCHOOLS,
    )  # fmt: skip
    await _logged(JobSpec("lettre-hebdo", _letters, lambda s: 30.0), units)()
    assert len(interleavings) == 1
    rows = await db.fetchall(
        "SELECT school, room_id FROM posts WHERE status = 'pending' ORDER BY priority, turn, id"
    )
    expected = [_rooms(s)[r] for r in range(ROOMS_PER_SCHOOL) for s in SCHOOLS]
    assert [row["room_id"] for row in rows] == expected
