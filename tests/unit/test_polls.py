"""`!sondage` with the real processor, database, post registry and jobs (FakeClock)."""

from __future__ import annotations

import ast
import base64
import contextlib
import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, get_args
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import ConfigError, load_config
from bot.context import Context, Repositories, Settings
from bot.domain import IncomingMessage, IncomingPollResponse, RoomEvent
from bot.errors import InvalidArguments
from bot.messenger import UPLOAD_KEY
from bot.router import CommandRegistry, usage_text
from bot.storage.database import Database
from bot.work import Units
from handlers import ROUTERS
from handlers.polls import start_poll
from handlers.polls.args import (
    EXAMPLE,
    USAGE,
    Close,
    Create,
    Export,
    Needs,
    Options,
    Results,
    SondageArgs,
    parse_sondage,
)
from handlers.polls.commands import sondage
from handlers.polls.deadlines import close_and_remind
from handlers.polls.texts import ANONYMOUS_NOTE, HOW_TO_ANSWER, csv_cell
from tests.unit.fakes import PARSE_ENV, START, FakeBotInfo, FakeClock, FakeMessenger
from tests.unit.harness import deliver, make_units, process_events

ADMIN = "@rupn:example.org"
OTHER_ADMIN = "@direction:example.org"
BOT = "@bot:example.org"
PROF = "@prof:example.org"
ROOM = "!salle:example.org"
PARIS = ZoneInfo("Europe/Paris")
TEACHERS = [f"@prof{n}:example.org" for n in range(1, 12)]
SETTINGS = Settings(admins=frozenset({ADMIN, OTHER_ADMIN}), tz=PARIS, bot_user_id=BOT)
USAGE_LINE = f"!sondage {USAGE}"
ROOT = Path(__file__).resolve().parents[2]
_ids = itertools.count(1)


@dataclass
class Bot:
    db: Database
    clock: FakeClock = field(default_factory=FakeClock)
    settings: Settings = SETTINGS
    info: FakeBotInfo = field(
        default_factory=lambda: FakeBotInfo(rooms=[ROOM], members={ROOM: [BOT, ADMIN, *TEACHERS]})
    )

    @property
    def repos(self) -> Repositories:
        return Repositories.open(self.db)

    def units(self) -> Units:
        return make_units(self.db, self.settings, self.info, self.clock)

    async def process(self, *events: RoomEvent) -> None:
        await process_events(self.db, self.settings, self.clock, self.info, events)

    async def posts(self) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT kind, event_type, content, ref_type, ref_id, txn_id, target_txn_id, room_id"
            " FROM posts ORDER BY id"
        )
        return [
            {
                "kind": r[0],
                "type": r[1],
                "content": json.loads(r[2]),
                "ref": (r[3], r[4]),
                "txn": r[5],
                "target_txn": r[6],
                "room": r[7],
            }
            for r in rows
        ]

    async def say(self, body: str, sender: str = ADMIN, **options: Any) -> list[dict[str, Any]]:
        before = len(await self.posts())
        message = IncomingMessage(ROOM, f"$m{next(_ids)}", sender, body, self.clock(), **options)
        await self.process(message)
        return (await self.posts())[before:]

    async def ask(self, body: str, sender: str = ADMIN) -> list[str]:
        """The replies' bodies."""
        return [p["content"]["body"] for p in await self.say(body, sender) if p["kind"] == "reply"]

    async def create(self, body: str) -> str:
        """Create a poll and deliver its start event; returns that event id."""
        new = await self.say(body)
        [start] = [p for p in new if p["kind"] == "poll-start"]
        poll_id = start["ref"][1]
        event_id = f"$poll{poll_id}"
        await deliver(self.db, start["txn"], event_id, self.clock())
        return event_id

    async def vote(
        self,
        poll_event: str,
        sender: str,
        *answers: str,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> None:
        await self.process(
            IncomingPollResponse(
                ROOM, event_id or f"$v{next(_ids)}", sender, poll_event, answers, at or self.clock()
            )
        )

    async def tick(self) -> list[dict[str, Any]]:
        before = len(await self.posts())
        await close_and_remind(self.units())
        return (await self.posts())[before:]

    async def counts(self, poll_id: int = 1) -> str:
        [text] = await self.ask(f"!sondage résultats {poll_id}")
        return text


@pytest.fixture
def bot(db: Database) -> Bot:
    return Bot(db)


# --- parser -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Date ? | lundi | mardi", Create("Date ?", ("lundi", "mardi"))),
        (
            "Date ? | lundi | mardi | Plusieurs | ANONYME | Fin : vendredi 17h | rappel: 24 h",
            Create(
                "Date ?",
                ("lundi", "mardi"),
                Options(
                    True,
                    True,
                    datetime(2026, 11, 27, 17, tzinfo=PARIS),
                    datetime(2026, 11, 26, 17, tzinfo=PARIS),
                ),
            ),
        ),
        ("  Date  ?|  lundi matin |mardi", Create("Date ?", ("lundi matin", "mardi"))),
        ("résultats", Results()),
        ("Resultats 3", Results(3)),
        ("résultats n°3", Results(3)),
        ("clore 2", Close(2)),
        ("export", Export()),
        ("besoins", Needs(Options(multiple=True))),
        ("besoins | anonyme", Needs(Options(multiple=True, anonymous=True))),
        ('"Résultats ?" | bons | mauvais', Create("Résultats ?", ("bons", "mauvais"))),
        ("« Besoins ? » | oui | non", Create("Besoins ?", ("oui", "non"))),
        ("clore n° 2", Close(2)),
    ],
)
def test_parse_sondage(text: str, expected: object) -> None:
    assert parse_sondage(text, PARSE_ENV) == expected


