"""What the three-schools scene (test_schools.py) checks beyond isolation: the bilans'
files and the académie's figures."""

from __future__ import annotations

import csv
import io
import statistics

from devtools.participant import Participant, SeenMessage
from digests.bilan.csv_contract import as_written, csv_value, parse_value
from digests.bilan.model import INDICATORS, Value
from tests.e2e.conftest import download


async def uploaded_files(
    who: Participant, bot_id: str, room_id: str, text: str, name: str, after: int
) -> dict[str, bytes]:
    """`who` types `text` (a bilan command) in `room_id`: the three files whose names
    start with `name`, decrypted."""
    await who.send_text(room_id, text)
    files: dict[str, bytes] = {}

    def uploaded(message: SeenMessage) -> bool:
        return (
            message.sender == bot_id
            and message.room_id == room_id
            and message.msgtype == "m.file"
            and message.body.startswith(name)
            and message.body not in files
        )

    for _ in range(3):
        upload = await who.wait_for(uploaded, after=after, timeout=60)
        files[upload.body] = await download(who, upload)
    return files


def csv_of(files: dict[str, bytes]) -> dict[str, str]:
    """The `cle` → `valeur` of the bilan's CSV among `files`."""
    [data] = [v for k, v in files.items() if k.endswith(".csv")]
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["section", "cle", "indicateur", "valeur"]
    return {row[1]: row[3] for row in rows[1:]}


def academie_expected(schools: list[dict[str, str]]) -> dict[str, str]:
    """The académie's CSV values computed from its schools' CSVs: a count's total, the
    median of the schools measured otherwise; how many schools have each above zero."""
    expected = {"etablissements_servis": str(len(schools))}
    for indicator in INDICATORS:
        values = [parse_value(school[indicator.key]) for school in schools]
        measured = [v for v in values if v is not None]
        value: Value
        if indicator.summed:
            value = sum(measured)
        else:
            value = as_written(statistics.median(measured)) if measured else None
        expected[indicator.key] = csv_value(value)
        expected[f"{indicator.key}_etablissements"] = str(sum(1 for v in measured if v > 0))
    return expected
