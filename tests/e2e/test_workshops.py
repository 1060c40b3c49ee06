"""Ateliers and cafés numériques end to end: notice with .ics, 👍 sign-ups, waiting list."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from devtools.participant import Participant
from tests.e2e.conftest import StaffRoom, download
from tests.e2e.helpers import at, eventually, seed

pytestmark = pytest.mark.e2e

PARIS = ZoneInfo("Europe/Paris")
THUMBS = ("👍", "👍🏽", "👍🏿")


def next_week() -> date:
    return datetime.now(PARIS).date() + timedelta(days=7)


async def third_teacher(staff: StaffRoom) -> Participant:
    account = await staff.synapse.register(f"prof-{staff.bot_account.localpart}c", "prof-pw")
    teacher = Participant(staff.synapse.base_url, account, staff.workdir / "clients")
    await teacher.start()
    await staff.rupn.invite(staff.room_id, teacher.user_id)
    await staff.rupn.wait_joined(staff.room_id, [teacher.user_id])
    await teacher.wait_joined(staff.room_id, [staff.bot_id])
    return teacher


async def react(who: Participant, room_id: str, target: str, key: str) -> str:
    return await who.send_event(
        room_id,
        "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}},
    )


async def test_atelier_notice_ics_signups_and_waiting_list(staff: StaffRoom) -> None:
    teacher3 = await third_teacher(staff)
    try:
        day = next_week()
        mark = staff.prof1.mark()
        await staff.rupn.send_text(
            staff.room_id, f"!atelier {day.day}/{day.month} 12h30 | Pronote | CDI | 2 places"
        )
        notice = await staff.prof1.wait_for(
            lambda m: m.sender == staff.bot_id and "Pronote" in m.body and m.msgtype == "m.text",
            after=mark,
            timeout=30,
        )
        assert notice.decrypted
        assert "12h30" in notice.body and "CDI" in notice.body
        ics_post = await staff.prof1.wait_for(
            lambda m: m.sender == staff.bot_id and m.msgtype == "m.file", after=mark, timeout=30
        )
        calendar = icalendar.Calendar.from_ical(await download(staff.prof1, ics_post))
        [event] = [c for c in calendar.walk() if c.name == "VEVENT"]
        start = event.decoded("DTSTART")
        assert start == datetime(day.year, day.month, day.day, 12, 30, tzinfo=PARIS)
        assert start.utcoffset() == timedelta(hours=1)  # winter time in Paris

        # Quiet sign-ups (the default): a 👍 posts nothing; the notice's places are edited.
        first = await react(staff.prof1, staff.room_id, notice.event_id, THUMBS[0])
        await react(staff.prof2, staff.room_id, notice.event_id, THUMBS[1])
        await react(teacher3, staff.room_id, notice.event_id, THUMBS[2])
        waiting = await teacher3.wait_for(
            lambda m: (
                m.sender == staff.bot_id
                and teacher3.user_id in str(m.content)
                and "attente" in m.body
            ),
            timeout=30,
        )
        assert teacher3.user_id in waiting.content["m.mentions"]["user_ids"]
        # Handled in order, after the two 👍 before it: neither was announced in public.
        assert not [m for m in staff.prof1.messages[mark:] if "inscription confirmée" in m.body]

        # The first one takes her reaction back: the waiting teacher gets the place.
        await staff.prof1.redact(staff.room_id, first)
        promoted = await teacher3.wait_for(
            lambda m: (
                m.sender == staff.bot_id
                and teacher3.user_id in str(m.content)
                and "libérée" in m.body
            ),
            timeout=30,
        )
        assert teacher3.user_id in promoted.content["m.mentions"]["user_ids"]
        assert promoted.msgtype == "m.text"  # it must reach her: an m.notice never notifies

        # The notice is edited to show the places left: full, whatever the order of events.
        # It is edited 5 s after the first change it does not show, and at most every 30 s:
        # both moments are seeded a minute back, as if that time had passed. The edit job
        # looks every 5 s.
        minute_ago = at(datetime.now(UTC) - timedelta(minutes=1))
        await seed(
            staff.workdir,
            "UPDATE workshops SET notice_edited_at = ?, notice_stale_since = ?"
            " WHERE notice_stale_since IS NOT NULL",  # else already edited since the last change
            minute_ago,
            minute_ago,
        )
        edit = await staff.prof1.wait_for(
            lambda m: (
                m.sender == staff.bot_id
                and "Pronote" in str(m.content.get("m.new_content", {}).get("body", ""))
                and "Places : 2 (complet)" in str(m.content["m.new_content"]["body"])
            ),
            after=mark,
            timeout=30,
        )
        assert edit.msgtype == "m.text"
        assert edit.content["m.new_content"]["msgtype"] == "m.text"

        listing = await staff.command(staff.prof2, "!ateliers")
        assert "Pronote" in listing.body
    finally:
        await teacher3.stop()


async def test_atelier_from_needs_poll_mentions_its_voters(staff: StaffRoom) -> None:
    mark = staff.prof1.mark()
    await staff.rupn.send_text(staff.room_id, "!sondage Thème ? | Pronote | ENT | Tablettes")
    poll = await staff.prof1.wait_for(
        lambda m: m.event_type == "org.matrix.msc3381.poll.start", after=mark, timeout=30
    )
    pronote, ent, _ = (a["id"] for a in poll.content["org.matrix.msc3381.poll.start"]["answers"])
    for who, answer in ((staff.prof1, ent), (staff.prof2, ent), (staff.rupn, pronote)):
        await who.send_event(
            staff.room_id,
            "org.matrix.msc3381.poll.response",
            {
                "m.relates_to": {"rel_type": "m.reference", "event_id": poll.event_id},
                "org.matrix.msc3381.poll.response": {"answers": [answer]},
            },
        )

    async def all_votes_counted() -> bool:
        results = await staff.command(staff.rupn, "!sondage résultats 1")
        return "3 votants" in results.body

    await eventually(all_votes_counted)
    day = next_week()
    mark = staff.prof1.mark()
    await staff.rupn.send_text(
        staff.room_id, f"!atelier depuis-sondage 1 {day.day}/{day.month} 12h15"
    )
    invitation = await staff.prof1.wait_for(
        lambda m: m.sender == staff.bot_id and "d’après le sondage" in m.body,
        after=mark,
        timeout=30,
    )
    assert sorted(invitation.content["m.mentions"]["user_ids"]) == sorted(
        [staff.prof1.user_id, staff.prof2.user_id]
    )
    assert "ENT" in invitation.body


async def test_signup_made_while_the_bot_is_down_counts(staff: StaffRoom) -> None:
    day = next_week()
    mark = staff.prof1.mark()
    await staff.rupn.send_text(staff.room_id, f"!cafe {day.day}/{day.month} 12h15 | IA en classe")
    notice = await staff.prof1.wait_for(
        lambda m: m.sender == staff.bot_id and "IA en classe" in m.body and m.msgtype == "m.text",
        after=mark,
        timeout=30,
    )
    await staff.bot.stop()
    await react(staff.prof2, staff.room_id, notice.event_id, "👍")
    await staff.bot.start()
    # Handled at restart, before this later command: the café counts the sign-up.
    listing = await staff.command(staff.prof1, "!ateliers")
    assert "IA en classe" in listing.body
    assert "1 inscrit" in listing.body


def direct_room(staff: StaffRoom, who: Participant) -> str | None:
    """The room `who` has joined with the bot alone, if any (as her client sees it)."""
    for room_id, room in who.client.rooms.items():
        members = set(room.users) - set(room.invited_users)
        if room_id != staff.room_id and members == {who.user_id, staff.bot_id}:
            return str(room_id)
    return None


async def test_reminder_by_direct_message(staff: StaffRoom) -> None:
    """Reminders with `workshop_reminders = "prive"`, their due moments seeded in the database.

    The bot opens a direct room with each participant; until she has joined it, the
    reminder goes to the atelier's room, mentioning her; once she has, it goes there.
    """
    day = next_week()
    mark = staff.prof1.mark()
    await staff.rupn.send_text(
        staff.room_id, f"!atelier {day.day}/{day.month} 12h30 | Moodle | CDI"
    )
    await staff.prof1.wait_for(
        lambda m: m.sender == staff.bot_id and "Moodle" in m.body, after=mark, timeout=30
    )
    await staff.command(staff.prof1, "!inscription 1")

    await staff.bot.stop()
    config = staff.bot.config_path.read_text(encoding="utf-8")
    staff.bot.config_path.write_text(
        config.replace("[bot]\n", '[bot]\nworkshop_reminders = "prive"\n'), encoding="utf-8"
    )
    # Tomorrow, in 23 hours: the day-before reminder is due, the hour-before one is not.
    tomorrow = at(datetime.now(UTC) + timedelta(hours=23))
    assert await seed(staff.workdir, "UPDATE workshops SET starts_at = ?", tomorrow) == 1
    mark = staff.prof1.mark()
    await staff.bot.start()
    reminder = await staff.prof1.wait_for(
        lambda m: m.sender == staff.bot_id and m.body.startswith("📅 Rappel"),
        after=mark,
        timeout=30,
    )
    assert reminder.room_id == staff.room_id
    assert reminder.content["m.mentions"] == {"user_ids": [staff.prof1.user_id]}
    assert reminder.msgtype == "m.text"
    # Meanwhile the bot has invited her to a direct room, which her client joins.
    direct = await eventually(lambda: direct_room(staff, staff.prof1), what="direct room")

    await staff.bot.stop()
    # In 50 minutes: the hour-before reminder is due.
    soon = at(datetime.now(UTC) + timedelta(minutes=50))
    assert await seed(staff.workdir, "UPDATE workshops SET starts_at = ?", soon) == 1
    mark = staff.prof1.mark()
    await staff.bot.start()
    hour = await staff.prof1.wait_for(
        lambda m: m.sender == staff.bot_id and m.body.startswith("⏰ Dans une heure"),
        after=mark,
        timeout=30,
    )
    assert hour.room_id == direct
    assert hour.decrypted
    assert hour.content["m.mentions"] == {"user_ids": [staff.prof1.user_id]}
    # Each reminder went once.
    reminders = [m for m in staff.prof1.messages if m.sender == staff.bot_id and "Moodle" in m.body]
    assert len([m for m in reminders if m.body.startswith("📅 Rappel")]) == 1
    assert len([m for m in reminders if m.body.startswith("⏰ Dans une heure")]) == 1