def test_parsed_dates_are_aware_paris_datetimes() -> None:
    """The handler gets the moments themselves, in the bot's time zone, never text."""
    args = parse_sondage("besoins | fin : 15/12 18h | rappel : 2 heures", PARSE_ENV)
    assert isinstance(args, Needs)
    deadline, reminder_at = args.options.deadline, args.options.reminder_at
    assert deadline is not None
    assert reminder_at is not None
    assert (deadline.tzinfo, reminder_at.tzinfo) == (PARIS, PARIS)
    assert (deadline.isoformat(), reminder_at.isoformat()) == (
        "2026-12-15T18:00:00+01:00",
        "2026-12-15T16:00:00+01:00",
    )
    assert args.options == Options(multiple=True, deadline=deadline, reminder_at=reminder_at)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Q ? | a | b | fin : vendredi",
            "La date de fin ne convient pas : précisez l’heure, par exemple « mardi 12h30 » ou "
            "« demain 8h ».",
        ),
        (
            "besoins | fin : 31/02 18h",
            "La date de fin ne convient pas : la date « 31/02 » n’existe pas. "
            "Exemple : « 28/02 12h30 ».",
        ),
        (
            "Q ? | a | b | fin : demain 25h",
            "La date de fin ne convient pas : l’heure « 25h » n’existe pas : les heures vont de "
            "0 à 23 et les minutes de 00 à 59. Exemple : « 12h30 ».",
        ),
        (
            "besoins | fin : demain 8h | rappel : 14h",
            "Le rappel 14 h avant la fin tomberait dans le passé : choisissez un rappel plus "
            "proche de la fin.",
        ),
        # Every option's syntax is checked before the dates, as before the dates moved here.
        ("Q ? | a | b | fin : bientôt | fin : demain 8h", "L’option « fin » figure deux fois."),
        (
            "Q ? | a | b | fin : bientôt | rappel : 0h",
            "Écrivez le rappel en heures avant la fin, de 1 à 336, par exemple « rappel : 24h ».",
        ),
        (
            "besoins | fin : bientôt | tous",
            "Option inconnue : « tous ». Options possibles : plusieurs, anonyme, fin : <quand>, "
            "rappel : <N>h.",
        ),
    ],
)
def test_date_errors_come_from_the_parser_without_a_usage_of_their_own(
    text: str, message: str
) -> None:
    """The router adds `!sondage`'s usage and example, as for every other argument error."""
    with pytest.raises(InvalidArguments) as caught:
        parse_sondage(text, PARSE_ENV)
    assert (caught.value.message, caught.value.usage, caught.value.example) == (message, None, None)


@given(st.text())
def test_parser_only_raises_invalid_arguments(text: str) -> None:
    with contextlib.suppress(InvalidArguments):
        parse_sondage(text, PARSE_ENV)


@given(
    st.lists(
        st.sampled_from(
            ["a", "|", " ", "fin:", "rappel:", "2h", "anonyme", "é", "3", "demain", "31/02", "800h"]
        )
    )
)
def test_parser_only_raises_invalid_arguments_on_pipes(parts: list[str]) -> None:
    with contextlib.suppress(InvalidArguments):
        parse_sondage("".join(parts), PARSE_ENV)


