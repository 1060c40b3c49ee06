"""`rupn-bot demo`: the real bot, a throwaway Synapse and scripted people in an encrypted room.

The demo registers a bot account, a RUPN and two teachers on a local Synapse, has the
RUPN create the encrypted staff room, runs the real bot in this process and plays
`SCENARIO` with real matrix-nio clients. The terminal shows the conversation as one
teacher's client received and decrypted it; the bot's log goes to a file.

To show a new capability, add `Step` lines to `SCENARIO` (and people to `PEOPLE`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import nio

from bot.app import RunningBot, run_app
from bot.config import Config, ConfigError, load_config
from bot.logging_setup import (
    LOG_FORMAT,
    QUIET_LOGGERS,
    SecretMaskingFilter,
    add_secret,
)
from devtools.botprocess import write_bot_config
from devtools.participant import Participant, SeenMessage
from devtools.synapse import Account, ThrowawaySynapse

T = TypeVar("T")

# --------------------------------------------------------------------------- the script


@dataclass(frozen=True)
class Person:
    """Someone in the staff room; `localpart` is also the login name."""

    localpart: str
    display_name: str
    role: str
    """French, shown in the account list of ``--keep-running``."""


@dataclass(frozen=True)
class Step:
    """One line of the scenario: `who` (a localpart) types `text`; the bot answers."""

    who: str
    text: str
    note: str = ""
    """Optional French narration printed before the step."""


BOT = Person("rupn-bot", "rupn-bot", "compte du bot (utilisé par le bot lui-même)")
RUPN = Person("rupn", "Claire Martin (RUPN)", "référente numérique, administratrice du bot")
PEOPLE: tuple[Person, ...] = (
    RUPN,
    Person("prof.durand", "Paul Durand", "professeur"),
    Person("prof.leroy", "Inès Leroy", "professeure"),
)
"""The humans of the demo, played by real Matrix clients. The first one is the RUPN."""

OBSERVER = "prof.leroy"
"""Whose client the transcript comes from: it proves a real client decrypted everything."""

SCENARIO: tuple[Step, ...] = (
    Step("prof.durand", "!aide", "Un professeur découvre le bot."),
    Step("rupn", "!aide", "La référente numérique voit aussi les commandes d’administration."),
    Step("prof.leroy", "!xyz", "Une faute de frappe : le bot ne connaît pas cette commande."),
    Step("prof.durand", "!statut", "Un professeur essaie une commande d’administration."),
    Step("rupn", "!aide statut", "La référente numérique demande le détail d’une commande…"),
    Step("rupn", "!statut", "… puis l’utilise."),
)

ROOM_NAME = "Salle des professeurs"
SERVER_NAME = "rupn.test"
MAX_SENDS_PER_SECOND = 5.0
REPLY_TIMEOUT_S = 30.0
SEEN_TIMEOUT_S = 15.0
READY_TIMEOUT_S = 60.0
JOIN_TIMEOUT_S = 30.0
BOT_STOP_TIMEOUT_S = 30.0
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130

LOCK = "🔒"
"""Marks a message this client received encrypted and decrypted."""
CLEAR = "⚠️"
"""Marks a message that arrived unencrypted, or that the client could not decrypt."""
TIME_WIDTH = len("[00:00:00] ")
INDENT = " " * (TIME_WIDTH + 3)
"""Continuation lines of a message start under the sender's name (the lock is 2 wide)."""

_WORDS = (
    "abricot", "baleine", "castor", "cerise", "dauphin", "erable", "falaise", "girafe",
    "hibou", "jasmin", "koala", "lavande", "mesange", "noisette", "olive", "panda",
    "renard", "sapin", "tilleul", "tortue", "vanille", "violette", "zebre", "mirabelle",
)  # fmt: skip
SHOWN_TYPES = frozenset({"m.room.message", "undecryptable"})
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def readable_password() -> str:
    """A random password that is easy to read and type, such as ``castor-olive-4821``."""
    first, second = secrets.choice(_WORDS), secrets.choice(_WORDS)
    return f"{first}-{second}-{secrets.randbelow(9000) + 1000}"


