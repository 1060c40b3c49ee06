"""Command line of rupn-bot.

``rupn-bot run | check-config | connexion | identite | lettre | bilan | etablissements | demo``.

argparse's own strings (``usage:``, ``error:``, ``options``…) are English and
looked up through ``argparse._`` / ``argparse.ngettext`` (gettext). `main`
swaps in a French translation while it builds the parser and parses the
arguments, then restores the originals: importing this module changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot import __version__
from bot.clock import system_clock
from bot.config import PASSWORD_ENV_VAR, Config, ConfigError, load_config
from bot.errors import StorageError
from bot.logging_setup import add_secret, configure_logging
from bot.school_listing import check_lines, listing, school_states
from bot.school_year import parse_school_year

if TYPE_CHECKING:
    from digests.bilan.offline import Written

PROG = "rupn-bot"
DEFAULT_CONFIG = Path("config.toml")
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG_ERROR = 2
EXIT_INTERRUPTED = 130

# --------------------------------------------------------------------------- French argparse

ARGPARSE_FRENCH: dict[str, str] = {
    "usage: ": "utilisation : ",
    "positional arguments": "arguments positionnels",
    "options": "options",
    "optional arguments": "options",
    "subcommands": "sous-commandes",
    "show this help message and exit": "afficher ce message d’aide et quitter",
    "show program's version number and exit": "afficher le numéro de version et quitter",
    "the following arguments are required: %s": "les arguments suivants sont obligatoires : %s",
    "unrecognized arguments: %s": "arguments non reconnus : %s",
    "invalid choice: %(value)r (choose from %(choices)s)": (
        "choix invalide : %(value)r (choix possibles : %(choices)s)"
    ),
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "expected one argument": "une valeur attendue",
    "expected at most one argument": "au plus une valeur attendue",
    "expected at least one argument": "au moins une valeur attendue",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "ambiguous option: %(option)s could match %(matches)s": (
        "option ambiguë : %(option)s peut désigner %(matches)s"
    ),
    "not allowed with argument %s": "incompatible avec l’argument %s",
    "ignored explicit argument %r": "valeur %r ignorée",
    "one of the arguments %s is required": "l’un des arguments %s est obligatoire",
    "unexpected option string: %s": "option inattendue : %s",
    "invalid %(type)s value: %(value)r": "valeur invalide (%(type)s) : %(value)r",
    "unknown parser %(parser_name)r (choices: %(choices)s)": (
        "sous-commande inconnue %(parser_name)r (choix possibles : %(choices)s)"
    ),
    "can't open '%(filename)s': %(error)s": "impossible d’ouvrir « %(filename)s » : %(error)s",
    'argument "-" with mode %r': "argument « - » avec le mode %r",
}
"""French for the messages argparse passes through ``argparse._``."""

ARGPARSE_FRENCH_PLURAL: dict[tuple[str, str], tuple[str, str]] = {
    ("expected %s argument", "expected %s arguments"): (
        "%s valeur attendue",
        "%s valeurs attendues",
    ),
}
"""French for the messages argparse passes through ``argparse.ngettext``."""


def _french_gettext(message: str) -> str:
    # argparse also calls _() on None (a missing subparsers description).
    if not isinstance(message, str):
        return message
    return ARGPARSE_FRENCH.get(message, message)


def _french_ngettext(singular: str, plural: str, count: int) -> str:
    french = ARGPARSE_FRENCH_PLURAL.get((singular, plural))
    if french is None:
        return singular if count == 1 else plural
    # French uses the singular for 0 and 1.
    return french[0] if count <= 1 else french[1]


@contextmanager
def french_argparse() -> Iterator[None]:
    """Translate argparse's messages into French inside the ``with`` block.

    The parser must be built inside the block too: argparse translates group
    titles and the ``-h`` help when the parser is created.
    """
    namespace = vars(argparse)  # argparse looks these names up in its globals
    saved = {name: namespace[name] for name in ("_", "ngettext")}
    namespace["_"] = _french_gettext
    namespace["ngettext"] = _french_ngettext
    try:
        yield
    finally:
        namespace.update(saved)


# --------------------------------------------------------------------------- parser


class FrenchHelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help layout with French typography (« options : ») and a wider first column."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 30,
        width: int | None = None,
    ) -> None:
        super().__init__(prog, indent_increment, max_help_position, width)

    def start_section(self, heading: str | None) -> None:
        # argparse appends the colon itself; French wants a space before it.
        super().start_section(f"{heading} " if heading else heading)


def _add_config(command: argparse.ArgumentParser, config_help: str) -> None:
    """`--config CHEMIN`, which every sub-command that reads the configuration takes."""
    command.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, metavar="CHEMIN", help=config_help
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; build it inside `french_argparse` for French messages."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Bot Matrix/Tchap pour les référents numériques (RUPN) des collèges et lycées."
        ),
        epilog=(
            "Exemples :\n"
            f"  {PROG} check-config --config config.toml\n"
            f"  {PROG} connexion --config config.toml\n"
            f"  {PROG} run --config config.toml\n"
            f"  {PROG} identite etat --config config.toml\n"
            f"  {PROG} lettre --apercu --config config.toml\n"
            f"  {PROG} bilan --config config.toml --annee 2025-2026 --sortie bilans\n"
            f"  {PROG} bilan --academie --config config.toml --sortie bilans\n"
            f"  {PROG} bilan --academie --csv bilans-etablissements --sortie bilans\n"
            f"  {PROG} etablissements --config config.toml\n"
            f"  {PROG} demo --keep-running\n"
            "\n"
            f"Le mot de passe du compte du bot peut être fourni par la variable "
            f"d’environnement {PASSWORD_ENV_VAR}, un jeton délivré par l’administrateur du "
            "serveur par RUPN_BOT_ACCESS_TOKEN."
        ),
        formatter_class=FrenchHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {__version__}",
        help="afficher le numéro de version et quitter",
    )
    commands = parser.add_subparsers(
        title="commandes",
        dest="command",
        metavar="COMMANDE",
        required=True,
    )

    config_help = f"chemin du fichier de configuration (par défaut : {DEFAULT_CONFIG})"

    run = commands.add_parser(
        "run",
        formatter_class=FrenchHelpFormatter,
        help="lancer le bot",
        description="Se connecter au serveur Matrix et traiter les messages jusqu’à l’arrêt.",
    )
    _add_config(run, config_help)
    run.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        type=str.upper,
        metavar="NIVEAU",
        help="niveau de détail du journal : DEBUG, INFO, WARNING ou ERROR (par défaut : INFO)",
    )
    run.set_defaults(handler=_cmd_run)

    check = commands.add_parser(
        "check-config",
        formatter_class=FrenchHelpFormatter,
        help="vérifier le fichier de configuration",
        description=(
            "Vérifier le fichier de configuration et en afficher un résumé "
            "(le mot de passe n’est jamais affiché)."
        ),
    )
    _add_config(check, config_help)
    check.set_defaults(handler=_cmd_check_config)

    connexion = commands.add_parser(
        "connexion",
        formatter_class=FrenchHelpFormatter,
        help="connecter le bot à son compte Matrix (une fois, en interactif)",
        description=(
            "Ouvrir la session du bot et l’enregistrer dans data_dir. Sur un serveur qui "
            "confie la connexion à un service d’authentification (Tchap, ProConnect), "
            "affiche une adresse et un code à valider dans un navigateur avec le compte du "
            "bot ; sinon, demande le mot de passe du compte (ou le lit dans "
            f"{PASSWORD_ENV_VAR}). « rupn-bot run » utilise ensuite cette session."
        ),
    )
    _add_config(connexion, config_help)
    connexion.set_defaults(handler=_cmd_connexion)

    demo = commands.add_parser(
        "demo",
        formatter_class=FrenchHelpFormatter,
        help="lancer une démonstration sur un serveur Matrix local jetable",
        description=(
            "Lancer une démonstration du bot sur un serveur Matrix local jetable, "
            "avec des participants simulés."
        ),
    )
    demo.add_argument(
        "--keep-running",
        action="store_true",
        help="laisser tourner la démonstration jusqu’à Ctrl+C",
    )
    demo.set_defaults(handler=_cmd_demo)

    identity = commands.add_parser(
        "identite",
        formatter_class=FrenchHelpFormatter,
        help="voir ou réinitialiser l’identité de chiffrement (signature croisée) du bot",
        description=(
            "etat : dire si la session du bot est signée par son compte, comme Element et "
            "Tchap l’exigent.\n"
            "reinitialiser : remplacer l’identité de chiffrement du compte du bot par une "
            "nouvelle (clés perdues, ou créées par une autre application). Chaque client "
            "affichera alors que l’identité du bot a changé. Arrêtez le bot avant. Selon le "
            "serveur, le mot de passe du compte est demandé (ou lu dans "
            f"{PASSWORD_ENV_VAR}), ou une adresse s’affiche où approuver la réinitialisation "
            "avec le compte du bot (Tchap, ProConnect)."
        ),
    )
    identity.add_argument("action", choices=("etat", "reinitialiser"), metavar="ACTION",
                          help="etat ou reinitialiser")  # fmt: skip
    _add_config(identity, config_help)
    identity.set_defaults(handler=_cmd_identity)

    letter = commands.add_parser(
        "lettre",
        formatter_class=FrenchHelpFormatter,
        help="afficher l’aperçu de la lettre de la semaine, sans rien envoyer",
        description=(
            "Afficher la lettre de la semaine telle qu’elle partirait maintenant (sa version "
            "texte, celle du premier salon qui la reçoit), comme « !lettre aperçu », sans rien "
            "envoyer et sans se connecter au serveur Matrix. Le bot peut tourner pendant ce "
            "temps : sa base de données est seulement lue.\n"
            "Hors ligne, les membres des salons sont inconnus : la participation aux sondages "
            "s’affiche « 12 réponses » au lieu de « 12 réponses sur 30 », et les salons donnés "
            "par leur adresse (#salon:serveur) plutôt que par leur identifiant (!…) sont ignorés."
        ),
    )
    letter.add_argument(
        "--apercu",
        "--aperçu",
        dest="apercu",
        action="store_true",
        help="afficher l’aperçu (seule action disponible pour l’instant)",
    )
    _add_config(letter, config_help)
    letter.set_defaults(handler=_cmd_letter, check=_preview_only(letter))

    bilan = commands.add_parser(
        "bilan",
        formatter_class=FrenchHelpFormatter,
        help="écrire le bilan de l’année scolaire (HTML à imprimer, CSV, Markdown)",
        description=(
            "Écrire dans un dossier les trois fichiers du bilan annuel que « !bilan » publie "
            "(bilan-2025-2026.html à imprimer, .csv pour un tableur, .md à coller), sans se "
            "connecter au serveur Matrix. Le bot peut tourner pendant ce temps : sa base de "
            "données est seulement lue. Sans --annee, l’année scolaire en cours, jusqu’à "
            "aujourd’hui.\n\n"
            "Avec --academie : le bilan de l’académie (bilan-academie-2025-2026.html, .csv, "
            ".md), celui que « !bilan academie » publie, à partir de la base de données du bot "
            "qui sert ses établissements (--config). Avec --academie --csv DOSSIER : à partir "
            "des bilans CSV de ses établissements réunis dans un dossier, un fichier par "
            "établissement, chacun nommé par sa ligne « uai » ou par son nom de fichier "
            "(bilan-0860001J-2025-2026.csv)."
        ),
    )
    _add_config(bilan, config_help)
    bilan.add_argument(
        "--annee",
        "--année",
        dest="annee",
        type=_school_year_first,
        default=None,
        metavar="ANNÉE",
        help="l’année scolaire, par exemple 2025-2026 (par défaut : l’année en cours)",
    )
    bilan.add_argument(
        "--sortie",
        type=Path,
        default=Path(),
        metavar="DOSSIER",
        help="le dossier où écrire les fichiers, créé au besoin (par défaut : le dossier courant)",
    )
    bilan.add_argument(
        "--academie",
        "--académie",
        dest="academie",
        action="store_true",
        help="le bilan de l’académie : ses établissements dans la base du bot, ou leurs "
        "bilans CSV (avec --csv)",
    )
    bilan.add_argument(
        "--csv",
        type=Path,
        default=None,
        metavar="DOSSIER",
        help="le dossier des bilans CSV des établissements, un fichier par établissement",
    )
    bilan.set_defaults(handler=_cmd_bilan, check=_academie_from_csv(bilan))

    schools = commands.add_parser(
        "etablissements",
        formatter_class=FrenchHelpFormatter,
        help="lister les établissements servis par le bot",
        description=(
            "Lister les établissements que la configuration déclare ([[etablissements]] et "
            "fichier CSV de [academie]) : UAI, nom, zone de vacances et nombre de RUPN."
        ),
    )
    _add_config(schools, config_help)
    schools.set_defaults(handler=_cmd_schools)
    return parser


def _school_year_first(text: str) -> int:
    """`--annee 2025-2026` → 2025; argparse reports the French message otherwise."""
    try:
        return parse_school_year(text).first
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


# --------------------------------------------------------------------------- commands


def _print_config_error(path: Path, error: ConfigError, stream: TextIO) -> None:
    print(f"Configuration invalide ({path}) :", file=stream)
    for line in error.problems:
        print(f"  {line}", file=stream)


def _load_or_report(path: Path) -> Config | None:
    try:
        return load_config(path)
    except ConfigError as error:
        _print_config_error(path, error, sys.stderr)
        return None


def _import_entry_point(module_name: str, attribute: str) -> Callable[..., int] | None:
    """Import ``module_name.attribute`` lazily; None (and a French message) if absent."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if not (module_name == missing or module_name.startswith(missing + ".")):
            raise
        print(
            f"{PROG} : erreur : le module {module_name} est introuvable "
            "(installation incomplète ?)",
            file=sys.stderr,
        )
        return None
    entry_point: Callable[..., int] = getattr(module, attribute)
    return entry_point


