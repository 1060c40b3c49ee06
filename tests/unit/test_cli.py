"""Tests of the command line (bot.cli) and of the secret-masking logging (bot.logging_setup)."""

from __future__ import annotations

import argparse
import asyncio
import gettext
import importlib.util
import io
import logging
import re
import sqlite3
import sys
import time
import types
from collections.abc import Iterator, Sequence
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import cli
from bot.config import PASSWORD_ENV_VAR, Config, load_config
from bot.context import BotInfo, Settings
from bot.data_dir import DataDirLock
from bot.logging_setup import (
    LOG_FORMAT,
    SecretMaskingFilter,
    UtcFormatter,
    add_secret,
    clear_secrets,
    configure_logging,
    log_formatter,
    mask_secrets,
)
from bot.session import LoginMethod, SavedSession, save_session
from bot.storage.broadcast import BroadcastRoomsRepository
from bot.storage.database import Database
from bot.storage.digests import DigestsRepository
from bot.storage.migrations import MIGRATIONS
from digests import preview
from digests.preview import preview_text

SECRET = "s3cr3t-Mot-De-Passe"
TOKEN = "syt_cm9vdA_abcdefghijklmnop_0a1b2c"

VALID = """\
[matrix]
homeserver = "https://matrix.agent.education.tchap.gouv.fr"
user_id = "@rupn-bot:agent.education.tchap.gouv.fr"

[storage]
data_dir = "etat"

[bot]
admins = ["@rupn:agent.education.tchap.gouv.fr", "@direction:agent.education.tchap.gouv.fr"]
"""


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No password from the developer's environment; logging and secrets restored."""
    monkeypatch.delenv(PASSWORD_ENV_VAR, raising=False)
    monkeypatch.delenv("RUPN_BOT_ACCESS_TOKEN", raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("nio", "peewee")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)
    clear_secrets()


def write_config(directory: Path, text: str = VALID) -> Path:
    path = directory / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)  # a config holding a password must be private
    return path


def assert_french(text: str) -> None:
    assert "usage:" not in text
    assert "error:" not in text
    assert "options:" not in text
    assert "show this help" not in text


# --------------------------------------------------------------------------- check-config


