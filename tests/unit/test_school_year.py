"""School years (bot/school_year.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.anonymise import ERASED_PREFIX, new_token
from bot.pseudonyms import Pseudonyms
from bot.school_year import SchoolYear, parse_school_year, school_year_of

PARIS = ZoneInfo("Europe/Paris")


def test_a_school_year_runs_from_september_to_august_in_local_time() -> None:
    # 31 August 2026 at 23h30 in Paris is still 2025-2026; 22h00 UTC is 1 September there.
    assert school_year_of(datetime(2026, 8, 31, 21, 30, tzinfo=UTC), PARIS).label == "2025-2026"
    assert school_year_of(datetime(2026, 8, 31, 22, 0, tzinfo=UTC), PARIS).label == "2026-2027"
    year = SchoolYear(2025)
    assert (year.start_date, year.end_date) == (date(2025, 9, 1), date(2026, 9, 1))
    assert year.contains(datetime(2026, 3, 1, tzinfo=PARIS), PARIS)
    assert school_year_of(datetime(2026, 8, 26, tzinfo=PARIS), PARIS, 8, 25).label == "2026-2027"


def test_school_years_are_parsed_from_their_label() -> None:
    assert parse_school_year("2025-2026") == SchoolYear(2025)
    assert parse_school_year(" 2025/2026 ").label == "2025-2026"
    for bad in ("2025-2027", "2025", "l’an dernier"):
        with pytest.raises(ValueError, match="écrivez par exemple 2025-2026"):
            parse_school_year(bad)


def test_pseudonyms_are_stable_per_year_secret_and_private(tmp_path: Path) -> None:
    keys = Pseudonyms(tmp_path)
    one = keys.reader_key("@ines:example.org", "2025-2026")
    assert one == keys.reader_key("@ines:example.org", "2025-2026")
    assert one != keys.reader_key("@ines:example.org", "2026-2027")  # rotated each year
    assert "ines" not in one
    # A lookup never draws the secret of a year without markers (nor writes the file).
    assert keys.existing_reader_keys("@ines:example.org", ["2025-2026", "2024-2025"]) == [one]
    assert "2024-2025" not in (tmp_path / "pseudonym-keys.json").read_text()
    # Kept in data_dir, readable by the bot's account only, and reloaded.
    path = tmp_path / "pseudonym-keys.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert Pseudonyms(tmp_path).reader_key("@ines:example.org", "2025-2026") == one


def test_the_former_erasure_secret_is_destroyed(tmp_path: Path) -> None:
    """Erasures used to write an HMAC of the user id: its secret must not survive."""
    path = tmp_path / "pseudonym-keys.json"
    path.write_text('{"2025-2026": "aa", "anonymous": "bb"}', encoding="utf-8")
    Pseudonyms(tmp_path)
    assert json.loads(path.read_text(encoding="utf-8")) == {"2025-2026": "aa"}


def test_erasure_tokens_are_random_and_never_user_ids() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(t.startswith(ERASED_PREFIX) and "@" not in t for t in tokens)
