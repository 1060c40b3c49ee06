"""Tests of bot.config: loading, validation and French error messages."""

from __future__ import annotations

import string
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.config import (
    PASSWORD_ENV_VAR,
    Config,
    ConfigError,
    load_config,
    parse_config,
)

REPO_ROOT = Path(__file__).parents[2]
EXAMPLE = REPO_ROOT / "config.example.toml"
SECRET = "Tr0ub4dor&3-ne-pas-afficher"

VALID = """\
[matrix]
homeserver = "https://matrix.example.org/"
user_id = "@rupn-bot:example.org"
device_name = "rupn-bot"

[storage]
data_dir = "./data"

[bot]
admins = ["@rupn:example.org", "@direction:example.org"]
timezone = "Europe/Paris"
max_sends_per_second = 1.0
"""

VALID_WITH_PASSWORD = VALID.replace(
    'device_name = "rupn-bot"', 'device_name = "rupn-bot"\npassword = "s3cret"'
).replace("https://matrix.example.org/", "https://matrix.example.org")

ENGLISH_MARKERS = ("Input should", "Value error", "Field required", "Extra inputs", "line ")


def write(directory: Path, text: str, name: str = "config.toml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)  # a config holding a password must be private (checked below)
    return path


def problems_of(path: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={} if environ is None else environ)
    message = str(caught.value)
    assert message == "\n".join(caught.value.problems)
    for marker in ENGLISH_MARKERS:
        assert marker not in message
    return message


# --------------------------------------------------------------------------- valid files


def test_example_file_is_valid() -> None:
    config = load_config(EXAMPLE, environ={})
    assert config.matrix.homeserver == "https://matrix.example.org"
    assert config.matrix.user_id == "@rupn-bot:example.org"
    assert config.matrix.password is None
    assert config.password_value() is None
    assert config.matrix.device_name == "rupn-bot"
    assert config.storage.data_dir == REPO_ROOT / "data"
    assert config.bot.admins == ("@rupn:example.org",)
    assert config.bot.timezone == "Europe/Paris"
    assert config.bot.max_sends_per_second == 1.0
    assert config.bot.poll_check_seconds == 5.0


def test_example_file_documents_the_essentials() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for needle in (
        "RUPN_BOT_PASSWORD",
        "https://matrix.agent.education.tchap.gouv.fr",
        "clés de chiffrement",
        "sauvegardez",
        "Sur Tchap, laissez 1",
    ):
        assert needle in text


def test_valid_file_values(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID), environ={})
    assert config.matrix.homeserver == "https://matrix.example.org"
    assert config.bot.admins == ("@rupn:example.org", "@direction:example.org")
    assert config.storage.data_dir == tmp_path / "data"
    assert config.tz == ZoneInfo("Europe/Paris")
    assert config.bot.tz == ZoneInfo("Europe/Paris")


def test_defaults(tmp_path: Path) -> None:
    text = """\
[matrix]
homeserver = "http://localhost:8008"
user_id = "@bot:localhost:8008"

[bot]
admins = ["@admin:localhost:8008"]
"""
    config = load_config(write(tmp_path, text), environ={})
    assert config.matrix.homeserver == "http://localhost:8008"
    assert config.matrix.device_name == "rupn-bot"
    assert config.storage.data_dir == tmp_path / "data"
    assert config.bot.timezone == "Europe/Paris"
    assert config.bot.max_sends_per_second == 1.0


def test_integer_rate_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("max_sends_per_second = 1.0", "max_sends_per_second = 2"))
    assert load_config(path, environ={}).bot.max_sends_per_second == 2.0


def test_duplicate_admins_are_merged(tmp_path: Path) -> None:
    text = VALID.replace(
        '"@direction:example.org"]', '"@direction:example.org", "@rupn:example.org"]'
    )
    config = load_config(write(tmp_path, text), environ={})
    assert config.bot.admins == ("@rupn:example.org", "@direction:example.org")


