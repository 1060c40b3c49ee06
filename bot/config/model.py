"""The whole configuration file: one frozen model made of the sections."""

from __future__ import annotations

from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from bot.config.digest import DigestSettings
from bot.config.feeds import FeedSettings
from bot.config.fields import LOOPBACK_HOSTS
from bot.config.general import BotSettings
from bot.config.mail import SMTP_PASSWORD_ENV_VAR, EmailSettings
from bot.config.matrix import MatrixSettings
from bot.config.metrics import MetricsSettings
from bot.config.privacy import BilanSettings, PrivacySettings
from bot.config.storage import StorageSettings


class Config(BaseModel):
    """The whole configuration file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    matrix: MatrixSettings
    storage: StorageSettings = Field(default_factory=StorageSettings)
    bot: BotSettings
    feeds: tuple[FeedSettings, ...] = ()
    # Without a [digest] section no letter is sent on schedule; `!lettre` still works.
    digest: DigestSettings = Field(default_factory=lambda: DigestSettings(enabled=False))
    email: EmailSettings | None = None
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    bilan: BilanSettings = Field(default_factory=BilanSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)

    @property
    def tz(self) -> ZoneInfo:
        """Shortcut for ``bot.tz``."""
        return self.bot.tz

    def password_value(self) -> str | None:
        """The password in clear, or None when none is configured."""
        password = self.matrix.password
        return None if password is None else password.get_secret_value()

    def warnings(self) -> list[str]:
        """What is allowed but risky, in French (check-config prints it, run logs it)."""
        found = []
        parts = urlsplit(self.matrix.homeserver)
        if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            found.append(
                f"le serveur Matrix {self.matrix.homeserver} est joint en http:// : le mot de "
                "passe et les messages circulent sans protection. Utilisez https://."
            )
        if self.digest.enabled and self.digest.zone is None:
            found.append(
                "digest.zone n’est pas renseignée : la lettre partira aussi pendant les "
                "vacances scolaires. Indiquez la zone de l’académie (« A », « B » ou « C »)."
            )
        if self.email is not None and self.email.username and self.email.password is None:
            found.append(
                f"email.username est renseigné mais la variable {SMTP_PASSWORD_ENV_VAR} est "
                "vide : le serveur de courriel refusera sans doute la connexion."
            )
        if self.metrics.enabled and not self.metrics.loopback:
            found.append(
                f"metrics.listen = « {self.metrics.listen} » : /metrics et /sante seront "
                "joignables depuis le réseau, sans mot de passe. Gardez « 127.0.0.1:9464 » si "
                "Prometheus tourne sur cette machine ; sinon, n’ouvrez ce port au pare-feu "
                "qu’au serveur Prometheus."
            )
        return found
