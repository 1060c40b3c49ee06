"""The ``[storage]`` section: where the bot keeps its state."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.config.fields import relative_to_config


class StorageSettings(BaseModel):
    """The ``[storage]`` section: where the bot keeps its state."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Field(default=Path("data"), validate_default=True)

    @field_validator("data_dir", mode="before")
    @classmethod
    def _reject_empty(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("ne doit pas être vide (par exemple « ./data »)")
        return value

    _resolve = field_validator("data_dir")(relative_to_config)
