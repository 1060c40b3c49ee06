"""Configuration of rupn-bot, read from a TOML file.

`load_config` reads the file, `parse_config` validates an already parsed
mapping. Both raise `ConfigError`, whose text is French and lists every
problem on its own line, each line naming the dotted key it is about::

    bot.max_sends_per_second : doit être un nombre strictement positif (reçu : 0)

Loading has no side effect: nothing is created on disk, nothing is logged.
The password is a `SecretStr`: it never appears in a repr nor in an error
message (the value of an unknown key is never echoed either, since it may be a
misspelt ``password``).

One module per section (`matrix`, `storage`, `general` for ``[bot]``, `feeds`, `digest`,
`mail` for ``[email]``, `privacy` for ``[privacy]`` and ``[bilan]``, `metrics`, `academie` for
``[academie]`` and ``[[etablissements]]``), the whole file in `model`, reading in `loading`,
the CSV directory of établissements in `directory` (UAI check in `uai`), the French error
texts in `messages`.
"""

from bot.config.academie import AcademieSettings, SchoolSettings
from bot.config.assistance import (
    IMAP_PASSWORD_ENV_VAR,
    AssistanceSettings,
    Desk,
    DeskOverride,
    desk_of,
)
from bot.config.digest import FRENCH_WEEKDAYS, DigestSettings, parse_letter_time
from bot.config.directory import CSV_HEADER, load_directory
from bot.config.errors import ConfigError
from bot.config.feeds import FeedSettings
from bot.config.fields import LOOPBACK_HOSTS, MailAddress, RoomRef, UserId
from bot.config.general import BotSettings
from bot.config.loading import load_config, parse_config, read_directory
from bot.config.mail import SMTP_PASSWORD_ENV_VAR, EmailSettings
from bot.config.matrix import PASSWORD_ENV_VAR, TCHAP_EDUCATION_HOMESERVER, MatrixSettings
from bot.config.metrics import MetricsSettings
from bot.config.model import Config
from bot.config.privacy import BilanSettings, PrivacySettings
from bot.config.storage import StorageSettings
from bot.config.uai import check_uai, uai_letter

__all__ = [
    "CSV_HEADER",
    "FRENCH_WEEKDAYS",
    "IMAP_PASSWORD_ENV_VAR",
    "LOOPBACK_HOSTS",
    "PASSWORD_ENV_VAR",
    "SMTP_PASSWORD_ENV_VAR",
    "TCHAP_EDUCATION_HOMESERVER",
    "AcademieSettings",
    "AssistanceSettings",
    "BilanSettings",
    "BotSettings",
    "Config",
    "ConfigError",
    "Desk",
    "DeskOverride",
    "DigestSettings",
    "EmailSettings",
    "FeedSettings",
    "MailAddress",
    "MatrixSettings",
    "MetricsSettings",
    "PrivacySettings",
    "RoomRef",
    "SchoolSettings",
    "StorageSettings",
    "UserId",
    "check_uai",
    "desk_of",
    "load_config",
    "load_directory",
    "parse_config",
    "parse_letter_time",
    "read_directory",
    "uai_letter",
]
