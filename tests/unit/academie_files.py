"""Configuration and CSV files of a shared deployment, written into a test's folder."""

from __future__ import annotations

from pathlib import Path

BASE = """\
[matrix]
homeserver = "https://matrix.example.org"
user_id = "@rupn-bot:example.org"

[bot]
timezone = "Europe/Paris"

[digest]
zone = "A"
"""

ACADEMIE = """
[academie]
nom = "Académie de Poitiers"
admins = ["@drane:example.org", "@dane:example.org"]
etablissements = "etablissements.csv"
"""

JEAN_MOULIN = """
[[etablissements]]
uai = "0860001J"
nom = "Collège Jean Moulin"
admins = ["@rupn.moulin:example.org"]
zone = "A"
"""

CSV = (
    "uai;nom;rupn;zone\n"
    "0860034V;Lycée Camille Guérin;@rupn.guerin:example.org @adjoint.guerin:example.org;A\n"
    "0750654D;Lycée Louis-le-Grand;@rupn.llg:example.org;C\n"
)


def write_academie(
    directory: Path, toml: str = BASE + ACADEMIE + JEAN_MOULIN, csv: str | bytes | None = CSV
) -> Path:
    """config.toml (and etablissements.csv unless `csv` is None) in `directory`."""
    if isinstance(csv, str):
        (directory / "etablissements.csv").write_text(csv, encoding="utf-8")
    elif csv is not None:
        (directory / "etablissements.csv").write_bytes(csv)
    path = directory / "config.toml"
    path.write_text(toml, encoding="utf-8")
    path.chmod(0o600)
    return path
