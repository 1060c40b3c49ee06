"""An académie's news source, end to end: proposed in each school's curation room, each
school decides for itself (issue 18).

Two schools of the CSV directory, each with its RUPN, a teacher, an encrypted staff room
(its diffusion room) and a curation room chosen with `!veille ici`. The académie's
[[feeds]] source brings one article: both RUPN get it as their proposal n° 1; A's RUPN
publishes it, B's sets it aside; only A's staff room receives it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.botprocess import BotProcess, write_bot_config
from devtools.feedserver import FeedServer
from devtools.participant import Participant, SeenMessage
from devtools.synapse import ThrowawaySynapse
from tests.e2e.helpers import outbox_drained, query

pytestmark = pytest.mark.e2e

TITLE = "Les Journées du numérique éducatif"
EMPTY_FEED = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>SRANE</title>'
    "<link>https://srane.ac-poitiers.fr/</link><description>Actualités</description>"
    "</channel></rss>"
)
ONE_ARTICLE = EMPTY_FEED.replace(
    "</channel>",
    f"<item><title>{TITLE}</title><link>https://srane.ac-poitiers.fr/article42</link>"
    "<guid>srane-42</guid><description>Inscriptions ouvertes.</description></item></channel>",
)


@dataclass
class School:
    uai: str
    word: str
    rupn: Participant
    prof: Participant
    staff_room: str = ""
    curation_room: str = ""


@dataclass
class Scene:
    bot_id: str
    workdir: Path
    feeds: FeedServer
    a: School
    b: School

    async def command(self, school: School, room_id: str, text: str) -> str:
        reply = await school.rupn.send_and_wait_reply(room_id, text, self.bot_id, 30)
        return reply.body

    def bot_posts_in(self, who: Participant, room_id: str) -> list[SeenMessage]:
        return [m for m in who.messages if m.room_id == room_id and m.sender == self.bot_id]


def proposal_in(school: School) -> Callable[[SeenMessage], bool]:
    """A news proposal in the school's curation room."""
    return lambda m: m.room_id == school.curation_room and m.body.startswith("📰")


@pytest.fixture
async def scene(synapse: ThrowawaySynapse, tmp_path: Path) -> AsyncIterator[Scene]:
    bot_account, *accounts = await asyncio.gather(
        synapse.register("rupnbot.veille", "bot-secret-pw"),
        *(
            synapse.register(f"{role}.{word}", f"pw-{role}")
            for word in ("veille.tilleuls", "veille.curie")
            for role in ("rupn", "prof")
        ),
    )
    people = [Participant(synapse.base_url, a, tmp_path / "clients") for a in accounts]
    a = School("0869991T", "Tilleuls", people[0], people[1])
    b = School("0869992U", "Curie", people[2], people[3])
    feeds = FeedServer()
    await feeds.start()
    url = feeds.publish("srane.xml", EMPTY_FEED.encode())
    config = write_bot_config(
        tmp_path / "bot.toml",
        homeserver=synapse.base_url,
        bot=bot_account,
        admins=[],
        data_dir=tmp_path / "botdata",
        academie={"nom": "Académie de Poitiers"},
        directory=[(s.uai, f"Collège {s.word}", s.rupn.user_id, "A") for s in (a, b)],
        bot_extra={"feed_poll_minutes": 0.05},
        feeds=[{"name": "SRANE", "url": url}],
    )
    bot = BotProcess(config, tmp_path / "bot.log")
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(bot.start())
            for person in people:
                group.create_task(person.start())
        for side in (a, b):
            side.staff_room, side.curation_room = await asyncio.gather(
                side.rupn.create_encrypted_room(
                    f"Salle des professeurs {side.word}",
                    invite=[side.prof.user_id, bot_account.user_id],
                ),
                side.rupn.create_encrypted_room(
                    f"Veille {side.word}", invite=[bot_account.user_id]
                ),
            )
        await asyncio.gather(
            *(
                s.rupn.wait_joined(room, [bot_account.user_id])
                for s in (a, b)
                for room in (s.staff_room, s.curation_room)
            ),
            *(s.prof.wait_joined(s.staff_room, [bot_account.user_id]) for s in (a, b)),
        )
        yield Scene(bot_account.user_id, tmp_path, feeds, a, b)
    finally:
        await bot.stop()
        await asyncio.gather(*(person.stop() for person in people), feeds.stop())


async def test_an_academie_article_is_proposed_in_each_school_and_decided_by_each(
    scene: Scene,
) -> None:
    a, b = scene.a, scene.b
    for side in (a, b):
        assert await scene.command(side, side.staff_room, "!diffusion ajouter") == (
            f"Le salon « Salle des professeurs {side.word} » recevra désormais les annonces."
        )
        assert await scene.command(side, side.curation_room, "!veille ici") == (
            f"Le salon « Veille {side.word} » recevra désormais les propositions de la veille "
            "(articles à publier ou à écarter) et les alertes sur les sources."
        )

    scene.feeds.publish("srane.xml", ONE_ARTICLE.encode())  # the académie's new article
    proposals = await asyncio.gather(*(s.rupn.wait_for(proposal_in(s), 30) for s in (a, b)))
    for proposal in proposals:
        assert proposal.body.splitlines()[:2] == ["📰 Proposition n° 1 — SRANE", TITLE]

    assert await scene.command(a, a.curation_room, "!annonce veille 1") == (
        "Annonce n° 1 publiée dans 1 salon : Salle des professeurs Tilleuls."
    )
    assert await scene.command(b, b.curation_room, "!veille ignorer 1") == (
        f"Proposition n° 1 écartée : {TITLE}."
    )
    news = await a.prof.wait_for(
        lambda m: m.room_id == a.staff_room and m.sender == scene.bot_id and TITLE in m.body
    )
    assert news.body.startswith(f"📰 {TITLE} — SRANE")

    # B's staff room got no news: a last reply there shows everything before it arrived.
    assert await scene.command(b, b.staff_room, "!veille propositions") == (
        "Aucune proposition en attente."
    )
    await b.prof.wait_for(
        lambda m: m.room_id == b.staff_room and m.body == "Aucune proposition en attente."
    )
    assert [m.body for m in scene.bot_posts_in(b.prof, b.staff_room) if TITLE in m.body] == []
    await outbox_drained(scene.workdir)
    rows = await query(
        scene.workdir, "SELECT school, number, status FROM feed_entries ORDER BY school"
    )
    assert rows == [(a.uai, 1, "published"), (b.uai, 1, "ignored")]
    assert await query(scene.workdir, "SELECT school FROM announcements") == [(a.uai,)]
