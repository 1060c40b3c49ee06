"""The weekly letter with the real database, processor, job and templates (FakeClock).

Dates: Friday 4 December 2026 is a school day in every zone; the Christmas
holidays run from Saturday 19 December 2026 to Sunday 3 January 2027.
"""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import DigestSettings
from bot.context import Repositories, Settings
from bot.domain import IncomingMessage
from bot.storage.database import Database
from handlers.letter.weekly import mail_settled, weekly
from tests.unit.fakes import FakeBotInfo, FakeClock
from tests.unit.harness import deliver, make_units, process_events

ADMIN = "@rupn:example.org"
BOT = "@bot:example.org"
A = "@alice:example.org"
B = "@bruno:example.org"
STAFF = "!staff:example.org"
VIE = "!vie:example.org"
CURATION = "!rupn:example.org"
PARIS = ZoneInfo("Europe/Paris")
DIGEST = DigestSettings(day="vendredi", time="16h30", zone="B")
SETTINGS = Settings(
    admins=frozenset({ADMIN}),
    tz=PARIS,
    bot_user_id=BOT,
    broadcast_rooms=(STAFF, VIE),
    curation_rooms=(CURATION,),
    digest=DIGEST,
)
MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=PARIS)
FRIDAY_DUE = datetime(2026, 12, 4, 16, 30, tzinfo=PARIS)
_ids = itertools.count(1)


@dataclass
class Bot:
    db: Database
    clock: FakeClock = field(default_factory=lambda: FakeClock(MONDAY.astimezone(UTC)))
    settings: Settings = SETTINGS
    info: FakeBotInfo = field(
        default_factory=lambda: FakeBotInfo(
            rooms=[STAFF, VIE, CURATION],
            names={STAFF: "Salle des professeurs", VIE: "Vie scolaire"},
            members={STAFF: [BOT, ADMIN, A, B], VIE: [BOT, ADMIN]},
        )
    )

    @property
    def repos(self) -> Repositories:
        return Repositories.open(self.db)

    def at(self, moment: datetime) -> None:
        self.clock.now = moment.astimezone(UTC)

    async def posts(self, *kinds: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT kind, content, room_id, txn_id, status, action FROM posts ORDER BY id"
        )
        found = [
            {
                "kind": r[0],
                "content": json.loads(r[1]),
                "room": r[2],
                "txn": r[3],
                "status": r[4],
                "action": r[5],
            }
            for r in rows
        ]
        return [p for p in found if not kinds or p["kind"] in kinds]

    async def say(self, body: str, room: str = CURATION, sender: str = ADMIN) -> list[str]:
        """`sender` says `body`; the bodies of the replies (Matrix posts delivered at once)."""
        before = len(await self.posts())
        await process_events(
            self.db,
            self.settings,
            self.clock,
            self.info,
            [IncomingMessage(room, f"$m{next(_ids)}", sender, body, self.clock())],
        )
        new = (await self.posts())[before:]
        await self.deliver_all()
        return [p["content"]["body"] for p in new if p["kind"] == "reply"]

    async def deliver_all(self) -> None:
        for post in await self.posts():
            if post["status"] == "pending" and post["action"] != "mail":
                await deliver(self.db, post["txn"], f"$ev-{post['txn']}", self.clock())

    async def tick(self) -> list[dict[str, Any]]:
        before = len(await self.posts())
        await weekly(make_units(self.db, self.settings, self.info, self.clock))
        return (await self.posts())[before:]

    async def week(self, week: str) -> str | None:
        async with self.db.transaction():
            return await self.repos.digests.week_outcome(week)

    async def seed_week(self) -> None:
        """An announcement, a poll with one vote, a café: what a week brings."""
        await self.say("!annonce Réunion ENT lundi à 17h en salle 12")
        await self.say(
            "!sondage Quel thème pour le café ? | Pix | ENT | fin : jeudi 10 décembre 17h", STAFF
        )
        async with self.db.transaction():
            [poll] = [p for p in [await self.repos.polls.latest_in_room(STAFF)] if p]
            answer = poll.answer_ids[0]
            await self.repos.polls.add_response(
                poll.id, A, "$vote1", [answer], self.clock(), self.clock()
            )
        await self.say("!cafe mardi 8 décembre 12h30 | Pix | CDI", STAFF)


