"""Each établissement's own letter: its day and time, its rooms, its `[email]` recipients."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from bot.config import DigestSettings, EmailSettings, load_config
from bot.context import Settings
from bot.mailer import MailSender
from bot.schools import IMPLICIT_KEY, School, mail_of, schools_of
from bot.storage.database import Database
from bot.storage.posts import PostsRepository
from handlers.letter.weekly import weekly
from tests.unit.academie_files import ACADEMIE, BASE, JEAN_MOULIN, write_academie
from tests.unit.test_mailer import Authenticator, Recorder, free_port
from tests.unit.two_schools import PARIS, A, B, Side, TwoSchools, populate

FRIDAY = datetime(2026, 12, 4, 15, 31, tzinfo=UTC)  # vendredi 4 décembre, 16h31 à Paris
MONDAY = datetime(2026, 12, 7, 7, 1, tzinfo=UTC)  # lundi 7 décembre, 8h01 à Paris
TIMEOUT_S = 5.0


def mail_to(port: int, *recipients: str) -> EmailSettings:
    return EmailSettings(
        smtp_host="127.0.0.1", smtp_port=port, starttls=False,
        sender="lettre@ac-exemple.fr", to=recipients,
    )  # fmt: skip


def own(side: Side, digest: DigestSettings, mail: EmailSettings | None) -> Side:
    return replace(side, school=replace(side.school, digest=digest, email=mail))


@pytest.fixture
def smtp() -> Iterator[tuple[int, Recorder]]:
    recorder, port = Recorder(), free_port()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=port,
        authenticator=Authenticator(), auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    try:
        yield port, recorder
    finally:
        controller.stop()
        controller.loop.close()


def test_a_school_settings_take_its_own_digest_and_email() -> None:
    friday = DigestSettings(day="jeudi", time="12h", rooms=("!lettre-a:x", "#alias-a:x"))
    mail = mail_to(25, "equipe@clg.example.org")
    base = Settings(admins=frozenset(), tz=PARIS)
    named = base.for_school(own(A, friday, mail).school)
    assert (named.digest, named.digest_rooms, named.mail_enabled) == (
        friday,
        ("!lettre-a:x",),
        True,
    )
    # Without its own [email], a named school's letter is not mailed; without its own
    # [digest], it follows the bot's.
    plain = base.for_school(B.school)
    assert (plain.digest, plain.digest_rooms, plain.mail_enabled) == (base.digest, (), False)


async def test_each_school_letter_goes_out_on_its_own_day_to_its_own_recipients(
    db: Database, smtp: tuple[int, Recorder]
) -> None:
    port, recorder = smtp
    bot = TwoSchools(db)
    await populate(bot)
    a = own(A, DigestSettings(day="vendredi", time="16h30"), mail_to(port, "equipe-a@clg.fr"))
    b = own(B, DigestSettings(day="lundi", time="8h"), mail_to(port, "equipe-b@lycee.fr"))
    mails = {a.school.key: a.school.email, b.school.key: b.school.email}

    async def letter_job_at(now: datetime) -> list[tuple[Any, ...]]:
        bot.clock.now = now
        for side in (a, b):
            await weekly(bot.units(side))
        rows = await db.fetchall(
            "SELECT school, room_id, action FROM posts WHERE kind LIKE 'digest%' ORDER BY id"
        )
        return [tuple(r) for r in rows]

    # Friday 16h31: A's letter (room and mail); B's is on Monday.
    assert await letter_job_at(FRIDAY) == [
        (a.school.key, a.room, "send"),
        (a.school.key, "", "mail"),
    ]
    # Monday 8h01: B's letter; A's next one is on Friday.
    assert (await letter_job_at(MONDAY))[2:] == [
        (b.school.key, b.room, "send"),
        (b.school.key, "", "mail"),
    ]
    weeks = await db.fetchall("SELECT school, week, outcome FROM digest_weeks ORDER BY rowid")
    assert [tuple(r) for r in weeks] == [
        (a.school.key, "2026-W49", "sent"),
        (b.school.key, "2026-W49", "skipped"),  # its Monday 30 November had passed by a day
        (b.school.key, "2026-W50", "sent"),
    ]

    mailer = MailSender(db, PostsRepository(db), mails.get, lambda: MONDAY)
    stop = asyncio.Event()
    task = asyncio.create_task(mailer.run(stop))
    async with asyncio.timeout(TIMEOUT_S):
        await mailer.wait_idle()
    stop.set()
    await task
    received = [
        (r.rcpt_tos, email.message_from_bytes(r.data, policy=email.policy.default)["Subject"])
        for r in recorder.received
    ]
    assert [to for to, _ in received] == [["equipe-a@clg.fr"], ["equipe-b@lycee.fr"]]


async def test_a_named_school_without_email_queues_no_mail(db: Database) -> None:
    bot = TwoSchools(db)
    await populate(bot)
    b = own(B, DigestSettings(day="vendredi", time="16h30"), None)
    bot.clock.now = FRIDAY
    await weekly(bot.units(b))
    rows = await db.fetchall("SELECT action FROM posts WHERE kind LIKE 'digest%'")
    assert [r["action"] for r in rows] == ["send"]


def test_the_mailer_uses_each_school_own_email_and_the_bot_one_for_the_implicit_school(
    tmp_path: Path,
) -> None:
    moulin_mail = (
        '\n[etablissements.email]\nsmtp_host = "smtp.clg.example.org"\n'
        'from = "rupn@clg.example.org"\nto = ["equipe@clg.example.org"]\n'
    )
    bot_mail = (
        '\n[email]\nsmtp_host = "smtp.ac.example.org"\nfrom = "bot@ac.example.org"\n'
        'to = ["drane@ac.example.org"]\n'
    )
    path = write_academie(tmp_path, BASE + bot_mail + ACADEMIE + JEAN_MOULIN + moulin_mail)
    config = load_config(path, environ={})
    schools = schools_of(config)
    moulin, guerin = schools[0], schools[1]
    assert isinstance(moulin, School) and moulin.key == "0860001J"
    assert mail_of(config, schools, moulin.key) == moulin.email
    assert mail_of(config, schools, guerin.key) is None  # never the bot's recipients
    assert mail_of(config, schools, IMPLICIT_KEY) == config.email
