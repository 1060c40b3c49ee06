"""`!annonce`, `!diffusion` and the news watch, end to end in encrypted rooms."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.botprocess import write_bot_config
from devtools.feedserver import FeedServer
from devtools.participant import SeenMessage
from devtools.synapse import ThrowawaySynapse
from tests.e2e.conftest import StaffRoom, make_staff_room

pytestmark = pytest.mark.e2e

SPIP = Path(__file__).parents[1] / "fixtures" / "feeds" / "spip"


def _bot_post_in(room_id: str, bot_id: str, text: str) -> Callable[[SeenMessage], bool]:
    return lambda m: m.room_id == room_id and m.sender == bot_id and text in m.body


@dataclass
class Newsroom:
    staff: StaffRoom
    vie_scolaire: str  # a second diffusion room: the RUPN and prof2
    bureau: str  # the RUPN's room with the bot: curation and commands
    feeds: FeedServer

    def announcements_in(self, room_id: str, seen: list[SeenMessage]) -> list[SeenMessage]:
        return [
            m
            for m in seen
            if m.room_id == room_id
            and m.sender == self.staff.bot_id
            and m.event_type == "m.room.message"
            and m.in_reply_to is None
            and "m.new_content" not in m.content
        ]


@pytest.fixture
async def newsroom(synapse: ThrowawaySynapse, tmp_path: Path) -> AsyncIterator[Newsroom]:
    staff = await make_staff_room(synapse, tmp_path)
    rupn, prof2 = staff.rupn, staff.prof2
    vie_scolaire = await rupn.create_encrypted_room(
        "Vie scolaire", invite=[prof2.user_id, staff.bot_id]
    )
    bureau = await rupn.create_encrypted_room("Bureau RUPN", invite=[staff.bot_id])
    await rupn.wait_joined(vie_scolaire, [prof2.user_id])
    feeds = FeedServer()
    await feeds.start()
    spip = sorted(SPIP.glob("*.xml"))[0].read_bytes()
    url = feeds.publish("srane.xml", spip)
    write_bot_config(
        staff.bot.config_path,
        homeserver=synapse.base_url,
        bot=staff.bot_account,
        admins=[rupn.user_id],
        data_dir=tmp_path / "botdata",
        bot_extra={
            "broadcast_rooms": [staff.room_id],
            "curation_room": bureau,
            "feed_poll_minutes": 0.05,
        },
        feeds=[{"name": "SRANE", "url": url}],
    )
    try:
        await staff.bot.start()
        for room in (staff.room_id, vie_scolaire, bureau):
            await rupn.wait_joined(room, [staff.bot_id])
        yield Newsroom(staff, vie_scolaire, bureau, feeds)
    finally:
        await staff.bot.stop()
        await feeds.stop()
        for p in (staff.rupn, staff.prof1, staff.prof2):
            await p.stop()


async def test_annonce_reaches_rooms_then_is_corrected_and_withdrawn(newsroom: Newsroom) -> None:
    staff, rupn = newsroom.staff, newsroom.staff.rupn
    reply = await rupn.send_and_wait_reply(
        newsroom.vie_scolaire, "!diffusion ajouter", staff.bot_id
    )
    assert reply.body == "Le salon « Vie scolaire » recevra désormais les annonces."

    refused = await staff.command(staff.prof1, "!annonce Bonjour")
    assert "réservée aux référents numériques" in refused.body

    text = "**Café numérique** jeudi à 12h30 au CDI : [inscription](https://example.org/cafe)"
    confirmation = await rupn.send_and_wait_reply(newsroom.bureau, f"!annonce {text}", staff.bot_id)
    assert confirmation.body == (
        "Annonce n° 1 publiée dans 2 salons : Salle des professeurs, Vie scolaire."
    )
    for who, room in ((staff.prof1, staff.room_id), (staff.prof2, newsroom.vie_scolaire)):
        post = await who.wait_for(_bot_post_in(room, staff.bot_id, "Café numérique"))
        assert post.decrypted
        assert post.msgtype == "m.text"  # a broadcast: it can notify
        assert post.formatted_body == (
            "<p><strong>Café numérique</strong> jeudi à 12h30 au CDI : "
            '<a href="https://example.org/cafe">inscription</a></p>'
        )

    reply = await rupn.send_and_wait_reply(
        newsroom.bureau, "!annonce corriger 1 **Café numérique** reporté à vendredi", staff.bot_id
    )
    assert reply.body == "Annonce n° 1 corrigée dans 2 salons."
    edit = await staff.prof2.wait_for(lambda m: "m.new_content" in m.content)
    assert edit.content["m.new_content"]["body"] == "**Café numérique** reporté à vendredi"
    assert edit.content["m.relates_to"]["rel_type"] == "m.replace"

    reply = await rupn.send_and_wait_reply(newsroom.bureau, "!annonce retirer 1", staff.bot_id)
    assert reply.body == "Annonce n° 1 retirée de 2 salons."
    for who in (staff.prof1, staff.prof2):
        await who.wait_for(lambda m: m.event_type == "m.room.redaction")


async def test_news_proposal_published_once_with_a_reaction(newsroom: Newsroom) -> None:
    staff, rupn = newsroom.staff, newsroom.staff.rupn
    proposal = await rupn.wait_for(
        lambda m: m.room_id == newsroom.bureau and "Proposition n°" in m.body, timeout=60
    )
    assert proposal.decrypted
    await asyncio.sleep(1)
    proposals = [m for m in rupn.messages if "Proposition n°" in m.body]
    assert 1 <= len(proposals) <= 3  # a new feed offers only its last few entries

    await rupn.send_event(
        newsroom.bureau,
        "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": proposal.event_id, "key": "✅"}},
    )
    published = await staff.prof1.wait_for(
        lambda m: m.room_id == staff.room_id and m.sender == staff.bot_id and "📰" in m.body,
        timeout=30,
    )
    assert published.decrypted
    await rupn.wait_for(lambda m: m.room_id == newsroom.bureau and "publiée dans" in m.body)

    # The feed is read again every 3 s: unchanged, it answers 304 and nothing more is posted.
    for _ in range(100):
        if newsroom.feeds.statuses[304] >= 1:
            break
        await asyncio.sleep(0.2)
    assert newsroom.feeds.statuses[304] >= 1
    assert newsroom.feeds.statuses[200] == 1

    # A restart posts nothing twice.
    await staff.bot.stop()
    await staff.bot.start()
    await asyncio.sleep(8)  # more than two polling periods
    assert len(newsroom.announcements_in(staff.room_id, list(staff.prof1.messages))) == 1
    assert len([m for m in rupn.messages if "Proposition n°" in m.body]) == len(proposals)