TWENTY_ONE = " | ".join(f"choix {n}" for n in range(1, 22))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("", "Écrivez la question puis les choix, séparés par des barres « | »."),
        ("Quel jour ?", "Séparez la question et les choix par des barres verticales « | »."),
        ("Quel jour ? | lundi", "Un sondage demande au moins 2 choix (vous en avez donné 1)."),
        (
            f"Quel jour ? | {TWENTY_ONE}",
            "Un sondage accepte au plus 20 choix (vous en avez donné 21).",
        ),
        (" | lundi | mardi", "La question est vide : écrivez-la avant la première barre « | »."),
        (
            "Quel jour ? | lundi | | mardi",
            "Le choix n° 2 est vide : retirez la barre « | » en trop.",
        ),
        ("Quel jour ? | Lundi | lundi", "Le choix « lundi » figure deux fois."),
        (
            "Quel jour ? | lundi | mardi | rappel : 2h",
            "L’option « rappel » demande une date de fin, par exemple « fin : vendredi 17h ».",
        ),
        (
            "Quel jour ? | lundi | mardi | fin : vendredi 17h | rappel : demain",
            "Écrivez le rappel en heures avant la fin, de 1 à 336, par exemple « rappel : 24h ».",
        ),
        (
            "Quel jour ? | lundi | mardi | fin :",
            "Précisez la date de fin après « fin : », par exemple « fin : vendredi 17h ».",
        ),
        (
            "Quel jour ? | lundi | mardi | fin : bientôt",
            "La date de fin ne convient pas : je n’ai pas compris « bientôt ». "
            "Exemples : « mardi 12h30 », "
            "« demain 12h15 », « 3/12 12h30 », « jeudi 14 décembre 12h30 ».",
        ),
        (
            "Quel jour ? | lundi | mardi | fin : 1/11/2026 17h",
            "La date de fin ne convient pas : cette date est déjà passée "
            "(dimanche 1 novembre 2026 à 17h00). "
            "Exemple : « demain 12h15 ».",
        ),
        (
            "Quel jour ? | lundi | mardi | fin : demain 8h | rappel : 48h",
            "Le rappel 48 h avant la fin tomberait dans le passé : choisissez un rappel plus "
            "proche de la fin.",
        ),
    ],
)
async def test_malformed_commands_explain_with_usage_and_example(
    bot: Bot, arguments: str, message: str
) -> None:
    assert await bot.ask(f"!sondage {arguments}") == [usage_text(message, USAGE_LINE, EXAMPLE)]
    assert await bot.repos.polls.latest_in_room(ROOM) is None


def _quote_hint(word: str) -> str:
    return (
        f"Pour une question qui commence par « {word} », mettez-la entre guillemets : "
        f'!sondage "{word} …".'
    )


@pytest.mark.parametrize(
    ("arguments", "message", "usage", "example"),
    [
        (
            "résultats trois",
            "Donnez le numéro du sondage après « résultats », ou rien pour le dernier sondage "
            f"du salon. {_quote_hint('résultats')}",
            "!sondage résultats [n°]",
            "!sondage résultats 3",
        ),
        (
            "Clore les inscriptions ? | oui | non",
            "Donnez le numéro du sondage après « Clore », ou rien pour le dernier sondage du "
            f"salon. {_quote_hint('Clore')}",
            "!sondage clore [n°]",
            "!sondage clore 3",
        ),
        (
            "export 99999999999999999999",
            "Donnez le numéro du sondage après « export », ou rien pour le dernier sondage du "
            f"salon. {_quote_hint('export')}",
            "!sondage export [n°]",
            "!sondage export 3",
        ),
        (
            "besoins de formation ? | Pronote | ENT",
            "Après « besoins », seules des options sont attendues, chacune après une barre « | ». "
            f"{_quote_hint('besoins')}",
            "!sondage besoins [| option …]",
            "!sondage besoins | fin : vendredi 17h",
        ),
    ],
)
async def test_a_sub_command_word_always_means_the_sub_command(
    bot: Bot, arguments: str, message: str, usage: str, example: str
) -> None:
    assert await bot.ask(f"!sondage {arguments}") == [usage_text(message, usage, example)]
    assert await bot.repos.polls.latest_in_room(ROOM) is None


async def test_non_admin_cannot_create_or_close(bot: Bot) -> None:
    [reply] = await bot.ask("!sondage Date ? | lundi | mardi", PROF)
    assert "réservée aux référents numériques" in reply
    await bot.create("!sondage Date ? | lundi | mardi")
    [reply] = await bot.ask("!sondage clore 1", PROF)
    assert "réservée aux référents numériques" in reply
    poll = await bot.repos.polls.get(1)
    assert poll is not None
    assert poll.status == "open"