def test_config_is_frozen(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID), environ={})
    with pytest.raises(ValidationError):
        config.bot.timezone = "UTC"  # type: ignore[misc]


def test_parse_config_does_not_mutate_its_input(tmp_path: Path) -> None:
    data = {
        "matrix": {"homeserver": "https://m.example.org", "user_id": "@b:example.org"},
        "bot": {"admins": ["@a:example.org"]},
    }
    snapshot = repr(data)
    config = parse_config(data, base_dir=tmp_path, environ={PASSWORD_ENV_VAR: SECRET})
    assert config.password_value() == SECRET
    assert repr(data) == snapshot


# --------------------------------------------------------------------------- password


def test_password_from_file(tmp_path: Path) -> None:
    text = VALID.replace('device_name = "rupn-bot"', f'password = "{SECRET}"')
    config = load_config(write(tmp_path, text), environ={})
    assert config.password_value() == SECRET


def test_password_supplied_by_environment(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID), environ={PASSWORD_ENV_VAR: SECRET})
    assert config.password_value() == SECRET


def test_environment_overrides_file_password(tmp_path: Path) -> None:
    text = VALID.replace('device_name = "rupn-bot"', 'password = "ancien"')
    config = load_config(write(tmp_path, text), environ={PASSWORD_ENV_VAR: SECRET})
    assert config.password_value() == SECRET


def test_empty_environment_variable_is_ignored(tmp_path: Path) -> None:
    text = VALID.replace('device_name = "rupn-bot"', 'password = "du-fichier"')
    config = load_config(write(tmp_path, text), environ={PASSWORD_ENV_VAR: ""})
    assert config.password_value() == "du-fichier"


def test_empty_password_means_none(tmp_path: Path) -> None:
    text = VALID.replace('device_name = "rupn-bot"', 'password = ""')
    assert load_config(write(tmp_path, text), environ={}).password_value() is None


def test_environ_defaults_to_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV_VAR, SECRET)
    assert load_config(write(tmp_path, VALID)).password_value() == SECRET


def test_password_never_in_repr(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID), environ={PASSWORD_ENV_VAR: SECRET})
    assert SECRET not in repr(config)
    assert SECRET not in str(config)
    assert SECRET not in repr(config.matrix)
    assert SECRET not in config.model_dump_json()


def test_password_never_in_errors(tmp_path: Path) -> None:
    text = VALID.replace('device_name = "rupn-bot"', f'password = "{SECRET}"\npasword = "{SECRET}"')
    text = text.replace("max_sends_per_second = 1.0", "max_sends_per_second = 0")
    message = problems_of(write(tmp_path, text), environ={PASSWORD_ENV_VAR: SECRET})
    assert SECRET not in message
    assert "matrix.pasword : clé inconnue (vouliez-vous dire « password » ?)" in message


def test_password_of_wrong_type_is_not_echoed(tmp_path: Path) -> None:
    text = VALID.replace('device_name = "rupn-bot"', "password = 918273645")
    message = problems_of(write(tmp_path, text))
    assert message == "matrix.password : doit être du texte entre guillemets"
    assert "918273645" not in message


@settings(max_examples=30, deadline=None)
@given(secret=st.text(alphabet=string.ascii_letters + string.digits + "&!$%", min_size=16))
def test_any_password_stays_out_of_error_messages(secret: str) -> None:
    data = {
        "matrix": {
            "homeserver": "pas une adresse",
            "user_id": "bot",
            "password": secret,
            "passwd": secret,
        },
        "bot": {"admins": [], "max_sends_per_second": -1},
        "extra": {"password": secret},
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(data, base_dir=Path("/srv"), environ={PASSWORD_ENV_VAR: secret})
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


# --------------------------------------------------------------------------- data_dir


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("./data", "etc/rupn/data"),
        ("data", "etc/rupn/data"),
        ("etat/rupn", "etc/rupn/etat/rupn"),
        ("../partage/rupn", "etc/partage/rupn"),
    ],
)
def test_relative_data_dir_is_resolved_against_the_config_directory(
    tmp_path: Path, value: str, expected: str
) -> None:
    config_dir = tmp_path / "etc" / "rupn"
    config_dir.mkdir(parents=True)
    text = VALID.replace('data_dir = "./data"', f'data_dir = "{value}"')
    config = load_config(write(config_dir, text), environ={})
    assert config.storage.data_dir == tmp_path / expected
    assert not config.storage.data_dir.exists()  # loading creates nothing


