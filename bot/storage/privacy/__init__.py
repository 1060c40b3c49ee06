"""Personal data: what is held about a person, erasure, and expiry after the retention.

- `columns.py`: every column of every table, classified (personal or not, and how old);
- `requests.py`: `!mesdonnees` waiting for a direct room;
- `held.py`: what is held about one person (a lookup, no writes);
- `erasure.py`: `!mesdonnees effacer`;
- `expiry.py`: the retention.
"""

from __future__ import annotations

from bot.schools import IMPLICIT_KEY
from bot.storage.database import Database
from bot.storage.privacy.erasure import Erasure, PersonErasure
from bot.storage.privacy.expiry import PRUNED_KEY, Expiry
from bot.storage.privacy.held import HeldData, HeldRequest, HeldSignup, HeldVote, PersonalData
from bot.storage.privacy.requests import Action, PrivacyRequest, PrivacyRequests

__all__ = [
    "PRUNED_KEY",
    "Action",
    "Erasure",
    "HeldRequest",
    "HeldSignup",
    "HeldVote",
    "PersonalData",
    "PrivacyRepository",
    "PrivacyRequest",
]


class PrivacyRepository(PrivacyRequests, HeldData, PersonErasure, Expiry):
    """The four parts above over one database. They are about a person, not a school:
    what is shown (`held`, grouped by school), the requests waiting, erasure and retention
    act on the person's rows anywhere (seeing and erasing one's own data is the person's
    right, whatever the school); `school` only records where a request was typed."""

    def __init__(self, db: Database, school: str = IMPLICIT_KEY) -> None:
        self._db = db
        self._school = school
