"""The weekly letter with the real database, processor, job and templates (FakeClock).

Dates: Friday 4 December 2026 is a school day in every zone; the Christmas
holidays run from Saturday 19 December 2026 to Sunday 3 January 2027.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from bot.config import DigestSettings, EmailSettings
from bot.context import Repositories, Settings
from bot.domain import IncomingMessage
from bot.mailer import MailSender
from bot.storage.bilan import BilanRepository
from bot.storage.database import Database
from bot.storage.posts import Post, PostsRepository
from devtools.smtp import MailCatcher
from handlers.letter.weekly import mail_settled, weekly
from tests.unit.fakes import FakeBotInfo, FakeClock
from tests.unit.harness import deliver, mail_until_idle, make_units, process_events, queued_posts

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
SMTP_LOGIN = "rupn"
SMTP_PASSWORD = "bon-mot-de-passe"
MAIL_FROM = "rupn@clg-exemple.fr"
MAIL_TO = "equipe@clg-exemple.fr"
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
        return await queued_posts(self.db, *kinds)

    async def say(
        self, body: str, room: str = CURATION, sender: str = ADMIN, *, deliver: bool = True
    ) -> list[str]:
        """`sender` says `body`; the bodies of the replies (Matrix posts delivered at once,
        unless not `deliver`: then they wait, as behind a slow pacing)."""
        before = len(await self.posts())
        await process_events(
            self.db,
            self.settings,
            self.clock,
            self.info,
            [IncomingMessage(room, f"$m{next(_ids)}", sender, body, self.clock())],
        )
        new = (await self.posts())[before:]
        if deliver:
            await self.deliver_all()
        return [p["content"]["body"] for p in new if p["kind"] == "reply"]

    async def deliver_all(self) -> None:
        for post in await self.posts():
            if post["status"] == "pending" and post["action"] != "mail":
                await deliver(self.db, post["txn"], f"$ev-{post['txn']}", self.clock())

    async def mail_through(self, smtp: MailCatcher, password: str) -> None:
        """The bot's real mail sender, with the letter's real report hook, against `smtp`
        with `password`, until no mail is pending; then the reports are delivered."""
        units = make_units(self.db, self.settings, self.info, self.clock)
        settings = EmailSettings(
            smtp_host="127.0.0.1", smtp_port=smtp.port, starttls=False, username=SMTP_LOGIN,
            password=SecretStr(password), sender=MAIL_FROM, to=(MAIL_TO,),
        )  # fmt: skip

        async def report(post: Post) -> None:
            await mail_settled(units, post)

        mailer = MailSender(
            self.db, PostsRepository(self.db), settings, self.clock, on_settled=report
        )
        await mail_until_idle(mailer)
        await self.deliver_all()

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
        (
            "!lettre envoyer maintenant",
            "Après « envoyer », seul « quand-même » est possible, pas « maintenant ».\n"
            "Utilisation : !lettre envoyer [quand-même]",
        ),
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


@pytest.fixture
def smtp() -> Iterator[MailCatcher]:
    catcher = MailCatcher(login=SMTP_LOGIN, password=SMTP_PASSWORD)
    catcher.start()
    try:
        yield catcher
    finally:
        catcher.stop()


AUTH_REASON = (
    "le serveur de courriel a refusé l’identifiant ou le mot de passe : vérifiez "
    "[email] username et la variable RUPN_SMTP_PASSWORD"
)
SUBJECT = "La lettre numérique — semaine du 30 novembre"


async def test_courriel_sends_again_the_mail_that_failed_as_it_was(
    bot: Bot, smtp: MailCatcher
) -> None:
    bot.settings = replace(SETTINGS, mail_enabled=True)
    assert await bot.say("!lettre courriel") == [
        "Aucune lettre n’est encore partie par courriel : rien à renvoyer. La prochaine "
        "lettre partira aussi par courriel."
    ]
    await bot.seed_week()
    await bot.say("!lettre ajouter Pensez aux fiches de besoins")
    bot.at(FRIDAY_DUE + timedelta(minutes=1))
    await bot.tick()
    await bot.mail_through(smtp, "mauvais")  # a wrong password: the real mail fails
    [first] = await bot.posts("digest-mail")
    assert first["status"] == "failed"
    [report] = [p["content"] for p in await bot.posts("digest-report")]
    assert (report["msgtype"], report["m.mentions"]) == ("m.text", {"user_ids": [ADMIN]})
    assert report["body"] == (
        f"La lettre n’a pas pu partir par courriel : {AUTH_REASON}. Les salons l’ont bien "
        "reçue. Une fois corrigé, « !lettre courriel » la renvoie par courriel seulement."
    )
    bot.at(FRIDAY_DUE + timedelta(hours=1))
    before = len(await bot.posts())
    assert await bot.say("!lettre courriel") == [
        f"Le courriel « {SUBJECT} » repart tel quel, par courriel seulement (pas dans les salons)."
    ]
    assert [p["kind"] for p in (await bot.posts())[before:]] == ["digest-mail", "reply"]
    assert await bot.say("!lettre courriel") == [
        f"Le courriel « {SUBJECT} » n’est pas encore parti : il est réessayé "
        "automatiquement. Rien de plus n’est envoyé."
    ]
    await bot.mail_through(smtp, "mauvais")  # still wrong: told again, rooms not mentioned
    assert (await bot.posts("digest-report"))[-1]["content"]["body"] == (
        f"La lettre renvoyée par « !lettre courriel » n’a toujours pas pu partir : "
        f"{AUTH_REASON}. Une fois corrigé, « !lettre courriel » la renvoie encore."
    )
    await bot.say("!lettre courriel")
    await bot.mail_through(smtp, SMTP_PASSWORD)
    [received] = smtp.received
    message = received.parsed()
    assert str(message["Subject"]) == SUBJECT
    assert str(message["Message-ID"]) == f"<{first['txn']}@clg-exemple.fr>"
    text = message.get_body(("plain",))
    assert text is not None
    # The letter as it was: the words were deleted when the rooms got it, yet they are here.
    assert "Pensez aux fiches de besoins" in text.get_content()
    assert "Réunion ENT lundi à 17h en salle 12" in text.get_content()
    assert text.get_content().replace("\r\n", "\n").strip() == first["content"]["text"].strip()
    assert len(await bot.posts("digest-report")) == 2
    assert await bot.say("!lettre courriel") == [
        f"Le courriel « {SUBJECT} » est bien parti le vendredi 4 décembre à 17h30 : "
        "rien n’est renvoyé."
    ]
    assert len(smtp.received) == 1


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (
            "failed",
            "SMTP_NO_STARTTLS",
            "La lettre n’a pas pu partir par courriel : le serveur de courriel ne propose pas "
            "STARTTLS, que la configuration demande : vérifiez [email] smtp_port (465 pour une "
            "connexion chiffrée dès le départ), ou mettez [email] starttls = false si ce relais "
            "est sur un réseau de confiance. Les salons l’ont bien reçue. Une fois corrigé, "
            "« !lettre courriel » la renvoie par courriel seulement.",
        ),
        (
            "failed",
            "SMTP_NO_AUTH",
            "La lettre n’a pas pu partir par courriel : le serveur de courriel ne propose pas "
            "d’identification, alors que [email] username est renseigné : retirez username si "
            "le relais accepte ce serveur sans mot de passe, ou chiffrez la connexion ([email] "
            "starttls = true, ou le port 465), beaucoup de relais n’identifiant qu’en "
            "connexion chiffrée. Les salons l’ont bien reçue. Une fois corrigé, « !lettre "
            "courriel » la renvoie par courriel seulement.",
        ),
        (
            "sent",
            "SMTP_PARTIAL:absent@clg-exemple.fr,parti@clg-exemple.fr",
            "La lettre est partie par courriel, sauf pour absent@clg-exemple.fr, "
            "parti@clg-exemple.fr : le serveur de courriel a refusé ces adresses. "
            "Vérifiez-les dans [email] to ; les autres destinataires l’ont reçue (elle n’est "
            "pas renvoyée, pour ne pas la leur envoyer deux fois).",
        ),
        (
            "failed",
            "SMTP_UNSUPPORTED",
            "La lettre n’a pas pu partir par courriel : le serveur de courriel ne sait pas "
            "transmettre les adresses accentuées (SMTPUTF8) : vérifiez les adresses de [email] "
            "from et to. Les salons l’ont bien reçue. Une fois corrigé, « !lettre courriel » la "
            "renvoie par courriel seulement.",
        ),
        ("sent", None, None),
    ],
)
async def test_what_the_rupn_is_told_of_a_settled_mail(
    bot: Bot, status: str, error: str | None, expected: str | None
) -> None:
    bot.settings = replace(SETTINGS, mail_enabled=True)
    await bot.say("!lettre ajouter Un mot")
    await bot.say("!lettre envoyer")
    [mail] = await bot.posts("digest-mail")
    async with bot.db.transaction():
        [row] = await bot.db.fetchall("SELECT id FROM posts WHERE txn_id = ?", (mail["txn"],))
        if status == "sent":
            await bot.repos.posts.mark_sent(int(row[0]), "<id@x>", bot.clock(), error=error)
        else:
            await bot.repos.posts.mark_failed(int(row[0]), error or "")
        [post] = [p for p in await bot.repos.posts.by_ref("digest", 202649) if p.action == "mail"]
    await mail_settled(make_units(bot.db, bot.settings, bot.info, bot.clock), post)
    reports = [p["content"]["body"] for p in await bot.posts("digest-report")]
    assert reports == ([expected] if expected else [])
    if error and error.startswith("SMTP_PARTIAL"):  # not sent again: the others have it
        assert await bot.say("!lettre courriel") == [
            "Le courriel « La lettre numérique — semaine du 30 novembre » est parti le lundi 30 "
            "novembre à 8h00, sauf pour absent@clg-exemple.fr, parti@clg-exemple.fr : rien "
            "n’est renvoyé, pour ne pas l’envoyer deux fois aux autres. Vérifiez ces adresses "
            "dans [email] to."
        ]


# --- one letter a week, and what falls between two --------------------------------------------


async def test_a_second_envoyer_sends_nothing_unless_confirmed(bot: Bot) -> None:
    bot.settings = replace(SETTINGS, mail_enabled=True)
    await bot.seed_week()
    bot.at(FRIDAY_DUE + timedelta(minutes=1))
    assert len(await bot.tick()) == 3  # two rooms and the mail
    before = len(await bot.posts())
    assert await bot.say("!lettre envoyer") == [
        "La lettre de cette semaine est déjà partie le vendredi 4 décembre à 16h31 : rien "
        "n’est envoyé. Pour envoyer quand même ce qui est nouveau depuis la dernière lettre "
        "(une lettre de plus), tapez « !lettre envoyer quand-même »."
    ]
    assert await bot.say("!lettre envoyer quand-même") == [
        "Rien de nouveau depuis la dernière lettre (aucune publication, aucun mot du RUPN) : "
        "aucune lettre supplémentaire n’est partie."
    ]
    assert [p["kind"] for p in (await bot.posts())[before:]] == ["reply", "reply"]
    assert await bot.week("2026-W49") == "sent"

    bot.at(FRIDAY_DUE + timedelta(minutes=30))
    await bot.say("!annonce Sortie au musée jeudi")
    await bot.say("!lettre ajouter Merci pour vos retours")
    before = len(await bot.posts())
    assert await bot.say("!lettre envoyer quand-meme") == [
        "Lettre supplémentaire envoyée dans 2 salons et par courriel, avec ce qui est nouveau "
        "depuis la dernière lettre. Elle s’ajoute à celle de cette semaine."
    ]
    extra = [p for p in (await bot.posts())[before:] if p["kind"].startswith("digest")]
    assert [(p["kind"], p["room"]) for p in extra] == [
        ("digest", STAFF), ("digest", VIE), ("digest-mail", ""),
    ]  # fmt: skip
    body = extra[0]["content"]["body"]
    assert body.startswith(
        "📬 La lettre numérique — complément de la semaine du 30 novembre\n\n"
        "Depuis la lettre de la semaine\n"
    )
    assert "• Sortie au musée jeudi" in body and "• Merci pour vos retours" in body
    for shown_before in ("Réunion ENT", "Sondages en cours", "À venir"):
        assert shown_before not in body
    async with bot.db.transaction():
        week = await bot.repos.digests.week("2026-W49")
        diffusion = await BilanRepository(bot.db).diffusion(
            MONDAY, FRIDAY_DUE + timedelta(1), PARIS
        )
    assert week is not None and (week.outcome, week.extra_letters) == ("sent", 1)
    assert diffusion.letters == 2

    # Next week: a letter of its own week, nothing of this one repeated.
    bot.at(FRIDAY_DUE + timedelta(days=7, minutes=1))
    await bot.say("!lettre ajouter Bonne fin de semaine")
    [staff, _] = [p for p in await bot.tick() if p["kind"] == "digest"]
    body = staff["content"]["body"]
    assert body.startswith("📬 La lettre numérique — semaine du 7 décembre\n")
    assert "Sortie au musée" not in body and "Réunion ENT" not in body


async def test_an_announcement_still_queued_goes_in_the_next_letter(bot: Bot) -> None:
    await bot.say("!lettre ajouter Un mot")
    await bot.say("!annonce Conseil pédagogique mardi", deliver=False)  # slow pacing
    await bot.say("!lettre envoyer", deliver=False)
    letters = [p for p in await bot.posts("digest")]
    assert len(letters) == 2
    assert all("Conseil pédagogique" not in p["content"]["body"] for p in letters)
    bot.at(MONDAY + timedelta(minutes=1))
    await bot.deliver_all()  # the announcement reaches the rooms after the letter was built
    bot.at(FRIDAY_DUE + timedelta(days=7, minutes=1))
    [staff, vie] = [p["content"]["body"] for p in await bot.tick()]
    assert f"\n• Conseil pédagogique mardi : https://matrix.to/#/{STAFF}/$ev-" in staff
    assert f"\n• Conseil pédagogique mardi : https://matrix.to/#/{VIE}/$ev-" in vie
    bot.at(FRIDAY_DUE + timedelta(days=14, minutes=1))
    await bot.say("!lettre ajouter Encore un mot")
    [staff, _] = [p["content"]["body"] for p in await bot.tick()]
    assert "Conseil pédagogique" not in staff  # once, not twice


async def test_a_time_changed_mid_week_sends_at_the_new_time(bot: Bot) -> None:
    await bot.say("!lettre ajouter Un mot")
    bot.at(FRIDAY_DUE - timedelta(hours=2))  # 14h30: not yet 16h30
    assert await bot.tick() == []
    bot.settings = replace(SETTINGS, digest=DIGEST.model_copy(update={"time": "14h"}))
    assert len(await bot.tick()) == 2
    bot.settings = replace(SETTINGS, digest=DIGEST.model_copy(update={"time": "18h"}))
    bot.at(FRIDAY_DUE + timedelta(hours=2))
    assert await bot.tick() == []  # the week had its letter


async def test_a_sent_week_keeps_its_mark_whatever_is_decided_after(bot: Bot) -> None:
    """The storage's own guard, under the handler's: 'sent' is never overwritten."""
    digests = bot.repos.digests
    async with bot.db.transaction():
        await digests.decide_week("2026-W49", "empty", MONDAY, 0)
        await digests.decide_week("2026-W49", "sent", FRIDAY_DUE, 2)  # `envoyer` after 'empty'
        await digests.decide_week("2026-W49", "empty", FRIDAY_DUE + timedelta(hours=1), 0)
        await digests.decide_week("2026-W49", "skipped", FRIDAY_DUE + timedelta(hours=2), 0)
        week = await digests.week("2026-W49")
    assert week is not None
    assert (week.outcome, week.decided_at, week.rooms) == ("sent", FRIDAY_DUE, 2)
