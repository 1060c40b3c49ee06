"""Declared commands: parse the message, authorise, parse arguments, dispatch.

Each feature module owns a `Router` and declares its commands with
`@router.command(...)`; `handlers/__init__.py` lists the routers, and
`CommandRegistry` merges them. Names match exactly, ignoring case and accents
(`!résultats` = `!resultats`), never by prefix.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.context import Context, Settings
from bot.domain import RoomEvent
from bot.errors import InvalidArguments
from bot.storage.posts import Post
from bot.work import Units

PREFIX = "!"

A = TypeVar("A")
E = TypeVar("E", bound=RoomEvent)
Handler = Callable[[Context, A], Awaitable[None]]
EventHandler = Callable[[Context, Any], Awaitable[None]]
SettledHook = Callable[[Units, Post], Awaitable[None]]
JobFunction = Callable[[Units], Awaitable[None]]


@dataclass(frozen=True)
class ParseEnv:
    """What argument parsers may know: the moment of the command and the bot's time zone.

    Dates are parsed before the handler runs, so they arrive as aware datetimes.
    """

    now: datetime
    tz: ZoneInfo


Parser = Callable[[str, ParseEnv], A]


@dataclass(frozen=True)
class JobSpec:
    """A periodic job a feature declares; bot/scheduler.py runs it."""

    name: str
    run: JobFunction
    every_seconds: Callable[[Settings], float]
    per_school: bool = True  # run once per établissement; False: once for the whole bot


# --- the texts the router answers with ------------------------------------------------------


def unknown_command_text(name: str) -> str:
    shown = name if len(name) <= MAX_ECHOED_NAME else name[:MAX_ECHOED_NAME] + "…"
    return f"Commande inconnue : {PREFIX}{shown}. Tapez {PREFIX}aide pour la liste des commandes."


def admin_only_text(name: str) -> str:
    return (
        f"Désolé, la commande {PREFIX}{name} est réservée aux référents numériques (RUPN) "
        "qui administrent le bot. Tapez !aide pour voir les commandes qui vous sont ouvertes."
    )


def academie_only_text(name: str) -> str:
    return (
        f"Désolé, la commande {PREFIX}{name} est réservée aux administrateurs de l’académie "
        "(section [academie] de la configuration du bot)."
    )


def usage_text(message: str, usage_line: str, example: str) -> str:
    return f"{message}\nUtilisation : {usage_line}\nExemple : {example}"


MAX_ECHOED_NAME = 30
"""An unknown command is echoed at most this long: a teacher cannot make the bot post 30 KB."""


def normalize(name: str) -> str:
    """Lower case, accents removed: `Résultats` → `resultats`."""
    decomposed = unicodedata.normalize("NFKD", name)
    # Lower case after decomposing too: NFKD turns "𝐀" into a capital "A".
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def no_arguments(text: str, env: ParseEnv) -> None:
    """Parser of commands that take nothing; extra words are ignored."""
    return


def optional_word(text: str, env: ParseEnv) -> str | None:
    """Parser of commands that take at most one word."""
    words = text.split()
    if len(words) > 1:
        raise InvalidArguments("Un seul mot est attendu.")
    return words[0] if words else None


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    usage: str
    example: str
    admin: bool
    aliases: tuple[str, ...]
    parse: Parser[Any]
    handler: Callable[[Context, Any], Awaitable[None]]
    details: str = ""
    academie: bool = False  # académie admins may type it anywhere; the handler checks what
    academie_only: bool = False  # for the académie's admins only, in any room (no school's)
    personal: bool = False  # about the person, not a school: also in a room of no school's

    @property
    def usage_line(self) -> str:
        return f"{PREFIX}{self.name} {self.usage}".rstrip()

    def invalid_text(self, error: InvalidArguments) -> str:
        """The one shape of every argument error: what is wrong, the usage, an example.

        A sub-command's own usage and example, when the error carries them, replace
        the command's.
        """
        return usage_text(
            error.message, error.usage or self.usage_line, error.example or self.example
        )


class Router:
    """The commands of one feature."""

    def __init__(self, feature: str) -> None:
        self.feature = feature
        self.commands: list[Command] = []
        self.event_handlers: list[tuple[type, EventHandler]] = []
        self.jobs: list[JobSpec] = []
        self.settled_hooks: list[SettledHook] = []

    def job(
        self, name: str, *, every_seconds: Callable[[Settings], float], per_school: bool = True
    ) -> Callable[[JobFunction], JobFunction]:
        """Declare a periodic job (run at start-up, then every few seconds), for each
        établissement in turn unless `per_school` is False."""

        def register(run: JobFunction) -> JobFunction:
            self.jobs.append(JobSpec(name, run, every_seconds, per_school))
            return run

        return register

    def on_post_settled(self, hook: SettledHook) -> SettledHook:
        """Called after each of the bot's posts is sent or has failed for good."""
        self.settled_hooks.append(hook)
        return hook

    def on(self, event_type: type[E]) -> Callable[[EventHandler], EventHandler]:
        """Subscribe a handler to non-command events (reactions, redactions…)."""

        def register(handler: EventHandler) -> EventHandler:
            self.event_handlers.append((event_type, handler))
            return handler

        return register

    def command(
        self,
        name: str,
        *,
        summary: str,
        parse: Parser[A],
        usage: str = "",
        example: str | None = None,
        admin: bool = False,
        aliases: Sequence[str] = (),
        details: str = "",
        academie: bool = False,
        academie_only: bool = False,
        personal: bool = False,
    ) -> Callable[[Handler[A]], Handler[A]]:
        def register(handler: Handler[A]) -> Handler[A]:
            self.commands.append(
                Command(
                    name=name,
                    summary=summary,
                    usage=usage,
                    example=example or f"{PREFIX}{name}",
                    admin=admin,
                    aliases=tuple(aliases),
                    parse=parse,
                    handler=handler,
                    details=details,
                    academie=academie,
                    academie_only=academie_only,
                    personal=personal,
                )
            )
            return handler

        return register


