"""Caches sized to one school's traffic, not to its history.

The Matrix HTML caches serve a fan-out (the same announcement to every room, rendered
once); texts that never repeat (each room's weekly letter, each feed entry) must not
pile up in them for the bot's lifetime: 512 entries of a letter's size were 5 MiB.
The database connection the bot serves on holds no statement of the migrations.
"""

from __future__ import annotations

from pathlib import Path

from bot.formatting import markdown_to_html, sanitize_html
from bot.storage.database import DATABASE_FILE, Database
from bot.storage.migrations import MIGRATIONS

MAX_ENTRIES = 32  # about 220 KiB of letters at most
LETTER_HTML = "<p>" + "Atelier Pronote jeudi à 12h30 au CDI, inscription par réaction. " * 60


def test_a_letter_to_150_rooms_leaves_at_most_a_fan_out_in_the_html_caches() -> None:
    sanitize_html.cache_clear()
    markdown_to_html.cache_clear()
    for room in range(150):
        sanitize_html(f"<h2>Salle {room}</h2>{LETTER_HTML}</p>")
        markdown_to_html(f"**Salle {room}** : réunion ENT jeudi à 17h au CDI.")
    assert sanitize_html.cache_info().currsize <= MAX_ENTRIES
    assert markdown_to_html.cache_info().currsize <= MAX_ENTRIES


def test_one_announcement_to_every_room_is_rendered_once() -> None:
    markdown_to_html.cache_clear()
    for _ in range(150):
        html = markdown_to_html("**Réunion ENT** jeudi à 17h au CDI")
    assert html == "<p><strong>Réunion ENT</strong> jeudi à 17h au CDI</p>"
    assert markdown_to_html.cache_info().misses == 1


async def test_the_bot_serves_on_a_connection_that_did_not_run_the_migrations(
    tmp_path: Path,
) -> None:
    """sqlite3 keeps up to 128 prepared statements per connection: a first start (or an
    upgrade) would keep every CREATE and UPDATE of the migrations for the bot's lifetime,
    with SQLite's memory for each intermediate schema (0.7 MiB on a first start)."""
    db = await Database.open(tmp_path / DATABASE_FILE)
    try:
        assert await db.schema_version() == len(MIGRATIONS)
        prepared = {row["sql"] for row in await db.fetchall("SELECT sql FROM sqlite_stmt")}
    finally:
        await db.close()
    migration_statements = {s for migration in MIGRATIONS for s in migration.statements}
    assert prepared  # the query itself, at least: SQLite lists what is prepared
    assert not prepared & migration_statements
