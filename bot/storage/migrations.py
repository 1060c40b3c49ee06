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
)
