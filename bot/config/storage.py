"""The ``[storage]`` section: where the bot keeps its state."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


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

    @field_validator("data_dir")
    @classmethod
    def _resolve(cls, value: Path, info: ValidationInfo) -> Path:
        """Expand ``~`` and resolve a relative path against ``context["base_dir"]``."""
        try:
            value = value.expanduser()
        except RuntimeError:
            raise ValueError("impossible de déterminer le dossier personnel (« ~ »)") from None
        context = info.context
        base_dir = context.get("base_dir") if isinstance(context, Mapping) else None
        if not value.is_absolute() and isinstance(base_dir, Path):
            value = base_dir / value
        return Path(os.path.normpath(value)) if value.is_absolute() else value
