"""`!mesdonnees [effacer]` (handlers/privacy/, bot/storage/privacy/), with the real
processor, jobs, settled hooks and migrated database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from bot.context import Repositories
from bot.direct import DirectRooms
from bot.domain import (
    IncomingPollResponse,
    IncomingReaction,
    IncomingReceipt,
    KeyWithheld,
    UndecryptableEvent,
)
from bot.school_year import school_year_of
from bot.storage.database import Database, stored
from bot.storage.posts import OutgoingPost
from bot.tally import tally
from handlers.privacy.jobs import answer_requests
from handlers.privacy.texts import ERASE_POINTER_TEXT, ERASED_TEXT, NOTHING_TEXT, SHOW_POINTER_TEXT
from tests.unit.harness import make_units
from tests.unit.privacy_bot import (
    ADMIN,
    BUREAU,
    DM_A,
    PARIS,
    STAFF,
    A,
    B,
    Bot,
    holding,
    settings,
)


async def aggregates(db: Database) -> dict[str, Any]:
    """What must not change when a person is erased."""
    repos = Repositories.open(db)
    poll = await repos.polls.get(1)
    assert poll is not None
    responses = await repos.polls.responses(1)
    counted = tally(responses, poll.answer_ids, poll.max_selections)
    queries = {
        "signups": "SELECT workshop_id, status, via, COUNT(*) FROM workshop_signups"
        " GROUP BY workshop_id, status, via",
        "readers": "SELECT post_id, members, author_member, readers FROM post_stats ORDER BY 1",
        "reactions": "SELECT post_id, reaction_key, COUNT(*) FROM post_reactions GROUP BY 1, 2",
        "voters": "SELECT poll_id, COUNT(DISTINCT voter) FROM poll_responses GROUP BY 1",
        "rows": "SELECT (SELECT COUNT(*) FROM announcements), (SELECT COUNT(*) FROM polls),"
        " (SELECT COUNT(*) FROM workshops), (SELECT COUNT(*) FROM feed_entries)",
    }
    result: dict[str, Any] = {
        name: [tuple(r) for r in await db.fetchall(sql)] for name, sql in queries.items()
    }
    result["tally"] = (counted.counts, counted.voters, poll.final_results)
    return result


async def a_year_of_alice(bot: Bot) -> None:
    """Alice, a RUPN, leaves a trace in every table that can hold a user id."""
    await bot.say("!diffusion ajouter", room=BUREAU)
    await bot.say("!annonce Réunion ENT lundi, avec @bruno:example.org", room=BUREAU)
    await bot.say("!annonce Merci à @alice:example.org pour l’atelier", sender=ADMIN, room=BUREAU)
    await bot.say("!sondage Quel thème ? | Pronote | ENT")
    sent = await bot.settle_all()
    poll_event = sent["poll-start"]
    await bot.process(
        IncomingPollResponse(STAFF, "$va", A, poll_event, ("a1",), bot.clock()),
        IncomingPollResponse(STAFF, "$vb", B, poll_event, ("a2",), bot.clock()),
    )
    await bot.say("!atelier mardi 12h30 | Pronote | CDI | 12 places", room=BUREAU)
    notice = (await bot.settle_all())["workshop-notice"]
    await bot.process(IncomingReaction(STAFF, "$thumb", A, notice, "👍", bot.clock()))
    await bot.say("!inscription 1", sender=B)
    await bot.say("!lettre ajouter Merci @alice:example.org", room=BUREAU)
    await bot.say("!sondage clore 1")
    await bot.settle_all()
    await bot.process(
        IncomingReceipt(STAFF, notice, A, bot.clock()),
        IncomingReceipt(STAFF, notice, B, bot.clock()),
        UndecryptableEvent(STAFF, "$secret", A, "sess", bot.clock(), {"sender": A}),
        KeyWithheld(STAFF, A, "sess", "m.unverified", "", bot.clock()),
    )
    async with bot.db.transaction():
        await bot.db.execute(
            "INSERT INTO feeds (name, url, origin, added_by, added_at)"
            " VALUES ('SRANE', 'https://srane.example/feed', 'chat', ?, ?)",
            (A, stored(bot.clock())),
        )
        await bot.db.execute(
            "INSERT INTO feed_entries (feed_id, entry_key, title, summary_html, summary_text,"
            " status, created_at, decided_by, decided_at)"
            " VALUES (1, 'k1', 'Capytale', '<p>…</p>', '…', 'ignored', ?, ?, ?)",
            (stored(bot.clock()), A, stored(bot.clock())),
        )
        # A reply with its fallback and a pill, as another client would write it.
        fallback = {
            "msgtype": "m.notice",
            "body": f"> <{A}> !aide\n\nVoici l’aide.",
            "format": "org.matrix.custom.html",
            "formatted_body": '<mx-reply><a href="https://matrix.to/#/%40alice%3Aexample.org">'
            "Alice</a></mx-reply>Voici l’aide.",
            "m.mentions": {"user_ids": [A]},
        }
        post = OutgoingPost(STAFF, "send", "m.room.message", fallback, "reply", "txn-fallback")
        await bot.repos.posts.queue([post], bot.clock())
    await bot.settle_all()


async def test_erasure_leaves_no_user_id_in_any_table_and_keeps_every_count(db: Database) -> None:
    bot = Bot(db, settings=settings(A))
    await a_year_of_alice(bot)
    await bot.say("!mesdonnees")  # a request waiting in privacy_requests
    held = set(await holding(db, A))
    assert {
        "posts.requester",
        "posts.content",
        "broadcast_rooms.added_by",
        "feeds.added_by",
        "feed_entries.decided_by",
        "announcements.author",
        "announcements.body",
        "polls.creator",
        "polls.closed_by",
        "poll_responses.voter",
        "workshops.organiser",
        "workshop_signups.user_id",
        "undecrypted_events.sender",
        "decryption_alerts.sender",
        "digest_words.added_by",
        "privacy_requests.user_id",
    } <= held
    year = school_year_of(bot.clock(), PARIS).label
    key_a = bot.pseudonyms.reader_key(A, year)
    key_b = bot.pseudonyms.reader_key(B, year)
    markers = "SELECT reader_key FROM read_markers ORDER BY reader_key"
    assert {r[0] for r in await db.fetchall(markers)} == {key_a, key_b}
    before = await aggregates(db)
    assert sum(r[-1] for r in before["readers"]) == 5  # read in the staff room

    new = await bot.say("!mesdonnees effacer")
    assert [(p["room"], p["content"]["body"]) for p in new] == [(STAFF, ERASE_POINTER_TEXT)]
    assert new[0]["content"]["m.mentions"] == {}
    assert "m.relates_to" not in new[0]["content"]  # not a reply: quotes none of her events
    # Her seat at the workshop to come is given back; the past counts stay.
    signups = before.pop("signups")
    assert signups == [(1, "confirmed", "command", 1), (1, "confirmed", "reaction", 1)]
    after = await aggregates(db)
    assert after.pop("signups") == [(1, "cancelled", "reaction", 1), (1, "confirmed", "command", 1)]
    assert after == before
    assert {r[0] for r in await db.fetchall(markers)} == {key_b}
    # Only the pending confirmation remembers who asked, until it is given.
    assert set(await holding(db, A)) == {"posts.requester", "privacy_requests.user_id"}

    assert await bot.tick() == []  # the direct room is opened; Alice has not joined it
    assert bot.opened == [A]
    bot.join()
    [confirmation] = await bot.tick()
    assert (confirmation["room"], confirmation["content"]["body"]) == (DM_A, ERASED_TEXT)
    assert confirmation["content"]["m.mentions"] == {}
    await bot.settle_all()

    assert await holding(db, A) == []
    assert await holding(db, quote(A, safe="")) == []
    her_events = [*bot.sent_by[A], "$va", "$thumb", "$secret"]
    assert [e for e in her_events if await holding(db, e)] == []
    after = await aggregates(db)
    after.pop("signups")
    assert after == before
    # One random token for the whole erasure: the same in every column it rewrote.
    tokens = await db.fetchall(
        "SELECT organiser FROM workshops UNION SELECT voter FROM poll_responses"
        " WHERE poll_id = 1 AND answers = '[\"a1\"]' UNION SELECT author FROM announcements"
        " WHERE id = 1"
    )
    assert len(tokens) == 1 and tokens[0][0].startswith("anonyme:")
    assert await bot.tick() == []  # answered once


async def test_show_in_a_shared_room_is_answered_in_a_direct_room_once_joined(
    db: Database,
) -> None:
    bot = Bot(db)
    await bot.say("!atelier mardi 12h30 | Pronote | CDI | 12 places", sender=ADMIN, room=BUREAU)
    notice = (await bot.settle_all())["workshop-notice"]
    await bot.process(IncomingReaction(STAFF, "$thumb", A, notice, "👍", bot.clock()))
    await bot.say("!sondage Quel thème ? | Pronote | ENT", sender=ADMIN)
    poll_event = (await bot.settle_all())["poll-start"]
    await bot.process(
        IncomingPollResponse(STAFF, "$va", A, poll_event, ("a2",), bot.clock()),
        IncomingReceipt(STAFF, poll_event, A, bot.clock()),
    )

    new = await bot.say("!mesdonnees")
    assert [(p["room"], p["kind"], p["content"]["body"]) for p in new] == [
        (STAFF, "reply", SHOW_POINTER_TEXT)
    ]
    await bot.say("!mesdonnees")  # asked twice: answered once
    assert await bot.tick() == []
    bot.join()
    [answer] = await bot.tick()
    assert answer["room"] == DM_A and answer["kind"] == "privacy-data"
    assert answer["content"]["msgtype"] == "m.notice"
    assert answer["content"]["body"] == (
        "Ce que rupn-bot garde à votre sujet :\n"
        "• Inscriptions aux ateliers et cafés numériques (1) :\n"
        "  – atelier « Pronote », mardi 1 décembre 2026 à 12h30 : inscription confirmée "
        "(par 👍)\n"
        "• Réponses aux sondages (1) :\n"
        "  – « Quel thème ? » : ENT (lundi 30 novembre 2026 à 8h02)\n"
        "• Réactions enregistrées : 1 👍 d’inscription\n"
        "• Marqueurs de lecture : 1 salon, sous un pseudonyme (ils comptent les lecteurs des "
        "messages du bot)\n"
        "• Messages du bot envoyés à votre demande ou qui vous nomment : 2 (copies gardées 13 "
        "mois)\n"
        "\n"
        "Tout est anonymisé au bout de 13 mois. Pour l’effacer dès maintenant : "
        "!mesdonnees effacer"
    )
    assert await bot.tick() == []
    assert await db.fetchall("SELECT * FROM privacy_requests") == []


async def test_in_a_direct_room_the_answer_and_the_confirmation_come_at_once(
    db: Database,
) -> None:
    bot = Bot(db)
    bot.join(B, "!dm-bruno:example.org")
    bot.info.rooms.append("!dm-bruno:example.org")
    await bot.say("!inscription 1", sender=B)  # nothing to sign up to: a reply that names B
    new = await bot.say("!mesdonnees", sender=B, room="!dm-bruno:example.org")
    assert [(p["kind"], p["content"]["body"]) for p in new] == [
        (
            "privacy-data",
            "Ce que rupn-bot garde à votre sujet :\n"
            "• Messages du bot envoyés à votre demande ou qui vous nomment : 1 (copies gardées "
            "13 mois)\n\nTout est anonymisé au bout de 13 mois. Pour l’effacer dès maintenant : "
            "!mesdonnees effacer",
        )
    ]
    new = await bot.say("!mesdonnees effacer", sender=B, room="!dm-bruno:example.org")
    assert [(p["kind"], p["content"]["body"]) for p in new] == [("privacy-erased", ERASED_TEXT)]
    assert set(await holding(db, B)) == {"posts.requester", "privacy_requests.user_id"}
    assert await bot.tick() == []  # already confirmed: the job only closes the erasure
    assert await holding(db, B) == []
    assert bot.opened == []
    new = await bot.say("!mesdonnees", sender=B, room="!dm-bruno:example.org")
    assert [p["content"]["body"] for p in new] == [NOTHING_TEXT]


async def test_a_request_never_answered_is_dropped_after_a_week(db: Database) -> None:
    bot = Bot(db)
    await bot.say("!mesdonnees effacer")
    assert await bot.tick() == []
    bot.clock.advance(timedelta(days=7).total_seconds())
    assert await bot.tick() == []
    assert await holding(db, A) == []


async def test_opening_the_direct_room_is_not_retried_at_every_tick(db: Database) -> None:
    bot = Bot(db)
    await bot.say("!mesdonnees")
    failures: list[str] = []

    async def cannot(user: str, name: str) -> str:
        from bot.errors import MatrixError

        failures.append(user)
        raise MatrixError("M_FORBIDDEN", "no")

    direct = DirectRooms(db, cannot)
    units = make_units(db, bot.settings, bot.info, bot.clock, direct_rooms=direct)
    for _ in range(12 * 5):  # five minutes of ticks
        await answer_requests(units)
        bot.clock.advance(5)
    assert len(failures) == 12  # the first minute only


async def test_a_wrong_argument_gets_the_usage(db: Database) -> None:
    bot = Bot(db)
    [reply] = await bot.say("!mesdonnees tout")
    assert reply["content"]["body"] == (
        "« tout » : tapez !mesdonnees pour voir ce que le bot garde à votre sujet, ou "
        "!mesdonnees effacer pour l’effacer.\n"
        "Utilisation : !mesdonnees [effacer]\n"
        "Exemple : !mesdonnees"
    )
    [reply] = await bot.say("!MesDonnées Effacer")
    assert reply["content"]["body"] == ERASE_POINTER_TEXT


# --- retention ----------------------------------------------------------------------------