# --- creation ---------------------------------------------------------------------------


async def test_creation_sends_a_native_poll_with_a_fallback(bot: Bot) -> None:
    new = await bot.say(
        "!sondage Quel atelier ? | Pronote | ENT | Tablettes | plusieurs | anonyme "
        "| fin : vendredi 17h | rappel : 24h"
    )
    assert [(p["kind"], p["type"], p["ref"]) for p in new] == [
        ("poll-start", "org.matrix.msc3381.poll.start", ("poll", 1)),
        ("reply", "m.room.message", (None, None)),
    ]
    text = (
        "Quel atelier ?\n1. Pronote\n2. ENT\n3. Tablettes\n\n"
        "Répondez avec les boutons du sondage ; si votre application ne les affiche pas, "
        "répondez à ce message avec le numéro de votre choix (par exemple « 2 », ou « 1 3 » si "
        "plusieurs réponses sont permises).\n"
        "Plusieurs réponses possibles (jusqu’à 3).\n"
        "Sondage anonyme : les résultats ne nomment personne ; dans Matrix, vos réponses "
        "restent toutefois visibles dans l’historique du salon.\n"
        "Fin : vendredi 27 novembre à 17h00."
    )
    assert new[0]["content"] == {
        "org.matrix.msc3381.poll.start": {
            "question": {"org.matrix.msc1767.text": "Quel atelier ?"},
            "kind": "org.matrix.msc3381.poll.undisclosed",
            "max_selections": 3,
            "answers": [
                {"id": "a1", "org.matrix.msc1767.text": "Pronote"},
                {"id": "a2", "org.matrix.msc1767.text": "ENT"},
                {"id": "a3", "org.matrix.msc1767.text": "Tablettes"},
            ],
        },
        "org.matrix.msc1767.text": text,
        "m.mentions": {},
    }
    assert new[1]["content"]["body"] == (
        "Sondage n° 1 lancé. Résultats : !sondage résultats 1 ; clôture : !sondage clore 1."
    )
    poll = await bot.repos.polls.get(1)
    assert poll is not None
    assert poll.start_txn == new[0]["txn"]
    assert poll.deadline == datetime(2026, 11, 27, 17, tzinfo=PARIS)
    assert poll.reminder_at == datetime(2026, 11, 26, 17, tzinfo=PARIS)
    assert (poll.anonymous, poll.creator, poll.template) == (True, ADMIN, None)


async def test_simple_poll_is_disclosed_single_choice(bot: Bot) -> None:
    [start, _] = await bot.say("!sondage Date ? | lundi | mardi")
    content = start["content"]
    assert content["org.matrix.msc3381.poll.start"]["kind"] == "org.matrix.msc3381.poll.disclosed"
    assert content["org.matrix.msc3381.poll.start"]["max_selections"] == 1
    assert content["org.matrix.msc1767.text"] == f"Date ?\n1. lundi\n2. mardi\n\n{HOW_TO_ANSWER}"


async def test_besoins_template_and_config_override(bot: Bot) -> None:
    [start, _] = await bot.say("!sondage besoins | fin : 15/12 18h")
    poll_start = start["content"]["org.matrix.msc3381.poll.start"]
    assert poll_start["question"] == {
        "org.matrix.msc1767.text": "Sur quels thèmes aimeriez-vous être accompagné(e) cette année ?"
    }
    themes = [a["org.matrix.msc1767.text"] for a in poll_start["answers"]]
    assert themes[:3] == ["Écrans numériques interactifs", "Tablettes", "Pronote"]
    assert "Pix et Pix Orga" in themes
    assert themes[-1] == "Évaluation par QCM"
    assert poll_start["max_selections"] == len(themes) == 12
    poll = await bot.repos.polls.get(1)
    assert poll is not None
    assert poll.template == "besoins"
    assert poll.deadline == datetime(2026, 12, 15, 18, tzinfo=PARIS)

    bot.settings = Settings(
        admins=frozenset({ADMIN}), tz=PARIS, needs_poll_themes=("Pronote", "ENT", "Moodle")
    )
    [start, _] = await bot.say("!sondage besoins")
    answers = start["content"]["org.matrix.msc3381.poll.start"]["answers"]
    assert [a["org.matrix.msc1767.text"] for a in answers] == ["Pronote", "ENT", "Moodle"]


# --- responses --------------------------------------------------------------------------


