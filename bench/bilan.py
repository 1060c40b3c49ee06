"""The annual bilan over a synthetic school year: read in SQL, build, render three files.

A real, migrated SQLite database in a temporary directory is seeded in bulk (plain
`executemany` into the real tables) with the school year 2025-2026 of a busy RUPN:
200 rooms, 600 colleagues, 2,000 bot posts (announcements and news in ten rooms
each, the weekly letters, the polls), each with its engagement record, and
500,000 engagement rows in all (`post_stats`, `read_markers`, `post_reactions`,
`poll_responses`, `workshop_signups`); 60 ateliers, cafés, 40 polls, news feeds.
The database is closed and reopened (as after a restart), then the whole bilan is
timed at `NOW` (2 September 2026, the year over): `build_bilan` (every indicator in
SQL) and `render_bilan` (the summary, the HTML with its pygal charts, the CSV and
the Markdown). The first run is reported apart as cold; the goal (< 1 s) is judged
on it and on the median of the warm runs. Every run's files are checked: no
script, no external resource, no user id, the CSV contract, a ten-line summary.

    python -m bench.bilan [--runs 5] [--profile] [--sortie DIR]

`--sortie DIR` writes the three files there (`make bilan-apercu` prints the HTML
with headless Chromium).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.letter import (
    ANNOUNCEMENT_TITLES,
    ENTRY_TITLES,
    FEEDS,
    SEEDING_PRAGMAS,
    WORKSHOP_THEMES,
    Ids,
    profile_report,
    room_ids,
)
from bot.school_year import SchoolYear
from bot.storage.bilan import BilanRepository
from bot.storage.database import Database, stored
from digests.bilan.build import build_bilan
from digests.bilan.model import INDICATORS, Bilan
from digests.bilan.render import RenderedBilan, render_bilan
from digests.send import week_ref

GOAL_S = 1.0
PARIS = ZoneInfo("Europe/Paris")
YEAR = SchoolYear(2025)
NOW = datetime(2026, 9, 2, 9, 0, tzinfo=PARIS)  # the year is over
SERVER = "agent.education.tchap.gouv.fr"
RUPN = f"@marie.lefebvre-ac-rennes.fr:{SERVER}"

ROOMS = 200
PEOPLE = 600
POSTS = 2_000
ENGAGEMENT_ROWS = 500_000
ANNOUNCEMENTS = 120
NEWS = 40
ROOMS_PER_ANNOUNCEMENT = 10
LETTER_WEEKS = 36
LETTER_ROOMS = 10
POLLS = 40
NEEDS_POLLS = 8
OPEN_POLLS = 6
ATELIERS = 60
CAFES = 12
ROOMS_PER_PERSON = 30
REACTION_KEYS = ("👍", "👍", "👍", "❤️", "🎉", "👏", "🙏", "😂", "👀", "✅")
NEEDS_THEMES = (
    "Écrans numériques interactifs",
    "Tablettes",
    "Pronote",
    "ENT",
    "Moodle",
    "Apps Éducation",
    "La Digitale",
    "Pix et Pix Orga",
    "Capytale",
    "IA en classe",
)
FEEDBACK = ("Oui, très", "Un peu", "Pas vraiment")
USER_ID = re.compile(r"@[A-Za-z0-9._=\-/+]+:[A-Za-z0-9.\-]+")


def _within(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + timedelta(seconds=rng.uniform(60, (end - start).total_seconds() - 60))


def _school_day(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A weekday between start and end, at a random time of the school day (Paris)."""
    while True:
        moment = _within(rng, start, end).astimezone(PARIS)
        if moment.weekday() < 5 and moment.month not in (7, 8):
            return moment.replace(hour=rng.randint(7, 18), minute=rng.choice((0, 15, 30, 45)))


