"""Reading the TOML file and validating it into `Config`."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.config.assistance import IMAP_PASSWORD_ENV_VAR
from bot.config.directory import load_directory
from bot.config.errors import ConfigError
from bot.config.mail import SMTP_PASSWORD_ENV_VAR
from bot.config.matrix import PASSWORD_ENV_VAR
from bot.config.messages import translate_toml_error, translate_validation_error
from bot.config.model import Config


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the TOML file at `path`.

    `environ` defaults to `os.environ`; ``RUPN_BOT_PASSWORD`` in it supplies or
    overrides ``matrix.password``. A relative ``storage.data_dir`` is resolved
    against the directory of the file. Raises `ConfigError`.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"Fichier de configuration introuvable : {path}") from None
    except IsADirectoryError:
        raise ConfigError(
            f"{path} est un dossier : indiquez le chemin du fichier de configuration"
        ) from None
    except PermissionError:
        raise ConfigError(
            f"Fichier de configuration illisible (permission refusée) : {path}"
        ) from None
    except OSError:
        raise ConfigError(f"Fichier de configuration illisible : {path}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}, ligne {line} : le fichier n’est pas encodé en UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(translate_toml_error(path, str(exc))) from None
    config = parse_config(
        data,
        base_dir=path.absolute().parent,
        environ=os.environ if environ is None else environ,
    )
    _refuse_readable_password(path, data)
    return config


def _refuse_readable_password(path: Path, data: Mapping[str, Any]) -> None:
    """A password written in a file that other accounts can read is an error, as ssh does."""
    matrix = data.get("matrix")
    if not isinstance(matrix, Mapping) or not matrix.get("password"):
        return
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & 0o077:
        raise ConfigError(
            f"{path} contient le mot de passe du bot et d’autres comptes de la machine peuvent "
            f"le lire : tapez « chmod 600 {path} » (ou retirez le mot de passe du fichier et "
            f"donnez-le par la variable {PASSWORD_ENV_VAR})."
        )


def parse_config(data: Mapping[str, Any], *, base_dir: Path, environ: Mapping[str, str]) -> Config:
    """Validate an already parsed configuration; see `load_config`."""
    prepared: dict[str, Any] = dict(data)
    # Present so that data_dir's default goes through validation (and base_dir).
    prepared.setdefault("storage", {})
    env_password = environ.get(PASSWORD_ENV_VAR)
    matrix = prepared.get("matrix")
    if env_password and isinstance(matrix, Mapping):
        prepared["matrix"] = {**matrix, "password": env_password}
    smtp_password = environ.get(SMTP_PASSWORD_ENV_VAR)
    if isinstance(prepared.get("email"), Mapping):
        prepared["email"] = _with_smtp_password(prepared["email"], "email", smtp_password)
    schools = prepared.get("etablissements")
    if isinstance(schools, list):
        prepared["etablissements"] = schools = list(schools)
        for index, school in enumerate(schools):
            if isinstance(school, Mapping) and isinstance(school.get("email"), Mapping):
                key = f"etablissements[{index}].email"
                email = _with_smtp_password(school["email"], key, smtp_password)
                schools[index] = {**school, "email": email}
    imap_password = environ.get(IMAP_PASSWORD_ENV_VAR)
    assistance = prepared.get("assistance")
    if isinstance(assistance, Mapping):
        if "imap_password" in assistance:
            raise ConfigError(
                "assistance.imap_password : n’écrivez pas le mot de passe de la boîte aux "
                f"lettres dans le fichier ; donnez-le par la variable {IMAP_PASSWORD_ENV_VAR}."
            )
        if imap_password:
            prepared["assistance"] = {**assistance, "imap_password": imap_password}
    shared = "academie" in prepared or "etablissements" in prepared
    try:
        config = Config.model_validate(prepared, context={"base_dir": base_dir, "shared": shared})
    except ValidationError as exc:
        # `from None`: pydantic's own text echoes input values, the password included.
        raise ConfigError(translate_validation_error(exc, Config)) from None
    return read_directory(config)


def read_directory(config: Config) -> Config:
    """`config` with its CSV directory (re)read; raises `ConfigError`.

    Also what a reload runs: only the CSV changes between two reads.
    """
    academie = config.academie
    if academie is not None and academie.etablissements is not None:
        declared = {school.uai: index for index, school in enumerate(config.etablissements)}
        config = config.with_directory(load_directory(academie.etablissements, declared))
    if config.shared and not (config.etablissements or config.directory):
        raise ConfigError(
            "academie : aucun établissement n’est déclaré : indiquez le fichier des "
            'établissements (academie.etablissements = "etablissements.csv") ou au moins '
            "une section [[etablissements]]"
        )
    return config


def _with_smtp_password(
    email: Mapping[str, Any], key: str, smtp_password: str | None
) -> Mapping[str, Any]:
    """The password of an e-mail section comes from the environment, never from the file."""
    if "password" in email:
        raise ConfigError(
            f"{key}.password : n’écrivez pas le mot de passe du courriel dans le fichier ; "
            f"donnez-le par la variable d’environnement {SMTP_PASSWORD_ENV_VAR}."
        )
    return {**email, "password": smtp_password} if smtp_password else email