async def test_msc3381_counting_rules(bot: Bot) -> None:
    poll = await bot.create("!sondage Quel matériel ? | Tablettes | ENI | Ordinateurs")
    t = START
    p1, p2, p3, p4, p5 = TEACHERS[:5]
    await bot.vote(poll, p1, "a1", at=t)
    await bot.vote(poll, p1, "a2", at=t + timedelta(seconds=5))  # change of mind
    await bot.vote(poll, p2, "a1", at=t)
    await bot.vote(poll, p2, at=t + timedelta(seconds=5))  # withdrawal
    await bot.vote(poll, p3, "a1", at=t)
    await bot.vote(poll, p3, "zz", at=t + timedelta(seconds=5))  # spoiled
    await bot.vote(poll, p4, "a3", "a1", at=t)  # truncated to a3 (max_selections 1)
    await bot.vote(poll, p5, "a1", at=t, event_id="$same")
    await bot.vote(poll, p5, "a1", at=t, event_id="$same")  # the same event twice
    await bot.vote(poll, BOT, "a1", at=t)  # the bot's own
    await bot.vote("$not-a-poll", p1, "a1", at=t)
    assert await bot.counts() == (
        "Résultats du sondage n° 1 — Quel matériel ?\n"
        "1. Tablettes — 1 vote (33 %) ███░░░░░░░\n"
        "2. ENI — 1 vote (33 %) ███░░░░░░░\n"
        "3. Ordinateurs — 1 vote (33 %) ███░░░░░░░\n"
        "3 votants sur 12 membres du salon (25 %)\n"
        "1 réponse non valable (choix inconnu), non comptée.\n"
        "Sondage ouvert : !sondage clore 1 pour le terminer."
    )
    rows = await bot.db.fetchall("SELECT COUNT(*) FROM poll_responses")
    assert rows[0][0] == 8


async def test_results_bars_percentages_and_participation(bot: Bot) -> None:
    poll = await bot.create(
        "!sondage Quels outils ? | Tablettes | ENT | Pronote | plusieurs | fin : vendredi 17h"
    )
    for teacher in TEACHERS[:3]:
        await bot.vote(poll, teacher, "a1", "a2")
    await bot.vote(poll, TEACHERS[3], "a1")
    await bot.vote(poll, TEACHERS[4], "a2", "a2")
    assert await bot.counts() == (
        "Résultats du sondage n° 1 — Quels outils ?\n"
        "1. Tablettes — 4 votes (80 %) ████████░░\n"
        "2. ENT — 4 votes (80 %) ████████░░\n"
        "3. Pronote — 0 vote (0 %) ░░░░░░░░░░\n"
        "5 votants sur 12 membres du salon (42 %)\n"
        "Plusieurs réponses possibles : chaque pourcentage est calculé sur les votants.\n"
        "Fin prévue : vendredi 27 novembre à 17h00."
    )
    assert await bot.ask("!sondage résultats") == [await bot.counts()]
    assert await bot.ask("!sondage résultats 9") == ["Aucun sondage n° 9."]


async def test_no_poll_in_room(bot: Bot) -> None:
    assert await bot.ask("!sondage résultats") == [
        f"Aucun sondage dans ce salon. Exemple : {EXAMPLE}"
    ]


async def test_fallback_number_replies(bot: Bot) -> None:
    poll = await bot.create("!sondage Quel jour ? | lundi | mardi | jeudi | plusieurs")
    p1, p2, p3 = TEACHERS[:3]
    assert await bot.say("> <@bot:example.org> Quel jour ?\n\n1 3", p1, reply_to=poll) == []
    assert await bot.say("2", p2, reply_to=poll) == []
    assert await bot.say("Je ne sais pas encore", p3, reply_to=poll) == []
    assert await bot.say("2", p3) == []  # not a reply
    [reply] = await bot.say("4", p3, reply_to=poll)
    assert reply["content"]["body"] == (
        "Répondez avec un numéro de choix entre 1 et 3, par exemple « 2 », ou plusieurs "
        "séparés par des espaces (« 1 3 »)."
    )
    assert reply["content"]["m.mentions"] == {"user_ids": [p3]}
    text = await bot.counts()
    assert "1. lundi — 1 vote (50 %)" in text
    assert "2. mardi — 1 vote (50 %)" in text
    assert "3. jeudi — 1 vote (50 %)" in text
    assert "2 votants sur 12 membres du salon (17 %)" in text


# --- closing ----------------------------------------------------------------------------


