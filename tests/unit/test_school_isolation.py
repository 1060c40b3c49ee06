"""Isolation between établissements, tested like a permission: both ways, every command.

The RUPN of one school types every command of the registry (the list comes from the
router, so a new command is covered), with every sub-command word any command knows and
the other school's numbers and rooms as arguments; the other school's rows, and what
goes or waits for its rooms, must stay exactly as they were. Every reply is French text
of ours (a refusal, or a result within the sender's school), never the internal error.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.config import DigestSettings
from bot.errors import INTERNAL_ERROR_TEXT
from bot.router import CommandRegistry, admin_only_text
from bot.storage.database import Database
from handlers import ROUTERS
from tests.unit.two_schools import A, B, Side, TwoSchools, populate, secret

REGISTRY = CommandRegistry(ROUTERS)
FRIDAY_LETTER = datetime(2026, 12, 4, 15, 31, tzinfo=UTC)  # vendredi 4 décembre, 16h31
COMMANDS = tuple(c for c in REGISTRY.visible_to(True))

# Sub-command words: those the usages show, and those of the numbered sub-commands.
VERBS = sorted(
    {
        word
        for command in COMMANDS
        for word in (command.usage.split()[0] if command.usage else "").split("|")
        if word.isalpha()
    }
    | {"clore", "résultats", "export", "annuler", "modifier", "presents", "programmer"}
    | {"corriger", "retirer", "envoyer", "effacer", "besoins", "dans", "résolue"}
)


def attacks(name: str, victim: Side) -> list[str]:
    """`!name …` naming the victim's numbers (1 and 2 exist in both schools; the
    victim's rows have ids the attacker's do not) and rooms."""
    targets = ["", "1", "2", "3", "4", "12", victim.alias, victim.room, f"{victim.alias} : intrus"]
    lines = [f"!{name} {t}".rstrip() for t in targets]
    for verb in VERBS:
        lines += [f"!{name} {verb} {t}".rstrip() for t in targets]
        lines.append(f"!{name} {verb} 2 | mardi 17h | intrus")
    lines.append(f"!{name} dans {victim.alias} ici : intrus")
    lines += [f"!{name} 1 intrus", f"!{name} 2 intrus"]  # `!panne <n°> <précision>`
    return lines


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
@pytest.mark.parametrize(("attacker", "victim"), [(A, B), (B, A)], ids=["A-vers-B", "B-vers-A"])
async def test_no_command_of_one_school_reaches_the_other(
    db: Database, command: str, attacker: Side, victim: Side
) -> None:
    bot = TwoSchools(db)
    await populate(bot)
    before = await bot.snapshot(victim)

    replies = await bot.say(attacker, *attacks(command, victim))
    assert replies, f"!{command}: no answer at all"
    assert INTERNAL_ERROR_TEXT not in replies
    assert [r for r in replies if secret(victim) in r] == []
    await bot.deliver_all()
    assert await bot.snapshot(victim) == before, f"!{command} changed the other school"

    # Typed in the other school's room (were the attacker a member of it): the attacker is
    # not its RUPN, so an admin command is refused and nothing of the victim changes.
    if REGISTRY.lookup(command).admin:  # type: ignore[union-attr]
        replies = await bot.say(attacker, f"!{command} 1", room=victim.room)
        assert replies == [admin_only_text(command)]
        await bot.deliver_all()
        after = await bot.snapshot(victim)
        assert {t: rows for t, rows in after.items() if t != "posts"} == {
            t: rows for t, rows in before.items() if t != "posts"
        }


@pytest.mark.parametrize(("worker", "other"), [(A, B), (B, A)], ids=["A", "B"])
async def test_a_school_jobs_leave_the_other_school_alone(
    db: Database, worker: Side, other: Side
) -> None:
    bot = TwoSchools(db)
    bot.settings = replace(bot.settings, digest=DigestSettings())  # the letter is on
    await populate(bot)
    before = await bot.snapshot(other)
    bot.clock.now = FRIDAY_LETTER  # the programmed announcement and the letter are due
    units = bot.units(worker)
    for spec in REGISTRY.jobs:
        if spec.per_school:
            await spec.run(units)
    assert await bot.snapshot(other) == before
    # …and the worker's own jobs did run: its programmed announcement and its letter went.
    rows = await db.fetchall(
        "SELECT status FROM announcements WHERE school = ? ORDER BY number", (worker.school.key,)
    )
    assert [r["status"] for r in rows] == ["sent", "sent"]
    weeks = await db.fetchall("SELECT school, week, outcome FROM digest_weeks")
    assert [tuple(r) for r in weeks] == [(worker.school.key, "2026-W49", "sent")]
    letters = await db.fetchall("SELECT room_id, content FROM posts WHERE kind = 'digest'")
    assert [r["room_id"] for r in letters] == [worker.room]
    assert secret(worker) in letters[0]["content"]
    assert secret(other) not in letters[0]["content"]


async def test_a_schools_pause_stops_its_own_letter_only(db: Database) -> None:
    """`!lettre pause` of school A skips A's week; B's letter goes out as planned."""
    bot = TwoSchools(db)
    bot.settings = replace(bot.settings, digest=DigestSettings())  # the letter is on
    await populate(bot)
    assert "pause" in (await bot.say(A, "!lettre pause"))[0]
    bot.clock.now = FRIDAY_LETTER
    for side in (A, B):
        units = bot.units(side)
        for spec in REGISTRY.jobs:
            if spec.name == "lettre-hebdo":
                await spec.run(units)
    weeks = await db.fetchall("SELECT school, outcome FROM digest_weeks ORDER BY school")
    assert {r["school"]: r["outcome"] for r in weeks} == {
        A.school.key: "skipped",
        B.school.key: "sent",
    }
    letters = await db.fetchall("SELECT room_id FROM posts WHERE kind = 'digest'")
    assert [r["room_id"] for r in letters] == [B.room]