def test_check_config_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path)
    assert cli.main(["check-config", "--config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == f"Configuration valide : {path}"
    assert "  serveur Matrix (homeserver) : https://matrix.agent.education.tchap.gouv.fr" in lines
    assert "  compte du bot (user_id) : @rupn-bot:agent.education.tchap.gouv.fr" in lines
    assert "  administrateurs : 2" in lines
    assert f"  dossier de données (data_dir) : {tmp_path / 'etat'}" in lines
    assert (
        "  mot de passe : non défini (session enregistrée, rupn-bot connexion ou "
        "RUPN_BOT_PASSWORD)" in lines
    )
    assert (
        "  connexion : aucune : lancez « rupn-bot connexion --config … » avant « rupn-bot run »"
        in lines
    )
    assert "  session enregistrée : non" in lines
    assert not (tmp_path / "etat").exists()


def test_check_config_shows_the_login_method_and_the_stored_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path)
    data_dir = tmp_path / "etat"
    save_session(data_dir, SavedSession(
        "https://matrix.agent.education.tchap.gouv.fr", "@rupn-bot:agent.education.tchap.gouv.fr",
        "DEVICEID", "token", "refresh", 1, LoginMethod.OAUTH, "client", "https://auth/token",
    ))  # fmt: skip
    (data_dir / "crypto").mkdir()
    (data_dir / "crypto" / "@rupn-bot:agent.education.tchap.gouv.fr_DEVICEID.db").touch()
    assert cli.main(["check-config", "--config", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    method = "OAuth 2.0, code d’appareil (rupn-bot connexion)"
    assert f"  connexion : session enregistrée ({method})" in lines
    assert f"  session enregistrée : oui, session DEVICEID ({method})" in lines

    monkeypatch.setenv("RUPN_BOT_ACCESS_TOKEN", "operator-token")
    assert cli.main(["check-config", "--config", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "  connexion : jeton d’opérateur (variable d’environnement RUPN_BOT_ACCESS_TOKEN)" in (
        lines
    )


def test_check_config_password_from_file_is_not_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = VALID.replace("[storage]", f'password = "{SECRET}"\n\n[storage]')
    path = write_config(tmp_path, text)
    assert cli.main(["check-config", "--config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "  mot de passe : défini (dans le fichier)" in out.splitlines()
    assert SECRET not in out + err


def test_check_config_password_from_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV_VAR, SECRET)
    path = write_config(tmp_path)
    assert cli.main(["check-config", "--config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "  mot de passe : défini (variable d’environnement RUPN_BOT_PASSWORD)" in out
    assert SECRET not in out + err


def test_check_config_invalid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.replace('"@direction:agent.education.tchap.gouv.fr"', '"direction"')
    text = text.replace("[bot]", "[bot]\nmax_sends_per_second = 0")
    path = write_config(tmp_path, text)
    assert cli.main(["check-config", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == f"Configuration invalide ({path}) :"
    assert lines[1].startswith("  bot.admins[1] : doit être un identifiant Matrix")
    assert lines[2] == (
        "  bot.max_sends_per_second : doit être un nombre strictement positif (reçu : 0)"
    )
    assert len(lines) == 3


def test_check_config_invalid_never_prints_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV_VAR, SECRET)
    text = VALID.replace("[storage]", f'mot_de_passe = "{SECRET}"\n\n[storage]')
    path = write_config(tmp_path, text)
    assert cli.main(["check-config", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert "matrix.mot_de_passe : clé inconnue" in err
    assert SECRET not in out + err


def test_check_config_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "absent.toml"
    assert cli.main(["check-config", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"Configuration invalide ({path}) :\n  Fichier de configuration introuvable : {path}\n"
    )


def test_check_config_defaults_to_config_toml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["check-config"]) == 0
    assert capsys.readouterr().out.startswith("Configuration valide : config.toml\n")


def test_check_config_invalid_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, VALID.replace('data_dir = "etat"', "data_dir = etat"))
    assert cli.main(["check-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"  {path}, ligne 6, colonne 12 : TOML invalide : valeur invalide" in err


# --------------------------------------------------------------------------- argparse in French


def test_help_is_french(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith("utilisation : rupn-bot")
    assert "options :" in out
    assert "commandes :" in out
    assert "afficher ce message d’aide et quitter" in out
    for command in ("run", "check-config", "demo"):
        assert command in out
    assert_french(out)


@pytest.mark.parametrize("command", ["run", "check-config", "connexion", "demo", "identite"])
def test_subcommand_help_is_french(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"utilisation : rupn-bot {command}")
    assert "afficher ce message d’aide et quitter" in out
    assert_french(out)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == "rupn-bot 0.1.0\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "rupn-bot : erreur : les arguments suivants sont obligatoires : COMMANDE"),
        (["--bogus"], "rupn-bot : erreur : les arguments suivants sont obligatoires : COMMANDE"),
        (["check-config", "--bogus"], "rupn-bot : erreur : arguments non reconnus : --bogus"),
        (
            ["lancer"],
            "rupn-bot : erreur : argument COMMANDE : choix invalide : 'lancer' "
            "(choix possibles : 'run', 'check-config', 'connexion', 'demo', 'identite', "
            "'lettre', 'bilan', 'etablissements')",
        ),
        (
            ["run", "--config"],
            "rupn-bot run : erreur : argument --config : une valeur attendue",
        ),
        (
            ["run", "--log-level", "bavard"],
            "rupn-bot run : erreur : argument --log-level : choix invalide : 'BAVARD'",
        ),
    ],
)
def test_usage_errors_are_french(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("utilisation : rupn-bot")
    assert message in err
    assert_french(err)


def test_argparse_is_left_untouched() -> None:
    assert vars(argparse)["_"] is gettext.gettext
    assert vars(argparse)["ngettext"] is gettext.ngettext
    cli.main(["--bogus"])
    with cli.french_argparse():
        assert vars(argparse)["_"] is not gettext.gettext
    assert vars(argparse)["_"] is gettext.gettext
    assert vars(argparse)["ngettext"] is gettext.ngettext
    with pytest.raises(SystemExit):
        argparse.ArgumentParser(prog="x").parse_args(["--bogus"])


def test_french_plural() -> None:
    with cli.french_argparse():
        parser = argparse.ArgumentParser(prog="x", exit_on_error=False)
        parser.add_argument("--pair", nargs=2)
        with pytest.raises(argparse.ArgumentError) as caught:
            parser.parse_args(["--pair", "a"])
        assert str(caught.value) == "argument --pair : 2 valeurs attendues"


# --------------------------------------------------------------------------- run and demo


Calls = list[tuple[tuple[object, ...], dict[str, object]]]


def fake_module(monkeypatch: pytest.MonkeyPatch, name: str, attribute: str, result: int) -> Calls:
    calls: Calls = []

    def entry_point(*args: object, **kwargs: object) -> int:
        calls.append((args, kwargs))
        return result

    module = types.ModuleType(name)
    setattr(module, attribute, entry_point)
    monkeypatch.setitem(sys.modules, name, module)
    return calls


def test_run_loads_config_and_calls_run_bot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = fake_module(monkeypatch, "bot.app", "run_bot", 0)
    monkeypatch.setenv(PASSWORD_ENV_VAR, SECRET)
    path = write_config(tmp_path)
    assert cli.main(["run", "--config", str(path), "--log-level", "debug"]) == 0
    assert len(calls) == 1
    args, kwargs = calls[0]
    assert isinstance(args[0], Config)
    assert args[0].password_value() == SECRET
    assert kwargs == {}
    # Logging is configured and the password is masked from now on.
    assert logging.getLogger().level == logging.DEBUG
    assert logging.getLogger("nio").level == logging.WARNING
    assert mask_secrets(f"password={SECRET}") == "password=***"
    logging.getLogger("bot.test").info("login with %s", SECRET)
    err = capsys.readouterr().err
    assert "login with ***" in err
    assert SECRET not in err


def test_run_returns_the_bot_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_module(monkeypatch, "bot.app", "run_bot", 1)
    assert cli.main(["run", "--config", str(write_config(tmp_path))]) == 1


def test_run_with_invalid_config_does_not_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = fake_module(monkeypatch, "bot.app", "run_bot", 0)
    path = write_config(tmp_path, VALID.replace("[storage]", "[stockage]"))
    assert cli.main(["run", "--config", str(path)]) == 2
    assert calls == []
    err = capsys.readouterr().err
    assert err.startswith(f"Configuration invalide ({path}) :\n  stockage : clé inconnue")


def test_demo_passes_keep_running(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_module(monkeypatch, "devtools.demo", "run_demo", 0)
    assert cli.main(["demo"]) == 0
    assert cli.main(["demo", "--keep-running"]) == 0
    assert calls == [((), {"keep_running": False}), ((), {"keep_running": True})]


def test_demo_missing_module(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "devtools.demo", None)
    assert cli.main(["demo"]) == 1
    err = capsys.readouterr().err
    assert "rupn-bot : erreur : le module devtools.demo est introuvable" in err


# --------------------------------------------------------------------------- secret masking


def make_logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(SecretMaskingFilter())
    logger = logging.getLogger(name)
    logger.propagate = False
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_filter_masks_message_and_args() -> None:
    logger, stream = make_logger("test.masking.args")
    add_secret(SECRET)
    add_secret(TOKEN)
    logger.info("password is %s and token %r", SECRET, TOKEN)
    logger.info(f"inline {SECRET}")
    logger.info("dict %(token)s", {"token": TOKEN})
    logger.info("nothing secret, %d%% fine", 100)
    assert stream.getvalue().splitlines() == [
        "INFO password is *** and token '***'",
        "INFO inline ***",
        "INFO dict ***",
        "INFO nothing secret, 100% fine",
    ]


def test_filter_masks_exceptions_and_stack() -> None:
    logger, stream = make_logger("test.masking.exc")
    add_secret(TOKEN)
    try:
        raise RuntimeError(f"GET /sync?access_token={TOKEN}")
    except RuntimeError:
        logger.exception("sync failed")
    logger.info("here", stack_info=True, extra={"unused": TOKEN})
    output = stream.getvalue()
    assert "RuntimeError: GET /sync?access_token=***" in output
    assert "Stack (most recent call last)" in output
    assert TOKEN not in output


def test_filter_without_secrets_changes_nothing() -> None:
    logger, stream = make_logger("test.masking.none")
    logger.info("value %d", 42)
    assert stream.getvalue() == "INFO value 42\n"


def test_secrets_added_after_configuration_are_masked() -> None:
    logger, stream = make_logger("test.masking.late")
    logger.info("token %s", TOKEN)
    add_secret(TOKEN)
    logger.info("token %s", TOKEN)
    assert stream.getvalue().splitlines() == [f"INFO token {TOKEN}", "INFO token ***"]


def test_overlapping_secrets_are_masked_whole() -> None:
    add_secret("abcd")
    add_secret("xxabcdxx")
    assert mask_secrets("1 xxabcdxx 2 abcd") == "1 *** 2 ***"


def test_empty_secret_is_ignored() -> None:
    add_secret("")
    assert mask_secrets("rien à masquer") == "rien à masquer"


def test_configure_logging(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before = len(root.handlers)
    handler = configure_logging("info")
    configure_logging("INFO")  # idempotent: the first handler is replaced
    assert len(root.handlers) == before + 1
    assert handler not in root.handlers
    assert root.level == logging.INFO
    assert logging.getLogger("nio").level == logging.WARNING
    assert logging.getLogger("peewee").level == logging.WARNING
    installed = root.handlers[-1]
    assert any(isinstance(f, SecretMaskingFilter) for f in installed.filters)
    assert installed.formatter is not None
    assert installed.formatter._fmt == LOG_FORMAT
    assert logging.getLogger("apscheduler").level == logging.WARNING

    add_secret(SECRET)
    logging.getLogger("bot.sync").warning("bad password %s", SECRET)
    logging.getLogger("nio.client").info("hidden: nio is limited to WARNING")
    logging.getLogger("nio.client").warning("shown")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ WARNING bot\.sync: bad password \*\*\*", err[0]
    )
    assert err[1].endswith(" WARNING nio.client: shown")


def test_log_timestamps_are_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Paris")  # the server's local time must not leak in
    time.tzset()
    monkeypatch.undo()
    record = logging.LogRecord("bot.app", logging.INFO, __file__, 1, "prêt", (), None)
    record.created = 1_795_000_000.0  # 2026-11-18 11:06:40 UTC
    try:
        assert UtcFormatter().format(record) == "2026-11-18T11:06:40Z INFO bot.app: prêt"
    finally:
        time.tzset()


def test_journald_gets_priorities_and_no_timestamp() -> None:
    formatter = log_formatter({"JOURNAL_STREAM": "8:12345"})
    record = logging.LogRecord(
        "bot.sync", logging.WARNING, __file__, 1, "serveur %s", ("hs",), None
    )
    assert formatter.format(record) == "<4>WARNING bot.sync: serveur hs"
    assert isinstance(log_formatter({}), UtcFormatter)


def test_demo_without_the_dev_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "synapse" else real_find_spec(name, *a),
    )
    assert cli.main(["demo"]) == 1
    err = capsys.readouterr().err
    assert "la démonstration a besoin d’un serveur Matrix local (Synapse)" in err
    assert "pip install 'rupn-bot[dev]'" in err and "make demo" in err
    assert "No module named" not in err


# --------------------------------------------------------------------------- identite


def test_identity_without_a_saved_session_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path)
    assert cli.main(["identite", "etat", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    assert "Aucune session du bot n’est enregistrée" in out
    assert "lancez d’abord « rupn-bot connexion », ou le bot une fois (rupn-bot run)" in out


def test_identity_reset_asks_no_password_before_the_server_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal: nobody to ask
    path = write_config(tmp_path)
    assert cli.main(["identite", "reinitialiser", "--config", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "Aucune session du bot n’est enregistrée" in out
    assert "mot de passe" not in out + err


def test_identity_action_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["identite", "effacer"]) == 2
    assert "choix invalide" in capsys.readouterr().err


# --------------------------------------------------------------------------- lettre --apercu

STAFF = "!staff:agent.education.tchap.gouv.fr"
WORD = "Pensez à renouveler vos mots de passe de l’ENT avant les vacances."
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)  # a Friday of school


def seed(data_dir: Path, *, words: Sequence[str] = (), rooms: Sequence[str] = ()) -> Path:
    """A migrated bot database in `data_dir`, with queued words and diffusion rooms."""

    async def fill() -> None:
        db = await Database.open(data_dir / "rupn-bot.db")
        try:
            async with db.transaction():
                for word in words:
                    await DigestsRepository(db).add_word(word, "@rupn:example.org", NOW)
                for room in rooms:
                    await BroadcastRoomsRepository(db).add(room, "@rupn:example.org", NOW)
        finally:
            await db.close()

    asyncio.run(fill())
    return data_dir / "rupn-bot.db"


def published(database: Path, when: datetime) -> None:
    """One announcement sent at `when`: a year with some activity, so it has a bilan."""
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.execute(
            "INSERT INTO announcements (author, body, rooms, status, created_at, published_at)"
            " VALUES ('@rupn:example.org', 'Réunion ENT', '[]', 'sent', ?, ?)",
            (when.isoformat(), when.isoformat()),
        )


def stored_words(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute("SELECT body FROM digest_words ORDER BY id")]


def test_letter_preview_prints_the_letter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = seed(tmp_path / "etat", words=[WORD], rooms=[STAFF])
    path = write_config(tmp_path)
    assert cli.main(["lettre", "--config", str(path), "--apercu"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith("📬 ")
    assert "Le mot du RUPN" in out
    assert f"• {WORD}" in out
    assert "Aperçu de la lettre" not in out  # the letter only, without `!lettre`'s header
    # Only read: the word is still queued, nothing was posted, no lock was taken.
    assert stored_words(database) == [WORD]
    with closing(sqlite3.connect(database)) as conn:
        assert conn.execute("SELECT count(*) FROM posts").fetchone() == (0,)
    assert not (tmp_path / "etat" / "rupn-bot.lock").exists()


def test_letter_preview_is_the_letter_the_templates_render(tmp_path: Path) -> None:
    seed(tmp_path / "etat", words=[WORD], rooms=[STAFF])
    config = load_config(write_config(tmp_path))
    text = asyncio.run(preview_text(config, NOW))
    assert text.splitlines() == [
        "📬 La lettre numérique — semaine du 30 novembre",
        "",
        "Le mot du RUPN",
        f"• {WORD}",
    ]


def test_letter_preview_while_the_bot_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bot holds the data_dir lock and is in the middle of a write: the preview reads."""
    data_dir = tmp_path / "etat"
    database = seed(data_dir, words=[WORD], rooms=[STAFF])
    lock = DataDirLock(data_dir)
    lock.acquire()
    writer = sqlite3.connect(database, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "INSERT INTO digest_words (body, added_by, added_at) VALUES (?, ?, ?)",
            ("pas encore validé", "@rupn:example.org", NOW.isoformat()),
        )
        assert cli.main(["lettre", "--aperçu", "--config", str(write_config(tmp_path))]) == 0
        writer.execute("ROLLBACK")
    finally:
        writer.close()
        lock.release()
    out = capsys.readouterr().out
    assert WORD in out
    assert "pas encore validé" not in out


def test_letter_preview_with_nothing_to_say(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(tmp_path / "etat", rooms=[STAFF])
    assert cli.main(["lettre", "--config", str(write_config(tmp_path)), "--aperçu"]) == 0
    out, err = capsys.readouterr()
    assert out == "Rien à dire pour l’instant : aucune lettre ne partirait.\n"
    assert err == ""


def test_letter_preview_without_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path)
    assert cli.main(["lettre", "--config", str(path), "--apercu"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert f"Aucune base de données dans {tmp_path / 'etat'}" in err
    assert "le bot n’a jamais été lancé avec ce dossier de données" in err
    assert not (tmp_path / "etat").exists()  # neither data_dir nor the database is created


def test_letter_preview_without_a_room(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(tmp_path / "etat", words=[WORD])
    assert cli.main(["lettre", "--config", str(write_config(tmp_path)), "--apercu"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("Aucun salon ne reçoit la lettre : ajoutez un salon de diffusion")


def test_letter_preview_cannot_resolve_aliases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(tmp_path / "etat", words=[WORD], rooms=[STAFF])  # not the letter's rooms: [digest] is
    text = VALID + '\n[digest]\nrooms = ["#profs:agent.education.tchap.gouv.fr"]\n'
    assert cli.main(["lettre", "--config", str(write_config(tmp_path, text)), "--apercu"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(
        "Aucun salon utilisable pour l’aperçu : [digest] rooms ne contient que des adresses "
        "de salon (« #profs:agent.education.tchap.gouv.fr »)"
    )


def test_letter_preview_says_when_an_alias_was_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(tmp_path / "etat", words=[WORD])
    text = VALID.replace(
        "[bot]\n", f'[bot]\nbroadcast_rooms = ["#profs:agent.education.tchap.gouv.fr", "{STAFF}"]\n'
    )
    assert cli.main(["lettre", "--config", str(write_config(tmp_path, text)), "--apercu"]) == 0
    out, err = capsys.readouterr()
    assert WORD in out
    assert err.startswith("Attention : les adresses de salon de [bot] broadcast_rooms")
    assert f"voici la lettre du salon {STAFF}" in err


def test_letter_preview_refuses_an_older_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = seed(tmp_path / "etat", words=[WORD], rooms=[STAFF])
    with closing(sqlite3.connect(database)) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
    assert cli.main(["lettre", "--config", str(write_config(tmp_path)), "--apercu"]) == 1
    err = capsys.readouterr().err
    assert "plus ancienne que ce programme" in err
    with closing(sqlite3.connect(database)) as conn:  # not migrated by the preview
        assert conn.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS) - 1,)


def test_letter_without_apercu_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["lettre", "--config", str(write_config(tmp_path))]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("utilisation : rupn-bot lettre")
    assert "rupn-bot lettre : erreur : seul l’aperçu est disponible : ajoutez --apercu" in err
    assert_french(err)


def test_letter_help_is_french(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["lettre", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("utilisation : rupn-bot lettre")
    assert "--apercu, --aperçu" in out
    assert_french(out)


def test_the_offline_settings_are_the_bots(tmp_path: Path) -> None:
    """One builder (`Settings.from_config`): only the room aliases, which need the
    homeserver, are left out offline."""
    text = VALID.replace(
        "[bot]\n", f'[bot]\nbroadcast_rooms = ["#profs:agent.education.tchap.gouv.fr", "{STAFF}"]\n'
    )
    config = load_config(write_config(tmp_path, text))
    offline = preview.settings_of(config)
    online = Settings.from_config(config, broadcast_rooms=(STAFF,), digest_rooms=())
    assert offline == online
    assert offline.year_start == config.bilan.start_month_day
    assert offline.retention_months == config.privacy.retention_months


def test_offline_info_knows_no_member() -> None:
    """So that participation reads « 12 réponses », without « sur N »."""
    info: BotInfo = preview.OfflineInfo(started_at=NOW)
    assert info.member_ids(STAFF) == []
    assert info.joined_rooms() == []
    assert info.find_room("#profs:example.org") is None


# --------------------------------------------------------------------------- bilan

BILAN_FILES = ["bilan-2025-2026.csv", "bilan-2025-2026.html", "bilan-2025-2026.md"]


def test_bilan_writes_the_three_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = seed(tmp_path / "etat", rooms=[STAFF])
    published(database, datetime(2025, 11, 20, 10, tzinfo=UTC))
    out = tmp_path / "bilans" / "college"  # missing: created
    argv = ["bilan", "--config", str(write_config(tmp_path)), "--annee", "2025-2026"]
    assert cli.main([*argv, "--sortie", str(out)]) == 0
    printed, err = capsys.readouterr()
    assert err == ""
    assert sorted(path.name for path in out.iterdir()) == BILAN_FILES
    data = (out / "bilan-2025-2026.csv").read_bytes()
    assert data.startswith("\ufeffsection;cle;indicateur;valeur\r\n".encode())
    assert "1;annonces_publiees;Annonces publiées;1\r\n" in data.decode("utf-8-sig")
    lines = printed.splitlines()
    assert lines[0] == "📊 Bilan du numérique 2025-2026, du 1er septembre 2025 au 31 août 2026"
    assert lines[10:] == [
        "",
        f"Bilan 2025-2026 écrit dans {out} :",
        "  bilan-2025-2026.html",
        "  bilan-2025-2026.csv",
        "  bilan-2025-2026.md",
    ]
    # Only read: nothing posted, no lock taken.
    with closing(sqlite3.connect(database)) as conn:
        assert conn.execute("SELECT count(*) FROM posts").fetchone() == (0,)
    assert not (tmp_path / "etat" / "rupn-bot.lock").exists()


def test_bilan_of_the_current_year_while_the_bot_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot holds the lock and is writing: the bilan reads what is committed."""
    data_dir = tmp_path / "etat"
    database = seed(data_dir, rooms=[STAFF])
    published(database, NOW - timedelta(days=30))
    config = write_config(tmp_path)
    here = tmp_path / "ici"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.setattr(cli, "system_clock", lambda: NOW)  # 4 December 2026: 2026-2027
    lock = DataDirLock(data_dir)
    lock.acquire()
    writer = sqlite3.connect(database, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "INSERT INTO announcements (author, body, rooms, status, created_at, published_at)"
            " VALUES ('@rupn:example.org', 'pas encore validée', '[]', 'sent', ?, ?)",
            (NOW.isoformat(), NOW.isoformat()),
        )
        assert cli.main(["bilan", "--config", str(config)]) == 0
        writer.execute("ROLLBACK")
    finally:
        writer.close()
        lock.release()
    printed = capsys.readouterr().out
    assert printed.startswith(
        "📊 Bilan du numérique 2026-2027, du 1er septembre 2026 au 4 décembre 2026 (année en cours)"
    )
    assert "Diffusion : 1 annonce " in printed  # not the uncommitted one
    assert sorted(path.name for path in here.iterdir()) == [
        name.replace("2025-2026", "2026-2027") for name in BILAN_FILES
    ]


def test_bilan_year_is_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bilan", "--config", str(write_config(tmp_path)), "--annee", "2025"]
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("utilisation : rupn-bot bilan")
    assert (
        "rupn-bot bilan : erreur : argument --annee/--année : « 2025 » n’est pas une année "
        "scolaire : écrivez par exemple 2025-2026." in err
    )
    assert_french(err)


@pytest.mark.parametrize("year", ["0000-0001", "1899-1900", "٢٠٢٥-٢٠٢٦"])
def test_bilan_year_without_dates_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], year: str
) -> None:
    seed(tmp_path / "etat")
    argv = ["bilan", "--config", str(write_config(tmp_path)), "--annee", year]
    assert cli.main([*argv, "--sortie", str(tmp_path / "bilans")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1] == (
        f"rupn-bot bilan : erreur : argument --annee/--année : « {year} » n’est pas une année "
        "scolaire : écrivez par exemple 2025-2026."
    )
    assert not (tmp_path / "bilans").exists()


def test_bilan_of_a_year_to_come_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(tmp_path / "etat")
    argv = ["bilan", "--config", str(write_config(tmp_path)), "--annee", "2099-2100"]
    assert cli.main([*argv, "--sortie", str(tmp_path / "bilans")]) == 1
    assert capsys.readouterr().err == (
        "L’année scolaire 2099-2100 n’a pas encore commencé : pas de bilan.\n"
    )
    assert not (tmp_path / "bilans").exists()


def test_bilan_of_a_year_without_activity_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(tmp_path / "etat", rooms=[STAFF])
    argv = ["bilan", "--config", str(write_config(tmp_path)), "--annee", "1999-2000"]
    assert cli.main([*argv, "--sortie", str(tmp_path / "bilans")]) == 1
    assert capsys.readouterr().err == "Aucune activité enregistrée pour 1999-2000.\n"
    assert not (tmp_path / "bilans").exists()


def test_bilan_without_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bilan", "--config", str(write_config(tmp_path)), "--annee", "2025-2026"]
    assert cli.main([*argv, "--sortie", str(tmp_path / "bilans")]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert f"Aucune base de données dans {tmp_path / 'etat'}" in err
    assert not (tmp_path / "etat").exists()
    assert not (tmp_path / "bilans").exists()


def test_bilan_cannot_write_its_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    published(seed(tmp_path / "etat"), datetime(2025, 11, 20, 10, tzinfo=UTC))
    blocked = tmp_path / "un-fichier"
    blocked.write_text("", encoding="utf-8")
    argv = ["bilan", "--config", str(write_config(tmp_path)), "--annee", "2025-2026"]
    assert cli.main([*argv, "--sortie", str(blocked / "bilans")]) == 1
    assert capsys.readouterr().err.startswith(
        f"Impossible d’écrire les fichiers du bilan dans {blocked / 'bilans'} ("
    )


def test_bilan_help_is_french(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bilan", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("utilisation : rupn-bot bilan")
    assert "--annee ANNÉE, --année ANNÉE" in out
    assert "--sortie DOSSIER" in out
    assert_french(out)


def test_connexion_and_identity_reset_wait_for_the_running_bot_to_stop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both replace what the running bot uses (its session, its identity): never beside it."""
    path = write_config(tmp_path)
    data_dir = tmp_path / "etat"
    data_dir.mkdir(mode=0o700)
    save_session(data_dir, SavedSession(
        "https://matrix.agent.education.tchap.gouv.fr", "@rupn-bot:agent.education.tchap.gouv.fr",
        "DEVICEID", "token",
    ))  # fmt: skip
    running = DataDirLock(data_dir)
    running.acquire()
    try:
        assert cli.main(["connexion", "--config", str(path)]) == 1
        assert "Un autre rupn-bot (processus" in capsys.readouterr().err
        assert cli.main(["identite", "reinitialiser", "--config", str(path)]) == 1
        assert "Arrêtez l’autre d’abord" in capsys.readouterr().out
    finally:
        running.release()
