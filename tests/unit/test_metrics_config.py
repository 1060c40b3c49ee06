"""The `[metrics]` section: off and on loopback by default, French errors and warning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import Config, ConfigError, load_config, parse_config

EXAMPLE = Path(__file__).parents[2] / "config.example.toml"
BASE = {
    "matrix": {"homeserver": "https://matrix.example.org", "user_id": "@bot:example.org"},
    "bot": {"admins": ["@rupn:example.org"]},
}


def config_with(**metrics: Any) -> Config:
    return parse_config({**BASE, "metrics": metrics}, base_dir=Path("/"), environ={})


def error_of(**metrics: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        config_with(**metrics)
    return str(caught.value)


def test_off_and_on_loopback_by_default() -> None:
    config = parse_config(BASE, base_dir=Path("/"), environ={})
    assert config.metrics.enabled is False
    assert (config.metrics.host, config.metrics.port) == ("127.0.0.1", 9464)
    assert config.metrics.loopback
    assert (config.metrics.sync_stuck_minutes, config.metrics.outbox_stuck_minutes) == (10, 15)
    assert config.warnings() == []


def test_the_example_s_commented_section_is_valid_once_uncommented(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert load_config(EXAMPLE, environ={}).metrics.enabled is False
    start = text.index("# [metrics]")
    block = text[start:].split("\n\n\n")[0].splitlines()  # up to the next section
    uncommented = [
        line.removeprefix("# ") for line in block if line.startswith(("# [", "# ")) and "=" in line
    ]
    path = tmp_path / "config.toml"
    path.write_text(text[:start] + "[metrics]\n" + "\n".join(uncommented) + "\n", "utf-8")
    metrics = load_config(path, environ={}).metrics
    assert metrics.enabled is True
    assert metrics.listen == "127.0.0.1:9464"
    assert (metrics.sync_stuck_minutes, metrics.outbox_stuck_minutes) == (10, 15)


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [
        ("[::1]:9100", "::1", 9100),
        ("localhost:9464", "localhost", 9464),
        ("127.0.0.2:1", "127.0.0.2", 1),
    ],
)
def test_loopback_addresses(listen: str, host: str, port: int) -> None:
    config = config_with(enabled=True, listen=listen)
    assert (config.metrics.host, config.metrics.port, config.metrics.loopback) == (host, port, True)
    assert config.warnings() == []


def test_a_network_address_is_allowed_with_a_french_warning() -> None:
    config = config_with(enabled=True, listen="0.0.0.0:9464")
    assert config.warnings() == [
        "metrics.listen = « 0.0.0.0:9464 » : /metrics et /sante seront joignables depuis le "
        "réseau, sans mot de passe. Gardez « 127.0.0.1:9464 » si Prometheus tourne sur cette "
        "machine ; sinon, n’ouvrez ce port au pare-feu qu’au serveur Prometheus."
    ]
    assert config_with(enabled=False, listen="0.0.0.0:9464").warnings() == []


LISTEN_SHAPE = (
    "metrics.listen : doit être de la forme « adresse:port », par exemple « 127.0.0.1:9464 » "
    "(ou « [::1]:9464 » en IPv6), avec un port entre 1 et 65535"
)


@pytest.mark.parametrize("listen", ["9464", "127.0.0.1", "127.0.0.1:99999", "::1:9464"])
def test_a_wrong_address_says_what_is_expected(listen: str) -> None:
    assert error_of(listen=listen) == f"{LISTEN_SHAPE} (reçu : « {listen} »)"
    assert error_of(listen="") == f"{LISTEN_SHAPE} (reçu : une chaîne vide)"


def test_a_wrong_ipv6_address() -> None:
    assert error_of(listen="[1::2::3]:9464") == (
        "metrics.listen : « 1::2::3 » n’est pas une adresse IPv6 valide (reçu : « [1::2::3]:9464 »)"
    )


def test_thresholds_are_checked() -> None:
    assert error_of(sync_stuck_minutes=0) == (
        "metrics.sync_stuck_minutes : doit être supérieur ou égal à 1 (reçu : 0)"
    )
    assert error_of(outbox_stuck_minutes=2000) == (
        "metrics.outbox_stuck_minutes : doit être inférieur ou égal à 1440 (reçu : 2000)"
    )
    assert error_of(port=9464) == (
        "metrics.port : clé inconnue (clés possibles : enabled, listen, sync_stuck_minutes, "
        "outbox_stuck_minutes)"
    )