def test_relative_config_path_still_gives_absolute_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, VALID)
    monkeypatch.chdir(tmp_path)
    config = load_config(Path("config.toml"), environ={})
    assert config.storage.data_dir == tmp_path / "data"


def test_absolute_data_dir_is_kept(tmp_path: Path) -> None:
    text = VALID.replace('data_dir = "./data"', 'data_dir = "/var/lib/rupn-bot"')
    config = load_config(write(tmp_path, text), environ={})
    assert config.storage.data_dir == Path("/var/lib/rupn-bot")


def test_parse_config_uses_base_dir(tmp_path: Path) -> None:
    data = {
        "matrix": {"homeserver": "https://m.example.org", "user_id": "@b:example.org"},
        "storage": {"data_dir": "etat"},
        "bot": {"admins": ["@a:example.org"]},
    }
    config = parse_config(data, base_dir=tmp_path, environ={})
    assert config.storage.data_dir == tmp_path / "etat"


# --------------------------------------------------------------------------- broken files


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    assert problems_of(path) == f"Fichier de configuration introuvable : {path}"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert "est un dossier" in problems_of(tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(VALID.encode("utf-8") + b"# \xe9t\xe9\n")
    assert problems_of(path) == f"{path}, ligne 13 : le fichier n’est pas encodé en UTF-8"


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (
            VALID.replace('timezone = "Europe/Paris"', "timezone = Europe/Paris"),
            "ligne 11, colonne 12 : TOML invalide : valeur invalide (le texte doit être "
            "entre guillemets",
        ),
        (
            VALID.replace('user_id = "@rupn-bot:example.org"', 'user_id = "@rupn-bot'),
            "ligne 3, colonne 21 : TOML invalide : chaîne non terminée (guillemet fermant manquant",
        ),
        (
            VALID + '\n[bot]\nadmins = ["@x:y.org"]\n',
            "ligne 14, colonne 5 : TOML invalide : section « bot » déclarée deux fois",
        ),
        (
            VALID.replace('device_name = "rupn-bot"', 'device_name = "a"\ndevice_name = "b"'),
            "ligne 5, colonne 18 : TOML invalide : clé définie deux fois",
        ),
        (
            VALID.replace("[storage]", "[storage"),
            "ligne 6, colonne 9 : TOML invalide : « ] » attendu à la fin de l’en-tête de section",
        ),
        (
            VALID.replace('data_dir = "./data"', 'data_dir "./data"'),
            "ligne 7, colonne 10 : TOML invalide : « = » attendu après le nom de la clé",
        ),
    ],
)
def test_invalid_toml(tmp_path: Path, broken: str, expected: str) -> None:
    path = write(tmp_path, broken)
    message = problems_of(path)
    assert message.startswith(f"{path}, {expected}")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'homeserver = "https://matrix.example.org/"\n',
            "",
            "matrix.homeserver : clé obligatoire absente",
        ),
        (
            'homeserver = "https://matrix.example.org/"',
            'homeserver = "matrix.example.org"',
            "matrix.homeserver : doit commencer par https:// (ou http://), "
            "par exemple https://matrix.agent.education.tchap.gouv.fr "
            "(reçu : « matrix.example.org »)",
        ),
        (
            'homeserver = "https://matrix.example.org/"',
            'homeserver = "https://matrix.example.org/?x=1"',
            "matrix.homeserver : ne doit contenir ni « ? » ni « # »",
        ),
        (
            'homeserver = "https://matrix.example.org/"',
            'homeserver = "https://matrix.example.org:99999"',
            "matrix.homeserver : adresse web invalide",
        ),
        (
            'homeserver = "https://matrix.example.org/"',
            'homeserver = "https://bot:motdepasse@matrix.example.org"',
            "matrix.homeserver : ne doit contenir ni identifiant ni mot de passe\n",
        ),
        (
            'timezone = "Europe/Paris"',
            'timezone = "Europe"',
            "bot.timezone : fuseau horaire inconnu",
        ),
        (
            'user_id = "@rupn-bot:example.org"',
            'user_id = "rupn-bot"',
            "matrix.user_id : doit être un identifiant Matrix de la forme @nom:serveur, "
            "par exemple @prenom.nom:agent.education.tchap.gouv.fr (reçu : « rupn-bot »)",
        ),
        (
            'user_id = "@rupn-bot:example.org"',
            'user_id = "@rupn-bot@example.org"',
            "matrix.user_id : doit être un identifiant Matrix",
        ),
        (
            'user_id = "@rupn-bot:example.org"',
            "user_id = 12",
            "matrix.user_id : doit être du texte entre guillemets (reçu : 12)",
        ),
        (
            'device_name = "rupn-bot"',
            'device_name = ""',
            "matrix.device_name : ne doit pas être vide (reçu : une chaîne vide)",
        ),
        (
            'admins = ["@rupn:example.org", "@direction:example.org"]',
            "admins = []",
            "bot.admins : doit contenir au moins un élément (reçu : une liste vide)",
        ),
        (
            'admins = ["@rupn:example.org", "@direction:example.org"]',
            'admins = ["@rupn:example.org", "direction"]',
            "bot.admins[1] : doit être un identifiant Matrix de la forme @nom:serveur",
        ),
        (
            'admins = ["@rupn:example.org", "@direction:example.org"]',
            'admins = "@rupn:example.org"',
            'bot.admins : doit être une liste, par exemple ["@rupn:example.org"] '
            "(reçu : « @rupn:example.org »)",
        ),
        (
            'admins = ["@rupn:example.org", "@direction:example.org"]\n',
            "",
            "bot.admins : clé obligatoire absente",
        ),
        (
            'timezone = "Europe/Paris"',
            'timezone = "Europe/Lutece"',
            "bot.timezone : fuseau horaire inconnu : utilisez un nom de la base IANA",
        ),
        (
            'timezone = "Europe/Paris"',
            'timezone = "../../etc/passwd"',
            "bot.timezone : fuseau horaire inconnu",
        ),
        (
            "max_sends_per_second = 1.0",
            "max_sends_per_second = -2.5",
            "bot.max_sends_per_second : doit être un nombre strictement positif (reçu : -2.5)",
        ),
        (
            "max_sends_per_second = 1.0",
            "max_sends_per_second = 0",
            "bot.max_sends_per_second : doit être un nombre strictement positif (reçu : 0)",
        ),
        (
            "max_sends_per_second = 1.0",
            "max_sends_per_second = 101",
            "bot.max_sends_per_second : doit être inférieur ou égal à 100 (reçu : 101)",
        ),
        (
            "max_sends_per_second = 1.0",
            'max_sends_per_second = "1"',
            "bot.max_sends_per_second : doit être un nombre (reçu : « 1 »)",
        ),
        (
            "max_sends_per_second = 1.0",
            "max_sends_per_second = true",
            "bot.max_sends_per_second : doit être un nombre (reçu : true)",
        ),
        (
            "max_sends_per_second = 1.0",
            "max_sends_per_second = nan",
            "bot.max_sends_per_second : doit être un nombre fini",
        ),
        (
            "max_sends_per_second = 1.0",
            "max_sends_per_second = 1.0\npoll_check_seconds = 0",
            "bot.poll_check_seconds : doit être supérieur ou égal à 1 (reçu : 0)",
        ),
        (
            "max_sends_per_second = 1.0",
            "max_sends_per_second = 1.0\npoll_check_seconds = 3600",
            "bot.poll_check_seconds : doit être inférieur ou égal à 300 (reçu : 3600)",
        ),
        (
            'data_dir = "./data"',
            'data_dir = ""',
            "storage.data_dir : ne doit pas être vide",
        ),
        (
            'data_dir = "./data"',
            "data_dir = 3",
            "storage.data_dir : doit être un chemin de dossier entre guillemets (reçu : 3)",
        ),
        (
            'device_name = "rupn-bot"',
            'device_name = "rupn-bot"\nhome_server = "x"',
            "matrix.home_server : clé inconnue (vouliez-vous dire « homeserver » ?)",
        ),
        (
            "[bot]",
            "[bot]\nlangue = 'fr'",
            "bot.langue : clé inconnue (clés possibles : admins, timezone, max_sends_per_second,"
            " broadcast_rooms, workshop_reminders, workshop_signup_notices, curation_room,"
            " feed_poll_minutes, poll_check_seconds, needs_poll_themes)",
        ),
        (
            "[storage]",
            "[stockage]",
            "stockage : clé inconnue",
        ),
    ],
)
def test_validation_errors_are_french_and_name_the_key(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in VALID
    message = problems_of(write(tmp_path, VALID.replace(old, new, 1)))
    assert expected in message + "\n"
    assert "motdepasse" not in message


def test_missing_section(tmp_path: Path) -> None:
    text = VALID.split("[bot]")[0]
    assert problems_of(write(tmp_path, text)) == "bot : clé obligatoire absente"


def test_section_of_wrong_type(tmp_path: Path) -> None:
    text = 'matrix = "https://matrix.example.org"\n' + VALID.split("[storage]")[1]
    message = problems_of(write(tmp_path, text))
    assert "matrix : doit être une section (table TOML)" in message


def test_every_problem_is_listed_one_per_line(tmp_path: Path) -> None:
    text = (
        VALID.replace('homeserver = "https://matrix.example.org/"\n', "")
        .replace('user_id = "@rupn-bot:example.org"', 'user_id = "bot"')
        .replace('"@direction:example.org"', '"direction"')
        .replace('timezone = "Europe/Paris"', 'timezone = "Mars/Olympus"')
        .replace("max_sends_per_second = 1.0", "max_sends_per_second = 0")
        .replace("[storage]", "[storage]\ninconnue = 1")
    )
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), environ={})
    lines = str(caught.value).splitlines()
    keys = [line.split(" : ", 1)[0] for line in lines]
    assert keys == [
        "matrix.homeserver",
        "matrix.user_id",
        "storage.inconnue",
        "bot.admins[1]",
        "bot.timezone",
        "bot.max_sends_per_second",
    ]
    assert lines[-1] == (
        "bot.max_sends_per_second : doit être un nombre strictement positif (reçu : 0)"
    )
    assert caught.value.problems == tuple(lines)


