"""`!annonce`, `!annonces` and `!diffusion` (handlers/announcements/) with the real database
and registry."""

from __future__ import annotations

import contextlib
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.context import Repositories, Settings
from bot.domain import IncomingMessage, SyncBatch
from bot.errors import InvalidArguments
from bot.processor import EventProcessor
from bot.router import CommandRegistry
from bot.storage.database import Database
from bot.storage.state import StateRepository
from bot.work import Units
from handlers import ROUTERS
from handlers.announcements import scheduled
from handlers.announcements.args import Correct, FromNews, Publish, Withdraw, parse_annonce
from tests.unit.fakes import PARSE_ENV, START, FakeBotInfo, FakeClock

ADMIN = "@rupn:example.org"
PROF = "@prof:example.org"
STAFF = "!staff:example.org"
VIE = "!vie:example.org"
BUREAU = "!bureau:example.org"
PARIS = ZoneInfo("Europe/Paris")
INFO = FakeBotInfo(
    rooms=[STAFF, VIE, BUREAU],
    names={STAFF: "Salle des professeurs", VIE: "Vie scolaire", BUREAU: "Bureau"},
    aliases={"#vie:example.org": VIE},
)
SETTINGS = Settings(admins=frozenset({ADMIN}), tz=PARIS, broadcast_rooms=(STAFF,))
MONDAY_8H = datetime(2026, 11, 23, 8, 0, tzinfo=PARIS)
SCHEDULE_USAGE = (
    "\nUtilisation : !annonce programmer <quand> | <texte>"
    "\nExemple : !annonce programmer lundi 8h | Réunion ENT à 17h"
)
_ids = itertools.count(1)


def processor(db: Database, clock: FakeClock) -> EventProcessor:
    repos = Repositories.open(db)
    registry = CommandRegistry(ROUTERS)
    return EventProcessor(db, repos, StateRepository(db), registry, SETTINGS, clock, INFO)


async def posts(db: Database) -> list[dict[str, Any]]:
    rows = await db.fetchall("SELECT room_id, kind, content, action, txn_id FROM posts ORDER BY id")
    return [
        {"room": r[0], "kind": r[1], "content": json.loads(r[2]), "action": r[3], "txn": r[4]}
        for r in rows
    ]


async def say(
    db: Database,
    body: str,
    *,
    sender: str = ADMIN,
    room: str = BUREAU,
    clock: FakeClock | None = None,
) -> list[dict[str, Any]]:
    before = len(await posts(db))
    message = IncomingMessage(room, f"$m{next(_ids)}", sender, body, START)
    await processor(db, clock or FakeClock()).process(SyncBatch("t", (message,), (), False))
    return (await posts(db))[before:]


def replies(new: list[dict[str, Any]]) -> list[str]:
    return [p["content"]["body"] for p in new if p["kind"] == "reply"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bonjour à tous", Publish("Bonjour à tous")),
        ('"Dans le cadre du plan : réunion"', Publish("Dans le cadre du plan : réunion")),
        ("dans #vie:example.org ici : Réunion", Publish("Réunion", ("#vie:example.org", "ici"))),
        ("veille 12", FromNews(12, None)),
        ("veille 12 À lire avant lundi", FromNews(12, "À lire avant lundi")),
        ("corriger 3 Nouveau texte", Correct(3, "Nouveau texte")),
        ("retirer 3", Withdraw(3)),
        ("« Retirer les tablettes du chariot »", Publish("Retirer les tablettes du chariot")),
        ("programmer lundi 8h | Réunion", Publish("Réunion", (), MONDAY_8H)),
        ("Programmer lundi 8h|dans ici : Réunion", Publish("Réunion", ("ici",), MONDAY_8H)),
        ("veille n° 12", FromNews(12, None)),
        ("corriger n°3 Nouveau texte", Correct(3, "Nouveau texte")),
        ("retirer #3", Withdraw(3)),
        ("retirer\n3", Withdraw(3)),
        ("“Veille de Noël : le CDI ferme à 16h”", Publish("Veille de Noël : le CDI ferme à 16h")),
        ('"Corriger les copies avant jeudi"', Publish("Corriger les copies avant jeudi")),
        ('"Dans une semaine : conseil"', Publish("Dans une semaine : conseil")),
        ('"Bonjour" à tous', Publish('"Bonjour" à tous')),
        ('programmer lundi 8h | "Dans le cadre"', Publish("Dans le cadre", (), MONDAY_8H)),
        ("dans ici: Réunion", Publish("Réunion", ("ici",))),
        (
            "dans !abc:example.org #vie:example.org: x",
            Publish("x", ("!abc:example.org", "#vie:example.org")),
        ),
        ('"Programmer en Python : atelier"', Publish("Programmer en Python : atelier")),
        ("retirer 999999999", Withdraw(999_999_999)),
    ],
)
def test_parse_annonce(text: str, expected: object) -> None:
    assert parse_annonce(text, PARSE_ENV) == expected


