"""The UAI, the official code of a French school: seven digits and a check letter.

The letter is the seven-digit number modulo 23, used as an index into the alphabet without
I, O and Q (which look like 1 and 0): ``ABCDEFGHJKLMNPRSTUVWXYZ``. Checked on published
codes: 0860001J (860001 mod 23 = 8, « J »), 0750654D (Lycée Louis-le-Grand, Paris:
750654 mod 23 = 3, « D »), 0860034V (860034 mod 23 = 18, « V »).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

UAI_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
"""Index = the seven-digit number modulo 23."""

_UAI_RE = re.compile(r"[0-9]{7}[A-Z]")


def uai_letter(digits: str) -> str:
    """The check letter of a seven-digit number such as « 0860001 »."""
    return UAI_LETTERS[int(digits) % len(UAI_LETTERS)]


def check_uai(value: object) -> str:
    """« 0860001j » → « 0860001J »; a malformed code or a wrong letter is refused in French."""
    if not isinstance(value, str):
        raise ValueError("doit être un code UAI entre guillemets, par exemple « 0860001J »")
    uai = value.strip().upper()
    if _UAI_RE.fullmatch(uai) is None:
        raise ValueError(
            "doit être un code UAI : sept chiffres et une lettre, par exemple « 0860001J »"
        )
    expected = uai_letter(uai[:7])
    if uai[7] != expected:
        raise ValueError(
            f"clé de contrôle erronée : pour {uai[:7]}, la lettre attendue est « {expected} » ; "
            "vérifiez le code UAI dans l’annuaire de l’éducation"
        )
    return uai


Uai = Annotated[str, BeforeValidator(check_uai)]
"""A checked UAI, in capitals."""