def test_config_error_accepts_a_single_message() -> None:
    error = ConfigError("un seul problème")
    assert str(error) == "un seul problème"
    assert error.problems == ("un seul problème",)


def test_config_model_can_be_built_directly() -> None:
    config = Config.model_validate(
        {
            "matrix": {"homeserver": "https://m.example.org/", "user_id": "@b:example.org"},
            "bot": {"admins": ["@a:example.org"], "timezone": "Indian/Reunion"},
        }
    )
    assert config.matrix.homeserver == "https://m.example.org"
    assert config.storage.data_dir == Path("data")
    assert config.tz == ZoneInfo("Indian/Reunion")


# --------------------------------------------------------------------------- news and diffusion


def test_broadcast_rooms_curation_and_feeds(tmp_path: Path) -> None:
    text = VALID + (
        'broadcast_rooms = ["!opaqueRoomIdV12", "!abc:example.org", "#salle-profs:example.org"]\n'
        'curation_room = "!bureau:example.org"\n'
        "feed_poll_minutes = 15\n"
        "\n[[feeds]]\n"
        'name = "SRANE"\n'
        'url = "https://srane.ac-exemple.fr/spip.php?page=backend"\n'
        'include = ["atelier"]\n'
        "auto_publish = true\n"
    )
    config = load_config(write(tmp_path, text), environ={})
    assert config.bot.broadcast_rooms == (
        "!opaqueRoomIdV12",
        "!abc:example.org",
        "#salle-profs:example.org",
    )
    assert config.bot.curation_room == "!bureau:example.org"
    assert config.bot.feed_poll_minutes == 15
    [feed] = config.feeds
    assert (feed.name, feed.include, feed.auto_publish) == ("SRANE", ("atelier",), True)