@pytest.fixture
async def bot(db: Database) -> Bot:
    return Bot(db)


def lines(body: str) -> list[str]:
    return [line for line in body.splitlines() if line.strip()]


# --- the job: when, and exactly once ------------------------------------------------------


async def test_the_letter_goes_out_at_its_moment_once_per_room(bot: Bot) -> None:
    await bot.seed_week()
    bot.at(FRIDAY_DUE - timedelta(minutes=1))
    assert await bot.tick() == []
    bot.at(FRIDAY_DUE + timedelta(seconds=20))
    letters = [p for p in await bot.tick() if p["kind"] == "digest"]
    assert [p["room"] for p in letters] == [STAFF, VIE]
    staff = letters[0]["content"]
    assert staff["msgtype"] == "m.notice"
    body = staff["body"]
    assert body.startswith("📬 La lettre numérique — semaine du 30 novembre")
    assert (
        "Réunion ENT lundi à 17h en salle 12 : https://matrix.to/#/!staff:example.org/$ev-" in body
    )
    assert (
        "Quel thème pour le café ? — jusqu’au jeudi 10 décembre à 17h00 — 1 réponse sur 3" in body
    )
    assert "Café numérique « Pix » — mardi 8 décembre à 12h30, CDI — inscription libre" in body
    assert "?via=example.org" in body
    # The poll was started in the staff room only; the café was announced in both rooms,
    # each letter linking to its own room's notice.
    vie = letters[1]["content"]["body"]
    assert "Sondages en cours" not in vie
    assert "s’inscrire (👍) : https://matrix.to/#/!vie:example.org/$ev-" in vie
    assert await bot.week("2026-W49") == "sent"
    assert await bot.tick() == []  # the next ticks send nothing more
    bot.at(FRIDAY_DUE + timedelta(hours=3))
    assert await bot.tick() == []


async def test_nothing_to_say_means_no_letter(bot: Bot) -> None:
    bot.at(FRIDAY_DUE + timedelta(seconds=5))
    assert await bot.tick() == []
    assert await bot.week("2026-W49") == "empty"


