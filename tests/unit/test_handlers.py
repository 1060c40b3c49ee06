"""Handlers called directly, with a recording messenger (no processor, no outbox)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.context import BotInfo, Context, Repositories, Settings
from bot.errors import NotFound
from bot.messenger import Messenger
from bot.router import CommandRegistry
from bot.storage.database import Database
from handlers import ROUTERS, help, status
from tests.unit.fakes import START, FakeBotInfo, FakeMessenger, SentMessage

ROOM = "!salle:example.org"
ADMIN = "@rupn:example.org"


def context(db: Database, messenger: FakeMessenger, info: FakeBotInfo, *, admin: bool) -> Context:
    return Context(
        sender=ADMIN if admin else "@prof:example.org",
        room_id=ROOM,
        event_id="$commande",
        now=START,
        is_admin=admin,
        messenger=messenger,
        repos=Repositories.open(db),
        commands=CommandRegistry(ROUTERS),
        info=info,
        settings=Settings(admins=frozenset({ADMIN}), tz=ZoneInfo("Europe/Paris")),
    )


def test_fakes_implement_the_protocols() -> None:
    messenger: Messenger = FakeMessenger()
    info: BotInfo = FakeBotInfo()
    assert messenger.send(ROOM, "a") != messenger.send(ROOM, "b")
    assert info.joined_rooms() == []


async def test_reply_through_the_context(db: Database) -> None:
    messenger = FakeMessenger()
    ctx = context(db, messenger, FakeBotInfo(), admin=False)
    txn_id = ctx.reply("Bonjour", markdown=True)
    assert messenger.calls == [
        SentMessage(
            room=ROOM,
            text="Bonjour",
            html=None,
            markdown=True,
            mentions=("@prof:example.org",),
            reply_to="$commande",
            kind="reply",
            ref=None,
            txn_id=txn_id,
        )
    ]


async def test_aide_overview_is_markdown(db: Database) -> None:
    messenger = FakeMessenger()
    await help.aide(context(db, messenger, FakeBotInfo(), admin=True), None)
    [reply] = messenger.messages
    assert reply.markdown
    assert reply.kind == "reply"
    assert reply.text.splitlines()[0] == "**Commandes de rupn-bot**"
    assert "- !statut — état du bot : salons rejoints, messages envoyés et en attente" in reply.text


async def test_aide_unknown_raises_not_found(db: Database) -> None:
    messenger = FakeMessenger()
    with pytest.raises(NotFound) as info:
        await help.aide(context(db, messenger, FakeBotInfo(), admin=False), "!xyz")
    assert info.value.message == (
        "Commande inconnue : !xyz. Tapez !aide pour la liste des commandes."
    )
    assert messenger.calls == []


async def test_statut(db: Database) -> None:
    messenger = FakeMessenger()
    info = FakeBotInfo(started_at=START, rooms=[ROOM])
    await status.statut(context(db, messenger, info, admin=True), None)
    [reply] = messenger.messages
    assert reply.text == (
        "rupn-bot 0.1.0, en service depuis le dimanche 22 novembre 2026 à 19h42.\n"
        "Salons rejoints : 1.\n"
        "Messages envoyés : 0 ; en attente : 0 ; en échec : 0.\n"
        "Chiffrement : session du bot signée par son compte (signature croisée)."
    )
    assert not reply.markdown
    assert reply.mentions == (ADMIN,)
    assert reply.reply_to == "$commande"