def _cmd_run(args: argparse.Namespace) -> int:
    config = _load_or_report(args.config)
    if config is None:
        return EXIT_CONFIG_ERROR
    configure_logging(args.log_level)
    for warning in config.warnings():
        logging.getLogger("bot.cli").warning("%s", warning)
    password = config.password_value()
    if password is not None:
        add_secret(password)
    run_bot = _import_entry_point("bot.app", "run_bot")
    if run_bot is None:
        return EXIT_FAILURE
    try:
        return run_bot(config)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _cmd_check_config(args: argparse.Namespace) -> int:
    path: Path = args.config
    config = _load_or_report(path)
    if config is None:
        return EXIT_CONFIG_ERROR
    if config.matrix.password is None:
        login_status = "non défini (session enregistrée, rupn-bot connexion ou RUPN_BOT_PASSWORD)"
    elif os.environ.get(PASSWORD_ENV_VAR):
        login_status = f"défini (variable d’environnement {PASSWORD_ENV_VAR})"
    else:
        login_status = "défini (dans le fichier)"
    print(f"Configuration valide : {path}")
    print(f"  serveur Matrix (homeserver) : {config.matrix.homeserver}")
    print(f"  compte du bot (user_id) : {config.matrix.user_id}")
    if not config.shared:
        print(f"  administrateurs : {len(config.bot.admins)}")
    for line in check_lines(config):
        print(line)
    print(f"  dossier de données (data_dir) : {config.storage.data_dir}")
    print(f"  fuseau horaire : {config.bot.timezone}")
    print(f"  mot de passe : {login_status}")
    from bot.auth.login import login_settings
    from bot.auth.status import login_lines

    for line in login_lines(login_settings(config)):
        print(line)
    print(f"  lettre de la semaine : {_letter_status(config)}")
    if config.email is not None:
        email = config.email
        print(
            f"  lettre par courriel : via {email.smtp_host}:{email.smtp_port}, de {email.sender} "
            f"à {len(email.to)} adresse{'s' if len(email.to) > 1 else ''}"
        )
    print(f"  signalement des pannes (!panne) : {_assistance_status(config)}")
    for warning in config.warnings():
        print(f"Attention : {warning}")
    return EXIT_OK