def test_parse_annonce_refuses_empty_text() -> None:
    with pytest.raises(InvalidArguments) as raised:
        parse_annonce("   ", PARSE_ENV)
    assert (raised.value.message, raised.value.usage) == ("Le texte de l’annonce est vide.", None)
    with pytest.raises(InvalidArguments) as raised:
        parse_annonce("programmer lundi 8h |  ", PARSE_ENV)
    assert (raised.value.message, raised.value.usage) == (
        "Le texte de l’annonce est vide.",
        "!annonce programmer <quand> | <texte>",
    )


@given(st.text())
def test_parse_annonce_only_raises_invalid_arguments(text: str) -> None:
    with contextlib.suppress(InvalidArguments):
        parse_annonce(text, PARSE_ENV)


async def test_annonce_reaches_config_and_chat_diffusion_rooms(db: Database) -> None:
    assert replies(await say(db, "!diffusion ajouter", room=VIE)) == [
        "Le salon « Vie scolaire » recevra désormais les annonces."
    ]
    assert replies(await say(db, "!diffusion ajouter", room=VIE)) == [
        "Le salon « Vie scolaire » reçoit déjà les annonces."
    ]
    new = await say(db, "!annonce **Café** au CDI")
    assert [(p["room"], p["kind"]) for p in new] == [
        (STAFF, "announcement"),
        (VIE, "announcement"),
    ]
    content = new[0]["content"]
    assert content["msgtype"] == "m.text"  # a broadcast can notify
    assert content["body"] == "**Café** au CDI"
    assert content["formatted_body"] == "<p><strong>Café</strong> au CDI</p>"
    assert content["m.mentions"] == {}


async def test_non_admin_is_refused_and_nothing_is_posted(db: Database) -> None:
    new = await say(db, "!annonce Coucou", sender=PROF, room=STAFF)
    assert len(new) == 1
    assert new[0]["kind"] == "reply"
    assert "réservée aux référents numériques" in new[0]["content"]["body"]


async def test_config_room_cannot_be_removed_in_chat(db: Database) -> None:
    assert replies(await say(db, "!diffusion retirer", room=STAFF)) == [
        "Le salon « Salle des professeurs » est déclaré dans la configuration "
        "(bot.broadcast_rooms) : il reçoit les annonces tant qu’il y figure. "
        "Modifiez le fichier pour le retirer."
    ]


async def test_diffusion_list_and_unknown_room(db: Database) -> None:
    await say(db, "!diffusion ajouter #vie:example.org")
    assert replies(await say(db, "!diffusion liste")) == [
        "Salons de diffusion :\n- Salle des professeurs (configuration)\n- Vie scolaire"
    ]
    assert replies(await say(db, "!diffusion ajouter #cdi:example.org")) == [
        "Le bot n’est pas dans le salon #cdi:example.org. Invitez-le d’abord dans ce salon, "
        "puis tapez !diffusion ajouter depuis ce salon."
    ]
    [reply] = replies(await say(db, "!diffusion"))
    assert reply.startswith("Précisez ajouter, retirer ou liste.\nUtilisation : !diffusion")


async def test_named_rooms_only(db: Database) -> None:
    new = await say(db, "!annonce dans #vie:example.org ici : Réunion")
    assert [p["room"] for p in new] == [VIE, BUREAU]


