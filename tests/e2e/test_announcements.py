"""`!annonce`, `!diffusion` and the news watch, end to end in encrypted rooms."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devtools.botprocess import write_bot_config
from devtools.feedserver import FeedServer
from devtools.participant import SeenMessage
from devtools.synapse import ThrowawaySynapse
from tests.e2e.conftest import StaffRoom, close_staff_room, make_staff_room
from tests.e2e.helpers import at, eventually, outbox_drained, query, seed

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
    feeds = FeedServer()
    try:
        vie_scolaire, bureau, _ = await asyncio.gather(
            rupn.create_encrypted_room("Vie scolaire", invite=[prof2.user_id, staff.bot_id]),
            rupn.create_encrypted_room("Bureau RUPN", invite=[staff.bot_id]),
            feeds.start(),
        )
        await rupn.wait_joined(vie_scolaire, [prof2.user_id])
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
        await staff.bot.start()
        await asyncio.gather(
            staff.wait_bot_joined(),
            rupn.wait_joined(vie_scolaire, [staff.bot_id]),
            prof2.wait_joined(vie_scolaire, [staff.bot_id]),
            rupn.wait_joined(bureau, [staff.bot_id]),
        )
        yield Newsroom(staff, vie_scolaire, bureau, feeds)
    finally:
        await close_staff_room(staff)
        await feeds.stop()


async def test_annonce_reaches_rooms_then_is_corrected_and_withdrawn(newsroom: Newsroom) -> None:
    staff, rupn = newsroom.staff, newsroom.staff.rupn
    reply = await rupn.send_and_wait_reply(
        newsroom.vie_scolaire, "!diffusion ajouter", staff.bot_id
    )
    assert reply.body == "Le salon « Vie scolaire » recevra désormais les annonces."

    refused = await staff.command(staff.prof1, "!annonce Bonjour")
    assert "réservée aux référents numériques" in refused.body

    # A sub-command word with a malformed rest: its usage, nothing published (the next
    # announcement is n° 1, and it is the first post the teachers see in both rooms).
    usage = await rupn.send_and_wait_reply(newsroom.bureau, "!annonce veille abc", staff.bot_id)
    assert usage.body == (
        "« abc » n’est pas un numéro. Pour publier un texte qui commence par « veille », "
        'mettez-le entre guillemets : !annonce "veille …".\n'
        "Utilisation : !annonce veille <n°> [commentaire]\n"
        "Exemple : !annonce veille 12 À lire avant lundi"
    )

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
        assert [m.body for m in newsroom.announcements_in(room, list(who.messages))] == [text]

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
    # Every proposal of that first read sent, and seen: a reply sent after them.
    await outbox_drained(staff.workdir)
    await rupn.send_and_wait_reply(newsroom.bureau, "!aide", staff.bot_id)
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
    statuses = newsroom.feeds.statuses
    await eventually(lambda: statuses[304] >= 1, what="a conditional read answered 304")
    assert statuses[200] == 1

    # A restart posts nothing twice. The feed is made due while the bot is stopped, so it
    # is read at start-up; once that read is recorded (in the same transaction as anything
    # it would post) and the outbox drained, a reply to the RUPN comes after anything it
    # posted, and her client (in both rooms) has seen it all.
    await staff.bot.stop()
    restarted = datetime.now(UTC)
    assert await seed(staff.workdir, "UPDATE feeds SET next_fetch_at = ?", at(restarted)) == 1
    await staff.bot.start()

    async def read_since_restart() -> bool:
        [(last,)] = await query(staff.workdir, "SELECT last_success_at FROM feeds")
        return last is not None and datetime.fromisoformat(last) > restarted

    await eventually(read_since_restart, what="the feed read at start-up")
    await outbox_drained(staff.workdir)
    await rupn.send_and_wait_reply(newsroom.bureau, "!aide", staff.bot_id)
    assert statuses[200] == 1  # the feed's validators were kept across the restart
    assert len(newsroom.announcements_in(staff.room_id, list(rupn.messages))) == 1
    assert len([m for m in rupn.messages if "Proposition n°" in m.body]) == len(proposals)