def _assistance_status(config: Config) -> str:
    section = config.assistance
    if section is None:
        return "non configuré (section [assistance])"
    own = sum(1 for school in config.etablissements if school.assistance is not None)
    schools = f" ; {own} établissement(s) avec leur propre service" if own else ""
    categories = len(section.categories)
    return (
        f"tickets vers {section.to}"
        + (f" ({categories} catégorie(s) vers un autre service)" if categories else "")
        + f", réponses lues dans {section.imap_user} sur {section.imap_host}:{section.imap_port}"
        f" ({section.imap_security}){schools}"
    )


def _cmd_schools(args: argparse.Namespace) -> int:
    config = _load_or_report(args.config)
    if config is None:
        return EXIT_CONFIG_ERROR
    try:
        states = asyncio.run(school_states(config))
    except StorageError as error:
        print(error, file=sys.stderr)  # French, with what to do
        return EXIT_FAILURE
    for line in listing(config, states):
        print(line)
    return EXIT_OK


def _letter_status(config: Config) -> str:
    digest = config.digest
    if not digest.enabled:
        return "pas d’envoi automatique (« !lettre envoyer » reste possible)"
    zone = f", vacances de la zone {digest.zone}" if digest.zone else ""
    time = digest.local_time
    return f"le {digest.day} à {time.hour}h{time.minute:02d}{zone}"