@dataclass
class Seed:
    """The rows to insert, table by table (in this order: foreign keys)."""

    feeds: list[tuple[Any, ...]] = field(default_factory=list)
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    announcements: list[tuple[Any, ...]] = field(default_factory=list)
    polls: list[tuple[Any, ...]] = field(default_factory=list)
    responses: list[tuple[Any, ...]] = field(default_factory=list)
    workshops: list[tuple[Any, ...]] = field(default_factory=list)
    signups: list[tuple[Any, ...]] = field(default_factory=list)
    posts: list[tuple[Any, ...]] = field(default_factory=list)
    stats: list[tuple[Any, ...]] = field(default_factory=list)
    markers: list[tuple[Any, ...]] = field(default_factory=list)
    reactions: list[tuple[Any, ...]] = field(default_factory=list)
    weeks: list[tuple[Any, ...]] = field(default_factory=list)
    members: dict[str, int] = field(default_factory=dict)

    def post(
        self,
        ids: Ids,
        rng: random.Random,
        room: str,
        kind: str,
        ref: tuple[str, int],
        at: datetime,
        *,
        author_member: int = 0,
    ) -> None:
        post_id = len(self.posts) + 1
        content = json.dumps({"msgtype": "m.notice", "body": kind}, ensure_ascii=False)
        event_type = "org.matrix.msc3381.poll.start" if kind == "poll-start" else "m.room.message"
        when = stored(at)
        self.posts.append(
            (post_id, room, event_type, content, kind, *ref, ids.txn(), ids.event(), when, when)
        )
        members = self.members[room]
        readers = rng.randint(0, members - author_member)
        self.stats.append((post_id, room, kind, *ref, when, members, author_member, readers))


def seed_news(seed: Seed, rng: random.Random) -> list[int]:
    """Feeds and their entries; the ids of the published ones (announcements follow)."""
    start, end = YEAR.start(PARIS), YEAR.end(PARIS)
    entry_ids = itertools.count(1)
    published: list[int] = []
    for feed_id, (name, url) in enumerate(FEEDS, start=1):
        seed.feeds.append((feed_id, name, url, "[]", "[]", 0, "config", stored(start)))
        for _ in range(400):
            entry_id = next(entry_ids)
            status = rng.choice(("filtered", "filtered", "seen", "proposed", "ignored", "ignored"))
            if len(published) < NEWS and rng.random() < 0.03:
                status = "published"
                published.append(entry_id)
            at = stored(_within(rng, start, end))
            title = rng.choice(ENTRY_TITLES)
            seed.entries.append(
                (entry_id, feed_id, f"urn:{entry_id}", title, f"{url}#{entry_id}", at,
                 f"<p>{title}</p>", title, status, at)
            )  # fmt: skip
    return published


def seed_announcements(
    seed: Seed, ids: Ids, rng: random.Random, rooms: Sequence[str], news: Sequence[int]
) -> None:
    """The RUPN's announcements and the published news, each posted in ten rooms."""
    start, end = YEAR.start(PARIS), YEAR.end(PARIS)
    sources: list[int | None] = [None] * ANNOUNCEMENTS + list(news)
    for announcement_id, entry_id in enumerate(sources, start=1):
        at = _school_day(rng, start, end)
        title = rng.choice(ANNOUNCEMENT_TITLES).format(day="lundi", hour="17h", room="12")
        seed.announcements.append(
            (announcement_id, RUPN, title, json.dumps(rooms[:10]), "sent", stored(at),
             stored(at), entry_id, 1)
        )  # fmt: skip
        for room in rng.sample(list(rooms), ROOMS_PER_ANNOUNCEMENT):
            ref = ("announcement", announcement_id)
            seed.post(ids, rng, room, "announcement", ref, at, author_member=rng.randint(0, 1))


def seed_letters(seed: Seed, ids: Ids, rng: random.Random, rooms: Sequence[str]) -> None:
    """A weekly letter every Friday of the school weeks, in ten rooms."""
    start = YEAR.start(PARIS)
    friday = start + timedelta(days=(4 - start.weekday()) % 7, hours=16, minutes=30)
    for week in range(LETTER_WEEKS):
        at = friday + timedelta(weeks=week)
        iso = f"{at.isocalendar().year}-W{at.isocalendar().week:02d}"
        seed.weeks.append((iso, "sent", stored(at), LETTER_ROOMS))
        for room in rooms[:LETTER_ROOMS]:
            seed.post(ids, rng, room, "digest", ("digest", week_ref(iso)), at)


