"""Tests of bot.processor with the real database and the real command registry."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.context import Context, Repositories, Settings
from bot.domain import IncomingMessage, IncomingReaction, RoomEvent, SyncBatch
from bot.errors import INTERNAL_ERROR_TEXT, InvalidArguments, NotFound, UserError
from bot.processor import EventHandler, EventProcessor
from bot.router import CommandRegistry, ParseEnv, Router, no_arguments
from bot.storage.database import Database
from bot.storage.posts import OutgoingPost, PostsRepository
from bot.storage.state import BATCH_HANDLED_AT, SYNC_TOKEN, StateRepository
from handlers import ROUTERS
from handlers import help as help_handlers
from tests.unit.fakes import START, FakeBotInfo, FakeClock

ROOM = "!salle-des-profs:example.org"
PROF = "@prof.martin:example.org"
ADMIN = "@rupn:example.org"
PARIS = ZoneInfo("Europe/Paris")

TEACHER_OVERVIEW = (
    "**Commandes de rupn-bot**\n"
    "\n"
    "- !aide [commande] — affiche la liste des commandes, ou le détail de l’une d’elles\n"
    "- !annonces — les dernières annonces publiées dans ce salon (pour les RUPN : toutes, "
    "programmées comprises, avec leurs numéros)\n"
    "- !ateliers — liste les prochains ateliers et cafés numériques, avec les places restantes\n"
    "- !inscription <n°> — vous inscrit à un atelier ou un café numérique (comme réagir 👍 à "
    "son annonce)\n"
    "- !desinscription <n°> — retire votre inscription à un atelier ou un café numérique\n"
    "- !panne <salle> | <matériel> | <ce qui se passe> — signale une panne au service "
    "d’assistance et vous transmet sa réponse\n"
    "- !pannes — les demandes de panne en cours (les vôtres ; toutes pour le RUPN)\n"
    "- !mesdonnees [effacer] — vous montre en privé ce que le bot garde à votre sujet ; "
    "« effacer » pour l’effacer\n"
    "\n"
    "Tapez !aide suivi d’un nom de commande pour le détail et un exemple."
)
ADMIN_OVERVIEW = (
    "**Commandes de rupn-bot**\n"
    "\n"
    "- !aide [commande] — affiche la liste des commandes, ou le détail de l’une d’elles\n"
    "- !annonce <texte> — publie une annonce dans les salons de diffusion, la programme, "
    "la corrige ou la retire (réservée aux RUPN)\n"
    "- !annonces — les dernières annonces publiées dans ce salon (pour les RUPN : toutes, "
    "programmées comprises, avec leurs numéros)\n"
    "- !diffusion ajouter|retirer|liste [salon] — choisit les salons qui reçoivent les "
    "annonces (par défaut, celui où vous tapez) (réservée aux RUPN)\n"
    "- !sondage <question> | <choix 1> | <choix 2> [| …] [| option …] — crée un sondage à "
    "boutons (échéance, rappel, anonymat), en donne les résultats, le clôt ou l’exporte "
    "(réservée aux RUPN)\n"
    "- !atelier <quand> | <thème> [| lieu] [| places] [| minimum N] — annonce un atelier "
    "(inscription par 👍, places, liste d’attente, invitation .ics), le modifie, l’annule ou "
    "enregistre les présents (réservée aux RUPN)\n"
    "- !cafe <quand> | <thème> [| lieu] — annonce un café numérique (mêmes inscriptions et "
    "invitation que !atelier) (réservée aux RUPN)\n"
    "- !ateliers — liste les prochains ateliers et cafés numériques, avec les places restantes\n"
    "- !inscription <n°> — vous inscrit à un atelier ou un café numérique (comme réagir 👍 à "
    "son annonce)\n"
    "- !desinscription <n°> — retire votre inscription à un atelier ou un café numérique\n"
    "- !veille ajouter|liste|retirer|propositions|ignorer|ici … — veille d’actualités : sources "
    "suivies et articles proposés au tri (réservée aux RUPN)\n"
    "- !lettre aperçu|envoyer|courriel|pause|reprise|ajouter|retirer … — la lettre de la "
    "semaine : aperçu, envoi, pause, mot du RUPN (réservée aux RUPN)\n"
    "- !panne <salle> | <matériel> | <ce qui se passe> — signale une panne au service "
    "d’assistance et vous transmet sa réponse\n"
    "- !pannes — les demandes de panne en cours (les vôtres ; toutes pour le RUPN)\n"
    "- !statut — état du bot : salons rejoints, messages envoyés et en attente"
    " (réservée aux RUPN)\n"
    "- !mesdonnees [effacer] — vous montre en privé ce que le bot garde à votre sujet ; "
    "« effacer » pour l’effacer\n"
    "- !bilan [2025-2026] — bilan de l’année scolaire : un résumé ici, puis une page à "
    "imprimer, un tableau pour tableur et un texte à coller (réservée aux RUPN)\n"
    "\n"
    "Tapez !aide suivi d’un nom de commande pour le détail et un exemple."
)
ADMIN_ONLY = (
    "Désolé, la commande !statut est réservée aux référents numériques (RUPN) qui "
    "administrent le bot. Tapez !aide pour voir les commandes qui vous sont ouvertes."
)

_event_ids = itertools.count(1)


def message(body: str, sender: str = PROF, room: str = ROOM) -> IncomingMessage:
    return IncomingMessage(room, f"$msg{next(_event_ids)}", sender, body, START)


def batch(*events: RoomEvent, token: str = "s2", initial: bool = False) -> SyncBatch:  # noqa: S107
    return SyncBatch(token, tuple(events), (), initial)


@dataclass(frozen=True)
class StoredPost:
    room_id: str
    event_type: str
    kind: str
    status: str
    content: dict[str, Any]

    @property
    def body(self) -> str:
        return str(self.content["body"])


async def stored_posts(db: Database) -> list[StoredPost]:
    rows = await db.fetchall(
        "SELECT room_id, event_type, kind, status, content FROM posts ORDER BY id"
    )
    return [StoredPost(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]


async def bodies(db: Database) -> list[str]:
    return [p.body for p in await stored_posts(db)]


def make_processor(
    db: Database,
    routers: Iterable[Router] = ROUTERS,
    *,
    state: StateRepository | None = None,
    posts: PostsRepository | None = None,
    info: FakeBotInfo | None = None,
    event_handlers: dict[type, Sequence[EventHandler]] | None = None,
) -> EventProcessor:
    return EventProcessor(
        db,
        replace(Repositories.open(db), posts=posts) if posts else Repositories.open(db),
        state or StateRepository(db),
        CommandRegistry(routers),
        Settings(admins=frozenset({ADMIN}), tz=PARIS),
        FakeClock(),
        info or FakeBotInfo(rooms=[ROOM]),
        event_handlers,
    )


async def ask(db: Database, body: str, sender: str = PROF, **kwargs: Any) -> list[str]:
    """Process one message from `sender`; return the bodies of the posts it queued."""
    before = len(await stored_posts(db))
    await make_processor(db, **kwargs).process(batch(message(body, sender)))
    return [p.body for p in (await stored_posts(db))[before:]]


async def read_token(db: Database) -> str | None:
    async with db.transaction():
        return await StateRepository(db).sync_token()


# --- !aide ---------------------------------------------------------------------------------


async def test_aide_for_a_teacher(db: Database) -> None:
    assert await ask(db, "!aide") == [TEACHER_OVERVIEW]


async def test_aide_for_an_admin(db: Database) -> None:
    assert await ask(db, "!aide", ADMIN) == [ADMIN_OVERVIEW]


@pytest.mark.parametrize("body", ["!Aide", "!AIDE", "!help", "  !aide  ", "!aïde"])
async def test_aide_variants(db: Database, body: str) -> None:
    assert await ask(db, body) == [TEACHER_OVERVIEW]


async def test_aide_is_markdown_rendered(db: Database) -> None:
    await ask(db, "!aide", ADMIN)
    [post] = await stored_posts(db)
    assert post.content["format"] == "org.matrix.custom.html"
    assert post.content["formatted_body"] == (
        "<p><strong>Commandes de rupn-bot</strong></p>\n"
        "<ul>\n"
        "<li>!aide [commande] — affiche la liste des commandes,"
        " ou le détail de l’une d’elles</li>\n"
        "<li>!annonce &lt;texte&gt; — publie une annonce dans les salons de diffusion, la "
        "programme, la corrige ou la retire (réservée aux RUPN)</li>\n"
        "<li>!annonces — les dernières annonces publiées dans ce salon (pour les RUPN : "
        "toutes, programmées comprises, avec leurs numéros)</li>\n"
        "<li>!diffusion ajouter|retirer|liste [salon] — choisit les salons qui reçoivent les "
        "annonces (par défaut, celui où vous tapez) (réservée aux RUPN)</li>\n"
        "<li>!sondage &lt;question&gt; | &lt;choix 1&gt; | &lt;choix 2&gt; [| …] [| option …] "
        "— crée un sondage à boutons (échéance, rappel, anonymat), en donne les résultats, "
        "le clôt ou l’exporte (réservée aux RUPN)</li>\n"
        "<li>!atelier &lt;quand&gt; | &lt;thème&gt; [| lieu] [| places] [| minimum N] — "
        "annonce un atelier (inscription par 👍, places, liste d’attente, invitation .ics), le "
        "modifie, l’annule ou enregistre les présents (réservée aux RUPN)</li>\n"
        "<li>!cafe &lt;quand&gt; | &lt;thème&gt; [| lieu] — annonce un café numérique (mêmes "
        "inscriptions et invitation que !atelier) (réservée aux RUPN)</li>\n"
        "<li>!ateliers — liste les prochains ateliers et cafés numériques, avec les places "
        "restantes</li>\n"
        "<li>!inscription &lt;n°&gt; — vous inscrit à un atelier ou un café numérique (comme "
        "réagir 👍 à son annonce)</li>\n"
        "<li>!desinscription &lt;n°&gt; — retire votre inscription à un atelier ou un café "
        "numérique</li>\n"
        "<li>!veille ajouter|liste|retirer|propositions|ignorer|ici … — veille d’actualités : "
        "sources suivies et articles proposés au tri (réservée aux RUPN)</li>\n"
        "<li>!lettre aperçu|envoyer|courriel|pause|reprise|ajouter|retirer … — la lettre de "
        "la semaine : aperçu, envoi, pause, mot du RUPN (réservée aux RUPN)</li>\n"
        "<li>!panne &lt;salle&gt; | &lt;matériel&gt; | &lt;ce qui se passe&gt; — signale une "
        "panne au service d’assistance et vous transmet sa réponse</li>\n"
        "<li>!pannes — les demandes de panne en cours (les vôtres ; toutes pour le RUPN)</li>\n"
        "<li>!statut — état du bot : salons rejoints, messages envoyés et en attente"
        " (réservée aux RUPN)</li>\n"
        "<li>!mesdonnees [effacer] — vous montre en privé ce que le bot garde à votre sujet ; "
        "« effacer » pour l’effacer</li>\n"
        "<li>!bilan [2025-2026] — bilan de l’année scolaire : un résumé ici, puis une page à "
        "imprimer, un tableau pour tableur et un texte à coller (réservée aux RUPN)</li>\n"
        "</ul>\n"
        "<p>Tapez !aide suivi d’un nom de commande pour le détail et un exemple.</p>"
    )


async def test_aide_statut(db: Database) -> None:
    assert await ask(db, "!aide statut") == [
        "**!statut**\n"
        "\n"
        "État du bot : salons rejoints, messages envoyés et en attente.\n"
        "Exemple : !statut\n"
        "Commande réservée aux RUPN."
    ]


@pytest.mark.parametrize("argument", ["aide", "!aide", "help", "AIDE"])
async def test_aide_aide(db: Database, argument: str) -> None:
    assert await ask(db, f"!aide {argument}") == [
        "**!aide [commande]**\n"
        "\n"
        "Affiche la liste des commandes, ou le détail de l’une d’elles.\n"
        "Autres noms : !help.\n"
        "Exemple : !aide statut"
    ]


async def test_aide_unknown_command(db: Database) -> None:
    assert await ask(db, "!aide inconnue") == [
        "Commande inconnue : !inconnue. Tapez !aide pour la liste des commandes."
    ]
    assert await ask(db, "!aide !inconnue") == [
        "Commande inconnue : !inconnue. Tapez !aide pour la liste des commandes."
    ]


async def test_aide_with_two_words_gives_usage_and_example(db: Database) -> None:
    assert await ask(db, "!aide statut maintenant") == [
        "Un seul mot est attendu.\nUtilisation : !aide [commande]\nExemple : !aide statut"
    ]


# --- unknown commands, non-commands, admin commands ----------------------------------------


@pytest.mark.parametrize(
    ("body", "name"), [("!xyz", "xyz"), ("!aides", "aides"), ("!Statuts 2", "Statuts")]
)
async def test_unknown_command(db: Database, body: str, name: str) -> None:
    assert await ask(db, body) == [
        f"Commande inconnue : !{name}. Tapez !aide pour la liste des commandes."
    ]


@pytest.mark.parametrize("body", ["bonjour", "", "!", "!!aide", "Tapez !aide"])
async def test_not_a_command_gets_no_answer(db: Database, body: str) -> None:
    await make_processor(db).process(batch(message(body), token="s9"))
    assert await stored_posts(db) == []
    assert await read_token(db) == "s9"


async def test_reply_fallback_is_ignored(db: Database) -> None:
    assert await ask(db, "> <@autre:example.org> Comment faire ?\n\n!aide") == [TEACHER_OVERVIEW]


async def test_admin_command_refused_to_a_teacher(db: Database) -> None:
    assert await ask(db, "!statut") == [ADMIN_ONLY]
    assert await ask(db, "!STATUT") == [ADMIN_ONLY]


async def test_statut_for_an_admin(db: Database) -> None:
    async with db.transaction():
        await PostsRepository(db).queue(
            [
                OutgoingPost(ROOM, "send", "m.room.message", {"body": "x"}, "message", "t1"),
                OutgoingPost(ROOM, "send", "m.room.message", {"body": "y"}, "message", "t2"),
            ],
            START,
        )
        await db.execute("UPDATE posts SET status = 'sent', event_id = '$1' WHERE txn_id = 't1'")
    info = FakeBotInfo(started_at=START, rooms=[ROOM, "!autre:example.org"])
    assert await ask(db, "!statut", ADMIN, info=info) == [
        "rupn-bot 0.1.0, en service depuis le dimanche 22 novembre 2026 à 19h42.\n"
        "Salons rejoints : 2.\n"
        "Messages envoyés : 1 ; en attente : 1 ; en échec : 0.\n"
        "Chiffrement : session du bot signée par son compte (signature croisée)."
    ]


# --- shape of the replies ------------------------------------------------------------------


async def test_reply_is_a_notice_replying_to_and_mentioning_the_sender(db: Database) -> None:
    msg = message("!xyz")
    await make_processor(db).process(batch(msg))
    [post] = await stored_posts(db)
    assert post.room_id == ROOM
    assert post.event_type == "m.room.message"
    assert post.kind == "reply"
    assert post.status == "pending"
    assert post.content == {
        "msgtype": "m.notice",
        "body": "Commande inconnue : !xyz. Tapez !aide pour la liste des commandes.",
        "m.mentions": {"user_ids": [PROF]},
        "m.relates_to": {"m.in_reply_to": {"event_id": msg.event_id}},
    }


async def test_every_reply_is_a_notice(db: Database) -> None:
    events = [
        message("!aide"),
        message("!aide statut"),
        message("!statut"),
        message("!statut", ADMIN),
        message("!xyz"),
        message("!aide a b"),
    ]
    count = await make_processor(db).process(batch(*events))
    posts = await stored_posts(db)
    assert count == len(posts) == len(events)
    for post, event in zip(posts, events, strict=True):
        assert post.content["msgtype"] == "m.notice"
        assert post.content["m.relates_to"] == {"m.in_reply_to": {"event_id": event.event_id}}
        assert post.content["m.mentions"] == {"user_ids": [event.sender]}


async def test_replies_go_to_the_room_of_the_message(db: Database) -> None:
    other = "!autre:example.org"
    await make_processor(db).process(batch(message("!aide"), message("!xyz", room=other)))
    assert [p.room_id for p in await stored_posts(db)] == [ROOM, other]


# --- errors inside handlers ----------------------------------------------------------------


def failing_router() -> Router:
    router = Router("tests")

    async def boum(ctx: Context, _: None) -> None:
        ctx.reply("réponse partielle")
        raise RuntimeError("détail secret de l’exception")

    router.command("boum", summary="échoue", parse=no_arguments)(boum)
    return router


async def test_internal_error(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    routers = [help_handlers.router, failing_router()]
    with caplog.at_level(logging.ERROR, logger="bot.processor"):
        replies = await ask(db, "!boum", routers=routers)
    assert replies == [INTERNAL_ERROR_TEXT]
    assert replies == ["Une erreur interne est survenue ; elle a été journalisée."]
    raw = await db.fetchall("SELECT content FROM posts")
    assert all("secret" not in r[0] for r in raw)
    [record] = [r for r in caplog.records if r.name == "bot.processor"]
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith("Command !boum failed (event $msg")
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
    assert "Traceback (most recent call last)" in caplog.text
    assert "RuntimeError: détail secret de l’exception" in caplog.text


async def test_internal_error_in_parser(db: Database) -> None:
    router = Router("tests")

    def parse(text: str, env: ParseEnv) -> int:
        return int(text)  # ValueError, not InvalidArguments

    async def nombre(ctx: Context, n: int) -> None:
        ctx.reply(str(n))

    router.command("nombre", summary="un nombre", parse=parse)(nombre)
    assert await ask(db, "!nombre 3", routers=[router]) == ["3"]
    assert await ask(db, "!nombre trois", routers=[router]) == [INTERNAL_ERROR_TEXT]


async def test_invalid_arguments_give_usage_and_example(db: Database) -> None:
    router = Router("sondages")

    def parse(text: str, env: ParseEnv) -> list[str]:
        parts = [p.strip() for p in text.split("|")]
        if len(parts) < 3:
            raise InvalidArguments("Il faut une question et au moins deux choix.")
        return parts

    async def sondage(ctx: Context, parts: list[str]) -> None:
        ctx.reply(" / ".join(parts))

    router.command(
        "sondage", summary="crée un sondage", parse=parse, usage="question | choix | choix…",
        example="!sondage Date du conseil ? | lundi | mardi",
    )(sondage)  # fmt: skip
    assert await ask(db, "!sondage Quand ?", routers=[router]) == [
        "Il faut une question et au moins deux choix.\n"
        "Utilisation : !sondage question | choix | choix…\n"
        "Exemple : !sondage Date du conseil ? | lundi | mardi"
    ]
    assert await ask(db, "!sondage Quand ? | lundi | mardi", routers=[router]) == [
        "Quand ? / lundi / mardi"
    ]


async def test_invalid_arguments_raised_by_handler_are_shown_as_is(db: Database) -> None:
    router = Router("tests")

    async def strict(ctx: Context, _: None) -> None:
        raise InvalidArguments("Date invalide.")

    router.command("strict", summary="s", parse=no_arguments)(strict)
    assert await ask(db, "!strict", routers=[router]) == ["Date invalide."]


def writing_router(db: Database) -> Router:
    """Commands that write to bot_state, then succeed or fail."""
    router = Router("ecritures")
    state = StateRepository(db)

    async def ecrire(ctx: Context, key: str) -> None:
        await state.set(key, ctx.sender)
        ctx.reply(f"écrit {key}")

    async def refuser(ctx: Context, key: str) -> None:
        await state.set(key, ctx.sender)
        ctx.reply("ne doit pas partir")
        raise NotFound("Sondage n° 12 introuvable.")

    async def planter(ctx: Context, key: str) -> None:
        await state.set(key, ctx.sender)
        raise RuntimeError("boum")

    def word(text: str, env: ParseEnv) -> str:
        return text.strip()

    router.command("ecrire", summary="écrit", parse=word)(ecrire)
    router.command("refuser", summary="refuse", parse=word)(refuser)
    router.command("planter", summary="plante", parse=word)(planter)
    return router


async def keys(db: Database) -> list[str]:
    """What handlers wrote in bot_state (not what the processor keeps there itself)."""
    rows = await db.fetchall(
        "SELECT key FROM bot_state WHERE key NOT IN (?, ?) ORDER BY key",
        (SYNC_TOKEN, BATCH_HANDLED_AT),
    )
    return [str(r[0]) for r in rows]


async def test_user_error_rolls_back_the_handlers_writes(db: Database) -> None:
    processor = make_processor(db, [writing_router(db)])
    await processor.process(
        batch(
            message("!ecrire a"),
            message("!refuser b"),
            message("!planter c"),
            message("!ecrire d"),
            token="s5",
        )
    )
    assert await keys(db) == ["a", "d"]
    assert await bodies(db) == [
        "écrit a",
        "Sondage n° 12 introuvable.",
        INTERNAL_ERROR_TEXT,
        "écrit d",
    ]
    assert await read_token(db) == "s5"


async def test_user_error_subclasses(db: Database) -> None:
    router = Router("tests")

    async def refuse(ctx: Context, _: None) -> None:
        raise UserError("Pas maintenant.")

    router.command("refuse", summary="r", parse=no_arguments)(refuse)
    assert await ask(db, "!refuse", routers=[router]) == ["Pas maintenant."]


# --- the batch, its token and its transaction ----------------------------------------------


async def test_process_returns_the_number_of_posts(db: Database) -> None:
    count = await make_processor(db).process(
        batch(message("!aide"), message("bonjour"), message("!xyz"), token="s3")
    )
    assert count == 2
    assert len(await stored_posts(db)) == 2


async def test_initial_batch_executes_nothing_but_saves_the_token(db: Database) -> None:
    processor = make_processor(db, [writing_router(db), help_handlers.router])
    count = await processor.process(
        batch(message("!aide"), message("!ecrire a"), token="s1", initial=True)
    )
    assert count == 0
    assert await stored_posts(db) == []
    assert await keys(db) == []
    assert await read_token(db) == "s1"


async def test_empty_batch_saves_the_token(db: Database) -> None:
    processor = make_processor(db)
    assert await processor.process(batch(token="s1")) == 0
    assert await processor.process(batch(token="s2")) == 0
    assert await read_token(db) == "s2"


class FailingState(StateRepository):
    async def save_sync_token(self, token: str) -> None:
        await super().save_sync_token(token)
        raise RuntimeError("disque plein")


class FailingPosts(PostsRepository):
    async def queue(self, posts: Sequence[OutgoingPost], now: datetime) -> None:
        await super().queue(posts, now)
        raise RuntimeError("disque plein")


async def test_posts_are_not_kept_if_the_token_cannot_be_saved(db: Database) -> None:
    processor = make_processor(db, [writing_router(db)], state=FailingState(db))
    with pytest.raises(RuntimeError, match="disque plein"):
        await processor.process(batch(message("!ecrire a"), token="s7"))
    assert await stored_posts(db) == []
    assert await keys(db) == []
    assert await read_token(db) is None


async def test_token_is_not_saved_if_the_posts_cannot_be_queued(db: Database) -> None:
    processor = make_processor(db, [writing_router(db)], posts=FailingPosts(db))
    with pytest.raises(RuntimeError, match="disque plein"):
        await processor.process(batch(message("!ecrire a"), token="s7"))
    assert await stored_posts(db) == []
    assert await keys(db) == []
    assert await read_token(db) is None


async def test_batch_can_be_processed_again_after_a_failure(db: Database) -> None:
    the_batch = batch(message("!aide"), token="s8")
    with pytest.raises(RuntimeError):
        await make_processor(db, state=FailingState(db)).process(the_batch)
    await make_processor(db).process(the_batch)
    assert await bodies(db) == [TEACHER_OVERVIEW]
    assert await read_token(db) == "s8"


# --- event handlers ------------------------------------------------------------------------


async def test_event_handlers(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    state = StateRepository(db)
    seen: list[tuple[str, str, bool]] = []

    async def count_vote(ctx: Context, event: RoomEvent) -> None:
        assert isinstance(event, IncomingReaction)
        seen.append((ctx.sender, ctx.event_id, ctx.is_admin))
        await state.set(f"vote:{event.event_id}", event.key)
        ctx.messenger.react(ctx.room_id, event.target_event_id, "✅")

    async def broken(ctx: Context, event: RoomEvent) -> None:
        await state.set("broken", "1")
        ctx.messenger.send(ctx.room_id, "ne doit pas partir")
        raise RuntimeError("boum")

    reaction = IncomingReaction(ROOM, "$r1", ADMIN, "$sondage", "👍", START)
    processor = make_processor(db, event_handlers={IncomingReaction: [broken, count_vote]})
    with caplog.at_level(logging.ERROR, logger="bot.processor"):
        count = await processor.process(batch(reaction, message("bonjour"), token="s4"))
    assert count == 1
    assert seen == [(ADMIN, "$r1", True)]
    [post] = await stored_posts(db)
    assert post.event_type == "m.reaction"
    assert post.content == {
        "m.relates_to": {"rel_type": "m.annotation", "event_id": "$sondage", "key": "✅"}
    }
    assert await keys(db) == ["vote:$r1"]
    assert "Handler broken failed on $r1" in caplog.text
    assert await read_token(db) == "s4"


async def test_a_command_in_a_thread_is_answered_in_the_thread(db: Database) -> None:
    command = IncomingMessage(ROOM, "$cmd", PROF, "!xyz", START, thread_root="$root")
    await make_processor(db).process(batch(command))
    [post] = await stored_posts(db)
    assert post.content["m.relates_to"] == {
        "rel_type": "m.thread",
        "event_id": "$root",
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": "$cmd"},
    }


async def test_an_unknown_command_is_echoed_truncated(db: Database) -> None:
    name = "x" * 30_000
    assert await ask(db, f"!{name}") == [
        f"Commande inconnue : !{'x' * 30}…. Tapez !aide pour la liste des commandes."
    ]
    assert await ask(db, "!xyz") == [
        "Commande inconnue : !xyz. Tapez !aide pour la liste des commandes."
    ]


# --- the command limiter (see also test_command_limiter.py) and who caused each post -------


def limited_processor(
    db: Database, clock: FakeClock, event_handlers: dict[type, Sequence[EventHandler]] | None = None
) -> EventProcessor:
    return EventProcessor(
        db,
        Repositories.open(db),
        StateRepository(db),
        CommandRegistry(ROUTERS),
        Settings(admins=frozenset({ADMIN}), tz=PARIS),
        clock,
        FakeBotInfo(rooms=[ROOM]),
        event_handlers,
    )


async def test_reactions_are_not_limited(db: Database) -> None:
    seen: list[str] = []

    async def on_reaction(ctx: Context, event: RoomEvent) -> None:
        seen.append(event.event_id)

    processor = limited_processor(db, FakeClock(), {IncomingReaction: [on_reaction]})
    await processor.process(batch(*(message("!aide") for _ in range(20))))  # limited
    reactions = [IncomingReaction(ROOM, f"$r{i}", PROF, "$annonce", "👍", START) for i in range(10)]
    await processor.process(batch(*reactions))
    assert seen == [f"$r{i}" for i in range(10)]


async def test_posts_record_who_caused_them_and_admins_come_first(db: Database) -> None:
    processor = limited_processor(db, FakeClock())
    await processor.process(batch(message("!aide"), message("!aide", ADMIN)))
    rows = await db.fetchall("SELECT requester, priority FROM posts ORDER BY id")
    assert [tuple(r) for r in rows] == [(PROF, 1), (ADMIN, 0)]
    async with db.transaction():
        first = await PostsRepository(db).next_pending()
    assert first is not None
    assert first.requester == ADMIN
