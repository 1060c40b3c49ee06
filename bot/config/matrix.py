"""The ``[matrix]`` section: which account the bot uses, on which homeserver."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from bot.config.errors import UnechoedValueError
from bot.config.fields import UserId

PASSWORD_ENV_VAR = "RUPN_BOT_PASSWORD"  # noqa: S105 (a variable name, not a secret)
"""Environment variable that supplies (or overrides) ``matrix.password``."""

TCHAP_EDUCATION_HOMESERVER = "https://matrix.agent.education.tchap.gouv.fr"
"""Homeserver of the French education agents on Tchap."""


class MatrixSettings(BaseModel):
    """The ``[matrix]`` section: which account the bot uses, on which homeserver."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    homeserver: str
    user_id: UserId
    password: SecretStr | None = None
    device_name: str = Field(default="rupn-bot", min_length=1)
    cross_signing: bool = True
    """Sign the bot's device with its account's identity (Element and Tchap require it)."""

    @field_validator("homeserver")
    @classmethod
    def _check_homeserver(cls, value: str) -> str:
        example = f"par exemple {TCHAP_EDUCATION_HOMESERVER}"
        if not value or value != value.strip() or any(c.isspace() for c in value):
            raise ValueError(f"doit être une adresse web sans espace, {example}")
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            raise ValueError(f"adresse web invalide, {example}") from None
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"doit commencer par https:// (ou http://), {example}")
        if not parts.hostname:
            raise ValueError(f"nom de serveur absent, {example}")
        if parts.username is not None or parts.password is not None:
            raise UnechoedValueError("ne doit contenir ni identifiant ni mot de passe")
        if parts.query or parts.fragment or value.endswith(("?", "#")):
            raise ValueError(f"ne doit contenir ni « ? » ni « # », {example}")
        if port == 0:
            raise ValueError("numéro de port invalide")
        return value.rstrip("/")

    @field_validator("password")
    @classmethod
    def _empty_password_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None
        return value