def seed_polls(
    seed: Seed, ids: Ids, rng: random.Random, rooms: Sequence[str], people: Sequence[str]
) -> None:
    """Polls (needs polls first): closed ones keep frozen results, open ones responses."""
    start, end = YEAR.start(PARIS), YEAR.end(PARIS)
    response_ids = itertools.count(1)
    for poll_id in range(1, POLLS + 1):
        room = rng.choice(rooms[:40])
        at = _school_day(rng, start, end)
        needs = poll_id <= NEEDS_POLLS
        texts = NEEDS_THEMES if needs else ("Oui", "Non", "Sans avis")
        answers = [{"id": f"a{n}", "text": t} for n, t in enumerate(texts, start=1)]
        is_open = poll_id > POLLS - OPEN_POLLS
        max_selections = len(answers) if needs else 1
        counts = dict.fromkeys((a["id"] for a in answers), 0)
        for voter in rng.sample(list(people), 300):
            picked = rng.sample(list(counts), rng.randint(1, min(3, max_selections)))
            for answer in picked:
                counts[answer] += 1
            sent = stored(at + timedelta(minutes=rng.randint(1, 5000)))
            seed.responses.append(
                (next(response_ids), poll_id, voter, ids.event(), json.dumps(picked), sent, sent)
            )
        record = {"counts": counts, "voters": 300, "spoiled": 0, "members": 400}
        seed.polls.append(
            (poll_id, room, RUPN, "Sur quels thèmes ?" if needs else "Reconduire le prêt ?",
             json.dumps(answers, ensure_ascii=False), max_selections, 0,
             "besoins" if needs else None, "open" if is_open else "closed", stored(at),
             None if is_open else json.dumps(record))
        )  # fmt: skip
        seed.post(ids, rng, room, "poll-start", ("poll", poll_id), at)


def _feedback_poll(seed: Seed, rng: random.Random, poll_id: int, room: str, at: datetime) -> None:
    votes = [rng.randint(3, 10), rng.randint(0, 5), rng.randint(0, 2)]
    answers = [{"id": f"f{n}", "text": t} for n, t in enumerate(FEEDBACK, start=1)]
    record = {
        "counts": {a["id"]: v for a, v in zip(answers, votes, strict=True)},
        "voters": sum(votes),
        "spoiled": 0,
        "members": 40,
    }
    seed.polls.append(
        (poll_id, room, RUPN, "Cet atelier vous a-t-il été utile ?",
         json.dumps(answers, ensure_ascii=False), 1, 1, "retour-atelier", "closed", stored(at),
         json.dumps(record))
    )  # fmt: skip


def seed_workshops(
    seed: Seed, rng: random.Random, rooms: Sequence[str], people: Sequence[str]
) -> None:
    """Ateliers then cafés: sign-ups, attendance, a satisfaction poll once done."""
    start, end = YEAR.start(PARIS), YEAR.end(PARIS)
    signup_ids = itertools.count(1)
    feedback_ids = itertools.count(POLLS + 1)
    for workshop_id in range(1, ATELIERS + CAFES + 1):
        cafe = workshop_id > ATELIERS
        starts = _school_day(rng, start, end).replace(
            hour=rng.choice((12, 12, 13, 17, 17, 10)), minute=rng.choice((0, 30))
        )
        minimum = rng.choice((None, None, 4, 6)) if not cafe else None
        cancelled = minimum is not None and rng.random() < 0.25
        status = "cancelled" if cancelled else ("done" if rng.random() < 0.8 else "planned")
        feedback_id: int | None = None
        if status == "done":
            feedback_id = next(feedback_ids)
            _feedback_poll(seed, rng, feedback_id, rooms[0], starts + timedelta(hours=2))
        seed.workshops.append(
            (workshop_id, "cafe" if cafe else "atelier", rng.choice(WORKSHOP_THEMES),
             stored(starts), minimum, RUPN, json.dumps(rooms[:10]), status,
             stored(starts - timedelta(days=10)), stored(starts), feedback_id)
        )  # fmt: skip
        signed = rng.sample(list(people), rng.randint(1, 3) if cancelled else rng.randint(4, 25))
        for person in signed:
            attended = (1 if rng.random() < 0.85 else 0) if status == "done" else None
            signed_up_at = stored(starts - timedelta(days=rng.randint(1, 9)))
            seed.signups.append(
                (next(signup_ids), workshop_id, person, "reaction", "confirmed", signed_up_at,
                 attended)
            )  # fmt: skip


def seed_engagement(seed: Seed, rng: random.Random, rooms: Sequence[str]) -> None:
    """Read markers (pseudonymous readers), then reactions up to `ENGAGEMENT_ROWS` in all."""
    for person in range(PEOPLE):
        key = f"{person:064x}"
        for room in rng.sample(list(rooms), ROOMS_PER_PERSON):
            seed.markers.append((room, key, rng.randint(1, POSTS), stored(NOW)))
    remaining = ENGAGEMENT_ROWS - sum(
        map(len, (seed.stats, seed.markers, seed.responses, seed.signups))
    )
    counted: set[tuple[int, str, str]] = set()
    for number in range(remaining):  # on every kind of post: only announcements count
        post = rng.randint(1, len(seed.posts))
        sent_at = seed.posts[post - 1][-1]
        key = rng.choice(REACTION_KEYS)
        reactor = f"{rng.randrange(PEOPLE):064x}"  # the same person's 👍 twice counts once
        first = (post, key, reactor) not in counted
        counted.add((post, key, reactor))
        seed.reactions.append((f"$reaction{number}", post, key, sent_at, reactor, int(first)))