async def test_clore_sends_the_end_event_and_ignores_later_votes(bot: Bot) -> None:
    poll = await bot.create("!sondage Date ? | lundi | mardi")
    await bot.vote(poll, TEACHERS[0], "a2")
    new = await bot.say("!sondage clore", OTHER_ADMIN)
    assert [p["kind"] for p in new] == ["poll-end"]
    [end] = new
    start_txn = (await bot.posts())[0]["txn"]
    assert end["type"] == "org.matrix.msc3381.poll.end"
    assert end["target_txn"] == start_txn
    assert end["ref"] == ("poll", 1)
    assert end["content"]["m.relates_to"] == {"rel_type": "m.reference"}
    assert end["content"]["org.matrix.msc3381.poll.end"] == {}
    assert end["content"]["org.matrix.msc1767.text"] == (
        "Résultats du sondage n° 1 — Date ?\n"
        "1. lundi — 0 vote (0 %) ░░░░░░░░░░\n"
        "2. mardi — 1 vote (100 %) ██████████\n"
        "1 votant sur 12 membres du salon (8 %)\n"
        "Sondage clos le dimanche 22 novembre à 19h42."
    )
    await bot.vote(poll, TEACHERS[1], "a1")
    assert await bot.counts() == end["content"]["org.matrix.msc1767.text"]
    [reply] = await bot.say("1", TEACHERS[2], reply_to=poll)
    assert reply["content"]["body"] == (
        "Le sondage n° 1 est clos : votre réponse n’a pas été comptée."
    )
    assert await bot.ask("!sondage clore 1") == ["Le sondage n° 1 est déjà clos."]
    closed = await bot.repos.polls.get(1)
    assert closed is not None
    assert closed.final_results == {
        "counts": {"a1": 0, "a2": 1},
        "voters": 1,
        "spoiled": 0,
        "members": 12,
    }


async def test_deadline_job_closes_once_even_when_overdue(bot: Bot) -> None:
    poll = await bot.create("!sondage Date ? | lundi | mardi | fin : demain 18h")
    deadline = datetime(2026, 11, 23, 18, tzinfo=PARIS)
    await bot.vote(poll, TEACHERS[0], "a1", at=deadline - timedelta(minutes=1))
    await bot.vote(poll, TEACHERS[1], "a2", at=deadline + timedelta(minutes=1))  # too late
    assert await bot.tick() == []
    bot.clock.now = deadline + timedelta(hours=5)  # the bot was stopped at the deadline
    [end] = await bot.tick()
    assert end["kind"] == "poll-end"
    assert end["content"]["org.matrix.msc1767.text"] == (
        "Résultats du sondage n° 1 — Date ?\n"
        "1. lundi — 1 vote (100 %) ██████████\n"
        "2. mardi — 0 vote (0 %) ░░░░░░░░░░\n"
        "1 votant sur 12 membres du salon (8 %)\n"
        "Sondage clos le lundi 23 novembre à 23h00."
    )
    assert await bot.tick() == []


async def test_reminder_once_without_names(bot: Bot) -> None:
    poll = await bot.create("!sondage Date ? | lundi | mardi | fin : vendredi 17h | rappel : 24h")
    for teacher in TEACHERS[:4]:
        await bot.vote(poll, teacher, "a1")
    bot.clock.now = datetime(2026, 11, 26, 16, 59, tzinfo=PARIS)
    assert await bot.tick() == []
    bot.clock.now = datetime(2026, 11, 26, 17, 0, tzinfo=PARIS)
    [reminder] = await bot.tick()
    assert reminder["kind"] == "poll-reminder"
    assert reminder["ref"] == ("poll", 1)
    assert reminder["content"]["body"] == (
        "⏰ Rappel : le sondage « Date ? » se termine le vendredi 27 novembre à 17h00 ; "
        "4 réponses pour l’instant. Répondez avec les boutons du sondage."
    )
    assert reminder["content"]["m.mentions"] == {}
    assert reminder["content"]["msgtype"] == "m.text"  # asks the room to answer: it can notify
    assert await bot.tick() == []


async def test_anonymous_poll_forgets_voters_when_closed(bot: Bot) -> None:
    poll = await bot.create("!sondage Avis ? | oui | non | anonyme | fin : demain 18h")
    await bot.vote(poll, TEACHERS[0], "a1")
    await bot.vote(poll, TEACHERS[1], "a2")
    bot.clock.now = datetime(2026, 11, 23, 18, tzinfo=PARIS)
    [end] = await bot.tick()
    text = end["content"]["org.matrix.msc1767.text"]
    assert "2 votants sur 12 membres du salon (17 %)" in text
    assert "prof" not in text
    rows = await bot.db.fetchall("SELECT COUNT(*) FROM poll_responses")
    assert rows[0][0] == 0
    closed = await bot.repos.polls.get(1)
    assert closed is not None
    assert closed.final_results == {
        "counts": {"a1": 1, "a2": 1},
        "voters": 2,
        "spoiled": 0,
        "members": 12,
    }
    assert "prof" not in json.dumps(closed.final_results)
    assert await bot.counts() == text


