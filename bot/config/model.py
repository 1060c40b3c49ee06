"""The whole configuration file: one frozen model made of the sections."""

from __future__ import annotations

from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator

from bot.config.academie import AcademieSettings, SchoolSettings, duplicated_uai
from bot.config.assistance import IMAP_PASSWORD_ENV_VAR, AssistanceSettings
from bot.config.digest import DigestSettings
from bot.config.errors import UnechoedValueError
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
    # `!panne` (issue 19): tickets mailed to the helpdesk through [email]'s relay.
    assistance: AssistanceSettings | None = None
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    bilan: BilanSettings = Field(default_factory=BilanSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    # A shared deployment (issue 18): the académie and its établissements.
    academie: AcademieSettings | None = None
    etablissements: tuple[SchoolSettings, ...] = ()
    # The schools of academie.etablissements (the CSV), read by `parse_config`.
    _directory: tuple[SchoolSettings, ...] = PrivateAttr(default=())

    @field_validator("assistance")
    @classmethod
    def _tickets_need_mail(
        cls, value: AssistanceSettings | None, info: ValidationInfo
    ) -> AssistanceSettings | None:
        if value is not None and info.data.get("email") is None:
            raise UnechoedValueError(
                "les tickets partent par le serveur de courriel de la section [email] "
                "(smtp_host, from), qui manque"
            )
        return value

    @field_validator("etablissements")
    @classmethod
    def _own_desk_needs_the_mailbox(
        cls, value: tuple[SchoolSettings, ...], info: ValidationInfo
    ) -> tuple[SchoolSettings, ...]:
        own = [i for i, school in enumerate(value) if school.assistance is not None]
        if own and info.data.get("assistance") is None:
            raise UnechoedValueError(
                f"etablissements[{own[0]}] a son propre service d’assistance, mais la section "
                "[assistance] manque (la boîte aux lettres du bot, imap_host et imap_user, est "
                "commune)"
            )
        return value

    @field_validator("etablissements")
    @classmethod
    def _each_uai_once(cls, value: tuple[SchoolSettings, ...]) -> tuple[SchoolSettings, ...]:
        duplicate = duplicated_uai(value)
        if duplicate is not None:
            uai, first, second = duplicate
            raise UnechoedValueError(
                f"l’établissement {uai} est déclaré deux fois (etablissements[{first}] et "
                f"etablissements[{second}]) : déclarez-le une seule fois"
            )
        return value

    @property
    def shared(self) -> bool:
        """True for a shared deployment: établissements are declared (TOML or CSV)."""
        return self.academie is not None or bool(self.etablissements)

    @property
    def directory(self) -> tuple[SchoolSettings, ...]:
        """The schools read from the CSV directory (empty without one)."""
        return self._directory

    def with_directory(self, schools: tuple[SchoolSettings, ...]) -> Config:
        """A copy of this configuration whose CSV directory holds `schools`."""
        copy = self.model_copy()
        copy._directory = schools
        return copy

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
        schools = (*self.etablissements, *self.directory)
        without_rupn = [school.uai for school in schools if not school.admins]
        if without_rupn:
            shown = ", ".join(without_rupn[:5]) + (" …" if len(without_rupn) > 5 else "")
            found.append(
                f"établissements sans RUPN ({len(without_rupn)}) : {shown} ; personne ne peut "
                "y utiliser les commandes d’administration. Indiquez leurs RUPN (admins, ou "
                "colonne rupn du fichier CSV)."
            )
        without_zone = [
            s.uai for s in schools if s.zone is None and (s.digest is None or s.digest.zone is None)
        ]
        if self.digest.enabled and self.digest.zone is None and self.shared and without_zone:
            shown = ", ".join(without_zone[:5]) + (" …" if len(without_zone) > 5 else "")
            found.append(
                f"établissements sans zone de vacances ({len(without_zone)}) : {shown} ; leur "
                "lettre partira aussi pendant les vacances scolaires. Indiquez leur zone, ou "
                "celle de l’académie dans digest.zone."
            )
        elif self.digest.enabled and self.digest.zone is None and not self.shared:
            found.append(
                "digest.zone n’est pas renseignée : la lettre partira aussi pendant les "
                "vacances scolaires. Indiquez la zone de l’académie (« A », « B » ou « C »)."
            )
        if self.email is not None and self.email.username and self.email.password is None:
            found.append(
                f"email.username est renseigné mais la variable {SMTP_PASSWORD_ENV_VAR} est "
                "vide : le serveur de courriel refusera sans doute la connexion."
            )
        if self.assistance is not None and self.assistance.imap_password is None:
            found.append(
                f"assistance : la variable {IMAP_PASSWORD_ENV_VAR} est vide : le bot ne pourra "
                "pas lire les réponses du service d’assistance dans sa boîte aux lettres."
            )
        if self.assistance is not None and self.assistance.imap_security == "aucune":
            found.append(
                "assistance.imap_security = « aucune » : le mot de passe de la boîte aux "
                "lettres circule en clair. Réservé aux essais sur cette machine."
            )
        if self.metrics.enabled and not self.metrics.loopback:
            found.append(
                f"metrics.listen = « {self.metrics.listen} » : /metrics et /sante seront "
                "joignables depuis le réseau, sans mot de passe. Gardez « 127.0.0.1:9464 » si "
                "Prometheus tourne sur cette machine ; sinon, n’ouvrez ce port au pare-feu "
                "qu’au serveur Prometheus."
            )
        return found
