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
`mail` for ``[email]``, `privacy` for ``[privacy]`` and ``[bilan]``, `metrics`), the whole file in
`model`, reading in `loading`, the French error texts in `messages`.
"""

from bot.config.digest import FRENCH_WEEKDAYS, DigestSettings, parse_letter_time
from bot.config.errors import ConfigError
from bot.config.feeds import FeedSettings
from bot.config.fields import LOOPBACK_HOSTS, MailAddress, RoomRef, UserId
from bot.config.general import BotSettings
from bot.config.loading import load_config, parse_config
from bot.config.mail import SMTP_PASSWORD_ENV_VAR, EmailSettings
from bot.config.matrix import PASSWORD_ENV_VAR, TCHAP_EDUCATION_HOMESERVER, MatrixSettings
from bot.config.metrics import MetricsSettings
from bot.config.model import Config
from bot.config.privacy import BilanSettings, PrivacySettings
from bot.config.storage import StorageSettings

__all__ = [
    "FRENCH_WEEKDAYS",
    "LOOPBACK_HOSTS",
    "PASSWORD_ENV_VAR",
    "SMTP_PASSWORD_ENV_VAR",
    "TCHAP_EDUCATION_HOMESERVER",
    "BilanSettings",
    "BotSettings",
    "Config",
    "ConfigError",
    "DigestSettings",
    "EmailSettings",
    "FeedSettings",
    "MailAddress",
    "MatrixSettings",
    "MetricsSettings",
    "PrivacySettings",
    "RoomRef",
    "StorageSettings",
    "UserId",
    "load_config",
    "parse_config",
    "parse_letter_time",
]