async def test_export_csv_has_bom_and_accents(bot: Bot) -> None:
    poll = await bot.create("!sondage Quel thème ? | Évaluation | Différenciation | anonyme")
    await bot.vote(poll, TEACHERS[0], "a1")
    await bot.vote(poll, TEACHERS[1], "a1")
    await bot.vote(poll, TEACHERS[2], "a2")
    new = await bot.say("!sondage export 1")
    assert [p["kind"] for p in new] == ["poll-export", "reply"]
    upload = new[0]["content"]
    assert upload["body"] == "sondage-1.csv"
    assert upload["info"]["mimetype"] == "text/csv"
    data = base64.b64decode(upload[UPLOAD_KEY]["data"])
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig") == (
        "Sondage n° 1;Quel thème ?\r\n"
        "Créé le;dimanche 22 novembre à 19h42\r\n"
        "Votants;3\r\n"
        "Membres du salon;12\r\n"
        "Participation;25 %\r\n"
        "\r\n"
        "Choix;Votes;Pourcentage\r\n"
        "Évaluation;2;67 %\r\n"
        "Différenciation;1;33 %\r\n"
    )
    assert new[1]["content"]["body"] == (
        "Export du sondage n° 1 : sondage-1.csv (séparateur « ; », UTF-8). "
        "Il ne contient que les comptes, aucun nom."
    )


async def test_export_csv_neutralises_formulas_but_the_poll_keeps_its_texts(bot: Bot) -> None:
    poll = await bot.create("!sondage =1+1 ? | +33 | -2 | @SUM(A1) | Normal")
    await bot.vote(poll, TEACHERS[0], "a1")
    start = (await bot.posts())[0]["content"]["org.matrix.msc3381.poll.start"]
    assert start["question"]["org.matrix.msc1767.text"] == "=1+1 ?"
    assert [a["org.matrix.msc1767.text"] for a in start["answers"]] == [
        "+33",
        "-2",
        "@SUM(A1)",
        "Normal",
    ]
    new = await bot.say("!sondage export 1")
    data = base64.b64decode(new[0]["content"][UPLOAD_KEY]["data"]).decode("utf-8-sig")
    lines = data.split("\r\n")
    assert lines[0] == "Sondage n° 1;'=1+1 ?"
    assert lines[-5:] == ["'+33;1;100 %", "'-2;0;0 %", "'@SUM(A1);0;0 %", "Normal;0;0 %", ""]


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        (3, 3),
    ],
)
def test_csv_cell_follows_owasp(cell: str | int, safe: str | int) -> None:
    assert csv_cell(cell) == safe


# --- dispatch ---------------------------------------------------------------------------

DISPATCH: list[tuple[str, type, list[str]]] = [
    ("!sondage Date ? | lundi | mardi", Create, ["poll-start", "reply"]),
    ("!sondage besoins", Needs, ["poll-start", "reply"]),
    ("!sondage résultats 1", Results, ["reply"]),
    ("!sondage clore 1", Close, ["poll-end"]),
    ("!sondage export 1", Export, ["poll-export", "reply"]),
]


def test_every_sondage_variant_has_a_dispatch_test() -> None:
    """A new variant must get its own branch (mypy: `assert_never`) and its own case here."""
    assert {variant for _, variant, _ in DISPATCH} == set(get_args(SondageArgs))


@pytest.mark.parametrize(("command", "variant", "kinds"), DISPATCH)
async def test_each_sub_command_reaches_its_own_handler(
    bot: Bot, command: str, variant: type, kinds: list[str]
) -> None:
    await bot.create("!sondage Existant ? | oui | non")
    assert isinstance(parse_sondage(command.removeprefix("!sondage "), PARSE_ENV), variant)
    assert [p["kind"] for p in await bot.say(command)] == kinds


async def test_an_unknown_variant_fails_instead_of_exporting(bot: Bot) -> None:
    await bot.create("!sondage Existant ? | oui | non")

    @dataclass(frozen=True)
    class Archive:
        poll_id: int | None = None

    messenger = FakeMessenger()
    ctx = Context(
        sender=ADMIN,
        room_id=ROOM,
        event_id="$commande",
        now=bot.clock(),
        is_admin=True,
        messenger=messenger,
        repos=bot.repos,
        commands=CommandRegistry(ROUTERS),
        info=bot.info,
        settings=bot.settings,
    )
    with pytest.raises(AssertionError):
        await sondage(ctx, Archive(1))  # type: ignore[arg-type]  # what mypy refuses
    assert messenger.calls == []