async def test_correct_and_withdraw_target_each_post(db: Database) -> None:
    await say(db, "!diffusion ajouter", room=VIE)
    published = await say(db, "!annonce Texte initial")
    txns = {p["room"]: p["txn"] for p in published}

    new = await say(db, "!annonce corriger 1 Texte *corrigé*")
    edits = [p for p in new if p["kind"] == "announcement-edit"]
    assert [e["room"] for e in edits] == [STAFF, VIE]
    edit = edits[0]["content"]
    assert edit["body"] == "* Texte *corrigé*"
    assert edit["m.new_content"]["body"] == "Texte *corrigé*"
    assert edit["m.new_content"]["formatted_body"] == "<p>Texte <em>corrigé</em></p>"
    assert edit["m.relates_to"] == {"rel_type": "m.replace"}  # event id filled in when sent
    assert (edit["msgtype"], edit["m.new_content"]["msgtype"]) == ("m.text", "m.text")
    rows = await db.fetchall("SELECT target_txn_id FROM posts WHERE kind = 'announcement-edit'")
    assert [r[0] for r in rows] == [txns[STAFF], txns[VIE]]
    assert replies(new) == ["Annonce n° 1 corrigée dans 2 salons."]

    new = await say(db, "!annonce retirer 1")
    assert [(p["room"], p["action"]) for p in new if p["kind"] == "announcement-withdrawal"] == [
        (STAFF, "redact"),
        (VIE, "redact"),
    ]
    assert replies(new) == ["Annonce n° 1 retirée de 2 salons."]
    assert replies(await say(db, "!annonce retirer 1")) == ["L’annonce n° 1 est déjà retirée."]
    assert replies(await say(db, "!annonce corriger 9 Texte")) == [
        "Aucune annonce n° 9. Tapez !annonces pour voir leurs numéros."
    ]


async def test_scheduled_announcement_is_published_when_due(db: Database) -> None:
    clock = FakeClock(START)  # Sunday 22 November 2026, 18:42 UTC
    new = await say(db, "!annonce programmer lundi 8h | Réunion **ENT**", clock=clock)
    assert replies(new) == [
        "Annonce n° 1 programmée pour le lundi 23 novembre à 8h00, dans 1 salon : "
        "Salle des professeurs. Pour l’annuler : !annonce retirer 1."
    ]
    assert [p for p in new if p["kind"] == "announcement"] == []
    units = Units(db, Repositories.open(db), SETTINGS, INFO, clock, lambda: None)

    await scheduled.publish_due(units)
    assert [p for p in await posts(db) if p["kind"] == "announcement"] == []

    clock.now = START + timedelta(hours=14)  # Monday 23 November, 9:42 in Paris: due
    await scheduled.publish_due(units)
    await scheduled.publish_due(units)  # a second tick publishes nothing more
    published = [p for p in await posts(db) if p["kind"] == "announcement"]
    assert [p["room"] for p in published] == [STAFF]
    listing = replies(await say(db, "!annonces", clock=clock))
    assert listing == ["Annonces :\n- n° 1 (publiée, 1 salon) : Réunion **ENT**"]


async def test_scheduling_in_the_past_is_explained(db: Database) -> None:
    [reply] = replies(await say(db, "!annonce programmer 3/11/2026 8h | Trop tard"))
    assert reply == (
        "Cette date est déjà passée (mardi 3 novembre 2026 à 8h00). Exemple : « demain 12h15 »."
        f"{SCHEDULE_USAGE}"
    )


async def test_no_diffusion_room(db: Database) -> None:
    lonely = Settings(admins=frozenset({ADMIN}), tz=PARIS)
    message = IncomingMessage(BUREAU, "$x", ADMIN, "!annonce Bonjour", START)
    repos = Repositories.open(db)
    registry = CommandRegistry(ROUTERS)
    proc = EventProcessor(db, repos, StateRepository(db), registry, lonely, FakeClock(), INFO)
    await proc.process(SyncBatch("t", (message,), (), False))
    assert replies(await posts(db)) == [
        "Aucun salon de diffusion : tapez !diffusion ajouter dans chaque salon qui doit recevoir "
        "les annonces, ou nommez les salons : !annonce dans #salon:serveur : texte"
    ]


