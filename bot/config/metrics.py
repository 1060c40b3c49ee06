"""The ``[metrics]`` section: the supervision endpoints (/metrics, /sante) for the operator."""

from __future__ import annotations

import ipaddress
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.config.fields import LOOPBACK_HOSTS

DEFAULT_LISTEN = "127.0.0.1:9464"
"""Loopback only, on the port Prometheus's registry of default ports gives client libraries."""

_LISTEN_RE = re.compile(r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^\s:\[\]]+)):(?P<port>\d{1,5})")


class MetricsSettings(BaseModel):
    """The ``[metrics]`` section: off unless asked for, and then on loopback unless told."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    listen: str = DEFAULT_LISTEN
    # /sante answers 503 past these: no successful sync, or an outbox that does not move.
    sync_stuck_minutes: float = Field(default=10.0, strict=True, ge=1, le=1440, allow_inf_nan=False)
    outbox_stuck_minutes: float = Field(
        default=15.0, strict=True, ge=1, le=1440, allow_inf_nan=False
    )

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        match = _LISTEN_RE.fullmatch(value.strip())
        if match is None or not 1 <= int(match["port"]) <= 65535:
            raise ValueError(
                "doit être de la forme « adresse:port », par exemple « 127.0.0.1:9464 » "
                "(ou « [::1]:9464 » en IPv6), avec un port entre 1 et 65535"
            )
        if match["v6"] is not None:
            try:
                ipaddress.IPv6Address(match["v6"])
            except ValueError:
                raise ValueError(f"« {match['v6']} » n’est pas une adresse IPv6 valide") from None
        return value.strip()

    @property
    def host(self) -> str:
        host = self.listen.rpartition(":")[0]
        return host[1:-1] if host.startswith("[") else host  # "[::1]" -> "::1"

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def loopback(self) -> bool:
        """Only this machine can reach the endpoints."""
        host = self.host
        if host in LOOPBACK_HOSTS:
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False  # a host name other than localhost: whatever it resolves to