def _ask_password(config: Config) -> str | None:
    password = config.password_value()
    if password:
        return password
    if not sys.stdin.isatty():
        return None
    return getpass.getpass("Mot de passe du compte du bot : ") or None


def _password_asker(config: Config) -> Callable[[], str | None]:
    """Asked only when the homeserver wants the password; masked in the log from then on."""

    def ask() -> str | None:
        password = _ask_password(config)
        add_secret(password or "")
        return password

    return ask


def _run_interactive(args: argparse.Namespace, module: str, attribute: str, *extra: str) -> int:
    """`connexion` and `identite`: the entry point gets the config, `extra`, a password asker."""
    config = _load_or_report(args.config)
    if config is None:
        return EXIT_CONFIG_ERROR
    configure_logging("WARNING")
    entry_point = _import_entry_point(module, attribute)
    if entry_point is None:
        return EXIT_FAILURE
    try:
        return entry_point(config, *extra, _password_asker(config))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _cmd_connexion(args: argparse.Namespace) -> int:
    return _run_interactive(args, "bot.auth.command", "connexion_command")


def _cmd_identity(args: argparse.Namespace) -> int:
    return _run_interactive(args, "bot.identity", "identity_command", args.action)


def _preview_only(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], None]:
    """`rupn-bot lettre` has one action for now: a usage error (exit 2) without --apercu."""

    def check(args: argparse.Namespace) -> None:
        if not args.apercu:
            parser.error("seul l’aperçu est disponible : ajoutez --apercu")

    return check