# --------------------------------------------------------------------------- output


def _say(text: str = "") -> None:
    print(text, flush=True)


def _seconds(value: float) -> str:
    """``4,2 s``: French decimal comma."""
    return f"{value:.1f}".replace(".", ",") + " s"


def _plural(count: int, singular: str, plural: str) -> str:
    # French uses the singular for 0 and 1.
    return f"{count} {singular if count <= 1 else plural}"


def _plain(body: str) -> str:
    """The text a reader sees: the bot's Markdown bold markers removed."""
    return _BOLD.sub(r"\1", body)


def render_message(message: SeenMessage, name: str, when: datetime) -> list[str]:
    """``[HH:MM:SS] 🔒 Name : text``, continuation lines indented under the name."""
    if message.event_type == "undecryptable":
        mark, lines = CLEAR, ["(message chiffré que ce client n’a pas pu déchiffrer)"]
    else:
        mark = LOCK if message.decrypted else CLEAR
        lines = _plain(message.body).split("\n")
    first = f"[{when:%H:%M:%S}] {mark} {name} : {lines[0]}"
    return [first, *[INDENT + line if line.strip() else "" for line in lines[1:]]]


def summary_line(commands: int, replies: int, decrypted: int, total: int) -> str:
    """The closing line, e.g. « 6 commandes, 6 réponses du bot, toutes chiffrées… »."""
    counts = (
        f"{_plural(commands, 'commande', 'commandes')}, "
        f"{_plural(replies, 'réponse du bot', 'réponses du bot')}"
    )
    if decrypted == total:
        every = "toutes deux chiffrées" if total == 2 else "toutes chiffrées"
        return f"{counts}, {every} de bout en bout."
    return (
        f"{counts} ; seulement {decrypted} {'message' if total <= 1 else 'messages'} "
        f"sur {total} {'chiffré' if decrypted <= 1 else 'chiffrés'} de bout en bout."
    )


def of(name: str) -> str:
    """French « de » before a name, elided before a vowel: « d’Inès », « de Paul »."""
    return f"d’{name}" if name[:1].lower() in "aeiouyàâäéèêëîïôöùûü" else f"de {name}"


# --------------------------------------------------------------------------- errors


class DemoError(Exception):
    """A failure explained in French; `message` follows « Erreur : », so starts lowercase."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Interrupted(Exception):
    """Ctrl+C or SIGTERM arrived."""


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(journal absent)"
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------- logging


def _log_to_file(path: Path) -> Callable[[], None]:
    """Send every log record (the bot's, nio's…) to `path`; returns the undo function."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    quiet_levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(SecretMaskingFilter())
    for old in saved_handlers:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)

    def restore() -> None:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        handler.close()
        for old in saved_handlers:
            root.addHandler(old)
        root.setLevel(saved_level)
        for name, level in quiet_levels.items():
            logging.getLogger(name).setLevel(level)

    return restore


# --------------------------------------------------------------------------- the demo


