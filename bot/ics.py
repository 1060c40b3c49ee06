"""iCalendar invitations (.ics) for ateliers and cafés numériques (icalendar).

One VEVENT per workshop, with a stable UID so that an updated invitation
(higher SEQUENCE) replaces the previous one in the teacher's agenda, and a
cancelled one (STATUS:CANCELLED, METHOD:CANCEL) removes it. DTSTART and
DTEND carry the bot's time zone (TZID=Europe/Paris) with its VTIMEZONE.

icalendar (with dateutil, about 3 MiB) is imported by `workshop_ics`, at the first
invitation: a bot that organises no atelier never pays for it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.storage.workshops import Workshop

PRODID = "-//rupn-bot//FR"


def workshop_uid(workshop_id: int) -> str:
    return f"rupn-bot-workshop-{workshop_id}@rupn-bot"


def workshop_title(workshop: Workshop) -> str:
    """« Atelier n° 3 — Pronote », « Café numérique n° 4 — ENT »."""
    label = "Café numérique" if workshop.kind == "cafe" else "Atelier"
    return f"{label} n° {workshop.number} — {workshop.theme}"


def workshop_ics(
    workshop: Workshop,
    tz: ZoneInfo,
    *,
    sequence: int = 0,
    stamp: datetime | None = None,
    cancelled: bool = False,
) -> bytes:
    """The invitation; `stamp` (DTSTAMP) defaults to the start, for reproducible bytes."""
    from icalendar import Calendar, Event  # on first use: see the module's docstring

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    start = workshop.starts_at.astimezone(tz)
    event.add("uid", workshop_uid(workshop.id))
    event.add("dtstamp", (stamp or workshop.starts_at).astimezone(ZoneInfo("UTC")))
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=workshop.duration_minutes))
    event.add("summary", workshop_title(workshop))
    if workshop.place:
        event.add("location", workshop.place)
    description = (
        "Inscription : réagissez 👍 à l’annonce dans Matrix, ou tapez "
        f"!inscription {workshop.number} ; désinscription : !desinscription {workshop.number}."
    )
    event.add("description", description)
    event.add("sequence", sequence)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    # Only the rules around the event: a short, valid VTIMEZONE.
    calendar.add_missing_timezones(
        first_date=date(start.year - 1, 1, 1), last_date=date(start.year + 2, 1, 1)
    )
    return bytes(calendar.to_ical())