async def test_due_time_compares_instants_not_local_clock_text(db: Database) -> None:
    """08:00 in Paris is 07:00 UTC: due at 07:00:30 UTC, not an hour later."""
    clock = FakeClock(START)
    await say(db, "!annonce programmer lundi 8h | Réunion", clock=clock)
    units = Units(db, Repositories.open(db), SETTINGS, INFO, clock, lambda: None)
    clock.now = datetime(2026, 11, 23, 6, 59, 30, tzinfo=UTC)
    await scheduled.publish_due(units)
    assert [p for p in await posts(db) if p["kind"] == "announcement"] == []
    clock.now = datetime(2026, 11, 23, 7, 0, 30, tzinfo=UTC)
    await scheduled.publish_due(units)
    assert [p["room"] for p in await posts(db) if p["kind"] == "announcement"] == [STAFF]


def _usage(line: str, example: str) -> str:
    return f"\nUtilisation : !annonce {line}\nExemple : !annonce {example}"


CORRECT_USAGE = _usage("corriger <n°> <nouveau texte>", "corriger 3 Réunion ENT à 17h30")
WITHDRAW_USAGE = _usage("retirer <n°>", "retirer 3")
FROM_NEWS_USAGE = _usage("veille <n°> [commentaire]", "veille 12 À lire avant lundi")
ROOMS_USAGE = _usage(
    "dans <salon> [salon…] : <texte>", "dans #vie-scolaire:serveur ici : Réunion ENT à 17h"
)
NO_ANNOUNCEMENT_NUMBER = "Indiquez le numéro de l’annonce (tapez !annonces pour les voir)."


def hint(word: str) -> str:
    return (
        f"Pour publier un texte qui commence par « {word} », mettez-le entre guillemets : "
        f'!annonce "{word} …".'
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "!annonce programmer lundi 8h Réunion ENT",
            f"Indiquez la date, puis « | » et le texte. {hint('programmer')}{SCHEDULE_USAGE}",
        ),
        ("!annonce programmer", f"Indiquez la date, puis « | » et le texte.{SCHEDULE_USAGE}"),
        (
            "!annonce programmer lundi 25h | Réunion",
            "L’heure « 25h » n’existe pas : les heures vont de 0 à 23 et les minutes de 00 à 59. "
            f"Exemple : « 12h30 ».{SCHEDULE_USAGE}",
        ),
        (
            "!annonce programmer en Python | atelier",
            "Je n’ai pas compris « en ». Exemples : « mardi 12h30 », « demain 12h15 », "
            f"« 3/12 12h30 », « jeudi 14 décembre 12h30 ».{SCHEDULE_USAGE}",
        ),
        ("!annonce programmer demain 9h |", f"Le texte de l’annonce est vide.{SCHEDULE_USAGE}"),
        (
            "!annonce corriger deux Réunion à 17h30",
            f"« deux » n’est pas un numéro. {hint('corriger')}{CORRECT_USAGE}",
        ),
        (
            "!annonce corriger 3x Texte",
            f"« 3x » n’est pas un numéro. {hint('corriger')}{CORRECT_USAGE}",
        ),
        (
            "!annonce corriger 3",
            f"Donnez le nouveau texte après le numéro de l’annonce.{CORRECT_USAGE}",
        ),
        ("!annonce corriger", f"{NO_ANNOUNCEMENT_NUMBER}{CORRECT_USAGE}"),
        (
            "!annonce retirer 1 texte",
            f"Seul le numéro de l’annonce est attendu.{WITHDRAW_USAGE}",
        ),
        ("!annonce retirer", f"{NO_ANNOUNCEMENT_NUMBER}{WITHDRAW_USAGE}"),
        ("!annonce retirer n°", f"« n° » n’est pas un numéro. {hint('retirer')}{WITHDRAW_USAGE}"),
        (
            "!annonce veille",
            "Indiquez le numéro de la proposition de veille (tapez !veille propositions pour "
            f"les voir).{FROM_NEWS_USAGE}",
        ),
        (
            "!annonce veille n° À lire",
            f"« n° » n’est pas un numéro. {hint('veille')}{FROM_NEWS_USAGE}",
        ),
        ("!annonce veille abc", f"« abc » n’est pas un numéro. {hint('veille')}{FROM_NEWS_USAGE}"),
        ("!annonce veille ²", f"« ² » n’est pas un numéro. {hint('veille')}{FROM_NEWS_USAGE}"),
        (
            "!annonce retirer 99999999999999999999999",
            f"« 99999999999999999999 » n’est pas un numéro. {hint('retirer')}{WITHDRAW_USAGE}",
        ),
        (
            "!annonce dans #vie:example.org Réunion à 17h",
            f"Indiquez les salons, puis « : » et le texte.{ROOMS_USAGE}",
        ),
        ("!annonce dans", f"Indiquez les salons, puis « : » et le texte.{ROOMS_USAGE}"),
        (
            "!annonce dans ici et #vie:example.org : Réunion",
            "« et » n’est pas un salon : donnez son adresse (#nom:serveur) ou « ici »."
            f"{ROOMS_USAGE}",
        ),
        ("!annonce dans ici :", f"Le texte de l’annonce est vide.{ROOMS_USAGE}"),
    ],
)
async def test_malformed_sub_command_is_refused_with_its_usage(
    db: Database, body: str, expected: str
) -> None:
    """A sub-command word with a malformed rest never becomes a plain announcement."""
    new = await say(db, body)
    assert [(p["kind"], p["content"]["body"]) for p in new] == [("reply", expected)]
    assert await db.fetchall("SELECT id FROM announcements") == []


