"""The jobs' posts go round-robin between schools, and queuing one writes its own rows only.

Interleaving the schools by renumbering every pending post of the jobs made each queue
cost the whole queue: an académie's feed read, offering to 1,000 schools one after the
other, wrote half a million rows. Each post now takes its round in its school's queue
when it is queued, and the sender takes the jobs' posts round by round.
"""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

from bot.context import Repositories, Settings
from bot.messenger import Outbox
from bot.router import JobSpec
from bot.scheduler import _logged
from bot.schools import School
from bot.storage.database import Database
from bot.storage.digests import LETTER_KIND
from bot.storage.posts import PostsRepository
from bot.work import Units
from tests.unit.fakes import START, FakeBotInfo

SCHOOLS = [
    School(f"086000{n}X", f"Collège {n}", frozenset({f"@rupn{n}:ac.example"}), "B")
    for n in range(4)
]
ROOMS_PER_SCHOOL = 2
RUPN = "@rupn3:ac.example"


def _rooms(school: School) -> list[str]:
    return [f"!{school.key}-{r}:ac.example" for r in range(ROOMS_PER_SCHOOL)]


async def _letters(units: Units) -> None:
    async with units.unit() as scope:
        for room in _rooms(units.settings.school):
            scope.messenger.send(room, "📬 La lettre numérique", kind=LETTER_KIND)


def _units(db: Database, schools: list[School]) -> Units:
    settings = Settings(admins=frozenset(), tz=ZoneInfo("Europe/Paris"))
    return Units(
        db, Repositories.open(db), settings, FakeBotInfo(), lambda: START, lambda: None,
        schools=schools,
    )  # fmt: skip


async def _send_all(db: Database, posts: PostsRepository) -> list[str]:
    """The rooms, in the order the sender takes the posts."""
    rooms = []
    async with db.transaction():
        while (post := await posts.next_pending()) is not None:
            rooms.append(post.room_id)
            await posts.mark_sent(post.id, f"$sent{post.id}", START)
    return rooms


async def test_a_job_rounds_letters_go_round_robin_between_schools(db: Database) -> None:
    await _logged(JobSpec("lettre-hebdo", _letters, lambda s: 30.0), _units(db, SCHOOLS))()
    expected = [_rooms(s)[r] for r in range(ROOMS_PER_SCHOOL) for s in SCHOOLS]
    assert await _send_all(db, PostsRepository(db)) == expected


async def test_a_rupns_post_waits_for_one_job_post_not_for_the_round(db: Database) -> None:
    """The jobs take one turn between requesters, whichever school's post fills it."""
    await _logged(JobSpec("lettre-hebdo", _letters, lambda s: 30.0), _units(db, SCHOOLS))()
    posts = PostsRepository(db)
    async with db.transaction():
        for _ in range(3):  # three letters went: 0860000X-0, 0860001X-0, 0860002X-0
            post = await posts.next_pending()
            assert post is not None
            await posts.mark_sent(post.id, f"$sent{post.id}", START)
        outbox = Outbox()
        outbox.send("!staff:ac.example", "Réunion ENT à 17h", kind="announcement")
        await posts.queue([replace(p, requester=RUPN) for p in outbox.drain()], START)
    rooms = await _send_all(db, posts)
    assert rooms[:2] == [_rooms(SCHOOLS[3])[0], "!staff:ac.example"]
    assert rooms[2:] == [_rooms(s)[1] for s in SCHOOLS]


async def test_each_queue_writes_its_own_rows_whatever_the_path(db: Database) -> None:
    """1,000 schools queue a post each outside any job round (the académie's feed read
    offers an entry to each school in turn): 1,000 rows written, not one per pending
    post at each queue."""
    schools = [School(f"{n:07d}X", f"Collège {n}", frozenset(), "A") for n in range(1_000)]
    units = _units(db, schools)
    before = await db.fetchone("SELECT total_changes() AS n")
    for scoped in units.each_school():
        async with scoped.unit() as scope:
            scope.messenger.send(f"!{scope.school.key}:ac.example", "Proposition", kind="news")
    after = await db.fetchone("SELECT total_changes() AS n")
    assert before is not None and after is not None
    assert after["n"] - before["n"] == 1_000
    rooms = await _send_all(db, PostsRepository(db))
    assert rooms == [f"!{s.key}:ac.example" for s in schools]
