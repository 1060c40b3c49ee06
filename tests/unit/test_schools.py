"""The établissements of a configuration: the implicit one of today, or a directory."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import load_config, parse_config
from bot.schools import (
    IMPLICIT_KEY,
    School,
    SchoolDirectory,
    academie_admins,
    reload_schools,
    schools_of,
)
from tests.unit.academie_files import ACADEMIE, BASE, JEAN_MOULIN, write_academie


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


# --------------------------------------------------------------------------- shared deployment


def test_schools_come_from_toml_then_csv(tmp_path: Path) -> None:
    config = load_config(write_academie(tmp_path), environ={})
    moulin, guerin, llg = schools_of(config)
    assert moulin == School(
        key="0860001J",
        name="Collège Jean Moulin",
        admins=frozenset({"@rupn.moulin:example.org"}),
        zone="A",
    )
    assert guerin.key == "0860034V" and guerin.name == "Lycée Camille Guérin"
    assert guerin.admins == {"@rupn.guerin:example.org", "@adjoint.guerin:example.org"}
    assert (llg.key, llg.zone) == ("0750654D", "C")
    assert not any(school.implicit for school in (moulin, guerin, llg))


def test_a_school_without_zone_takes_the_digest_zone(tmp_path: Path) -> None:
    csv = "uai;nom;rupn;zone\n0860034V;Lycée Camille Guérin;;\n"
    config = load_config(write_academie(tmp_path, csv=csv), environ={})
    assert [school.zone for school in schools_of(config)] == ["A", "A"]


def test_a_school_keeps_its_own_settings(tmp_path: Path) -> None:
    toml = BASE + JEAN_MOULIN + '\n[etablissements.digest]\nday = "jeudi"\nzone = "B"\n'
    toml = toml.replace('zone = "A"\n\n[etablissements', "\n[etablissements")
    [school] = schools_of(load_config(write_academie(tmp_path, toml, csv=None), environ={}))
    assert school.digest is not None and school.digest.day == "jeudi"
    assert school.zone == "B" and school.email is None and school.feeds == ()


def test_academie_admins(tmp_path: Path) -> None:
    config = load_config(write_academie(tmp_path), environ={})
    assert academie_admins(config) == {"@drane:example.org", "@dane:example.org"}
    single = load_config(write_academie(tmp_path, BASE + JEAN_MOULIN, csv=None), environ={})
    assert academie_admins(single) == frozenset()


# --------------------------------------------------------------------------- reload


def test_reload_reads_the_csv_again_and_tells_what_changed(tmp_path: Path) -> None:
    path = write_academie(tmp_path)
    config = load_config(path, environ={})
    current = schools_of(config)
    (tmp_path / "etablissements.csv").write_text(
        "uai;nom;rupn;zone\n"
        "0860034V;Lycée Camille Guérin;@nouveau.rupn:example.org;A\n"
        "0869991T;Collège des Tilleuls;@rupn.tilleuls:example.org;A\n"
        "0869992U;Lycée Curie;;A\n",
        encoding="utf-8",
    )
    outcome = reload_schools(config, current)
    assert outcome.errors == ()
    assert outcome.schools is not None and outcome.config is not None
    assert [s.key for s in outcome.schools] == ["0860001J", "0860034V", "0869991T", "0869992U"]
    assert outcome.schools[1].admins == {"@nouveau.rupn:example.org"}
    assert [s.key for s in outcome.added] == ["0869991T", "0869992U"]
    assert [s.key for s in outcome.removed] == ["0750654D"]
    assert outcome.message == (
        "Annuaire des établissements rechargé : 4 établissements (2 ajoutés, 1 retiré)."
    )
    assert schools_of(config) == current  # the configuration given is left as it was


def test_a_reload_with_errors_keeps_the_current_list(tmp_path: Path) -> None:
    config = load_config(write_academie(tmp_path), environ={})
    (tmp_path / "etablissements.csv").write_text(
        "uai;nom;rupn;zone\n0860034V;Lycée Camille Guérin;;A\n0860035X;Lycée;;A\n",
        encoding="utf-8",
    )
    outcome = reload_schools(config, schools_of(config))
    assert outcome.schools is None and outcome.config is None
    assert outcome.message == (
        "Annuaire des établissements non rechargé ; la liste actuelle est conservée :\n"
        "  etablissements.csv, ligne 3, colonne uai : clé de contrôle erronée : pour 0860035, "
        "la lettre attendue est « W » ; vérifiez le code UAI dans l’annuaire de l’éducation "
        "(reçu : « 0860035X »)"
    )


def test_a_reload_that_leaves_no_school_is_refused(tmp_path: Path) -> None:
    path = write_academie(tmp_path, BASE + ACADEMIE)
    config = load_config(path, environ={})
    (tmp_path / "etablissements.csv").write_text("uai;nom;rupn;zone\n", encoding="utf-8")
    outcome = reload_schools(config, schools_of(config))
    assert outcome.schools is None
    assert outcome.errors[0].startswith("academie : aucun établissement n’est déclaré")


def test_the_running_directory_adopts_only_a_good_reload(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = SchoolDirectory(load_config(write_academie(tmp_path), environ={}))
    assert len(directory.schools) == 3
    csv = tmp_path / "etablissements.csv"
    csv.write_text("uai;nom;rupn;zone\n0860034V;Lycée Camille Guérin;;A\n", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="bot.schools"):
        directory.reload_and_log()
    assert [s.key for s in directory.schools] == ["0860001J", "0860034V"]
    csv.write_text("uai;nom;rupn\n", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="bot.schools"):
        directory.reload_and_log()
    assert [s.key for s in directory.schools] == ["0860001J", "0860034V"]
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.INFO,
            "Annuaire des établissements rechargé : 2 établissements (1 retiré).",
        ),
        (
            logging.ERROR,
            "Annuaire des établissements non rechargé ; la liste actuelle est conservée :\n"
            "  etablissements.csv, ligne 1 : en-tête inattendu « uai;nom;rupn » : la première "
            "ligne doit être « uai;nom;rupn;zone »",
        ),
    ]


def test_reloading_a_single_school_changes_nothing(tmp_path: Path) -> None:
    config = parse_config(
        {
            "matrix": {"homeserver": "https://example.org", "user_id": "@bot:example.org"},
            "bot": {"admins": ["@rupn:example.org"]},
        },
        base_dir=tmp_path,
        environ={},
    )
    outcome = reload_schools(config, schools_of(config))
    assert outcome.schools == schools_of(config)
    assert outcome.message == (
        "Annuaire des établissements rechargé : 1 établissement (aucun ajouté ni retiré)."
    )