async def test_a_letter_late_by_less_than_a_day_goes_out_and_later_is_skipped(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.seed_week()
    bot.at(FRIDAY_DUE + timedelta(hours=2))
    assert len([p for p in await bot.tick() if p["kind"] == "digest"]) == 2
    # The next week's letter: the bot was down from Thursday to Saturday evening.
    bot.at(FRIDAY_DUE + timedelta(days=8, hours=1))
    await bot.say("!lettre ajouter Pensez aux fiches de besoins")
    with caplog.at_level(logging.WARNING):
        assert await bot.tick() == []
    assert await bot.week("2026-W50") == "skipped"
    assert "more than 24 h ago" in caplog.text


async def test_a_letter_due_on_sunday_evening_goes_out_on_monday_morning(bot: Bot) -> None:
    bot.settings = replace(
        SETTINGS, digest=DIGEST.model_copy(update={"day": "dimanche", "time": "20h"})
    )
    await bot.say("!lettre ajouter Bonne semaine à tous")
    bot.at(datetime(2026, 12, 7, 7, 0, tzinfo=PARIS))
    assert len(await bot.tick()) == 2
    assert await bot.week("2026-W49") == "sent"


async def test_holiday_weeks_send_nothing_and_the_next_letter_covers_the_break(
    bot: Bot,
) -> None:
    await bot.say("!lettre ajouter Avant les vacances")
    bot.at(datetime(2026, 12, 18, 16, 31, tzinfo=PARIS))
    assert len(await bot.tick()) == 2
    await bot.say("!lettre ajouter Pendant les vacances")
    for friday in (
        datetime(2026, 12, 25, 16, 31, tzinfo=PARIS),
        datetime(2027, 1, 1, 16, 31, tzinfo=PARIS),
    ):
        bot.at(friday)
        assert await bot.tick() == []
    bot.at(datetime(2027, 1, 8, 16, 31, tzinfo=PARIS))
    [staff, _] = await bot.tick()
    assert staff["content"]["body"].startswith("📬 La lettre numérique — depuis le 19 décembre")
    assert "Pendant les vacances" in staff["content"]["body"]


async def test_a_public_holiday_moves_the_letter_to_the_next_school_day(bot: Bot) -> None:
    # Thursday 11 November 2027 is Armistice: a Thursday letter goes on Friday 12.
    bot.settings = replace(SETTINGS, digest=DIGEST.model_copy(update={"day": "jeudi"}))
    await bot.say("!lettre ajouter Mot de novembre")
    bot.at(datetime(2027, 11, 11, 16, 31, tzinfo=PARIS))
    assert await bot.tick() == []
    bot.at(datetime(2027, 11, 12, 16, 29, tzinfo=PARIS))
    assert await bot.tick() == []
    bot.at(datetime(2027, 11, 12, 16, 30, 30, tzinfo=PARIS))
    assert len(await bot.tick()) == 2


async def test_pause_skips_the_week_and_disabled_only_stops_the_schedule(bot: Bot) -> None:
    await bot.say("!lettre ajouter Un mot")
    assert "pause" in (await bot.say("!lettre pause"))[0]
    bot.at(FRIDAY_DUE + timedelta(minutes=1))
    assert await bot.tick() == []
    assert await bot.week("2026-W49") == "skipped"
    [answer] = await bot.say("!lettre reprise")
    assert "Prochain envoi : vendredi 11 décembre à 16h30, dans 2 salons." in answer
    bot.settings = replace(SETTINGS, digest=DIGEST.model_copy(update={"enabled": False}))
    bot.at(FRIDAY_DUE + timedelta(days=7, minutes=1))
    assert await bot.tick() == []
    [answer] = await bot.say("!lettre envoyer")
    assert answer == "Lettre envoyée dans 2 salons. Elle compte pour cette semaine."


async def test_the_letter_is_mailed_once_with_the_first_room_letter(bot: Bot) -> None:
    bot.settings = replace(SETTINGS, mail_enabled=True)
    await bot.seed_week()
    bot.at(FRIDAY_DUE)
    await bot.tick()
    [mail] = await bot.posts("digest-mail")
    assert mail["room"] == ""
    assert mail["content"]["subject"] == "La lettre numérique — semaine du 30 novembre"
    assert "1 réponse sur 3" in mail["content"]["text"]
    assert mail["content"]["html"].startswith("<!DOCTYPE html>")
    assert "Pour ne plus recevoir cette lettre" in mail["content"]["text"]


# --- the commands ----------------------------------------------------------------------------


async def test_preview_answers_in_the_room_only_and_sends_nothing(bot: Bot) -> None:
    await bot.seed_week()
    bot.settings = replace(SETTINGS, mail_enabled=True)
    before = len(await bot.posts())
    [preview] = await bot.say("!lettre aperçu")
    new = (await bot.posts())[before:]
    assert [(p["room"], p["kind"]) for p in new] == [(CURATION, "reply")]
    assert preview.startswith("Aperçu de la lettre (rien n’est envoyé). Prochain envoi : ")
    assert "Sondages en cours" in preview  # the letter of the first room (Salle des professeurs)
    assert await bot.say("!lettre") == [preview]
    assert await bot.week("2026-W49") is None


async def test_words_are_numbered_removable_and_emptied_once_sent(bot: Bot) -> None:
    [added] = await bot.say("!lettre ajouter   Rendez   vos fiches avant jeudi ")
    assert added.startswith("Ajouté au mot du RUPN (n° 1). Prochain envoi : vendredi 4 décembre")
    await bot.say("!lettre ajouter Deuxième ligne")
    [preview] = await bot.say("!lettre aperçu")
    assert "• Rendez vos fiches avant jeudi" in preview
    assert "n° 2 « Deuxième ligne »" in preview
    assert await bot.say("!lettre retirer 2") == ["Ligne n° 2 retirée du mot du RUPN."]
    assert "Aucune ligne n° 2" in (await bot.say("!lettre retirer 2"))[0]
    [sent] = await bot.say("!lettre envoyer")
    assert sent == "Lettre envoyée dans 2 salons. Elle compte pour cette semaine."
    assert await bot.week("2026-W49") == "sent"
    async with bot.db.transaction():
        assert await bot.repos.digests.words() == []
    bot.at(FRIDAY_DUE + timedelta(minutes=1))
    assert await bot.tick() == []  # `envoyer` was this week's letter


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("!lettre ajouter", "Quel texte ajouter au mot du RUPN ?\nUtilisation : !lettre ajouter"),
        ("!lettre ajouter " + "x" * 300, "Ce texte fait 300 caractères"),
        ("!lettre retirer deux", "Indiquez le numéro de la ligne à retirer"),
        ("!lettre publier", "« publier » n’est pas une action de !lettre."),
        ("!lettre courriel", "Aucun envoi par courriel n’est configuré"),
    ],
)
async def test_bad_arguments_are_explained(bot: Bot, command: str, expected: str) -> None:
    [answer] = await bot.say(command)
    assert answer.startswith(expected)


