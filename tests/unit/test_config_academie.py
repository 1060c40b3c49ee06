"""The configuration of a shared deployment: [academie], [[etablissements]] and their rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from tests.unit.academie_files import ACADEMIE, BASE, JEAN_MOULIN, write_academie

REPO_ROOT = Path(__file__).parents[2]


def problems(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={} if environ is None else environ)
    return list(caught.value.problems)


def test_academie_toml_schools_and_csv_are_read_together(tmp_path: Path) -> None:
    config = load_config(write_academie(tmp_path), environ={})
    assert config.shared
    assert config.academie is not None
    assert config.academie.nom == "Académie de Poitiers"
    assert config.academie.admins == ("@drane:example.org", "@dane:example.org")
    assert config.academie.etablissements == tmp_path / "etablissements.csv"
    assert [s.uai for s in config.etablissements] == ["0860001J"]
    assert [s.uai for s in config.directory] == ["0860034V", "0750654D"]
    assert config.bot.admins == ()


def test_the_csv_path_is_relative_to_the_configuration_file(tmp_path: Path) -> None:
    (tmp_path / "annuaire").mkdir()
    (tmp_path / "annuaire" / "liste.csv").write_text(
        "uai;nom;rupn;zone\n0860034V;Lycée Camille Guérin;;\n", encoding="utf-8"
    )
    toml = BASE + ACADEMIE.replace('"etablissements.csv"', '"annuaire/liste.csv"')
    config = load_config(write_academie(tmp_path, toml, csv=None), environ={})
    assert [s.nom for s in config.directory] == ["Lycée Camille Guérin"]


def test_bot_admins_are_refused_once_schools_are_declared(tmp_path: Path) -> None:
    toml = (BASE + JEAN_MOULIN).replace("[bot]\n", '[bot]\nadmins = ["@rupn:example.org"]\n')
    assert problems(write_academie(tmp_path, toml, csv=None)) == [
        "bot.admins : n’a plus cours quand des établissements sont déclarés : indiquez les RUPN "
        "de chaque établissement dans [[etablissements]] admins ou dans la colonne rupn du "
        "fichier CSV, et les administrateurs de l’académie dans [academie] admins"
    ]


def test_bot_admins_stay_required_without_schools(tmp_path: Path) -> None:
    assert problems(write_academie(tmp_path, BASE, csv=None)) == [
        "bot.admins : clé obligatoire absente"
    ]
    toml = BASE.replace("[bot]\n", "[bot]\nadmins = []\n")
    assert problems(write_academie(tmp_path, toml, csv=None)) == [
        "bot.admins : doit contenir au moins un élément (reçu : une liste vide)"
    ]


def test_toml_schools_without_academie_are_a_shared_deployment(tmp_path: Path) -> None:
    config = load_config(write_academie(tmp_path, BASE + JEAN_MOULIN, csv=None), environ={})
    assert config.shared and config.academie is None
    assert config.etablissements[0].admins == ("@rupn.moulin:example.org",)


def test_an_academie_without_any_school_is_refused(tmp_path: Path) -> None:
    toml = BASE + ACADEMIE.replace('etablissements = "etablissements.csv"\n', "")
    assert problems(write_academie(tmp_path, toml, csv=None)) == [
        "academie : aucun établissement n’est déclaré : indiquez le fichier des établissements "
        '(academie.etablissements = "etablissements.csv") ou au moins une section '
        "[[etablissements]]"
    ]


def test_a_uai_declared_twice_in_toml_is_refused(tmp_path: Path) -> None:
    toml = BASE + JEAN_MOULIN + JEAN_MOULIN.replace("Jean Moulin", "Jean Moulin bis")
    assert problems(write_academie(tmp_path, toml, csv=None)) == [
        "etablissements : l’établissement 0860001J est déclaré deux fois (etablissements[0] et "
        "etablissements[1]) : déclarez-le une seule fois"
    ]


def test_a_uai_both_in_toml_and_csv_is_refused(tmp_path: Path) -> None:
    csv = "uai;nom;rupn;zone\n0860034V;Lycée Camille Guérin;;A\n0860001j;Collège Jean Moulin;;A\n"
    assert problems(write_academie(tmp_path, csv=csv)) == [
        "etablissements.csv, ligne 3, colonne uai : l’établissement 0860001J est déjà déclaré "
        "dans etablissements[0] du fichier de configuration : déclarez-le à un seul endroit"
    ]


@pytest.mark.parametrize(
    ("line", "replacement", "expected"),
    [
        (
            'uai = "0860001J"',
            'uai = "0860001K"',
            "etablissements[0].uai : clé de contrôle erronée : pour 0860001, la lettre attendue "
            "est « J » ; vérifiez le code UAI dans l’annuaire de l’éducation (reçu : « 0860001K »)",
        ),
        (
            'uai = "0860001J"',
            "uai = 860001",
            "etablissements[0].uai : doit être un code UAI entre guillemets, par exemple "
            "« 0860001J » (reçu : 860001)",
        ),
        (
            'admins = ["@rupn.moulin:example.org"]',
            'admins = ["rupn.moulin"]',
            "etablissements[0].admins[0] : doit être un identifiant Matrix de la forme "
            "@nom:serveur, par exemple @prenom.nom:agent.education.tchap.gouv.fr "
            "(reçu : « rupn.moulin »)",
        ),
        (
            'zone = "A"',
            'zone = "Corse"',
            "etablissements[0].zone : valeur attendue : « A », « B » ou « C » (reçu : « CORSE »)",
        ),
        (
            'nom = "Collège Jean Moulin"',
            'nom = "  "',
            "etablissements[0].nom : ne doit pas être vide (reçu : une chaîne vide)",
        ),
        (
            'zone = "A"',
            'zone = "A"\nrupn = ["@x:example.org"]',
            "etablissements[0].rupn : clé inconnue (clés possibles : uai, nom, admins, zone, "
            "digest, email, feeds, assistance)",
        ),
    ],
)
def test_bad_school_entries_are_explained_naming_the_key(
    tmp_path: Path, line: str, replacement: str, expected: str
) -> None:
    toml = BASE + JEAN_MOULIN.replace(line, replacement)
    assert problems(write_academie(tmp_path, toml, csv=None)) == [expected]


def test_bad_academie_keys_are_explained(tmp_path: Path) -> None:
    toml = BASE + ACADEMIE.replace('"@dane:example.org"', '"DANE"') + JEAN_MOULIN
    assert problems(write_academie(tmp_path, toml)) == [
        "academie.admins[1] : doit être un identifiant Matrix de la forme @nom:serveur, par "
        "exemple @prenom.nom:agent.education.tchap.gouv.fr (reçu : « DANE »)"
    ]


def test_a_school_may_have_its_own_digest_email_and_feeds(tmp_path: Path) -> None:
    own = (
        '\n[etablissements.digest]\nday = "jeudi"\ntime = "12h"\n'
        '\n[etablissements.email]\nsmtp_host = "smtp.clg.example.org"\n'
        'from = "rupn@clg.example.org"\n'
        'to = ["equipe@clg.example.org"]\n'
        '\n[[etablissements.feeds]]\nname = "Le CDI"\nurl = "https://cdi.example.org/rss"\n'
    )
    path = write_academie(tmp_path, BASE + JEAN_MOULIN + own, csv=None)
    config = load_config(path, environ={"RUPN_SMTP_PASSWORD": "secret-smtp"})
    [school] = config.etablissements
    assert school.digest is not None and school.digest.day == "jeudi"
    assert school.email is not None and school.email.password_value() == "secret-smtp"
    assert [feed.name for feed in school.feeds] == ["Le CDI"]


def test_two_different_zones_for_one_school_are_refused(tmp_path: Path) -> None:
    toml = BASE + JEAN_MOULIN + '\n[etablissements.digest]\nzone = "B"\n'
    assert problems(write_academie(tmp_path, toml, csv=None)) == [
        "etablissements[0] : deux zones différentes : zone = « A » et digest.zone = « B » ; "
        "gardez seulement zone"
    ]


def test_a_school_email_password_in_the_file_is_refused(tmp_path: Path) -> None:
    own = (
        '\n[etablissements.email]\nsmtp_host = "smtp.example.org"\nfrom = "a@example.org"\n'
        'to = ["b@example.org"]\npassword = "ne-pas-ecrire"\n'
    )
    assert problems(write_academie(tmp_path, BASE + JEAN_MOULIN + own, csv=None)) == [
        "etablissements[0].email.password : n’écrivez pas le mot de passe du courriel dans le "
        "fichier ; donnez-le par la variable d’environnement RUPN_SMTP_PASSWORD."
    ]


def test_csv_errors_are_configuration_errors(tmp_path: Path) -> None:
    path = write_academie(tmp_path, csv="uai;nom;rupn;zone\n0860034V;Lycée;@rupn;A\n")
    assert problems(path) == [
        "etablissements.csv, ligne 2, colonne rupn : doit être un identifiant Matrix de la forme "
        "@nom:serveur, par exemple @prenom.nom:agent.education.tchap.gouv.fr (reçu : « @rupn »)"
    ]


def test_schools_without_rupn_or_zone_are_warned_about(tmp_path: Path) -> None:
    toml = (BASE + ACADEMIE + JEAN_MOULIN).replace('zone = "A"\n', "")
    csv = "uai;nom;rupn;zone\n0860034V;Lycée Camille Guérin;;\n"
    config = load_config(write_academie(tmp_path, toml, csv), environ={})
    assert config.warnings() == [
        "établissements sans RUPN (1) : 0860034V ; personne ne peut y utiliser les commandes "
        "d’administration. Indiquez leurs RUPN (admins, ou colonne rupn du fichier CSV).",
        "établissements sans zone de vacances (2) : 0860001J, 0860034V ; leur lettre partira "
        "aussi pendant les vacances scolaires. Indiquez leur zone, ou celle de l’académie dans "
        "digest.zone.",
    ]


def test_the_commented_academie_example_is_valid(tmp_path: Path) -> None:
    """Uncommenting the example's académie part (and removing [bot] admins) gives a valid file."""
    example = (REPO_ROOT / "config.example.toml").read_text(encoding="utf-8")
    head, academie = example.split("# Pour une académie", 1)
    head = head.replace('admins = ["@rupn:example.org"]\n', "")
    uncommented = "\n".join(
        line.removeprefix("# ")
        for line in academie.splitlines()
        if line.startswith(("# [", "# nom =", "# admins =", "# etablissements =", "# uai ="))
        or line.startswith(("# zone =", "# day =", "# time ="))
    )
    (tmp_path / "etablissements.csv").write_bytes(
        (REPO_ROOT / "docs" / "etablissements.csv").read_bytes()
    )
    path = write_academie(tmp_path, head + "\n" + uncommented + "\n", csv=None)
    config = load_config(path, environ={})
    assert config.academie is not None and config.academie.nom == "Académie de Poitiers"
    assert [school.nom for school in config.etablissements] == ["Collège des Peupliers"]
    assert len(config.directory) == 5