class Demo:
    """Everything the demo starts, so that `close` can stop it in the right order."""

    def __init__(self, workdir: Path, interrupted: asyncio.Event) -> None:
        self.workdir = workdir
        self.interrupted = interrupted
        self.bot_log = workdir / "bot.log"
        self.synapse = ThrowawaySynapse(workdir / "synapse", server_name=SERVER_NAME)
        self.bot_account: Account | None = None
        self.people: dict[str, Participant] = {}
        self.names: dict[str, str] = {}
        self.room_id = ""
        self.bot_stop = asyncio.Event()
        self.bot_ready = asyncio.Event()
        self.bot_task: asyncio.Task[None] | None = None
        self.timestamps: dict[str, int] = {}
        self.shown: set[str] = set()
        self.decrypted = 0
        self.total = 0

    @property
    def observer(self) -> Participant:
        return self.people[OBSERVER]

    @property
    def bot_id(self) -> str:
        if self.bot_account is None:
            raise RuntimeError("the bot account is not registered yet")
        return self.bot_account.user_id

    # -- supervision ---------------------------------------------------------------------

    async def guard(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro`, unless Ctrl+C arrives or the bot stops first."""
        task = asyncio.ensure_future(coro)
        interrupt = asyncio.ensure_future(self.interrupted.wait())
        watched: set[asyncio.Future[Any]] = {task, interrupt}
        if self.bot_task is not None:
            watched.add(self.bot_task)
        try:
            await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        finally:
            interrupt.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if task.done() and not task.cancelled():
            return task.result()
        if self.interrupted.is_set():
            raise Interrupted
        raise DemoError("le bot s’est arrêté de façon inattendue.", self._bot_failure())

    def _bot_failure(self) -> str:
        details = ""
        task = self.bot_task
        if task is not None and task.done() and not task.cancelled():
            error = task.exception()
            if error is not None:
                details = "".join(traceback.format_exception(error)) + "\n"
        return details + f"Fin du journal du bot :\n{_tail(self.bot_log)}"

    # -- setting up ----------------------------------------------------------------------

    async def setup(self) -> None:
        started = time.monotonic()
        try:
            await self.synapse.start()
        except Exception as exc:
            raise DemoError("le serveur Synapse local n’a pas pu démarrer.", str(exc)) from exc
        _say(
            f"Serveur Synapse local démarré sur {self.synapse.base_url} "
            f"en {_seconds(time.monotonic() - started)}."
        )
        try:
            await self._accounts_and_room()
        except (RuntimeError, TimeoutError) as exc:
            raise DemoError(
                "impossible de préparer les comptes et le salon de démonstration.", str(exc)
            ) from exc
        await self._start_bot()
        _say(
            f"Comptes créés, salon chiffré « {ROOM_NAME} » prêt, bot connecté "
            f"(préparation : {_seconds(time.monotonic() - started)})."
        )

    async def _accounts_and_room(self) -> None:
        synapse = self.synapse
        self.bot_account = await synapse.register(
            BOT.localpart, readable_password(), displayname=BOT.display_name
        )
        self.names[self.bot_account.user_id] = BOT.display_name
        for person in PEOPLE:
            account = await synapse.register(
                person.localpart, readable_password(), displayname=person.display_name
            )
            self.names[account.user_id] = person.display_name
            participant = Participant(synapse.base_url, account, self.workdir / "clients")
            self.people[person.localpart] = participant
            await participant.start()
        self.observer.client.add_event_callback(
            self._record_timestamp, (nio.RoomMessage, nio.MegolmEvent)
        )
        rupn = self.people[RUPN.localpart]
        others = [p.user_id for p in self.people.values() if p is not rupn]
        self.room_id = await rupn.create_encrypted_room(ROOM_NAME, invite=[*others, self.bot_id])
        humans = [p.user_id for p in self.people.values()]
        for participant in self.people.values():
            await participant.wait_joined(self.room_id, humans, JOIN_TIMEOUT_S)

    def _record_timestamp(self, room: Any, event: Any) -> None:
        stamp = getattr(event, "server_timestamp", None)
        if isinstance(stamp, int):
            self.timestamps[str(event.event_id)] = stamp

    def _bot_config(self) -> Config:
        if self.bot_account is None:
            raise RuntimeError("the bot account is not registered yet")
        add_secret(self.bot_account.password)
        path = write_bot_config(
            self.workdir / "bot.toml",
            homeserver=self.synapse.base_url,
            bot=self.bot_account,
            admins=[self.people[RUPN.localpart].user_id],
            data_dir=self.workdir / "botdata",
            max_sends_per_second=MAX_SENDS_PER_SECOND,
        )
        try:
            return load_config(path)
        except ConfigError as exc:
            raise DemoError("la configuration générée pour le bot est invalide.", str(exc)) from exc

    async def _start_bot(self) -> None:
        config = self._bot_config()

        def on_ready(_: RunningBot) -> None:
            self.bot_ready.set()

        self.bot_task = asyncio.create_task(
            run_app(config, self.bot_stop, on_ready=on_ready), name="rupn-bot"
        )
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                await self.guard(self.bot_ready.wait())
        except TimeoutError as exc:
            raise DemoError(
                f"le bot n’était pas prêt au bout de {READY_TIMEOUT_S:.0f} secondes.",
                self._bot_failure(),
            ) from exc
        try:
            # Everyone must see the bot joined, or their first message would not be
            # encrypted for its device.
            for participant in self.people.values():
                await participant.wait_joined(self.room_id, [self.bot_id], JOIN_TIMEOUT_S)
        except TimeoutError as exc:
            raise DemoError(
                f"le bot n’a pas rejoint le salon « {ROOM_NAME} ».", self._bot_failure()
            ) from exc

    # -- the scenario --------------------------------------------------------------------

    def _name(self, user_id: str) -> str:
        """The display name as the observer's client shows it."""
        room = self.observer.client.rooms.get(self.room_id)
        if room is not None and user_id in room.users:
            return str(room.user_name(user_id))
        return self.names.get(user_id, user_id)

    def show(self, message: SeenMessage) -> None:
        """Print one message of the observer's timeline, once."""
        if message.event_id in self.shown:
            return
        self.shown.add(message.event_id)
        self.total += 1
        if message.decrypted:
            self.decrypted += 1
        stamp = self.timestamps.get(message.event_id)
        when = (
            datetime.fromtimestamp(stamp / 1000, tz=UTC).astimezone()
            if stamp is not None
            else datetime.now().astimezone()
        )
        for line in render_message(message, self._name(message.sender), when):
            _say(line)

    async def play(self) -> None:
        observer_name = self.names[self.observer.user_id]
        _say()
        _say(f"Conversation telle que la reçoit le client Matrix {of(observer_name)}")
        _say(f"({LOCK} : message chiffré de bout en bout, reçu et déchiffré par ce client)")
        started = time.monotonic()
        for step in SCENARIO:
            await self._play(step)
        _say()
        _say(
            summary_line(len(SCENARIO), len(SCENARIO), self.decrypted, self.total)
            + f" Durée du scénario : {_seconds(time.monotonic() - started)}."
        )

    async def _play(self, step: Step) -> None:
        speaker = self.people[step.who]
        after = self.observer.mark()
        if step.note:
            _say()
            _say(f"— {step.note}")
        try:
            reply = await speaker.send_and_wait_reply(
                self.room_id, step.text, self.bot_id, REPLY_TIMEOUT_S
            )
        except TimeoutError as exc:
            raise DemoError(
                f"le bot n’a pas répondu à « {step.text} » "
                f"(envoyé par {self.names[speaker.user_id]}) "
                f"dans les {REPLY_TIMEOUT_S:.0f} secondes.",
                f"{exc}\n\n{self._bot_failure()}",
            ) from exc
        command_id = reply.in_reply_to or ""
        try:
            for event_id in (command_id, reply.event_id):
                self.show(await self._observed(event_id, after))
        except TimeoutError as exc:
            raise DemoError(
                f"le client {of(self.names[self.observer.user_id])} n’a pas reçu l’échange "
                f"« {step.text} » dans les {SEEN_TIMEOUT_S:.0f} secondes.",
                str(exc),
            ) from exc

    async def _observed(self, event_id: str, after: int) -> SeenMessage:
        """The event `event_id` once the observer's client has received it."""

        def wanted(message: SeenMessage) -> bool:
            return message.event_id == event_id

        return await self.observer.wait_for(wanted, SEEN_TIMEOUT_S, after=after)

    # -- keep running --------------------------------------------------------------------

    def _accounts(self) -> Iterable[tuple[str, Account]]:
        for person in PEOPLE:
            yield f"{person.display_name}, {person.role}", self.people[person.localpart].account
        if self.bot_account is not None:
            yield f"{BOT.display_name}, {BOT.role}", self.bot_account

    def print_connection_info(self) -> None:
        url = self.synapse.base_url
        logins = ", ".join(p.localpart for p in PEOPLE)
        _say()
        _say("La démonstration continue : tout reste en marche jusqu’à Ctrl+C.")
        _say()
        _say(f"Serveur Matrix local (homeserver) : {url}")
        _say(f"Salon : « {ROOM_NAME} », chiffré de bout en bout")
        _say()
        _say("Comptes :")
        for label, account in self._accounts():
            _say(f"  {label}")
            _say(f"      identifiant : {account.user_id}")
            _say(f"      mot de passe : {account.password}")
        _say()
        _say("Pour rejoindre le salon avec Element (application de bureau, ou")
        _say("https://app.element.io dans un navigateur de cette machine) :")
        _say("  1. Sur l’écran de connexion, à côté de « Serveur d’accueil », cliquez sur")
        _say("     « Modifier ».")
        _say(f"  2. Choisissez un serveur d’accueil personnalisé : {url}")
        _say(f"  3. Connectez-vous avec l’un des comptes ci-dessus (nom d’utilisateur : {logins}).")
        _say("  4. Dans le salon, tapez par exemple !aide : le bot répond.")
        _say("Les messages échangés avant votre connexion resteront illisibles dans Element :")
        _say("ils ont été chiffrés pour les appareils de la démonstration, pas pour le vôtre.")
        _say()
        _say(f"Fichiers de la démonstration (journaux, bases de données) : {self.workdir}")
        _say(f"Journal du bot : {self.bot_log}")
        _say()
        _say("Appuyez sur Ctrl+C pour tout arrêter (bot, clients simulés et serveur Synapse).")
        _say()
        observer = of(self.names[self.observer.user_id])
        _say(f"Nouveaux messages du salon, vus par le client {observer} :")

    async def follow(self) -> None:
        """Print the room's new messages as the observer receives them, until cancelled."""
        index = self.observer.mark()
        while True:
            with contextlib.suppress(TimeoutError):
                await self.observer.wait_for(lambda _: True, 3600, after=index)
            messages = self.observer.messages
            for message in messages[index:]:
                if message.room_id == self.room_id and message.event_type in SHOWN_TYPES:
                    self.show(message)
            index = len(messages)

    # -- stopping ------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop the bot (letting it drain its queue), the clients, then Synapse."""
        self.bot_stop.set()
        task = self.bot_task
        if task is not None:
            try:
                await asyncio.wait_for(task, BOT_STOP_TIMEOUT_S)
            except TimeoutError:
                logging.getLogger(__name__).warning("The bot did not stop in time")
            except Exception:
                logging.getLogger(__name__).exception("The bot stopped on an error")
        for participant in self.people.values():
            with contextlib.suppress(Exception):
                await participant.stop()
        await self.synapse.stop()


# --------------------------------------------------------------------------- entry point


async def _main(workdir: Path, keep_running: bool) -> int:
    interrupted = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, interrupted.set)
    demo = Demo(workdir, interrupted)
    live = False
    try:
        _say(f"Démonstration de rupn-bot — salon chiffré « {ROOM_NAME} » sur un Synapse local")
        _say()
        await demo.guard(demo.setup())
        await demo.guard(demo.play())
        if keep_running:
            demo.print_connection_info()
            live = True
            await demo.guard(demo.follow())
        return EXIT_OK
    except Interrupted:
        if live:
            _say()
            _say("Arrêt demandé : arrêt du bot, des clients et du serveur Synapse…")
            return EXIT_OK
        print("\nDémonstration interrompue.", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except DemoError as error:
        print(f"\nErreur : {error.message}", file=sys.stderr)
        if error.details:
            print(f"\nDétails :\n{error.details}", file=sys.stderr, flush=True)
        return EXIT_FAILURE
    except Exception:
        print("\nErreur inattendue pendant la démonstration :", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return EXIT_FAILURE
    finally:
        await demo.close()
        for signum in signals:
            loop.remove_signal_handler(signum)
        if live:
            _say(f"Tout est arrêté. Les fichiers de la démonstration restent dans {workdir}.")


def run_demo(keep_running: bool) -> int:
    """Run the demo; 0 on success, 1 on failure, 130 if interrupted by Ctrl+C."""
    workdir = Path(tempfile.mkdtemp(prefix="rupn-bot-demo-"))
    restore_logging = _log_to_file(workdir / "bot.log")
    try:
        return asyncio.run(_main(workdir, keep_running))
    finally:
        restore_logging()
        if not keep_running:
            shutil.rmtree(workdir, ignore_errors=True)
