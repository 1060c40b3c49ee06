"""The ``[email]`` section: the weekly letter also goes out by e-mail."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from bot.config.fields import MailAddress

SMTP_PASSWORD_ENV_VAR = "RUPN_SMTP_PASSWORD"  # noqa: S105 (a variable name, not a secret)
"""Environment variable that supplies the SMTP password of ``[email]``."""


class EmailSettings(BaseModel):
    """The ``[email]`` section: the weekly letter also goes out by e-mail."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    smtp_host: str = Field(min_length=1)
    smtp_port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username: str | None = None
    password: SecretStr | None = None  # from RUPN_SMTP_PASSWORD only (see parse_config)
    sender: MailAddress = Field(alias="from")
    to: tuple[MailAddress, ...] = Field(min_length=1)

    @property
    def implicit_tls(self) -> bool:
        """Port 465 speaks TLS from the first byte (SMTPS); 587 and 25 use STARTTLS."""
        return self.smtp_port == 465

    def password_value(self) -> str | None:
        return None if self.password is None else self.password.get_secret_value()