# --- start_poll, for other features -----------------------------------------------------


async def test_start_poll_from_a_job_scope(bot: Bot) -> None:
    """What the workshop feedback poll needs: a Scope without a command, another room."""
    other_room = "!autre:example.org"
    deadline = datetime(2026, 11, 29, 19, 42, tzinfo=PARIS)
    async with bot.units().unit() as scope:
        poll = await start_poll(
            scope,
            other_room,
            creator=ADMIN,
            question="Cet atelier vous a-t-il été utile ?",
            answers=("Oui, très", "Un peu", "Pas vraiment"),
            anonymous=True,
            deadline=deadline,
            template="retour-atelier",
        )
    [start] = await bot.posts()
    assert (start["kind"], start["type"], start["ref"], start["room"]) == (
        "poll-start",
        "org.matrix.msc3381.poll.start",
        ("poll", poll.id),
        other_room,
    )
    assert poll == await bot.repos.polls.get(poll.id)
    assert poll.start_txn == start["txn"]
    assert (poll.room_id, poll.creator, poll.template) == (other_room, ADMIN, "retour-atelier")
    assert (poll.max_selections, poll.anonymous, poll.deadline, poll.reminder_at) == (
        1,
        True,
        deadline,
        None,
    )
    assert [a.text for a in poll.answers] == ["Oui, très", "Un peu", "Pas vraiment"]
    assert start["content"]["org.matrix.msc1767.text"] == (
        "Cet atelier vous a-t-il été utile ?\n1. Oui, très\n2. Un peu\n3. Pas vraiment\n\n"
        f"{HOW_TO_ANSWER}\n{ANONYMOUS_NOTE}\nFin : dimanche 29 novembre à 19h42."
    )


async def test_start_poll_refuses_what_no_command_can_ask(bot: Bot) -> None:
    async with bot.units().unit() as scope:
        with pytest.raises(ValueError, match="2 to 20 answers"):
            await start_poll(scope, ROOM, creator=ADMIN, question="?", answers=["seul"])
        with pytest.raises(ValueError, match="reminder"):
            await start_poll(
                scope, ROOM, creator=ADMIN, question="?", answers=["a", "b"], reminder_at=START
            )
    assert await bot.posts() == []


def _feature_imports(module: str) -> set[str]:
    """The handlers modules `module` imports (TYPE_CHECKING and function-level ones too)."""
    path = ROOT / module.replace(".", "/")
    source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {
            name
            for name in names
            if name.startswith("handlers.")
            and (
                (ROOT / name.replace(".", "/") / "__init__.py").exists()
                or (ROOT / (name.replace(".", "/") + ".py")).exists()
            )
        }
    return found


def test_start_poll_imports_no_other_feature() -> None:
    """`from handlers.polls import start_poll` in any feature cannot make an import cycle."""
    reached: set[str] = set()
    todo = ["handlers.polls"]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo += _feature_imports(module)
    assert reached == {
        "handlers.polls",
        "handlers.polls.lifecycle",
        "handlers.polls.args",
        "handlers.polls.texts",
    }


# --- configuration ----------------------------------------------------------------------

CONFIG = """\
[matrix]
homeserver = "https://matrix.example.org/"
user_id = "@rupn-bot:example.org"

[storage]
data_dir = "./data"

[bot]
admins = ["@rupn:example.org"]
"""


def test_needs_poll_themes_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG + 'needs_poll_themes = ["Pronote", " ENT  numérique "]\n')
    assert load_config(path, environ={}).bot.needs_poll_themes == ("Pronote", "ENT numérique")
    path.write_text(CONFIG)
    assert load_config(path, environ={}).bot.needs_poll_themes == ()
    for themes, problem in [
        ('["Pronote"]', "il faut entre 2 et 20 thèmes pour le sondage des besoins (ici 1)"),
        ('["Pronote", "pronote"]', "un thème figure deux fois dans needs_poll_themes"),
        ('["Pronote", " "]', "chaque thème doit être un texte non vide, sans barre « | »"),
    ]:
        path.write_text(CONFIG + f"needs_poll_themes = {themes}\n")
        with pytest.raises(ConfigError) as caught:
            load_config(path, environ={})
        assert problem in str(caught.value)
