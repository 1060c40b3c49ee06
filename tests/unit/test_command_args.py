"""Command arguments that used to reach « Une erreur interne » or to do the wrong thing:
each gets its French usage, and nothing is done. The real processor over a migrated
database, as a teacher's message."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.context import Settings
from bot.domain import IncomingMessage
from bot.errors import INTERNAL_ERROR_TEXT
from bot.storage.database import Database
from tests.unit.fakes import FakeBotInfo, FakeClock
from tests.unit.harness import process_events

RUPN = "@rupn:example.org"
BOT = "@bot:example.org"
OFFICE = "!bureau:example.org"
PARIS = ZoneInfo("Europe/Paris")
SETTINGS = Settings(admins=frozenset({RUPN}), tz=PARIS, bot_user_id=BOT, broadcast_rooms=(OFFICE,))
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)
_ids = itertools.count(1)


async def say(db: Database, body: str) -> list[tuple[str, str]]:
    """(kind, body) of every post the message queued."""
    before = await db.fetchone("SELECT COALESCE(MAX(id), 0) AS n FROM posts")
    event = IncomingMessage(OFFICE, f"$m{next(_ids)}", RUPN, body, NOW.astimezone(UTC))
    info = FakeBotInfo(rooms=[OFFICE], members={OFFICE: [BOT, RUPN]})
    await process_events(db, SETTINGS, FakeClock(NOW.astimezone(UTC)), info, [event])
    rows = await db.fetchall(
        "SELECT kind, content FROM posts WHERE id > ? ORDER BY id", (before["n"] if before else 0,)
    )
    return [(str(r["kind"]), str(json.loads(r["content"]).get("body"))) for r in rows]


def usage(message: str, line: str, example: str) -> str:
    return f"{message}\nUtilisation : {line}\nExemple : {example}"


VEILLE_EXAMPLE = "!veille ajouter https://srane.ac-exemple.fr/spip.php?page=backend SRANE"
REMOVE_LINE = usage(
    "Indiquez le numéro de la ligne à retirer (voir « !lettre aperçu »).",
    "!lettre retirer <n°>",
    "!lettre retirer 2",
)


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        ("!lettre retirer ²", REMOVE_LINE),
        ("!lettre retirer 99999999999999999999999", REMOVE_LINE),
        ("!lettre retirer ٣", REMOVE_LINE),
        (
            "!lettre envoyer maintenant",
            usage(
                "Après « envoyer », seul « quand-même » est possible, pas « maintenant ».",
                "!lettre envoyer [quand-même]",
                "!lettre envoyer quand-même",
            ),
        ),
        (
            "!bilan 0000-0001",
            usage(
                "« 0000-0001 » n’est pas une année scolaire : écrivez par exemple 2025-2026.",
                "!bilan [2025-2026]",
                "!bilan 2025-2026",
            ),
        ),
        (
            "!veille retirer 99999999999999999999999",
            usage(
                "« 99999999999999999999999 » n’est pas un numéro.",
                "!veille ajouter|liste|retirer|propositions|ignorer|ici …",
                VEILLE_EXAMPLE,
            ),
        ),
        (
            "!veille ajouter http://[flux",
            usage(
                "« http://[flux » n’est pas l’adresse d’un flux : elle doit commencer par "
                "http:// ou https://.",
                "!veille ajouter|liste|retirer|propositions|ignorer|ici …",
                VEILLE_EXAMPLE,
            ),
        ),
        (
            "!veille liste tout",
            usage("Rien n’est attendu après « liste ».", "!veille liste", "!veille liste"),
        ),
        (
            "!annonce retirer 99999999999999999999999",
            usage(
                "« 99999999999999999999 » n’est pas un numéro. Pour publier un texte qui "
                'commence par « retirer », mettez-le entre guillemets : !annonce "retirer …".',
                "!annonce retirer <n°>",
                "!annonce retirer 3",
            ),
        ),
        (
            "!atelier annuler ³",
            usage(
                "Donnez le numéro de l’atelier à annuler, par exemple « !atelier annuler 3 ».",
                "!atelier <quand> | <thème> [| lieu] [| places] [| minimum N]",
                "!atelier jeudi 14 décembre 12h30 | Pronote : le cahier de textes | CDI | "
                "12 places",
            ),
        ),
        (
            "!diffusion liste #vie:example.org",
            usage("Rien n’est attendu après « liste ».", "!diffusion liste", "!diffusion liste"),
        ),
        (
            "!cafe annuler 3",
            usage(
                "Un café numérique se gère avec !atelier : tapez « !atelier annuler <n°> … » "
                "(voir « !aide atelier »).",
                "!cafe <quand> | <thème> [| lieu]",
                "!cafe mardi 12h30 | L’IA générative en classe | salle des professeurs",
            ),
        ),
    ],
)
async def test_a_malformed_argument_gets_its_usage(db: Database, body: str, answer: str) -> None:
    assert await say(db, body) == [("reply", answer)]


async def test_a_word_line_is_removed_by_its_ascii_number(db: Database) -> None:
    await say(db, "!lettre ajouter Pensez aux besoins de formation.")
    assert await say(db, "!lettre retirer n° 1") == [
        ("reply", "Ligne n° 1 retirée du mot du RUPN.")
    ]


async def test_no_internal_error_for_the_reported_inputs(db: Database) -> None:
    for body in (
        "!lettre retirer ²",
        "!bilan 0000-0001",
        "!annonce veille abc",
        "!sondage clore ²",
    ):
        assert INTERNAL_ERROR_TEXT not in [text for _, text in await say(db, body)]