def seed_year(rng: random.Random, rooms: Sequence[str]) -> Seed:
    seed = Seed(members={room: rng.randint(15, 60) for room in rooms})
    ids = Ids()
    people = [f"@collegue{i:03d}-ac-rennes.fr:{SERVER}" for i in range(PEOPLE)]
    news = seed_news(seed, rng)
    seed_announcements(seed, ids, rng, rooms, news)
    seed_letters(seed, ids, rng, rooms)
    seed_polls(seed, ids, rng, rooms, people)
    seed_workshops(seed, rng, rooms, people)
    seed_engagement(seed, rng, rooms)
    assert len(seed.posts) == POSTS, len(seed.posts)
    return seed


INSERTS: tuple[tuple[str, str], ...] = (
    (
        "feeds",
        "INSERT INTO feeds (id, name, url, include_words, exclude_words, auto_publish, origin,"
        " added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    (
        "entries",
        "INSERT INTO feed_entries (id, feed_id, entry_key, title, link, published, summary_html,"
        " summary_text, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    (
        "announcements",
        "INSERT INTO announcements (id, author, body, rooms, status, created_at, published_at,"
        " entry_id, confirmed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    (
        "polls",
        "INSERT INTO polls (id, room_id, creator, question, answers, max_selections, anonymous,"
        " template, status, created_at, final_results) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    (
        "responses",
        "INSERT INTO poll_responses (id, poll_id, voter, event_id, answers, sent_at, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
    ),
    (
        "workshops",
        "INSERT INTO workshops (id, kind, theme, starts_at, minimum, organiser, rooms, status,"
        " created_at, updated_at, feedback_poll_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    (
        "signups",
        "INSERT INTO workshop_signups (id, workshop_id, user_id, via, status, signed_up_at,"
        " attended) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ),
    (
        "posts",
        "INSERT INTO posts (id, room_id, action, event_type, content, kind, ref_type, ref_id,"
        " txn_id, status, event_id, attempts, created_at, sent_at)"
        " VALUES (?, ?, 'send', ?, ?, ?, ?, ?, ?, 'sent', ?, 1, ?, ?)",
    ),
    (
        "stats",
        "INSERT INTO post_stats (post_id, room_id, kind, ref_type, ref_id, sent_at, members,"
        " author_member, readers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    (
        "markers",
        "INSERT INTO read_markers (room_id, reader_key, post_id, updated_at) VALUES (?, ?, ?, ?)",
    ),
    (
        "reactions",
        "INSERT INTO post_reactions"
        " (event_id, post_id, reaction_key, reacted_at, reactor_key, counted)"
        " VALUES (?, ?, ?, ?, ?, ?)",
    ),
    (
        "weeks",
        "INSERT INTO digest_weeks (week, outcome, decided_at, rooms) VALUES (?, ?, ?, ?)",
    ),
)
ENGAGEMENT = ("stats", "markers", "reactions", "responses", "signups")


async def seed_database(path: Path, rng: random.Random) -> dict[str, int]:
    """The synthetic year in a new database at `path`; the rows inserted per table."""
    seed = seed_year(rng, room_ids(ROOMS, rng))
    db = await Database.open(path)
    try:
        for pragma in SEEDING_PRAGMAS:  # not measured: no WAL nor fsync while filling
            await db.fetchall(pragma)
        async with db.transaction():
            for attribute, sql in INSERTS:
                await db.executemany(sql, getattr(seed, attribute))
    finally:
        await db.close()
    return {attribute: len(getattr(seed, attribute)) for attribute, _ in INSERTS}


# --- the pipeline ----------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    build_s: float
    render_s: float
    bilan: Bilan
    rendered: RenderedBilan

    @property
    def total_s(self) -> float:
        return self.build_s + self.render_s


async def run_bilan(db: Database) -> RunResult:
    started = time.perf_counter()
    bilan = await build_bilan(BilanRepository(db), YEAR, NOW, PARIS)
    built = time.perf_counter()
    rendered = render_bilan(bilan)
    done = time.perf_counter()
    return RunResult(built - started, done - built, bilan, rendered)


def check(result: RunResult) -> None:
    """What the files promise: static HTML, the CSV contract, no user id, ten lines."""
    html = result.rendered.file("html").data.decode("utf-8")
    assert "<script" not in html.lower() and "javascript" not in html.lower()
    assert not re.search(r"""(src|href)\s*=|url\(|@import""", html), "an external resource"
    csv_lines = result.rendered.file("csv").data.decode("utf-8-sig").splitlines()
    header = ["section;cle;indicateur;valeur", f"0;annee;Année scolaire;{YEAR.label}"]
    assert csv_lines[:2] == header
    assert [line.split(";")[1] for line in csv_lines[2:]] == [i.key for i in INDICATORS]
    for file in result.rendered.files:
        text = file.data.decode("utf-8-sig")
        assert not USER_ID.search(text), f"a user id in {file.name}"
    assert len(result.rendered.summary.splitlines()) == 10, result.rendered.summary


def write_files(rendered: RenderedBilan, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for file in rendered.files:
        path = directory / file.name
        path.write_bytes(file.data)
        paths.append(path)
    return paths


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:7.1f} ms"


async def main_async(runs: int, profile: bool, out: Path | None) -> bool:
    rng = random.Random(2026)  # noqa: S311 - reproducible synthetic data, not security
    with tempfile.TemporaryDirectory(prefix="rupn-bench-bilan-") as tmp:
        path = Path(tmp) / "rupn-bot.db"
        seeding = time.perf_counter()
        counts = await seed_database(path, rng)
        seeding = time.perf_counter() - seeding
        db = await Database.open(path)  # as after a restart: an empty page cache
        try:
            cold = await run_bilan(db)
            warm = [await run_bilan(db) for _ in range(runs)]
            for result in (cold, *warm):
                check(result)
            median = statistics.median(r.total_s for r in warm)
            engagement = sum(counts[name] for name in ENGAGEMENT)
            print(
                f"rupn-bot annual bilan benchmark — Python {sys.version.split()[0]}, "
                f"school year {YEAR.label}, made on {NOW:%d %B %Y} (Europe/Paris)"
            )
            print(f"goal: the whole bilan (SQL, summary, HTML + CSV + Markdown) < {GOAL_S:g} s\n")
            print(
                f"Seeded in {seeding:.1f} s ({path.stat().st_size / 1e6:.0f} MB): "
                f"{ROOMS} rooms, {PEOPLE} people, {counts['posts']:,} posts, "
                f"{engagement:,} engagement rows"
            )
            for name, count in counts.items():
                print(f"  {name:<14}{count:>10,}")
            print()
            sizes = ", ".join(f"{f.name} {len(f.data) / 1024:.0f} KiB" for f in cold.rendered.files)
            print(f"Files: {sizes}\n")
            print(f"  {'stage':<34}{'cold':>10}{'median':>10}{'max':>10}   ({runs} warm runs)")
            stages = (
                ("build_bilan (every indicator in SQL)", [r.build_s for r in warm], cold.build_s),
                ("render_bilan (charts, 3 files)", [r.render_s for r in warm], cold.render_s),
                ("total", [r.total_s for r in warm], cold.total_s),
            )
            for label, values, cold_value in stages:
                print(
                    f"  {label:<34}{_ms(cold_value):>10}{_ms(statistics.median(values)):>10}"
                    f"{_ms(max(values)):>10}"
                )
            met = cold.total_s < GOAL_S and median < GOAL_S
            print(
                f"\ncold {cold.total_s * 1e3:.0f} ms, warm median {median * 1e3:.0f} ms — "
                f"goal < {GOAL_S:g} s: {'met' if met else 'NOT met'}\n"
            )
            print("Summary posted by !bilan:\n")
            print(cold.rendered.summary)
            print()
            if out is not None:
                for written in write_files(cold.rendered, out):
                    print(f"written: {written}")
            if profile or not met:
                profiler = cProfile.Profile()
                profiler.enable()
                await run_bilan(db)
                profiler.disable()
                print(profile_report(profiler, "cumulative", 30))
        finally:
            await db.close()
    return met


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The annual bilan over a synthetic year.")
    parser.add_argument("--runs", type=int, default=5, help="warm runs after the cold one")
    parser.add_argument("--profile", action="store_true", help="profile even if the goal is met")
    parser.add_argument("--sortie", type=Path, default=None, help="write the three files there")
    args = parser.parse_args(argv)
    if not asyncio.run(main_async(args.runs, args.profile, args.sortie)):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