class CommandRegistry:
    """All routers' commands, looked up by normalised name or alias."""

    def __init__(self, routers: Iterable[Router]) -> None:
        routers = list(routers)
        self._ordered: list[Command] = []
        self._by_name: dict[str, Command] = {}
        self.event_handlers: dict[type, list[EventHandler]] = {}
        self.jobs: list[JobSpec] = [job for router in routers for job in router.jobs]
        self.settled_hooks = [hook for router in routers for hook in router.settled_hooks]
        for router in routers:
            for event_type, handler in router.event_handlers:
                self.event_handlers.setdefault(event_type, []).append(handler)
            for command in router.commands:
                self._ordered.append(command)
                for name in (command.name, *command.aliases):
                    key = normalize(name)
                    if key in self._by_name:
                        raise ValueError(f"command name {name!r} declared twice")
                    self._by_name[key] = command

    def lookup(self, name: str) -> Command | None:
        return self._by_name.get(normalize(name))

    def visible_to(self, is_admin: bool) -> Sequence[Command]:
        # The académie's commands are not a school's: its admins know them (README).
        return [c for c in self._ordered if (is_admin or not c.admin) and not c.academie_only]


@dataclass(frozen=True)
class CommandCall:
    name: str
    arguments: str


def strip_reply_fallback(body: str) -> str:
    """Remove the `> quoted` lines older clients put before a reply's text."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    return "\n".join(lines[index:]).lstrip("\n")


def parse_call(body: str) -> CommandCall | None:
    """`!sondage a | b` → CommandCall("sondage", "a | b"); None if not a command."""
    text = strip_reply_fallback(body).strip()
    if not text.startswith(PREFIX):
        return None
    parts = text[len(PREFIX) :].split(maxsplit=1)
    if not parts or parts[0].startswith(PREFIX):
        return None
    return CommandCall(parts[0], parts[1] if len(parts) > 1 else "")