def _cmd_letter(args: argparse.Namespace) -> int:
    config = _load_or_report(args.config)
    if config is None:
        return EXIT_CONFIG_ERROR
    configure_logging("WARNING")
    # Imported here: only this command needs the letter's code (and its templates).
    from digests.preview import PreviewError, preview_text

    try:
        text = asyncio.run(preview_text(config, system_clock()))
    except PreviewError as error:
        print(error, file=sys.stderr)  # a whole French sentence, with what to do
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    print(text)
    return EXIT_OK


def _academie_from_csv(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], None]:
    """--academie reads the bot's database (--config), or a folder of school CSV files
    (--csv); --csv needs --academie."""

    def check(args: argparse.Namespace) -> None:
        if args.csv is not None and not args.academie:
            parser.error("--csv DOSSIER va avec --academie (le bilan de l’académie)")

    return check


def _cmd_bilan(args: argparse.Namespace) -> int:
    if args.academie and args.csv is not None:
        return _cmd_academie_bilan(args)
    config = _load_or_report(args.config)
    if config is None:
        return EXIT_CONFIG_ERROR
    configure_logging("WARNING")
    # Imported here: only this command needs the bilan's code (pygal, templates).
    from digests.bilan.offline import write_academie_from_database, write_bilan
    from digests.preview import PreviewError

    write = write_academie_from_database if args.academie else write_bilan
    try:
        written = asyncio.run(write(config, args.annee, system_clock(), args.sortie))
    except PreviewError as error:
        print(error, file=sys.stderr)  # a whole French sentence, with what to do
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    label = "Bilan de l’académie" if args.academie else "Bilan"
    return _print_written(written, f"{label} {written.year.label}", args.sortie)


def _cmd_academie_bilan(args: argparse.Namespace) -> int:
    # Imported here: only this command needs the bilan's code (pygal, templates).
    from digests.bilan.offline import FolderError, write_academie_bilan
    from digests.preview import PreviewError

    try:
        written = write_academie_bilan(args.csv, args.annee, system_clock(), args.sortie)
    except (FolderError, PreviewError) as error:
        print(error, file=sys.stderr)  # French: the file, the line, what was expected
        return EXIT_FAILURE
    heading = f"Bilan de l’académie {written.year.label}"
    return _print_written(written, heading, args.sortie)


def _print_written(written: Written, heading: str, directory: Path) -> int:
    print(written.rendered.summary)
    print()
    print(f"{heading} écrit dans {directory} :")
    for path in written.paths:
        print(f"  {path.name}")
    return EXIT_OK


DEMO_NEEDS = ("synapse",)
"""What `rupn-bot demo` needs beyond the bot: the `dev` extra brings it."""


def _cmd_demo(args: argparse.Namespace) -> int:
    missing = [name for name in DEMO_NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"{PROG} : erreur : la démonstration a besoin d’un serveur Matrix local (Synapse), "
            "qui n’est pas installé. Installez rupn-bot avec ses outils de développement "
            "(pip install 'rupn-bot[dev]'), ou lancez « make demo » depuis les sources.",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    run_demo = _import_entry_point("devtools.demo", "run_demo")
    if run_demo is None:
        return EXIT_FAILURE
    try:
        return run_demo(keep_running=args.keep_running)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    with french_argparse():
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
            check: Callable[[argparse.Namespace], None] | None = getattr(args, "check", None)
            if check is not None:  # what argparse cannot say, e.g. `lettre` without --apercu
                check(args)
        except SystemExit as exit_:  # --help, --version, or a usage error
            code = exit_.code
            return code if isinstance(code, int) else (EXIT_OK if code is None else 2)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