@pytest.mark.parametrize(
    ("text", "usage"),
    [
        ("Retirer les tablettes du chariot", "!annonce retirer <n°>"),
        ("Veille de Noël : le CDI ferme à 16h", "!annonce veille <n°> [commentaire]"),
        ("Corriger les copies avant jeudi", "!annonce corriger <n°> <nouveau texte>"),
        ("Dans le cadre du plan : réunion", "!annonce dans <salon> [salon…] : <texte>"),
        ("Programmer en Python : atelier", "!annonce programmer <quand> | <texte>"),
        ("veille ²", "!annonce veille <n°> [commentaire]"),
        ("retirer 99999999999999999999999", "!annonce retirer <n°>"),
        ("corriger ３ texte", "!annonce corriger <n°> <nouveau texte>"),
    ],
)
def test_a_sub_command_word_always_means_the_sub_command(text: str, usage: str) -> None:
    with pytest.raises(InvalidArguments) as raised:
        parse_annonce(text, PARSE_ENV)
    assert raised.value.usage == usage


async def test_sub_command_words_in_a_sentence_go_between_quotes(db: Database) -> None:
    new = await say(db, "!annonce Retirer les tablettes du chariot avant 17h")
    assert [(p["kind"], p["content"]["body"]) for p in new] == [
        (
            "reply",
            "« les » n’est pas un numéro. Pour publier un texte qui commence par « Retirer », "
            'mettez-le entre guillemets : !annonce "Retirer …".'
            f"{WITHDRAW_USAGE}",
        )
    ]
    new = await say(db, '!annonce "Retirer les tablettes du chariot avant 17h"')
    assert [(p["room"], p["content"]["body"]) for p in new] == [
        (STAFF, "Retirer les tablettes du chariot avant 17h")
    ]


def test_schedule_date_is_parsed_before_the_handler() -> None:
    """`programmer` gives the handler an aware datetime (Paris time), not text."""
    parsed = parse_annonce("programmer 1er décembre 12h30 | Café numérique", PARSE_ENV)
    assert parsed == Publish("Café numérique", (), datetime(2026, 12, 1, 12, 30, tzinfo=PARIS))
    assert isinstance(parsed, Publish) and parsed.when is not None
    assert parsed.when.astimezone(UTC) == datetime(2026, 12, 1, 11, 30, tzinfo=UTC)


