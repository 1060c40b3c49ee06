"""Tests of bot.router: parsing a message into a command call, and the command registry."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.context import Context
from bot.errors import InvalidArguments
from bot.router import (
    CommandCall,
    CommandRegistry,
    Router,
    no_arguments,
    normalize,
    optional_word,
    parse_call,
    strip_reply_fallback,
)
from handlers import ROUTERS
from tests.unit.fakes import PARSE_ENV


async def _nothing(ctx: Context, _: object) -> None:
    return


def _router(
    feature: str, *names: str, admin: bool = False, aliases: tuple[str, ...] = ()
) -> Router:
    router = Router(feature)
    for name in names:
        router.command(name, summary=f"fait {name}", parse=no_arguments, admin=admin,
                       aliases=aliases)(_nothing)  # fmt: skip
    return router


# --- parse_call ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("!aide", CommandCall("aide", "")),
        ("!aide statut", CommandCall("aide", "statut")),
        ("  !aide   statut  ", CommandCall("aide", "statut")),
        ("!aide\tstatut", CommandCall("aide", "statut")),
        ("!AIDE", CommandCall("AIDE", "")),
        ("!Résultats 3", CommandCall("Résultats", "3")),
        ("!aide\nstatut", CommandCall("aide", "statut")),
    ],
)
def test_parse_call_commands(body: str, expected: CommandCall) -> None:
    assert parse_call(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "",
        "   ",
        "bonjour",
        "bonjour !aide",
        "!",
        "!   ",
        "!!",
        "!!aide",
        "!!!",
        "> <@prof:example.org> !aide",
        "aide!",
    ],
)
def test_parse_call_not_commands(body: str) -> None:
    assert parse_call(body) is None


def test_multiline_arguments_are_preserved() -> None:
    body = "!sondage Quelle date pour le conseil ?\nlundi 14h\n  mardi 17h\n\njeudi"
    assert parse_call(body) == CommandCall(
        "sondage", "Quelle date pour le conseil ?\nlundi 14h\n  mardi 17h\n\njeudi"
    )


def test_reply_fallback_lines_are_stripped() -> None:
    body = "> <@prof:example.org> Qui peut m’aider ?\n> deuxième ligne\n\n!aide statut"
    assert parse_call(body) == CommandCall("aide", "statut")


def test_reply_fallback_without_blank_line() -> None:
    assert parse_call("> <@prof:example.org> bonjour\n!statut") == CommandCall("statut", "")


def test_strip_reply_fallback_keeps_plain_text() -> None:
    assert strip_reply_fallback("bonjour\n> pas une citation") == "bonjour\n> pas une citation"
    assert strip_reply_fallback("> cité\n>\n> encore\n\ntexte") == "texte"
    assert strip_reply_fallback("> tout est cité") == ""


def test_quote_not_in_fallback_form_is_not_stripped() -> None:
    # Only a first line starting with "> " is a reply fallback.
    assert parse_call(">cité\n!aide") is None


@given(st.text())
@example("> ")
@example("!\u00a0")
@example("\n!\n!")
@example("! !aide")
def test_parse_call_never_raises(body: str) -> None:
    call = parse_call(body)
    if call is not None:
        assert call.name
        assert not call.name.startswith("!")
        assert call.name == call.name.strip()
        assert not any(c.isspace() for c in call.name)
        assert call.arguments == call.arguments.strip()


# --- normalize -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("aide", "aide"),
        ("AIDE", "aide"),
        ("Résultats", "resultats"),
        ("RÉSULTATS", "resultats"),
        ("événement", "evenement"),
        ("çà", "ca"),
        ("Noël", "noel"),
        ("e\u0301criture", "ecriture"),  # decomposed é
        ("ＡＩＤＥ", "aide"),  # full-width letters
    ],
)
def test_normalize(name: str, expected: str) -> None:
    assert normalize(name) == expected


@pytest.mark.parametrize("name", ["𝐀ide", "ᴬide", "𝐀𝐈𝐃𝐄"])
def test_normalize_lowercases_compatibility_letters(name: str) -> None:
    assert normalize(name) == "aide"


# --- argument parsers ----------------------------------------------------------------------


def test_optional_word() -> None:
    assert optional_word("", PARSE_ENV) is None
    assert optional_word("  statut ", PARSE_ENV) == "statut"
    with pytest.raises(InvalidArguments) as info:
        optional_word("deux mots", PARSE_ENV)
    assert info.value.message == "Un seul mot est attendu."


def test_no_arguments_ignores_extra_words() -> None:
    assert no_arguments("n’importe quoi", PARSE_ENV) is None  # type: ignore[func-returns-value]


# --- CommandRegistry -----------------------------------------------------------------------


def test_lookup_by_name_alias_case_and_accents() -> None:
    registry = CommandRegistry([_router("stats", "résultats", aliases=("bilan",))])
    command = registry.lookup("résultats")
    assert command is not None
    assert command.name == "résultats"
    assert registry.lookup("resultats") is command
    assert registry.lookup("Résultats") is command
    assert registry.lookup("RESULTATS") is command
    assert registry.lookup("bilan") is command
    assert registry.lookup("BILAN") is command


def test_accented_call_finds_unaccented_command() -> None:
    registry = CommandRegistry([_router("stats", "resultats")])
    call = parse_call("!Résultats")
    assert call is not None
    command = registry.lookup(call.name)
    assert command is not None
    assert command.name == "resultats"


@pytest.mark.parametrize("typed", ["aides", "aid", "ai", "a", "aide2", "aideR", "elp", "helps"])
def test_names_match_exactly_never_by_prefix(typed: str) -> None:
    registry = CommandRegistry(ROUTERS)
    assert registry.lookup(typed) is None


def test_real_registry_knows_aide_help_and_statut() -> None:
    registry = CommandRegistry(ROUTERS)
    aide = registry.lookup("aide")
    assert aide is not None
    assert registry.lookup("help") is aide
    assert registry.lookup("Aide") is aide
    statut = registry.lookup("statut")
    assert statut is not None
    assert statut.admin


@pytest.mark.parametrize(
    "routers",
    [
        [_router("a", "aide"), _router("b", "aide")],
        [_router("a", "aide", "aide")],
        [_router("a", "resultats"), _router("b", "Résultats")],
        [_router("a", "aide"), _router("b", "sos", aliases=("aide",))],
        [_router("a", "sos", aliases=("aide",)), _router("b", "aide")],
        [_router("a", "sos", aliases=("SOS",))],
    ],
)
def test_duplicate_names_are_refused(routers: list[Router]) -> None:
    with pytest.raises(ValueError, match="declared twice"):
        CommandRegistry(routers)


def test_visible_to_hides_admin_commands_and_keeps_order() -> None:
    registry = CommandRegistry(
        [_router("a", "un", "deux"), _router("b", "gestion", admin=True), _router("c", "trois")]
    )
    assert [c.name for c in registry.visible_to(False)] == ["un", "deux", "trois"]
    assert [c.name for c in registry.visible_to(True)] == ["un", "deux", "gestion", "trois"]


def test_visible_to_with_real_routers() -> None:
    registry = CommandRegistry(ROUTERS)
    assert [c.name for c in registry.visible_to(False)] == [
        "aide",
        "annonces",
        "ateliers",
        "inscription",
        "desinscription",
        "panne",
        "pannes",
        "mesdonnees",
    ]
    assert [c.name for c in registry.visible_to(True)] == [
        "aide",
        "annonce",
        "annonces",
        "diffusion",
        "sondage",
        "atelier",
        "cafe",
        "ateliers",
        "inscription",
        "desinscription",
        "veille",
        "lettre",
        "panne",
        "pannes",
        "statut",
        "mesdonnees",
        "bilan",
    ]


def test_command_declaration_defaults() -> None:
    router = Router("x")
    handler = router.command("statut", summary="état", parse=no_arguments)(_nothing)
    assert handler is _nothing
    [command] = router.commands
    assert command.usage_line == "!statut"
    assert command.example == "!statut"
    assert command.aliases == ()
    assert not command.admin

    router.command(
        "sondage", summary="crée un sondage", parse=optional_word, usage="question | choix…",
        example="!sondage Date ? | lundi | mardi", aliases=["vote"],
    )(_nothing)  # fmt: skip
    sondage = router.commands[1]
    assert sondage.usage_line == "!sondage question | choix…"
    assert sondage.example == "!sondage Date ? | lundi | mardi"
    assert sondage.aliases == ("vote",)
