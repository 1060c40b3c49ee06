"""Every column of every table, classified: what erasure and retention rewrite.

A unit test fails when a migration adds a column that is in none of the lists below,
so that a new place holding a user id, an event id or free text cannot escape erasure
nor the retention.

- `PERSONAL_COLUMNS`: a user id (`user`), a person's pseudonymous key of a school year
  (`reader_key`: the HMAC read markers use, which the bot can recompute from the user
  id), free text that may name someone (`text`), or the id of an event a person sent
  (`event`: anyone in the room can fetch the event and read its sender). Each has the
  SQL expression of its row's date, which the retention compares with its cutoff (NULL:
  never expired this way).
- `DELETED_TABLES`: rows that only make sense with the person, deleted whole (on
  erasure by the person column, by the retention by the date column).
- `IMPERSONAL_COLUMNS`: nothing about anybody.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["user", "reader_key", "text", "event"]

_POST_DATE = "CASE WHEN status = 'pending' THEN NULL ELSE coalesce(sent_at, created_at) END"
_POLL_DATE = "(SELECT p.created_at FROM polls AS p WHERE p.id = poll_id)"
_WORKSHOP_DATE = "(SELECT w.starts_at FROM workshops AS w WHERE w.id = workshop_id)"
# A request's people stay while it is open, then for the retention (issue 19).
_REQUEST_DATE = "CASE WHEN status = 'open' THEN NULL ELSE closed_at END"
_OF_REQUEST = (
    "(SELECT CASE WHEN r.status = 'open' THEN NULL ELSE r.closed_at END"
    " FROM assistance_requests AS r WHERE r.id = request_id)"
)
_MAIL_DATE = f"CASE WHEN request_id IS NULL THEN at ELSE {_OF_REQUEST} END"


@dataclass(frozen=True, slots=True)
class PersonalColumn:
    table: str
    column: str
    role: Role
    dated_by: str
    """The row's date as SQL (a poll's votes are as old as the poll, a sign-up as its
    workshop's start): a row goes at the retention all together with its kind."""


def _columns(table: str, role: Role, dated_by: str, *columns: str) -> tuple[PersonalColumn, ...]:
    return tuple(PersonalColumn(table, column, role, dated_by) for column in columns)


PERSONAL_COLUMNS: tuple[PersonalColumn, ...] = (
    *_columns("posts", "user", _POST_DATE, "requester"),
    *_columns("posts", "text", _POST_DATE, "content"),
    *_columns("broadcast_rooms", "user", "added_at", "added_by"),
    *_columns("feeds", "user", "added_at", "added_by"),
    *_columns("feeds", "text", "added_at", "name"),
    *_columns("feed_entries", "user", "decided_at", "decided_by"),
    *_columns("feed_entries", "text", "created_at", "title", "summary_html", "summary_text"),
    *_columns("announcements", "user", "created_at", "author"),
    *_columns("announcements", "text", "created_at", "body", "html"),
    *_columns("announcements", "event", "created_at", "request_event"),
    *_columns("polls", "user", "created_at", "creator", "closed_by"),
    *_columns("polls", "text", "created_at", "question", "answers", "final_results"),
    *_columns("poll_responses", "user", _POLL_DATE, "voter"),
    *_columns("poll_responses", "event", _POLL_DATE, "event_id"),
    *_columns("workshops", "user", "starts_at", "organiser"),
    *_columns("workshops", "text", "starts_at", "theme", "place"),
    *_columns("workshop_signups", "user", _WORKSHOP_DATE, "user_id"),
    *_columns("workshop_signups", "event", _WORKSHOP_DATE, "reaction_event_id"),
    *_columns("digest_words", "user", "added_at", "added_by"),
    *_columns("digest_words", "text", "added_at", "body"),
    *_columns("post_reactions", "event", "reacted_at", "event_id"),
    *_columns("post_reactions", "reader_key", "reacted_at", "reactor_key"),
    *_columns("assistance_requests", "user", _REQUEST_DATE, "reporter"),
    *_columns("assistance_requests", "text", _REQUEST_DATE, "symptom", "last_news"),
    *_columns("assistance_requests", "event", _REQUEST_DATE, "report_event"),
    # who hears a request's answers, where: anonymised, not deleted (the count stays right)
    *_columns("assistance_followers", "user", _OF_REQUEST, "user_id"),
    *_columns("assistance_followers", "event", _OF_REQUEST, "thread_root"),
    # the desk's answers and the précisions may name people; unmatched mails: by their date
    *_columns("assistance_mails", "text", _MAIL_DATE, "body"),
    # `direct_room:<user id>` → room id (bot/storage/direct_rooms.py); never expired:
    # the room stays the person's way to the bot.
    *_columns("bot_state", "user", "NULL", "key"),
)

DELETED_TABLES: dict[str, tuple[str, str]] = {
    # table: (the person's column, the date column)
    "undecrypted_events": ("sender", "received_at"),
    "decryption_alerts": ("sender", "day"),
    "privacy_requests": ("user_id", "requested_at"),
    "read_markers": ("reader_key", "updated_at"),  # a key of the person's per school year
}

IMPERSONAL_COLUMNS: dict[str, frozenset[str]] = {
    table: frozenset(columns.split())
    for table, columns in {
        "bot_state": "value",  # a room id, or a value of the bot's own
        "schools": "key name added_at letter_paused",  # public bodies: a UAI and a name
        "rooms": "room_id school claimed_at",
        "sqlite_sequence": "name seq",
        "posts": "id room_id action event_type kind ref_type ref_id target_txn_id"
        " target_event_id txn_id status event_id error attempts created_at sent_at priority"
        " turn school school_round",  # event ids: the bot's own events
        "broadcast_rooms": "room_id added_at school",
        "feeds": "id url include_words exclude_words auto_publish origin active etag"
        " last_modified failures failing_notified last_error next_fetch_at last_success_at"
        " primed added_at school",
        "feed_entries": "id feed_id entry_key link published status created_at decided_at"
        " school number",
        "curation_rooms": "school room_id set_at",
        "announcements": "id rooms status scheduled_for created_at published_at edited_at"
        " entry_id request_room confirmed school number",
        "polls": "id room_id anonymous max_selections template deadline reminder_at reminded"
        " status created_at closed_at start_txn school number",
        "poll_responses": "id poll_id answers sent_at received_at",
        "workshops": "id kind starts_at duration_minutes capacity minimum minimum_checked"
        " rooms status created_at updated_at poll_id reminded_day reminded_hour"
        " feedback_poll_id notice_stale_since notice_edited_at school number",
        "workshop_signups": "id workshop_id via status signed_up_at cancelled_at attended",
        "digest_weeks": "school week outcome decided_at rooms",
        # a week's extra letter: when, where
        "digest_extra_letters": "id school week sent_at rooms",
        "digest_words": "id added_at school number",
        "post_stats": "seq post_id room_id kind ref_type ref_id sent_at members author_member"
        " readers school",
        "post_reactions": "post_id reaction_key reacted_at counted",
        # a room, a device, the desk's address and ticket, dates: nothing about anybody
        "assistance_requests": "id school number room_id location equipment dedup_key"
        " category desk message_id desk_ticket status opened_at first_answer_at last_news_at"
        " closed_at flagged_at",
        "assistance_followers": "request_id room_id added_at",
        "assistance_mails": "message_id request_id school direction at",
    }.items()
}


def columns_of(role: Role) -> tuple[PersonalColumn, ...]:
    return tuple(c for c in PERSONAL_COLUMNS if c.role == role and c.table != "bot_state")