def test_bad_room_and_feed_url_are_explained(tmp_path: Path) -> None:
    text = VALID + (
        'broadcast_rooms = ["salle des profs"]\n'
        '\n[[feeds]]\nname = "SRANE"\nurl = "ftp://srane.ac-exemple.fr/flux"\n'
    )
    message = problems_of(write(tmp_path, text))
    assert "bot.broadcast_rooms[0] : doit être un identifiant de salon" in message
    assert "feeds[0].url : doit être l’adresse web d’un flux RSS ou Atom" in message


def test_workshop_reminders_choice_is_explained(tmp_path: Path) -> None:
    message = problems_of(write(tmp_path, VALID + 'workshop_reminders = "dm"\n'))
    assert message == (
        "bot.workshop_reminders : valeur attendue : « salon » ou « prive » (reçu : « dm »)"
    )


# --------------------------------------------------------------------------- hardening


def test_a_readable_config_with_a_password_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, VALID_WITH_PASSWORD)
    path.chmod(0o644)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    message = str(info.value)
    assert (
        "contient le mot de passe du bot et d’autres comptes de la machine peuvent le lire"
        in message
    )
    assert f"chmod 600 {path}" in message
    assert "s3cret" not in message
    path.chmod(0o600)
    assert load_config(path, environ={}).password_value() == "s3cret"


