"""Ateliers and cafés numériques, their sign-ups, waiting lists and attendance."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import aiosqlite

from bot.schools import IMPLICIT_KEY
from bot.storage.database import Database, loaded, loaded_or_none, required, stored

Kind = Literal["atelier", "cafe"]
SignupStatus = Literal["confirmed", "waiting", "cancelled"]


@dataclass(frozen=True, slots=True)
class Workshop:
    id: int
    kind: Kind
    theme: str
    starts_at: datetime
    duration_minutes: int
    place: str | None
    capacity: int | None
    minimum: int | None
    minimum_checked: bool
    organiser: str
    rooms: tuple[str, ...]
    status: Literal["planned", "cancelled", "done"]
    poll_id: int | None
    reminded_day: bool
    reminded_hour: bool
    feedback_poll_id: int | None
    notice_stale_since: datetime | None = None  # a sign-up changed, the notices do not show it
    notice_edited_at: datetime | None = None  # when the notices were last posted or edited
    number: int = 0  # what the RUPN sees and types, counted per school


@dataclass(frozen=True, slots=True)
class Signup:
    user_id: str
    status: SignupStatus
    via: str
    reaction_event_id: str | None
    signed_up_at: datetime
    attended: bool | None


@dataclass(frozen=True, slots=True)
class SignupChange:
    """What a sign-up or a cancellation did, so the handler can tell the people concerned."""

    workshop_id: int
    user_id: str
    before: SignupStatus | None  # None: was not signed up
    after: SignupStatus | None
    promoted: str | None = None  # who left the waiting list thanks to this cancellation


_COLUMNS = (
    "id, kind, theme, starts_at, duration_minutes, place, capacity, minimum, minimum_checked, "
    "organiser, rooms, status, poll_id, reminded_day, reminded_hour, feedback_poll_id, "
    "notice_stale_since, notice_edited_at, number"
)


def _to_workshop(row: aiosqlite.Row) -> Workshop:
    return Workshop(
        id=row["id"],
        kind=row["kind"],
        theme=row["theme"],
        starts_at=loaded(row["starts_at"]),
        duration_minutes=row["duration_minutes"],
        place=row["place"],
        capacity=row["capacity"],
        minimum=row["minimum"],
        minimum_checked=bool(row["minimum_checked"]),
        organiser=row["organiser"],
        rooms=tuple(json.loads(row["rooms"])),
        status=row["status"],
        poll_id=row["poll_id"],
        reminded_day=bool(row["reminded_day"]),
        reminded_hour=bool(row["reminded_hour"]),
        feedback_poll_id=row["feedback_poll_id"],
        notice_stale_since=loaded_or_none(row["notice_stale_since"]),
        notice_edited_at=loaded_or_none(row["notice_edited_at"]),
        number=row["number"],
    )


class WorkshopsRepository:
    """One établissement's workshops (and, through them, their sign-ups)."""

    def __init__(self, db: Database, school: str = IMPLICIT_KEY) -> None:
        self._db = db
        self._school = school

    async def create(
        self,
        *,
        kind: Kind,
        theme: str,
        starts_at: datetime,
        place: str | None,
        capacity: int | None,
        minimum: int | None,
        organiser: str,
        rooms: Sequence[str],
        now: datetime,
        duration_minutes: int = 60,
        poll_id: int | None = None,
    ) -> Workshop:
        new_id = await self._db.execute(
            "INSERT INTO workshops (kind, theme, starts_at, duration_minutes, place, capacity,"
            " minimum, organiser, rooms, status, created_at, updated_at, poll_id, school)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'planned', ?, ?, ?, ?)",
            (
                kind,
                theme,
                stored(starts_at),
                duration_minutes,
                place,
                capacity,
                minimum,
                organiser,
                json.dumps(list(rooms)),
                stored(now),
                stored(now),
                poll_id,
                self._school,
            ),
        )
        return required(await self.get(int(new_id or 0)), "new workshop")

    async def get(self, workshop_id: int) -> Workshop | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM workshops WHERE id = ? AND school = ?",  # noqa: S608
            (workshop_id, self._school),
        )
        return _to_workshop(row) if row else None

    async def get_number(self, number: int) -> Workshop | None:
        """The workshop a RUPN or a teacher names by its number (n° 3), in this school only."""
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM workshops WHERE number = ? AND school = ?",  # noqa: S608
            (number, self._school),
        )
        return _to_workshop(row) if row else None

    async def upcoming(self, now: datetime) -> list[Workshop]:
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM workshops WHERE status = 'planned'"  # noqa: S608
            " AND starts_at >= ? AND school = ? ORDER BY starts_at, id",
            (stored(now), self._school),
        )
        return [_to_workshop(r) for r in rows]

    async def planned_before(self, moment: datetime) -> list[Workshop]:
        """Planned workshops starting before `moment` (for reminders and checks)."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM workshops WHERE status = 'planned'"  # noqa: S608
            " AND starts_at <= ? AND school = ? ORDER BY starts_at, id",
            (stored(moment), self._school),
        )
        return [_to_workshop(r) for r in rows]

    async def reschedule(
        self, workshop_id: int, *, starts_at: datetime, place: str | None, now: datetime
    ) -> None:
        """A new date resets the reminders, which are then due again."""
        await self._db.execute(
            "UPDATE workshops SET starts_at = ?, place = ?, updated_at = ?, reminded_day = 0,"
            " reminded_hour = 0, minimum_checked = 0 WHERE id = ?",
            (stored(starts_at), place, stored(now), workshop_id),
        )

    async def set_status(
        self, workshop_id: int, status: Literal["planned", "cancelled", "done"], now: datetime
    ) -> None:
        await self._db.execute(
            "UPDATE workshops SET status = ?, updated_at = ? WHERE id = ?",
            (status, stored(now), workshop_id),
        )

    async def mark(
        self, workshop_id: int, flag: Literal["reminded_day", "reminded_hour", "minimum_checked"]
    ) -> None:
        await self._db.execute(
            f"UPDATE workshops SET {flag} = 1 WHERE id = ?",  # noqa: S608 - flag is a Literal
            (workshop_id,),
        )

    async def set_feedback_poll(self, workshop_id: int, poll_id: int) -> None:
        await self._db.execute(
            "UPDATE workshops SET feedback_poll_id = ? WHERE id = ?", (poll_id, workshop_id)
        )

    async def signups(self, workshop_id: int) -> list[Signup]:
        """Confirmed first, then the waiting list in order; cancelled ones last."""
        rows = await self._db.fetchall(
            "SELECT user_id, status, via, reaction_event_id, signed_up_at, attended"
            " FROM workshop_signups WHERE workshop_id = ?"
            " ORDER BY CASE status WHEN 'confirmed' THEN 0 WHEN 'waiting' THEN 1 ELSE 2 END,"
            " signed_up_at, id",
            (workshop_id,),
        )
        return [
            Signup(
                user_id=r["user_id"],
                status=r["status"],
                via=r["via"],
                reaction_event_id=r["reaction_event_id"],
                signed_up_at=loaded(r["signed_up_at"]),
                attended=None if r["attended"] is None else bool(r["attended"]),
            )
            for r in rows
        ]

    async def sign_up(
        self,
        workshop: Workshop,
        user_id: str,
        *,
        via: Literal["reaction", "command", "poll"],
        now: datetime,
        reaction_event_id: str | None = None,
    ) -> SignupChange:
        """Confirmed if a place is free, else on the waiting list; no-op if already signed up."""
        current = {s.user_id: s for s in await self.signups(workshop.id)}
        mine = current.get(user_id)
        if mine is not None and mine.status != "cancelled":
            if reaction_event_id and mine.reaction_event_id is None:
                await self._db.execute(
                    "UPDATE workshop_signups SET reaction_event_id = ?"
                    " WHERE workshop_id = ? AND user_id = ?",
                    (reaction_event_id, workshop.id, user_id),
                )
            return SignupChange(workshop.id, user_id, mine.status, mine.status)
        confirmed = sum(1 for s in current.values() if s.status == "confirmed")
        full = workshop.capacity is not None and confirmed >= workshop.capacity
        status: SignupStatus = "waiting" if full else "confirmed"
        await self._db.execute(
            "INSERT INTO workshop_signups (workshop_id, user_id, via, reaction_event_id, status,"
            " signed_up_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (workshop_id, user_id) DO UPDATE SET via = excluded.via,"
            " reaction_event_id = excluded.reaction_event_id, status = excluded.status,"
            " signed_up_at = excluded.signed_up_at, cancelled_at = NULL",
            (workshop.id, user_id, via, reaction_event_id, status, stored(now)),
        )
        await self._notice_stale(workshop.id, now)
        return SignupChange(workshop.id, user_id, None, status)

    async def cancel(self, workshop: Workshop, user_id: str, now: datetime) -> SignupChange:
        """Cancel a sign-up; a freed place goes to the first on the waiting list."""
        current = {s.user_id: s for s in await self.signups(workshop.id)}
        mine = current.get(user_id)
        if mine is None or mine.status == "cancelled":
            return SignupChange(workshop.id, user_id, None, None)
        await self._db.execute(
            "UPDATE workshop_signups SET status = 'cancelled', cancelled_at = ?,"
            " reaction_event_id = NULL WHERE workshop_id = ? AND user_id = ?",
            (stored(now), workshop.id, user_id),
        )
        promoted = None
        if mine.status == "confirmed":
            waiting = [s for s in current.values() if s.status == "waiting"]
            if waiting:
                promoted = waiting[0].user_id  # signups() returns the waiting list in order
                await self._db.execute(
                    "UPDATE workshop_signups SET status = 'confirmed'"
                    " WHERE workshop_id = ? AND user_id = ?",
                    (workshop.id, promoted),
                )
        await self._notice_stale(workshop.id, now)
        return SignupChange(workshop.id, user_id, mine.status, None, promoted)

    async def _notice_stale(self, workshop_id: int, now: datetime) -> None:
        """The notices no longer show the sign-ups: keep the time of the first such change."""
        await self._db.execute(
            "UPDATE workshops SET notice_stale_since = COALESCE(notice_stale_since, ?)"
            " WHERE id = ?",
            (stored(now), workshop_id),
        )

    async def notices_shown(self, workshop_id: int, *, edited_at: datetime | None) -> None:
        """The notices show the current sign-ups (posted or edited at `edited_at`; None when
        nothing had to be posted)."""
        if edited_at is None:
            await self._db.execute(
                "UPDATE workshops SET notice_stale_since = NULL WHERE id = ?", (workshop_id,)
            )
            return
        await self._db.execute(
            "UPDATE workshops SET notice_stale_since = NULL, notice_edited_at = ? WHERE id = ?",
            (stored(edited_at), workshop_id),
        )

    async def stale_notices(
        self, now: datetime, *, changed_before: datetime, edited_before: datetime
    ) -> list[Workshop]:
        """Planned, upcoming workshops with a sign-up change not shown since `changed_before`
        or earlier, whose notices were last posted or edited at `edited_before` or earlier."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM workshops WHERE notice_stale_since IS NOT NULL"  # noqa: S608
            " AND notice_stale_since <= ? AND status = 'planned' AND starts_at > ?"
            " AND (notice_edited_at IS NULL OR notice_edited_at <= ?) AND school = ?"
            " ORDER BY starts_at, id",
            (stored(changed_before), stored(now), stored(edited_before), self._school),
        )
        return [_to_workshop(r) for r in rows]

    async def by_reaction(self, reaction_event_id: str) -> tuple[int, str] | None:
        """(workshop id, user) of the sign-up made with this reaction."""
        row = await self._db.fetchone(
            "SELECT workshop_id, user_id FROM workshop_signups WHERE reaction_event_id = ?"
            " AND workshop_id IN (SELECT id FROM workshops WHERE school = ?)",
            (reaction_event_id, self._school),
        )
        return (int(row["workshop_id"]), str(row["user_id"])) if row else None

    async def set_attendance(self, workshop_id: int, present: Sequence[str]) -> None:
        """Who came among those signed up (others: absent); people not signed up are added."""
        await self._db.execute(
            "UPDATE workshop_signups SET attended = 0 WHERE workshop_id = ?"
            " AND status = 'confirmed'",
            (workshop_id,),
        )
        for user_id in present:
            await self._db.execute(
                "UPDATE workshop_signups SET attended = 1 WHERE workshop_id = ? AND user_id = ?",
                (workshop_id, user_id),
            )
