"""The UAI check: seven digits and the letter of their number modulo 23."""

from __future__ import annotations

import pytest

from bot.config import check_uai, uai_letter


@pytest.mark.parametrize(
    ("uai", "why"),
    [
        ("0860001J", "860001 = 23 × 37391 + 8, and J is the ninth letter without I, O, Q"),
        ("0750654D", "Lycée Louis-le-Grand, Paris: 750654 mod 23 = 3"),
        ("0860034V", "860034 mod 23 = 18"),
        ("0000000A", "0 mod 23 = 0"),
        ("0000022Z", "22 mod 23 = 22, the last letter"),
        ("9999999P", "9999999 = 23 × 434782 + 13"),
    ],
)
def test_valid_uai_are_accepted(uai: str, why: str) -> None:
    assert check_uai(uai) == uai, why


def test_a_lower_case_letter_and_spaces_are_normalised() -> None:
    assert check_uai("  0860001j ") == "0860001J"


def test_the_alphabet_skips_i_o_and_q() -> None:
    letters = {uai_letter(f"{n:07d}") for n in range(23)}
    assert letters == set("ABCDEFGHJKLMNPRSTUVWXYZ")
    assert uai_letter("0000008") == "J"  # not I


@pytest.mark.parametrize("wrong", ["0860001A", "0860001K", "0750654C"])
def test_a_wrong_key_is_refused_with_the_expected_letter(wrong: str) -> None:
    with pytest.raises(ValueError, match="clé de contrôle") as caught:
        check_uai(wrong)
    digits = wrong[:7]
    expected = {"0860001": "J", "0750654": "D"}[digits]
    assert str(caught.value) == (
        f"clé de contrôle erronée : pour {digits}, la lettre attendue est « {expected} » ; "
        "vérifiez le code UAI dans l’annuaire de l’éducation"
    )


@pytest.mark.parametrize(
    "malformed", ["", "086001J", "08600012J", "0860001", "A860001J", "0860001-"]
)
def test_a_malformed_code_is_refused(malformed: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_uai(malformed)
    assert str(caught.value) == (
        "doit être un code UAI : sept chiffres et une lettre, par exemple « 0860001J »"
    )


def test_a_number_is_refused_as_not_text() -> None:
    with pytest.raises(ValueError, match="entre guillemets"):
        check_uai(860001)