def test_a_readable_config_without_a_password_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, VALID_WITH_PASSWORD.replace('password = "s3cret"\n', ""))
    path.chmod(0o644)
    assert load_config(path, environ={}).password_value() is None


def test_admin_ids_with_capitals_are_refused_with_the_fix(tmp_path: Path) -> None:
    text = VALID_WITH_PASSWORD.replace("@rupn:example.org", "@Marie.Curie:example.org")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ={})
    assert "contient des majuscules" in str(info.value)
    assert "« @marie.curie:example.org »" in str(info.value)


@pytest.mark.parametrize("value", ["privé", "Prive", "PRIVÉ", "prive"])
def test_workshop_reminders_ignore_accents_and_case(tmp_path: Path, value: str) -> None:
    text = VALID_WITH_PASSWORD + f'workshop_reminders = "{value}"\n'
    assert load_config(write(tmp_path, text), environ={}).bot.workshop_reminders == "prive"


@pytest.mark.parametrize(
    ("value", "expected"), [("Discret", "discret"), ("SALON", "salon"), ("discrèt", "discret")]
)
def test_workshop_signup_notices_ignore_accents_and_case(
    tmp_path: Path, value: str, expected: str
) -> None:
    text = VALID_WITH_PASSWORD + f'workshop_signup_notices = "{value}"\n'
    bot = load_config(write(tmp_path, text), environ={}).bot
    assert bot.workshop_signup_notices == expected


def test_workshop_signup_notices_default_to_discret(tmp_path: Path) -> None:
    bot = load_config(write(tmp_path, VALID_WITH_PASSWORD), environ={}).bot
    assert bot.workshop_signup_notices == "discret"


def test_workshop_signup_notices_choice_is_explained(tmp_path: Path) -> None:
    message = problems_of(write(tmp_path, VALID + 'workshop_signup_notices = "muet"\n'))
    assert message == (
        "bot.workshop_signup_notices : valeur attendue : « discret » ou « salon » (reçu : « muet »)"
    )


