"""The ordered list of schema migrations.

Migration N brings the schema from version N-1 to N (`PRAGMA user_version`).
Each runs in one transaction with its version bump. Never edit a released
migration: append a new one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    description: str
    statements: tuple[str, ...]
    rebuilds_tables: bool = False
    """Runs with foreign keys off (SQLite's way to rebuild a referenced table), then
    checks them all before its commit."""


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "bot state and the registry of the bot's own posts",
        (
            """
            CREATE TABLE bot_state (
                key   TEXT PRIMARY KEY,
                value TEXT NOT NULL
            )
            """,
            # Every event the bot sends (or redaction it makes) is first queued
            # here, in the same transaction as the state change that caused it,
            # then sent by the sender with txn_id, so a crash never loses or
            # doubles a post. Once sent, the row is the post registry entry.
            """
            CREATE TABLE posts (
                id               INTEGER PRIMARY KEY AUTOINCREMENT,
                room_id          TEXT NOT NULL,
                action           TEXT NOT NULL CHECK (action IN ('send', 'redact')),
                event_type       TEXT NOT NULL,
                content          TEXT NOT NULL,
                kind             TEXT NOT NULL,
                ref_type         TEXT,
                ref_id           INTEGER,
                target_txn_id    TEXT,
                target_event_id  TEXT,
                txn_id           TEXT NOT NULL UNIQUE,
                status           TEXT NOT NULL DEFAULT 'pending'
                                 CHECK (status IN ('pending', 'sent', 'failed')),
                event_id         TEXT UNIQUE,
                error            TEXT,
                attempts         INTEGER NOT NULL DEFAULT 0,
                created_at       TEXT NOT NULL,
                sent_at          TEXT
            )
            """,
            "CREATE INDEX posts_pending ON posts (status, id)",
            "CREATE INDEX posts_ref ON posts (ref_type, ref_id)",
        ),
    ),
    Migration(
        "diffusion rooms, announcements, news feeds and their entries",
        (
            """
            CREATE TABLE broadcast_rooms (
                room_id   TEXT PRIMARY KEY,
                added_by  TEXT NOT NULL,
                added_at  TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE feeds (
                id                INTEGER PRIMARY KEY AUTOINCREMENT,
                name              TEXT NOT NULL,
                url               TEXT NOT NULL UNIQUE,
                include_words     TEXT NOT NULL DEFAULT '[]',
                exclude_words     TEXT NOT NULL DEFAULT '[]',
                auto_publish      INTEGER NOT NULL DEFAULT 0,
                origin            TEXT NOT NULL CHECK (origin IN ('config', 'chat')),
                active            INTEGER NOT NULL DEFAULT 1,
                etag              TEXT,
                last_modified     TEXT,
                failures          INTEGER NOT NULL DEFAULT 0,
                failing_notified  INTEGER NOT NULL DEFAULT 0,
                last_error        TEXT,
                next_fetch_at     TEXT,
                last_success_at   TEXT,
                primed            INTEGER NOT NULL DEFAULT 0,
                added_by          TEXT,
                added_at          TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE feed_entries (
                id            INTEGER PRIMARY KEY AUTOINCREMENT,
                feed_id       INTEGER NOT NULL REFERENCES feeds (id),
                entry_key     TEXT NOT NULL,
                title         TEXT NOT NULL,
                link          TEXT,
                published     TEXT,
                summary_html  TEXT NOT NULL,
                summary_text  TEXT NOT NULL,
                status        TEXT NOT NULL
                              CHECK (status IN ('seen', 'filtered', 'proposed', 'published',
                                                'ignored')),
                created_at    TEXT NOT NULL,
                decided_by    TEXT,
                decided_at    TEXT,
                UNIQUE (feed_id, entry_key)
            )
            """,
            """
            CREATE TABLE announcements (
                id             INTEGER PRIMARY KEY AUTOINCREMENT,
                author         TEXT NOT NULL,
                body           TEXT NOT NULL,
                html           TEXT,
                rooms          TEXT NOT NULL,
                status         TEXT NOT NULL
                               CHECK (status IN ('scheduled', 'sent', 'withdrawn', 'cancelled')),
                scheduled_for  TEXT,
                created_at     TEXT NOT NULL,
                published_at   TEXT,
                edited_at      TEXT,
                entry_id       INTEGER REFERENCES feed_entries (id),
                request_room   TEXT,
                request_event  TEXT,
                confirmed      INTEGER NOT NULL DEFAULT 0
            )
            """,
            "CREATE INDEX announcements_due ON announcements (status, scheduled_for)",
        ),
    ),
    Migration(
        "polls and their responses",
        (
            """
            CREATE TABLE polls (
                id              INTEGER PRIMARY KEY AUTOINCREMENT,
                room_id         TEXT NOT NULL,
                creator         TEXT NOT NULL,
                question        TEXT NOT NULL,
                answers         TEXT NOT NULL,
                max_selections  INTEGER NOT NULL,
                anonymous       INTEGER NOT NULL DEFAULT 0,
                template        TEXT,
                deadline        TEXT,
                reminder_at     TEXT,
                reminded        INTEGER NOT NULL DEFAULT 0,
                status          TEXT NOT NULL CHECK (status IN ('open', 'closed')),
                created_at      TEXT NOT NULL,
                closed_at       TEXT,
                closed_by       TEXT,
                start_txn       TEXT,
                final_results   TEXT
            )
            """,
            # An anonymous poll's responses are deleted when it closes; only the
            # frozen tallies in polls.final_results remain.
            """
            CREATE TABLE poll_responses (
                id           INTEGER PRIMARY KEY AUTOINCREMENT,
                poll_id      INTEGER NOT NULL REFERENCES polls (id),
                voter        TEXT NOT NULL,
                event_id     TEXT NOT NULL UNIQUE,
                answers      TEXT NOT NULL,
                sent_at      TEXT NOT NULL,
                received_at  TEXT NOT NULL
            )
            """,
            "CREATE INDEX poll_responses_poll ON poll_responses (poll_id, voter)",
            "CREATE INDEX polls_open ON polls (status, deadline)",
        ),
    ),
    Migration(
        "ateliers and cafés numériques, sign-ups and attendance",
        (
            """
            CREATE TABLE workshops (
                id                INTEGER PRIMARY KEY AUTOINCREMENT,
                kind              TEXT NOT NULL CHECK (kind IN ('atelier', 'cafe')),
                theme             TEXT NOT NULL,
                starts_at         TEXT NOT NULL,
                duration_minutes  INTEGER NOT NULL DEFAULT 60,
                place             TEXT,
                capacity          INTEGER,
                minimum           INTEGER,
                minimum_checked   INTEGER NOT NULL DEFAULT 0,
                organiser         TEXT NOT NULL,
                rooms             TEXT NOT NULL,
                status            TEXT NOT NULL CHECK (status IN ('planned', 'cancelled', 'done')),
                created_at        TEXT NOT NULL,
                updated_at        TEXT NOT NULL,
                poll_id           INTEGER REFERENCES polls (id),
                reminded_day      INTEGER NOT NULL DEFAULT 0,
                reminded_hour     INTEGER NOT NULL DEFAULT 0,
                feedback_poll_id  INTEGER REFERENCES polls (id)
            )
            """,
            "CREATE INDEX workshops_upcoming ON workshops (status, starts_at)",
            # One row per person and workshop; a sign-up after a cancellation
            # reuses it and goes to the end of the waiting list.
            """
            CREATE TABLE workshop_signups (
                id                 INTEGER PRIMARY KEY AUTOINCREMENT,
                workshop_id        INTEGER NOT NULL REFERENCES workshops (id),
                user_id            TEXT NOT NULL,
                via                TEXT NOT NULL CHECK (via IN ('reaction', 'command', 'poll')),
                reaction_event_id  TEXT,
                status             TEXT NOT NULL
                                   CHECK (status IN ('confirmed', 'waiting', 'cancelled')),
                signed_up_at       TEXT NOT NULL,
                cancelled_at       TEXT,
                attended           INTEGER,
                UNIQUE (workshop_id, user_id)
            )
            """,
            "CREATE INDEX workshop_signups_reaction ON workshop_signups (reaction_event_id)",
        ),
    ),
    Migration(
        "live places on the workshop notices",
        (
            # Set (to the first unshown change) when a sign-up changes, in the same
            # transaction; cleared when the notices are edited to show it.
            "ALTER TABLE workshops ADD COLUMN notice_stale_since TEXT",
            # When the notices were last posted or edited: edits are paced from it.
            "ALTER TABLE workshops ADD COLUMN notice_edited_at TEXT",
            "CREATE INDEX workshops_stale_notices ON workshops (notice_stale_since)",
        ),
    ),
    Migration(
        "encrypted events waiting for their key, and decryption alerts",
        (
            # An event the bot could not decrypt, kept raw until its room key
            # arrives; it is then handled and deleted in one transaction.
            """
            CREATE TABLE undecrypted_events (
                event_id     TEXT PRIMARY KEY,
                room_id      TEXT NOT NULL,
                sender       TEXT NOT NULL,
                session_id   TEXT NOT NULL,
                source       TEXT NOT NULL,
                received_at  TEXT NOT NULL
            )
            """,
            "CREATE INDEX undecrypted_events_received ON undecrypted_events (received_at)",
            # The RUPN is told once per sender and per day that a key was withheld.
            """
            CREATE TABLE decryption_alerts (
                sender  TEXT NOT NULL,
                day     TEXT NOT NULL,
                PRIMARY KEY (sender, day)
            )
            """,
        ),
    ),
    Migration(
        "fair outbox: priority, requester and turn of each post",
        (
            # 0: the RUPN's commands, broadcasts and jobs; 1: replies to others.
            # Posts queued before this migration keep their order (priority 0, turn 0).
            "ALTER TABLE posts ADD COLUMN priority INTEGER NOT NULL DEFAULT 0",
            # Who caused the post (NULL: a job or a hook); posts are served round-robin
            # between requesters within a priority.
            "ALTER TABLE posts ADD COLUMN requester TEXT",
            # The requester's round (start-time fair queuing): set when queued.
            "ALTER TABLE posts ADD COLUMN turn INTEGER NOT NULL DEFAULT 0",
            "CREATE INDEX posts_pending_fair ON posts (priority, turn, id)"
            " WHERE status = 'pending'",
            "CREATE INDEX posts_pending_requester ON posts (requester, priority, turn)"
            " WHERE status = 'pending'",
        ),
    ),
    Migration(
        "the weekly letter: weeks sent, the RUPN's words, and e-mail in the outbox",
        (
            # SQLite cannot alter a CHECK: the posts table is rebuilt to admit 'mail'
            # (an e-mail queued in the same transaction as what decided it, delivered by
            # the mail sender, never by the Matrix one). room_id is '' for a mail.
            """
            CREATE TABLE posts_v8 (
                id               INTEGER PRIMARY KEY AUTOINCREMENT,
                room_id          TEXT NOT NULL,
                action           TEXT NOT NULL CHECK (action IN ('send', 'redact', 'mail')),
                event_type       TEXT NOT NULL,
                content          TEXT NOT NULL,
                kind             TEXT NOT NULL,
                ref_type         TEXT,
                ref_id           INTEGER,
                target_txn_id    TEXT,
                target_event_id  TEXT,
                txn_id           TEXT NOT NULL UNIQUE,
                status           TEXT NOT NULL DEFAULT 'pending'
                                 CHECK (status IN ('pending', 'sent', 'failed')),
                event_id         TEXT UNIQUE,
                error            TEXT,
                attempts         INTEGER NOT NULL DEFAULT 0,
                created_at       TEXT NOT NULL,
                sent_at          TEXT,
                priority         INTEGER NOT NULL DEFAULT 0,
                requester        TEXT,
                turn             INTEGER NOT NULL DEFAULT 0
            )
            """,
            "INSERT INTO posts_v8 (id, room_id, action, event_type, content, kind, ref_type,"
            " ref_id, target_txn_id, target_event_id, txn_id, status, event_id, error, attempts,"
            " created_at, sent_at, priority, requester, turn)"
            " SELECT id, room_id, action, event_type, content, kind, ref_type, ref_id,"
            " target_txn_id, target_event_id, txn_id, status, event_id, error, attempts,"
            " created_at, sent_at, priority, requester, turn FROM posts",
            "DROP TABLE posts",
            "ALTER TABLE posts_v8 RENAME TO posts",
            "CREATE INDEX posts_pending ON posts (status, id)",
            "CREATE INDEX posts_ref ON posts (ref_type, ref_id)",
            "CREATE INDEX posts_pending_fair ON posts (priority, turn, id)"
            " WHERE status = 'pending'",
            "CREATE INDEX posts_pending_requester ON posts (requester, priority, turn)"
            " WHERE status = 'pending'",
            "CREATE INDEX posts_room_kind ON posts (room_id, kind, status)",
            "CREATE INDEX announcements_published ON announcements (status, published_at)",
            # One row per ISO week ('2026-W49') whose letter was decided: sent (by the
            # job or `!lettre envoyer`), nothing to say, or skipped (too late). Written in
            # the transaction that queues the letters: a week is never sent twice.
            """
            CREATE TABLE digest_weeks (
                week        TEXT PRIMARY KEY,
                outcome     TEXT NOT NULL CHECK (outcome IN ('sent', 'empty', 'skipped')),
                decided_at  TEXT NOT NULL,
                rooms       INTEGER NOT NULL DEFAULT 0
            )
            """,
            "CREATE INDEX digest_weeks_sent ON digest_weeks (outcome, decided_at)",
            # « Le mot du RUPN »: lines queued with `!lettre ajouter`, deleted once sent.
            """
            CREATE TABLE digest_words (
                id        INTEGER PRIMARY KEY AUTOINCREMENT,
                body      TEXT NOT NULL,
                added_by  TEXT NOT NULL,
                added_at  TEXT NOT NULL
            )
            """,
        ),
    ),
    Migration(
        "engagement log for the bilan: readers, audiences and reactions of the bot's posts",
        (
            # Per room and reader (a pseudonymous key: HMAC of the user id with a secret of the
            # school year, kept in data_dir), the latest counted bot post (post_stats.post_id)
            # their public read receipts cover. Erasable and expired like any personal row.
            """
            CREATE TABLE read_markers (
                room_id     TEXT NOT NULL,
                reader_key  TEXT NOT NULL,
                post_id     INTEGER NOT NULL,
                updated_at  TEXT NOT NULL,
                PRIMARY KEY (room_id, reader_key)
            )
            """,
            # One row per bot post that counts for the bilan, written when it is sent (seq:
            # the send order, which is a room's timeline order; post ids are queue order):
            # its members then (joined, without the bot), whether the person who caused it
            # (posts.requester) was one of them, and how many distinct readers have reached
            # it so far, its author never counted (materialised as markers advance: erasing
            # a marker leaves the counts already made). No personal data.
            """
            CREATE TABLE post_stats (
                seq         INTEGER PRIMARY KEY AUTOINCREMENT,
                post_id     INTEGER NOT NULL UNIQUE REFERENCES posts (id),
                room_id     TEXT NOT NULL,
                kind        TEXT NOT NULL,
                ref_type    TEXT,
                ref_id      INTEGER,
                sent_at     TEXT NOT NULL,
                members     INTEGER NOT NULL,
                author_member INTEGER NOT NULL DEFAULT 0,
                readers     INTEGER NOT NULL DEFAULT 0
            )
            """,
            "CREATE INDEX post_stats_room ON post_stats (room_id, seq)",
            "CREATE INDEX post_stats_sent ON post_stats (sent_at, kind)",
            # Reactions on the counted bot posts (post_stats), one row per reaction event (no
            # reactor kept), its key normalised (👍🏽 is 👍): its redaction deletes the row.
            """
            CREATE TABLE post_reactions (
                event_id      TEXT PRIMARY KEY,
                post_id       INTEGER NOT NULL REFERENCES posts (id),
                reaction_key  TEXT NOT NULL,
                reacted_at    TEXT NOT NULL
            )
            """,
            "CREATE INDEX post_reactions_post ON post_reactions (post_id, reaction_key)",
            # `!mesdonnees` typed in a shared room: answered in a direct room once the person
            # has joined it; the row is deleted once answered.
            """
            CREATE TABLE privacy_requests (
                id            INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id       TEXT NOT NULL,
                action        TEXT NOT NULL CHECK (action IN ('show', 'erase')),
                requested_at  TEXT NOT NULL
            )
            """,
        ),
    ),
    Migration(
        "the weekly letter: extra letters counted, publications found by delivery",
        (
            # `!lettre envoyer quand-même` after the week's letter went out: one row per
            # extra letter, counted by the bilan with the weeks' own. No personal data.
            """
            CREATE TABLE digest_extra_letters (
                id       INTEGER PRIMARY KEY AUTOINCREMENT,
                week     TEXT NOT NULL REFERENCES digest_weeks (week),
                sent_at  TEXT NOT NULL,
                rooms    INTEGER NOT NULL
            )
            """,
            # The letter's window is per room, on delivery: what was delivered (sent_at)
            # in a room after that room's previous letter (its last 'digest' post).
            "CREATE INDEX posts_sent_kind ON posts (kind, sent_at) WHERE status = 'sent'",
            "CREATE INDEX posts_kind_room ON posts (kind, room_id, created_at)",
        ),
    ),
    Migration(
        "reactions counted once per person, post and emoji: the reactor's pseudonymous key",
        (
            # `reactor_key`: the reactor as
            # Pseudonyms.reader_key(user id, school year of the post), the HMAC the read
            # markers use; NULL for the reactions kept before. Personal (pseudonymous) data,
            # erasable like read_markers.reader_key. Every reaction event keeps its row (its
            # redaction deletes it); `counted` is 1 on one row per (post, key, reactor), the
            # one the counts take: a person's 👍 and 👍🏽 are one 👍, and when the counted
            # row is redacted an equivalent one left takes its place. Rows kept before
            # count each (default 1).
            "ALTER TABLE post_reactions ADD COLUMN reactor_key TEXT",
            "ALTER TABLE post_reactions ADD COLUMN counted INTEGER NOT NULL DEFAULT 1",
            "CREATE INDEX post_reactions_reactor"
            " ON post_reactions (post_id, reaction_key, reactor_key)",
            "CREATE INDEX post_reactions_counted"
            " ON post_reactions (post_id, reaction_key) WHERE counted = 1",
        ),
    ),
    Migration(
        "établissements: every room and every tenant row belongs to one school",
        (
            # One row per établissement the bot has served: its UAI, or '' for the implicit
            # school of a single-school configuration (every row written before this
            # migration is that school's).
            """
            CREATE TABLE schools (
                key       TEXT PRIMARY KEY,
                name      TEXT NOT NULL DEFAULT '',
                added_at  TEXT NOT NULL
            )
            """,
            "INSERT INTO schools (key, name, added_at)"
            " VALUES ('', '', strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'))",
            # A room belongs to the school of the admin who invited the bot there or typed
            # `!diffusion ajouter` in it; a second school cannot claim it.
            """
            CREATE TABLE rooms (
                room_id     TEXT PRIMARY KEY,
                school      TEXT NOT NULL REFERENCES schools (key),
                claimed_at  TEXT NOT NULL
            )
            """,
            "CREATE INDEX rooms_school ON rooms (school)",
            "INSERT OR IGNORE INTO rooms (room_id, school, claimed_at)"
            " SELECT room_id, '', added_at FROM broadcast_rooms",
            # The school of every tenant row (sign-ups, votes and reactions through theirs).
            # `number`: what a RUPN sees and types (« sondage n° 1 »), counted per school;
            # the rows kept keep their number (their id).
            *(
                statement
                for table in ("announcements", "polls", "workshops", "digest_words")
                for statement in (
                    f"ALTER TABLE {table} ADD COLUMN school TEXT NOT NULL DEFAULT ''",
                    f"ALTER TABLE {table} ADD COLUMN number INTEGER",
                    f"UPDATE {table} SET number = id",  # noqa: S608 - constant names
                    f"CREATE UNIQUE INDEX {table}_school_number ON {table} (school, number)",
                    # Whatever inserts the row (a repository, a bench, a test), it gets the
                    # school's next number.
                    f"CREATE TRIGGER {table}_numbered AFTER INSERT ON {table}"  # noqa: S608
                    " WHEN NEW.number IS NULL BEGIN"
                    f" UPDATE {table} SET number = (SELECT COALESCE(MAX(number), 0) + 1"
                    f" FROM {table} WHERE school = NEW.school) WHERE id = NEW.id; END",
                )
            ),
            *(
                f"ALTER TABLE {table} ADD COLUMN school TEXT NOT NULL DEFAULT ''"
                for table in ("broadcast_rooms", "privacy_requests", "post_stats", "posts")
            ),
            "CREATE INDEX post_stats_school ON post_stats (school, seq)",
            # A source added in chat is its school's; NULL: from the config file, the
            # bot's (a single-school bot's school's).
            "ALTER TABLE feeds ADD COLUMN school TEXT",
            "UPDATE feeds SET school = '' WHERE origin = 'chat'",
            # A week's letter is decided per school: the key becomes (school, week).
            """
            CREATE TABLE digest_weeks_v12 (
                week        TEXT NOT NULL,
                outcome     TEXT NOT NULL CHECK (outcome IN ('sent', 'empty', 'skipped')),
                decided_at  TEXT NOT NULL,
                rooms       INTEGER NOT NULL DEFAULT 0,
                school      TEXT NOT NULL DEFAULT '',
                PRIMARY KEY (school, week)
            )
            """,
            """
            CREATE TABLE digest_extra_letters_v12 (
                id       INTEGER PRIMARY KEY AUTOINCREMENT,
                week     TEXT NOT NULL,
                sent_at  TEXT NOT NULL,
                rooms    INTEGER NOT NULL,
                school   TEXT NOT NULL DEFAULT '',
                FOREIGN KEY (school, week) REFERENCES digest_weeks_v12 (school, week)
            )
            """,
            "INSERT INTO digest_weeks_v12 (school, week, outcome, decided_at, rooms)"
            " SELECT '', week, outcome, decided_at, rooms FROM digest_weeks",
            "INSERT INTO digest_extra_letters_v12 (id, school, week, sent_at, rooms)"
            " SELECT id, '', week, sent_at, rooms FROM digest_extra_letters",
            "DROP TABLE digest_extra_letters",
            "DROP TABLE digest_weeks",
            "ALTER TABLE digest_weeks_v12 RENAME TO digest_weeks",
            "ALTER TABLE digest_extra_letters_v12 RENAME TO digest_extra_letters",
            "CREATE INDEX digest_weeks_sent ON digest_weeks (school, outcome, decided_at)",
        ),
    ),
    Migration(
        "assistance requests (`!panne`): the requests, who follows them, their mails",
        (
            # One breakdown reported in chat and mailed to the helpdesk as a ticket.
            # `number`: what teachers and the desk see (« n° 12 »), counted per school.
            # `dedup_key`: room and equipment normalised; one open request per key.
            """
            CREATE TABLE assistance_requests (
                id               INTEGER PRIMARY KEY AUTOINCREMENT,
                school           TEXT NOT NULL DEFAULT '',
                number           INTEGER,
                room_id          TEXT NOT NULL,
                report_event     TEXT,
                reporter         TEXT,
                location         TEXT NOT NULL,
                equipment        TEXT NOT NULL,
                symptom          TEXT NOT NULL,
                dedup_key        TEXT NOT NULL,
                category         TEXT NOT NULL DEFAULT '',
                desk             TEXT NOT NULL,
                message_id       TEXT NOT NULL UNIQUE,
                desk_ticket      TEXT,
                status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
                opened_at        TEXT NOT NULL,
                first_answer_at  TEXT,
                last_news_at     TEXT,
                last_news        TEXT,
                closed_at        TEXT,
                flagged_at       TEXT
            )
            """,
            "CREATE UNIQUE INDEX assistance_requests_school_number"
            " ON assistance_requests (school, number)",
            "CREATE UNIQUE INDEX assistance_requests_open_key"
            " ON assistance_requests (school, dedup_key) WHERE status = 'open'",
            "CREATE INDEX assistance_requests_ticket ON assistance_requests (desk_ticket)",
            "CREATE TRIGGER assistance_requests_numbered AFTER INSERT ON assistance_requests"
            " WHEN NEW.number IS NULL BEGIN"
            " UPDATE assistance_requests SET number = (SELECT COALESCE(MAX(number), 0) + 1"
            " FROM assistance_requests WHERE school = NEW.school) WHERE id = NEW.id; END",
            # Who hears the desk's answers, and where: the reporter and the colleagues who
            # reported the same breakdown (`thread_root`: their report, in a shared room).
            """
            CREATE TABLE assistance_followers (
                request_id   INTEGER NOT NULL REFERENCES assistance_requests (id),
                user_id      TEXT NOT NULL,
                room_id      TEXT NOT NULL,
                thread_root  TEXT,
                added_at     TEXT NOT NULL,
                PRIMARY KEY (request_id, user_id)
            )
            """,
            # Every mail of a request, both ways, by its bare Message-ID: what the bot sent
            # (ticket, précisions, closing) threads the desk's replies; what it received is
            # recorded once (a mail read twice is posted once). request_id NULL: unmatched.
            """
            CREATE TABLE assistance_mails (
                message_id   TEXT PRIMARY KEY,
                request_id   INTEGER REFERENCES assistance_requests (id),
                school       TEXT,
                direction    TEXT NOT NULL CHECK (direction IN ('out', 'in')),
                body         TEXT NOT NULL,
                at           TEXT NOT NULL
            )
            """,
            "CREATE INDEX assistance_mails_request ON assistance_mails (request_id)",
        ),
    ),
    Migration(
        "news watch per établissement: each school's own entries and numbers, curation rooms",
        (
            # An académie-wide source is read once and each school decides on its entries:
            # the same entry key may now be stored once per school, numbered per school.
            """
            CREATE TABLE feed_entries_v13 (
                id            INTEGER PRIMARY KEY AUTOINCREMENT,
                feed_id       INTEGER NOT NULL REFERENCES feeds (id),
                entry_key     TEXT NOT NULL,
                title         TEXT NOT NULL,
                link          TEXT,
                published     TEXT,
                summary_html  TEXT NOT NULL,
                summary_text  TEXT NOT NULL,
                status        TEXT NOT NULL
                              CHECK (status IN ('seen', 'filtered', 'proposed', 'published',
                                                'ignored')),
                created_at    TEXT NOT NULL,
                decided_by    TEXT,
                decided_at    TEXT,
                school        TEXT NOT NULL DEFAULT '',
                number        INTEGER,
                UNIQUE (feed_id, school, entry_key)
            )
            """,
            # The rows kept are their source's school's (the implicit one for the config
            # file's) and keep their number (their id).
            "INSERT INTO feed_entries_v13 (id, feed_id, entry_key, title, link, published,"
            " summary_html, summary_text, status, created_at, decided_by, decided_at, school,"
            " number)"
            " SELECT e.id, e.feed_id, e.entry_key, e.title, e.link, e.published, e.summary_html,"
            " e.summary_text, e.status, e.created_at, e.decided_by, e.decided_at,"
            " COALESCE(f.school, ''), e.id FROM feed_entries AS e JOIN feeds AS f"
            " ON f.id = e.feed_id",
            "DROP TABLE feed_entries",
            "ALTER TABLE feed_entries_v13 RENAME TO feed_entries",
            "CREATE UNIQUE INDEX feed_entries_school_number ON feed_entries (school, number)",
            "CREATE INDEX feed_entries_school_status ON feed_entries (school, status)",
            "CREATE TRIGGER feed_entries_numbered AFTER INSERT ON feed_entries"
            " WHEN NEW.number IS NULL BEGIN"
            " UPDATE feed_entries SET number = (SELECT COALESCE(MAX(number), 0) + 1"
            " FROM feed_entries WHERE school = NEW.school) WHERE id = NEW.id; END",
            # Where a school's RUPN sorts the news (`!veille ici`); none: their direct rooms.
            """
            CREATE TABLE curation_rooms (
                school   TEXT PRIMARY KEY REFERENCES schools (key),
                room_id  TEXT NOT NULL,
                set_at   TEXT NOT NULL
            )
            """,
        ),
        rebuilds_tables=True,
    ),
    Migration(
        "the letter reads what was delivered to one school, not to every school",
        (
            # The weekly job runs once per school: walking every school's posts of the week
            # to keep one school's made an académie's Friday grow with the square of its
            # schools.
            "CREATE INDEX posts_school_sent ON posts (school, kind, sent_at) WHERE status = 'sent'",
        ),
    ),
    Migration(
        "the jobs' posts take their round between schools when queued; a school's rooms",
        (
            # A job's post's round in its school's queue (its school's n-th pending post of
            # that priority is in round n), set once when queued: the sender takes the jobs'
            # posts round by round, so that no queue rewrites the other schools' posts.
            # Posts queued before this migration are in round 0: they go first, in order.
            "ALTER TABLE posts ADD COLUMN school_round INTEGER NOT NULL DEFAULT 0",
            "CREATE INDEX posts_pending_rounds ON posts (priority, school_round, id)"
            " WHERE status = 'pending' AND requester IS NULL AND action != 'mail'",
            "CREATE INDEX posts_pending_school_rounds ON posts (school, priority, school_round)"
            " WHERE status = 'pending' AND requester IS NULL AND action != 'mail'",
            # A school's diffusion rooms (its letter's rooms) without reading every school's.
            "CREATE INDEX broadcast_rooms_school ON broadcast_rooms (school, added_at)",
        ),
    ),
    Migration(
        "each school pauses its own letter",
        (
            # `!lettre pause` was one key of bot_state: in a shared deployment, one RUPN's
            # pause stopped every school's letter. A pause in force when upgrading stays in
            # force for the schools known then (each RUPN resumes theirs with `!lettre
            # reprise`); nobody can tell which school typed it.
            "ALTER TABLE schools ADD COLUMN letter_paused INTEGER NOT NULL DEFAULT 0",
            "UPDATE schools SET letter_paused = 1 WHERE EXISTS"
            " (SELECT 1 FROM bot_state WHERE key = 'digest.paused' AND value = '1')",
            "DELETE FROM bot_state WHERE key = 'digest.paused'",
        ),
    ),
)