async def test_nothing_to_say_is_said(bot: Bot) -> None:
    [answer] = await bot.say("!lettre envoyer")
    assert answer.startswith("Rien à dire pour l’instant")
    [preview] = await bot.say("!lettre")
    assert "Rien à dire pour l’instant" in preview


async def test_teachers_cannot_use_the_letter_commands(bot: Bot) -> None:
    [answer] = await bot.say("!lettre envoyer", STAFF, sender=A)
    assert "réservée aux référents numériques" in answer


# --- what the letter leads to, and what the RUPN is told -------------------------------------


async def test_colleagues_list_the_announcements_of_their_room(bot: Bot) -> None:
    await bot.say("!annonce Réunion ENT lundi à 17h")
    [listing] = await bot.say("!annonces", STAFF, sender=A)
    assert listing == "Dernières annonces de ce salon :\n- 30 novembre : Réunion ENT lundi à 17h"
    [nothing] = await bot.say("!annonces", "!autre:example.org", sender=A)
    assert nothing == "Aucune annonce publiée dans ce salon pour l’instant."


async def test_a_mail_that_failed_is_reported_to_the_rupn_in_french(bot: Bot) -> None:
    bot.settings = replace(SETTINGS, mail_enabled=True)
    await bot.say("!lettre ajouter Un mot")
    before = len(await bot.posts())
    [answer] = await bot.say("!lettre courriel")
    assert answer == "La lettre de la semaine part par courriel (et pas dans les salons)."
    [mail] = [p for p in (await bot.posts())[before:] if p["kind"] == "digest-mail"]
    assert mail["status"] == "pending"  # deliver_all only marks Matrix posts as sent
    async with bot.db.transaction():
        [row] = await bot.db.fetchall("SELECT id FROM posts WHERE txn_id = ?", (mail["txn"],))
        await bot.repos.posts.mark_failed(int(row[0]), "SMTP_AUTH")
        [post] = [p for p in await bot.repos.posts.by_ref("digest", 202649)]
    units = make_units(bot.db, bot.settings, bot.info, bot.clock)
    before = len(await bot.posts())
    await mail_settled(units, post)
    [report] = (await bot.posts())[before:]
    assert report["room"] == CURATION
    assert report["content"]["msgtype"] == "m.text"
    assert report["content"]["m.mentions"] == {"user_ids": [ADMIN]}
    assert report["content"]["body"] == (
        "La lettre n’a pas pu partir par courriel : le serveur de courriel a refusé "
        "l’identifiant ou le mot de passe : vérifiez [email] username et la variable "
        "RUPN_SMTP_PASSWORD. Les salons l’ont bien reçue. Une fois corrigé, « !lettre "
        "courriel » la renvoie par courriel seulement."
    )
    await mail_settled(units, replace(post, kind="digest"))  # other kinds: nothing
    assert len(await bot.posts()) == before + 1


async def test_a_time_changed_mid_week_sends_at_the_new_time(bot: Bot) -> None:
    await bot.say("!lettre ajouter Un mot")
    bot.at(FRIDAY_DUE - timedelta(hours=2))  # 14h30: not yet 16h30
    assert await bot.tick() == []
    bot.settings = replace(SETTINGS, digest=DIGEST.model_copy(update={"time": "14h"}))
    assert len(await bot.tick()) == 2
    bot.settings = replace(SETTINGS, digest=DIGEST.model_copy(update={"time": "18h"}))
    bot.at(FRIDAY_DUE + timedelta(hours=2))
    assert await bot.tick() == []  # the week had its letter
