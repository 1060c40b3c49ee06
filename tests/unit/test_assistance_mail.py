"""The ticket as the helpdesk receives it: the real mail sender, a real SMTP server on
loopback (aiosmtpd), its headers and text; a failure told to the RUPN."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from bot.config import EmailSettings
from bot.mailer import MailSender
from bot.storage.database import Database
from bot.storage.posts import Post, PostsRepository
from devtools.smtp import MailCatcher
from handlers.assistance.delivery import ticket_settled
from tests.unit.assistance_bot import (
    BRUNO,
    CURATION,
    DESK,
    RUPN,
    SETTINGS,
    TICKET_LINES,
    AssistanceBot,
)
from tests.unit.harness import mail_until_idle, make_units

FROM = "rupn-bot@clg-exemple.fr"


@pytest.fixture
def smtp() -> Iterator[MailCatcher]:
    catcher = MailCatcher()
    catcher.start()
    try:
        yield catcher
    finally:
        catcher.stop()


async def send_all(bot: AssistanceBot, port: int) -> None:
    """The bot's mail worker until nothing is pending; the school has no [email] of its
    own: tickets go through the bot's relay, with the RUPN's failure hook."""
    relay = EmailSettings(
        smtp_host="127.0.0.1", smtp_port=port, starttls=False, sender=FROM,
        to=("lettre@clg-exemple.fr",),
    )  # fmt: skip
    units = make_units(bot.db, bot.settings, bot.info, bot.clock)

    async def settled(post: Post) -> None:
        await ticket_settled(units, post)

    mailer = MailSender(
        bot.db, PostsRepository(bot.db), lambda _key: None, bot.clock, relay=relay,
        on_settled=settled, backoff_base_s=0.0,
    )  # fmt: skip
    await mail_until_idle(mailer)


async def test_the_desk_receives_a_ticket_it_can_act_on(db: Database, smtp: MailCatcher) -> None:
    bot = AssistanceBot(
        db, settings=replace(SETTINGS, assistance=replace(DESK, copy=("rupn@clg-exemple.fr",)))
    )
    await bot.say("!panne B12 vidéoprojecteur ne s’allume plus")
    await bot.say("!panne 1 le voyant orange clignote", sender=BRUNO)
    await send_all(bot, smtp.port)

    ticket, detail = smtp.received
    assert ticket.rcpt_tos == ("assistance@ac-exemple.fr", "rupn@clg-exemple.fr")
    message = ticket.parsed()
    assert message["From"] == "rupn-bot <rupn-bot@clg-exemple.fr>"
    assert message["To"] == "assistance@ac-exemple.fr"
    assert message["Cc"] == "rupn@clg-exemple.fr"
    assert message["Reply-To"] == "rupn-bot@clg-exemple.fr"
    assert message["Message-ID"] == "<panne-etab-1@clg-exemple.fr>"
    assert message["Subject"] == (
        "[rupn-bot n° 1] Collège Jean Moulin — B12 — vidéoprojecteur — ne s’allume plus"
    )
    assert message["In-Reply-To"] is None and message["List-Id"] is None
    assert message.get_content_type() == "text/plain"
    assert message.get_content().splitlines()[4:11] == TICKET_LINES

    followed = detail.parsed()
    assert followed["Message-ID"] == "<panne-etab-1-2@clg-exemple.fr>"
    assert followed["In-Reply-To"] == "<panne-etab-1@clg-exemple.fr>"
    assert followed["References"] == "<panne-etab-1@clg-exemple.fr>"
    lines = followed.get_content().splitlines()
    assert "Précision apportée : le voyant orange clignote" in lines
    assert "Personnes ayant signalé cette panne : 1" in lines

    await send_all(bot, smtp.port)  # nothing pending: nothing sent twice
    assert len(smtp.received) == 2


async def test_a_ticket_that_cannot_go_is_reported_to_the_rupn(db: Database) -> None:
    bot = AssistanceBot(db)
    await bot.say("!panne B12 vidéoprojecteur ne s’allume plus")
    refusing = MailCatcher()  # never started: every attempt is refused, then it fails
    await send_all(bot, refusing.port)
    [report] = await bot.posts("assistance-mail-report")
    assert report["room"] == CURATION
    assert report["content"]["m.mentions"] == {"user_ids": [RUPN]}
    assert report["content"]["body"].startswith(
        "Le courriel de la demande de panne n° 1 (B12 — vidéoprojecteur) au service "
        "d’assistance (assistance@ac-exemple.fr) n’a pas pu partir : "
    )
    assert report["content"]["body"].endswith(
        "Transmettez-la autrement au service d’assistance ; la demande reste ouverte."
    )
