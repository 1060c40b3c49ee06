"""The `[assistance]` section: the commented example, a school's own desk, the mailbox
password from the environment only, and the French errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import cli
from bot.config import ConfigError, load_config
from bot.context import Settings
from bot.schools import schools_of
from tests.unit.academie_files import BASE, JEAN_MOULIN, write_academie
from tests.unit.test_config import EXAMPLE, VALID, write

EMAIL = """
[email]
smtp_host = "smtp.ac-exemple.fr"
from = "rupn-bot@clg-exemple.fr"
to = ["equipe@clg-exemple.fr"]
"""
ASSISTANCE = """
[assistance]
to = "assistance@ac-exemple.fr"
imap_host = "imap.ac-exemple.fr"
imap_user = "rupn-bot@clg-exemple.fr"
"""


def problems(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ or {})
    return list(caught.value.problems)


def test_the_commented_example_section_is_valid(tmp_path: Path) -> None:
    example = EXAMPLE.read_text(encoding="utf-8")
    section = example.split("# [assistance]\n", 1)[1].split("\n\n", 1)[0]
    uncommented = "\n".join(
        line.removeprefix("# ") for line in section.splitlines() if " = " in line
    )
    path = write(tmp_path, VALID + EMAIL + "\n[assistance]\n" + uncommented + "\n")
    config = load_config(path, environ={"RUPN_IMAP_PASSWORD": "secret-imap"})
    section_read = config.assistance
    assert section_read is not None
    assert section_read.to == "assistance@ac-exemple.fr"
    assert section_read.imap_port == 993 and section_read.imap_security == "tls"
    assert section_read.password_value() == "secret-imap"
    assert section_read.ticket_pattern == r"\[GLPI #(\d+)\]"
    assert section_read.categories == {
        "vidéoprojecteur": "support@region-exemple.fr",
        "réseau": "reseau@region-exemple.fr",
    }
    desk = Settings.from_config(config, broadcast_rooms=(), digest_rooms=()).assistance
    assert desk is not None
    assert (desk.to, desk.reply_to, desk.uai, desk.follow_up_days) == (
        "assistance@ac-exemple.fr", "rupn-bot@clg-exemple.fr", "0860001J", 5,
    )  # fmt: skip
    assert config.warnings() == []


def test_without_the_section_nothing_is_set_up(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID), environ={})
    assert config.assistance is None
    assert Settings.from_config(config, broadcast_rooms=(), digest_rooms=()).assistance is None


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            'imap_password = "x"\n',
            "assistance.imap_password : n’écrivez pas le mot de passe de la boîte aux lettres "
            "dans le fichier ; donnez-le par la variable RUPN_IMAP_PASSWORD.",
        ),
        (
            'ticket_pattern = "GLPI #\\\\d+"\n',
            "assistance.ticket_pattern : doit contenir exactement un groupe entre parenthèses, "
            "le numéro du ticket (par exemple « \\[GLPI #(\\d+)\\] ») (reçu : « GLPI #\\d+ »)",
        ),
        (
            'ticket_pattern = "[GLPI"\n',
            "assistance.ticket_pattern : n’est pas une expression régulière valide (par exemple "
            "« \\[GLPI #(\\d+)\\] ») (reçu : « [GLPI »)",
        ),
    ],
)
def test_bad_values_are_explained(tmp_path: Path, extra: str, expected: str) -> None:
    path = write(tmp_path, VALID + EMAIL + ASSISTANCE + extra)
    assert problems(path) == [expected]


def test_tickets_need_the_email_relay(tmp_path: Path) -> None:
    assert problems(write(tmp_path, VALID + ASSISTANCE)) == [
        "assistance : les tickets partent par le serveur de courriel de la section [email] "
        "(smtp_host, from), qui manque"
    ]


def test_a_school_has_its_own_desk_and_the_bot_s_mailbox(tmp_path: Path) -> None:
    own = (
        '\n[etablissements.assistance]\nto = "support@departement-exemple.fr"\nrelance_jours = 3\n'
    )
    path = write_academie(tmp_path, BASE + EMAIL + ASSISTANCE + JEAN_MOULIN + own, csv=None)
    config = load_config(path, environ={})
    [school] = schools_of(config)
    settings = Settings.from_config(config, broadcast_rooms=(), digest_rooms=())
    desk = settings.for_school(school).assistance
    assert desk is not None
    assert (desk.to, desk.reply_to, desk.follow_up_days) == (
        "support@departement-exemple.fr", "rupn-bot@clg-exemple.fr", 3,
    )  # fmt: skip
    assert (desk.school_name, desk.uai) == (school.name, school.key)


def test_a_school_s_desk_needs_the_bot_s_section(tmp_path: Path) -> None:
    own = '\n[etablissements.assistance]\nto = "support@departement-exemple.fr"\n'
    path = write_academie(tmp_path, BASE + EMAIL + JEAN_MOULIN + own, csv=None)
    assert problems(path) == [
        "etablissements : etablissements[0] a son propre service d’assistance, mais la "
        "section [assistance] manque (la boîte aux lettres du bot, imap_host et imap_user, "
        "est commune)"
    ]


def test_check_config_says_where_tickets_go(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    categories = 'categories = { "réseau" = "reseau@region-exemple.fr" }\n'
    path = write(tmp_path, VALID + EMAIL + ASSISTANCE + categories)
    assert cli.main(["check-config", "--config", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        "  signalement des pannes (!panne) : tickets vers assistance@ac-exemple.fr (1 "
        "catégorie(s) vers un autre service), réponses lues dans rupn-bot@clg-exemple.fr sur "
        "imap.ac-exemple.fr:993 (tls)" in lines
    )
    assert (
        "Attention : assistance : la variable RUPN_IMAP_PASSWORD est vide : le bot ne pourra "
        "pas lire les réponses du service d’assistance dans sa boîte aux lettres." in lines
    )
    path = write(tmp_path, VALID)
    assert cli.main(["check-config", "--config", str(path)]) == 0
    assert (
        "  signalement des pannes (!panne) : non configuré (section [assistance])"
        in capsys.readouterr().out.splitlines()
    )
