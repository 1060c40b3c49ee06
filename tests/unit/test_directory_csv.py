"""The CSV directory of établissements: format, tolerance, French errors naming line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import CSV_HEADER, ConfigError, load_directory
from tests.unit.academie_files import CSV

REPO_ROOT = Path(__file__).parents[2]


def write_csv(directory: Path, text: str | bytes) -> Path:
    path = directory / "etablissements.csv"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def problems(path: Path, declared: dict[str, int] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_directory(path, declared)
    return list(caught.value.problems)


def test_each_line_is_a_school_with_several_rupn(tmp_path: Path) -> None:
    guerin, llg = load_directory(write_csv(tmp_path, CSV))
    assert (guerin.uai, guerin.nom, guerin.zone) == ("0860034V", "Lycée Camille Guérin", "A")
    assert guerin.admins == ("@rupn.guerin:example.org", "@adjoint.guerin:example.org")
    assert (llg.uai, llg.admins, llg.zone) == ("0750654D", ("@rupn.llg:example.org",), "C")


def test_bom_blank_lines_trailing_spaces_and_crlf_are_tolerated(tmp_path: Path) -> None:
    text = (
        "\ufeffUAI ; Nom ; RUPN ; Zone \r\n"
        "\r\n"
        " 0860034v ;  Lycée   Camille Guérin  ;  @rupn.guerin:example.org   ; a \r\n"
        ";;;\r\n"
        "   \r\n"
        '0750654D;"Lycée Louis-le-Grand; Paris";;\r\n'
    )
    guerin, llg = load_directory(write_csv(tmp_path, text.encode("utf-8")))
    assert (guerin.uai, guerin.nom, guerin.admins, guerin.zone) == (
        "0860034V",
        "Lycée Camille Guérin",
        ("@rupn.guerin:example.org",),
        "A",
    )
    assert (llg.nom, llg.admins, llg.zone) == ("Lycée Louis-le-Grand; Paris", (), None)


def test_an_unknown_header_is_refused_with_the_expected_one(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "\nuai;nom;referents;zone\n0860001J;Collège;;A\n")
    assert problems(path) == [
        "etablissements.csv, ligne 2 : en-tête inattendu « uai;nom;referents;zone » : la "
        "première ligne doit être « uai;nom;rupn;zone »"
    ]
    assert CSV_HEADER == ("uai", "nom", "rupn", "zone")


def test_a_comma_separated_file_is_explained(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "uai,nom,rupn,zone\n0860001J,Collège,,A\n")
    assert problems(path) == [
        "etablissements.csv, ligne 1 : en-tête inattendu « uai,nom,rupn,zone » : la première "
        "ligne doit être « uai;nom;rupn;zone » ; les colonnes se séparent par « ; », pas par "
        "« , »"
    ]


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    assert problems(write_csv(tmp_path, "\n\n")) == [
        "etablissements.csv : fichier vide ; la première ligne doit être « uai;nom;rupn;zone »"
    ]


def test_a_header_only_file_has_no_school(tmp_path: Path) -> None:
    assert load_directory(write_csv(tmp_path, "uai;nom;rupn;zone\n")) == ()


def test_every_bad_line_is_named_with_its_column(tmp_path: Path) -> None:
    text = (
        "uai;nom;rupn;zone\n"
        "0860001J;Collège Jean Moulin;@rupn:example.org;A\n"
        "0860034K;Lycée Camille Guérin;@rupn:example.org;A\n"
        "0750654D;;@rupn:example.org;C\n"
        "0860002K;Collège;@rupn:example.org Bob;D\n"
        "0860001J;Collège en double;;A\n"
        "0860003L;Collège;A\n"
    )
    assert problems(write_csv(tmp_path, text)) == [
        "etablissements.csv, ligne 3, colonne uai : clé de contrôle erronée : pour 0860034, la "
        "lettre attendue est « V » ; vérifiez le code UAI dans l’annuaire de l’éducation "
        "(reçu : « 0860034K »)",
        "etablissements.csv, ligne 4, colonne nom : ne doit pas être vide (reçu : une chaîne vide)",
        "etablissements.csv, ligne 5, colonne rupn : doit être un identifiant Matrix de la forme "
        "@nom:serveur, par exemple @prenom.nom:agent.education.tchap.gouv.fr (reçu : « Bob »)",
        "etablissements.csv, ligne 5, colonne zone : valeur attendue : « A », « B » ou « C » "
        "(reçu : « D »)",
        "etablissements.csv, ligne 6, colonne uai : l’établissement 0860001J figure déjà ligne 2",
        "etablissements.csv, ligne 7 : 3 colonnes au lieu de 4 (uai;nom;rupn;zone)",
    ]


def test_a_school_also_in_the_toml_file_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "uai;nom;rupn;zone\n0860001J;Collège Jean Moulin;;A\n")
    assert problems(path, {"0860001J": 0}) == [
        "etablissements.csv, ligne 2, colonne uai : l’établissement 0860001J est déjà déclaré "
        "dans etablissements[0] du fichier de configuration : déclarez-le à un seul endroit"
    ]


def test_a_file_that_is_not_utf8_is_explained(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "uai;nom;rupn;zone\n0860034V;Lycée Guérin;;A\n".encode("cp1252"))
    assert problems(path) == [
        "etablissements.csv, ligne 2 : le fichier n’est pas encodé en UTF-8 (dans le tableur, "
        "enregistrez-le au format « CSV UTF-8 »)"
    ]


def test_a_missing_file_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"
    assert problems(path) == [
        f"academie.etablissements : fichier des établissements introuvable : {path}"
    ]


def test_hundreds_of_errors_are_cut_after_twenty(tmp_path: Path) -> None:
    text = "uai;nom;rupn;zone\n" + "0860001A;Collège;;A\n" * 25
    found = problems(write_csv(tmp_path, text))
    assert len(found) == 21
    assert found[-1] == "… et 5 autres erreurs"


def test_the_sample_directory_of_the_documentation_is_valid() -> None:
    schools = load_directory(REPO_ROOT / "docs" / "etablissements.csv")
    assert len(schools) >= 3
    assert all(school.admins for school in schools)