def test_plain_http_homeserver_is_a_warning_except_on_loopback(tmp_path: Path) -> None:
    http = VALID_WITH_PASSWORD.replace("https://matrix.example.org", "http://matrix.example.org")
    [warning] = load_config(write(tmp_path, http), environ={}).warnings()
    assert "est joint en http://" in warning and "Utilisez https://" in warning
    local = VALID_WITH_PASSWORD.replace("https://matrix.example.org", "http://127.0.0.1:8008")
    assert load_config(write(tmp_path, local), environ={}).warnings() == []


# --------------------------------------------------------------------------- the letter


def test_digest_and_email_sections(tmp_path: Path) -> None:
    text = VALID + (
        '\n[digest]\nday = "Jeudi"\ntime = "8h"\nzone = "c"\n'
        '\n[email]\nsmtp_host = "smtp.ac-exemple.fr"\nfrom = "rupn@clg-exemple.fr"\n'
        'to = ["equipe@clg-exemple.fr"]\nusername = "rupn"\n'
    )
    config = load_config(write(tmp_path, text), environ={"RUPN_SMTP_PASSWORD": SECRET})
    assert (config.digest.day, config.digest.weekday, config.digest.zone) == ("jeudi", 3, "C")
    assert config.digest.local_time.isoformat() == "08:00:00"
    assert config.email is not None
    assert (config.email.smtp_port, config.email.starttls) == (587, True)
    assert config.email.password_value() == SECRET
    assert SECRET not in repr(config)
    assert config.warnings() == []


def test_without_a_digest_section_no_letter_is_scheduled(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID), environ={})
    assert not config.digest.enabled
    assert config.email is None


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ('[digest]\nday = "vendredi soir"', "digest.day"),
        ('[digest]\ntime = "25h"', "« 16h30 », « 16h » ou « 16:30 »"),
        ('[digest]\nzone = "D"', "digest.zone"),
        ('[digest]\npermalink_base = "matrix.to"', "doit être une adresse web"),
        ('[email]\nsmtp_host = "x"\nfrom = "pas une adresse"\nto = ["a@b.fr"]', "adresse"),
        ('[email]\nsmtp_host = "x"\nfrom = "a@b.fr"\nto = []', "email.to"),
        ('[email]\nsmtp_host = "x"\nfrom = "a@b.fr"\nto = ["a@b.fr"]\npassword = "x"',
         "RUPN_SMTP_PASSWORD"),
    ],
)  # fmt: skip
def test_bad_letter_settings_are_explained_in_french(
    tmp_path: Path, section: str, expected: str
) -> None:
    assert expected in problems_of(write(tmp_path, VALID + "\n" + section + "\n"))


def test_a_letter_without_zone_warns_about_the_holidays(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID + '\n[digest]\nday = "lundi"\n'), environ={})
    [warning] = config.warnings()
    assert "digest.zone n’est pas renseignée" in warning


def test_privacy_and_bilan_sections(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID), environ={})
    assert config.privacy.retention_months == 13
    assert config.bilan.start_month_day == (9, 1)
    text = VALID + '\n[privacy]\nretention_months = 24\n\n[bilan]\nyear_start = "08-25"\n'
    config = load_config(write(tmp_path, text), environ={})
    assert config.privacy.retention_months == 24
    assert config.bilan.start_month_day == (8, 25)


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("[privacy]\nretention_months = 0", "privacy.retention_months"),
        (
            "[privacy]\nretention_months = 11",
            "privacy.retention_months : doit valoir au moins 12 mois (une année scolaire "
            "entière, pour que le bilan de l’année reste juste) ; vous avez écrit 11",
        ),
        ("[privacy]\nretention_months = 121", "privacy.retention_months"),
        ('[bilan]\nyear_start = "31-09"', "au format MM-JJ"),
        ('[bilan]\nyear_start = "septembre"', "« 09-01 »"),
    ],
)
def test_bad_privacy_and_bilan_settings_are_explained(
    tmp_path: Path, section: str, expected: str
) -> None:
    assert expected in problems_of(write(tmp_path, VALID + "\n" + section + "\n"))