async def test_an_announcement_too_large_for_matrix_is_refused_before_anything_is_queued(
    db: Database,
) -> None:
    text = "Compte rendu du conseil pédagogique. " * 1100  # about 40 Ko
    new = await say(db, f"!annonce {text}")
    assert replies(new) == [
        "Ce message est trop long pour Matrix : environ 110 Ko une fois chiffré, pour une "
        "limite de 64 Ko. Raccourcissez-le, ou mettez le détail derrière un lien."
    ]
    assert [p["kind"] for p in new] == ["reply"]
    rows = await db.fetchall("SELECT id FROM announcements")
    assert rows == []
    # Long but within the limit: it goes.
    fine = await say(db, f"!annonce {'Ordre du jour. ' * 1000}")
    assert {p["kind"] for p in fine} == {"announcement"}


async def test_the_confirmation_says_why_a_room_failed(db: Database) -> None:
    await say(db, "!diffusion ajouter", room=VIE)
    await say(db, "!annonce Réunion")
    repos = Repositories.open(db)
    rows = await db.fetchall("SELECT id, room_id FROM posts WHERE kind = 'announcement'")
    async with db.transaction():
        for row in rows:
            if row["room_id"] == STAFF:
                await repos.posts.mark_failed(row["id"], "M_TOO_LARGE")
            else:
                await repos.posts.mark_sent(row["id"], "$ok", START)
    units = Units(db, repos, SETTINGS, INFO, FakeClock(), lambda: None)
    for post in await repos.posts.by_ref("announcement", 1):
        await scheduled.confirm(units, post)
    confirmations = [p for p in await posts(db) if p["kind"] == "announcement-confirmation"]
    assert [p["content"]["body"] for p in confirmations] == [
        "Annonce n° 1 publiée dans 1 salon : Vie scolaire.\n"
        "Échec dans 1 salon : Salle des professeurs (message trop long pour le serveur Matrix : "
        "raccourcissez-le)."
    ]


async def test_members_typed_in_an_announcement_become_pills_and_room_is_never_pinged(
    db: Database,
) -> None:
    members = FakeBotInfo(
        rooms=INFO.rooms,
        names=INFO.names,
        members={STAFF: [ADMIN, "@marie:example.org", "@bot:example.org"]},
    )
    message = IncomingMessage(
        BUREAU,
        "$pills",
        ADMIN,
        "!annonce Bienvenue @marie:example.org et @paul:ailleurs.fr @room",
        START,
    )
    repos = Repositories.open(db)
    proc = EventProcessor(
        db, repos, StateRepository(db), CommandRegistry(ROUTERS), SETTINGS, FakeClock(), members
    )
    await proc.process(SyncBatch("t", (message,), (), False))
    [post] = [p for p in await posts(db) if p["kind"] == "announcement"]
    content = post["content"]
    assert content["m.mentions"] == {"user_ids": ["@marie:example.org"]}  # members only
    assert content["formatted_body"] == (
        '<p>Bienvenue <a href="https://matrix.to/#/@marie:example.org">@marie:example.org</a>'
        " et @paul:ailleurs.fr @room</p>"
    )
    units = Units(db, repos, SETTINGS, members, FakeClock(), lambda: None)
    async with db.transaction():
        await db.execute(
            "UPDATE posts SET status = 'sent', event_id = '$e' WHERE kind = ?", ("announcement",)
        )
    for stored in await repos.posts.by_ref("announcement", 1):
        await scheduled.confirm(units, stored)
    [confirmation] = [p for p in await posts(db) if p["kind"] == "announcement-confirmation"]
    assert confirmation["content"]["body"].endswith(
        "@room n’est pas transmis : le bot ne notifie jamais tout un salon (son niveau de "
        "pouvoir le lui interdirait de toute façon)."
    )


async def test_the_list_shows_the_year_of_an_announcement_scheduled_next_year(
    db: Database,
) -> None:
    clock = FakeClock(datetime(2026, 12, 20, 10, 0, tzinfo=PARIS))
    await say(db, "!annonce programmer 5/1 8h | Rentrée de janvier", clock=clock)
    await say(db, "!annonce programmer 28/12 8h | Vacances", clock=clock)
    [listing] = replies(await say(db, "!annonces", clock=clock))
    assert "programmée pour le mardi 5 janvier 2027 à 8h00" in listing
    assert "programmée pour le lundi 28 décembre à 8h00" in listing
