"""Today's configuration is one implicit établissement."""

from __future__ import annotations

from pathlib import Path

from bot.config import parse_config
from bot.schools import IMPLICIT_KEY, schools_of


def test_a_single_school_configuration_is_one_implicit_school(tmp_path: Path) -> None:
    config = parse_config(
        {
            "matrix": {"homeserver": "https://example.org", "user_id": "@bot:example.org"},
            "bot": {"admins": ["@rupn:example.org", "@adjoint:example.org"]},
            "digest": {"zone": "b"},
        },
        base_dir=tmp_path,
        environ={},
    )
    [school] = schools_of(config)
    assert school.key == IMPLICIT_KEY and school.implicit
    assert school.admins == {"@rupn:example.org", "@adjoint:example.org"}
    assert school.zone == "B"
