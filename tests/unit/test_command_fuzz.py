"""Every registered command, fed generated arguments: only French usage errors.

The commands and their sub-command words come from the router's registry (the words
after « !commande » in each usage, example and help text), so a new command or
sub-command is fuzzed without touching this file. The arguments mix those words with
what teachers and keyboards produce: Unicode digits, huge numbers, empty parts,
separators, impossible dates (31/02), the year 0000.

Two levels: every parser alone (many examples), then whole messages through the real
processor and handlers over one migrated database that fills up as it goes, where the
proof is that no reply is « Une erreur interne ».
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.context import Settings
from bot.domain import IncomingMessage
from bot.errors import INTERNAL_ERROR_TEXT, UserError
from bot.router import PREFIX, Command, CommandRegistry, ParseEnv
from bot.storage.database import Database
from handlers import ROUTERS
from tests.unit.fakes import FakeBotInfo, FakeClock
from tests.unit.harness import process_events

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)
ENV = ParseEnv(NOW, PARIS)
RUPN = "@rupn:example.org"
BOT = "@bot:example.org"
ROOM = "!bureau:example.org"
COMMANDS: tuple[Command, ...] = tuple(CommandRegistry(ROUTERS).visible_to(is_admin=True))


def _words_of(command: Command) -> set[str]:
    """The sub-command words the command documents: what follows « !name » anywhere in its
    texts, and the alternatives of its usage (« ajouter|retirer|liste [salon] »)."""
    texts = (command.usage_line, command.example, command.details, command.usage)
    after_name = re.compile(rf"{re.escape(PREFIX + command.name)}\s+([^\s<\[|…\"]+)")
    words = {match for text in texts for match in after_name.findall(text)}
    words |= {w.strip("[]<>…") for w in re.split(r"[\s|]+", command.usage)}
    return {w for w in words if w}


NUMBERS = (
    "²", "٣", "３", "𝟑", "Ⅻ", "99999999999999999999999", "9" * 40, "0", "-1", "1e9", "n°",
    "#", "n° 3", "#3", "3x", "1.5", "3",
)  # fmt: skip
DATES = (
    "31/02", "29/02/2027", "00/00", "31/04 12h", "0000-0001", "9999-10000", "1999-2000",
    "2025-2026", "25h", "12h99", "24:00", "lundi", "demain", "midi", "1er décembre",
    "jeudi 14 décembre 12h30", "vendredi 17h", "12/12/0000 8h", "32 décembre",
)  # fmt: skip
OTHERS = (
    "", " ", "|", "||", " | | ", ":", " : ", "/", "-", ",", ";", "\n", "\t", "\u00a0", "\u200b",
    "ici", "#salon:serveur", "!abc:example.org", "@a:example.org", '"', "«", "»", "“x”",
    "malgré-vacances", "fin : ", "fin : 31/02 18h", "rappel : 0h", "rappel : 99999h",
    "plusieurs", "anonyme", "minimum 0", "minimum 99999999999", "0 places", "tous",
    "http://[", "https://", "http://exemple.fr/flux", "effacer", "ß", "İ", "ﬁ",
)  # fmt: skip
TRICKY = NUMBERS + DATES + OTHERS
SEPARATORS = (" ", " ", " ", " | ", "|", " : ", "\n", "")


@st.composite
def arguments(draw: st.DrawFn, command: Command) -> str:
    """A sub-command word most of the time, then parts: numbers, dates, the rest."""
    words = sorted(_words_of(command)) or [""]
    part = st.one_of(
        st.sampled_from(NUMBERS),
        st.sampled_from(DATES),
        st.sampled_from(OTHERS),
        st.sampled_from(words),
        st.text(max_size=8),
    )
    first = draw(st.one_of(st.sampled_from(words), st.sampled_from(words), part))
    rest = draw(st.lists(st.tuples(st.sampled_from(SEPARATORS), part), max_size=4))
    return first + "".join(separator + text for separator, text in rest)


def _parses_or_explains(command: Command, text: str) -> None:
    try:
        command.parse(text, ENV)
    except UserError as error:
        assert error.message.strip(), f"!{command.name} {text!r}: an empty message"


def test_the_registry_documents_sub_command_words() -> None:
    """The harvest finds the sub-commands, so they are fuzzed (a sample of them)."""
    words = {c.name: _words_of(c) for c in COMMANDS}
    assert {"programmer", "veille", "corriger", "retirer", "dans"} <= words["annonce"]
    assert {"besoins", "clore", "export"} <= words["sondage"]
    assert {"annuler", "modifier", "depuis-sondage"} <= words["atelier"]
    assert {"ajouter", "retirer", "liste"} <= words["diffusion"]
    assert {"effacer"} <= words["mesdonnees"]


@pytest.mark.parametrize("command", COMMANDS, ids=[c.name for c in COMMANDS])
def test_every_word_with_every_tricky_part(command: Command) -> None:
    """All pairs, no luck needed: each sub-command word (or none) with each tricky part."""
    for word in ("", *sorted(_words_of(command))):
        for part in TRICKY:
            _parses_or_explains(command, f"{word} {part}")
            _parses_or_explains(command, f"{word} {part} | {part}")


@pytest.mark.parametrize("command", COMMANDS, ids=[c.name for c in COMMANDS])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_parser_raises_only_user_errors(command: Command, data: st.DataObject) -> None:
    _parses_or_explains(command, data.draw(arguments(command)))


@pytest.fixture
async def shared_db(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    """One database for all the examples: items created by earlier ones are there to be
    corrected, withdrawn or closed by later ones."""
    path: Path = tmp_path_factory.mktemp("fuzz") / "rupn-bot.db"
    database = await Database.open(path)
    try:
        yield database
    finally:
        await database.close()


_ids = itertools.count(1)
SETTINGS = Settings(admins=frozenset({RUPN}), tz=PARIS, bot_user_id=BOT, broadcast_rooms=(ROOM,))
INFO = FakeBotInfo(rooms=[ROOM], members={ROOM: [BOT, RUPN]})


async def _internal_errors(db: Database, bodies: list[str]) -> list[str]:
    """The messages, handled by the real processor in one batch, that were answered
    « Une erreur interne »."""
    before = await db.fetchone("SELECT COALESCE(MAX(id), 0) AS n FROM posts")
    sent = {f"$fuzz{next(_ids)}": body for body in bodies}
    events = [
        IncomingMessage(ROOM, event_id, RUPN, body, NOW.astimezone(UTC))
        for event_id, body in sent.items()
    ]
    await process_events(db, SETTINGS, FakeClock(NOW.astimezone(UTC)), INFO, events)
    rows = await db.fetchall(
        'SELECT json_extract(content, \'$."m.relates_to"."m.in_reply_to".event_id\') AS event'
        " FROM posts WHERE id > ? AND instr(content, ?) > 0",
        (before["n"] if before else 0, INTERNAL_ERROR_TEXT),
    )
    return [sent.get(str(row["event"]), str(row["event"])) for row in rows]


@pytest.mark.parametrize("command", COMMANDS, ids=[c.name for c in COMMANDS])
async def test_every_word_with_every_number_and_date_through_the_handlers(
    db: Database, command: Command
) -> None:
    """All pairs again, through the processor and the handlers (their SQL included)."""
    bodies = [
        f"{PREFIX}{command.name} {word} {value}".rstrip()
        for word in ("", *sorted(_words_of(command)))
        for value in NUMBERS + DATES
    ]
    assert await _internal_errors(db, bodies) == []


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_no_command_answers_an_internal_error(
    shared_db: Database, data: st.DataObject
) -> None:
    command = data.draw(st.sampled_from(COMMANDS))
    body = f"{PREFIX}{command.name} {data.draw(arguments(command))}"
    assert await _internal_errors(shared_db, [body]) == []
