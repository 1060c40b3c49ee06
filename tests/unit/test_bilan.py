"""The annual bilan: SQL figures on a hand-made year, the CSV contract, the files, `!bilan`.

`seed_year` writes a small school year 2025-2026 row by row (plain SQL, as the bot's
repositories and the engagement log would have left it), with a case for each rule:
a withdrawn announcement, a post of the previous year, a reaction on a letter, an
open poll with a re-vote, a withdrawal, a spoiled vote and a vote after its deadline,
an atelier cancelled short of its minimum and one cancelled with enough sign-ups, a
walk-in marked present, summer and winter time. The expected figures are worked out
by hand beside each row.
"""

from __future__ import annotations

import base64
import csv
import io
import itertools
import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.context import Settings
from bot.domain import IncomingMessage
from bot.messenger import UPLOAD_KEY
from bot.school_year import SchoolYear
from bot.schools import IMPLICIT_KEY, School
from bot.storage.bilan import (
    FEEDBACK_TEMPLATE,
    NEEDS_TEMPLATE,
    BilanRepository,
    month_bounds,
    offset_periods,
)
from bot.storage.database import Database, stored
from bot.storage.privacy import PrivacyRepository
from digests.bilan.build import USEFUL, VERY_USEFUL, build_bilan, masked
from digests.bilan.model import INDICATORS, SECTIONS, Bilan
from digests.bilan.render import RenderedBilan, csv_value, render_bilan
from handlers.workshops import attendance
from tests.unit.fakes import FakeBotInfo, FakeClock
from tests.unit.harness import process_events

PARIS = ZoneInfo("Europe/Paris")
YEAR = SchoolYear(2025)
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=PARIS)  # the year is not over
RUPN = "@rupn:example.org"
BOT = "@bot:example.org"
A, B, C, D = (f"@{name}:example.org" for name in ("alice", "bruno", "chloe", "david"))
R1, R2, R3 = "!r1:example.org", "!r2:example.org", "!r3:example.org"
OFFICE = "!bureau:example.org"
USER_ID = re.compile(r"@[A-Za-z0-9._=\-/+]+:[A-Za-z0-9.\-]+")

EXPECTED: dict[str, str] = {
    "annonces_publiees": "3",  # a1, a2 and the news a3; not the withdrawn a4 nor a5 (2024-2025)
    "salons_diffusion": "3",
    "lecteurs_median": "3",  # readers per announcement: 8, 3, 1
    "taux_lecture_median": "57,1",  # 8/14, 3/3, 1/10
    "reactions": "3",  # two on a1, one on the news; not on a4 nor on a letter
    "lettres_envoyees": "2",  # the empty week is not a letter
    "lettres_lecteurs_median": "3,5",  # 5 and 2
    "lettres_taux_lecture_median": "23,3",  # 5/15 and 2/15
    "sources_suivies": "2",  # Éduscol (active), Canopé (inactive but brought an entry)
    "articles_recus": "7",
    "articles_proposes": "4",
    "articles_publies": "1",
    "articles_ecartes": "2",
    "cafes": "2",
    "cafes_participants": "5",  # 2 present at the done café, 3 signed up to the other
    "cafes_satisfaction_utile": "50",  # open poll: « Oui, très » and « Pas vraiment »
    "ateliers": "3",  # w1, w2, w5; w3 and w4 cancelled
    "ateliers_a_la_demande": "1",
    "ateliers_proposes": "2",
    "ateliers_annules": "1",  # w3: 2 sign-ups for a minimum of 4; w4 had enough
    "ateliers_tenus": "2",  # w5 is after the cut-off
    "inscrits": "5",  # w1: A and B (not the waiting C, not the walk-in D); w2: 3
    "presents": "2",  # w1: A and the walk-in D
    "ateliers_presences_notees": "1",
    "creneau_pause_meridienne": "1",  # w1 12h30 in winter
    "creneau_fin_de_journee": "1",  # w2 17h in summer (15h UTC)
    "creneau_autre": "1",  # w5 10h
    "satisfaction_reponses": "4",
    "satisfaction_utile": "100",
    "satisfaction_tres_utile": "75",
    "sondages": "4",
    "sondages_besoins": "2",
    "sondages_satisfaction": "2",
    "participation_mediane": "50",  # 4/8, 2/5, 8/10; q4's members are unknown
    "pannes_signalees": "0",  # see test_assistance_bilan.py
    "pannes_resolues": "0",
    "pannes_delai_reponse_median": "",
    "pannes_delai_resolution_median": "",
}


def at(year: int, month: int, day: int, hour: int, minute: int) -> str:
    """A moment in Paris, as stored."""
    return stored(datetime(year, month, day, hour, minute, tzinfo=PARIS))


@dataclass
class Seeder:
    db: Database
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def run(self, sql: str, *params: Any) -> None:
        await self.db.execute(sql, params)

    async def post(
        self,
        room: str,
        kind: str,
        ref: tuple[str, int],
        sent_at: str,
        stats: tuple[int, int, int] | None = None,
    ) -> int:
        """A sent post and, with `stats` (members, author_member, readers), its record."""
        post_id = next(self.ids)
        await self.run(
            "INSERT INTO posts (id, room_id, action, event_type, content, kind, ref_type, ref_id,"
            " txn_id, status, event_id, created_at, sent_at)"
            " VALUES (?, ?, 'send', 'm.room.message', '{}', ?, ?, ?, ?, 'sent', ?, ?, ?)",
            post_id, room, kind, *ref, f"txn{post_id}", f"$post{post_id}", sent_at, sent_at,
        )  # fmt: skip
        if stats is not None:
            await self.run(
                "INSERT INTO post_stats (post_id, room_id, kind, ref_type, ref_id, sent_at,"
                " members, author_member, readers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                post_id, room, kind, *ref, sent_at, *stats,
            )  # fmt: skip
        return post_id

    async def reaction(self, post_id: int, key: str = "👍") -> None:
        number = next(self.ids)
        await self.run(
            "INSERT INTO post_reactions (event_id, post_id, reaction_key, reacted_at)"
            " VALUES (?, ?, ?, ?)",
            f"$reaction{number}", post_id, key, at(2026, 1, 1, 8, 0),
        )  # fmt: skip

    async def announcement(
        self, number: int, published: str, *, status: str = "sent", entry: int | None = None
    ) -> None:
        await self.run(
            "INSERT INTO announcements (id, author, body, rooms, status, created_at,"
            " published_at, entry_id) VALUES (?, ?, ?, '[]', ?, ?, ?, ?)",
            number, RUPN, f"Annonce {number}", status, published, published, entry,
        )  # fmt: skip

    async def feed(self, number: int, name: str, *, active: int, added: str) -> None:
        await self.run(
            "INSERT INTO feeds (id, name, url, origin, active, added_at)"
            " VALUES (?, ?, ?, 'config', ?, ?)",
            number, name, f"https://flux{number}.example.org/rss", active, added,
        )  # fmt: skip

    async def entry(self, feed: int, status: str, created: str) -> int:
        number = next(self.ids)
        await self.run(
            "INSERT INTO feed_entries (id, feed_id, entry_key, title, summary_html, summary_text,"
            " status, created_at) VALUES (?, ?, ?, 'Titre', '', '', ?, ?)",
            number, feed, f"urn:{number}", status, created,
        )  # fmt: skip
        return number

    async def poll(
        self,
        number: int,
        texts: list[str],
        created: str,
        *,
        template: str | None = None,
        counts: list[int] | None = None,
        members: int = 0,
        deadline: str | None = None,
        prefix: str = "a",
    ) -> None:
        """Closed with frozen results when `counts` is given, open otherwise."""
        answers = [{"id": f"{prefix}{i}", "text": t} for i, t in enumerate(texts, start=1)]
        record = None
        if counts is not None:
            record = {
                "counts": {a["id"]: n for a, n in zip(answers, counts, strict=True)},
                "voters": sum(counts) if template != NEEDS_TEMPLATE else 8,  # needs: several each
                "spoiled": 0,
                "members": members,
            }
        await self.run(
            "INSERT INTO polls (id, room_id, creator, question, answers, max_selections,"
            " template, deadline, status, created_at, final_results)"
            " VALUES (?, ?, ?, 'Question ?', ?, ?, ?, ?, ?, ?, ?)",
            number, R1, RUPN, json.dumps(answers), len(texts), template, deadline,
            "closed" if record else "open", created, json.dumps(record) if record else None,
        )  # fmt: skip

    async def vote(self, poll: int, voter: str, answers: list[str], sent: str) -> None:
        number = next(self.ids)
        await self.run(
            "INSERT INTO poll_responses (id, poll_id, voter, event_id, answers, sent_at,"
            " received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            number, poll, voter, f"$vote{number}", json.dumps(answers), sent, sent,
        )  # fmt: skip

    async def workshop(
        self,
        number: int,
        kind: str,
        theme: str,
        starts: str,
        status: str,
        *,
        minimum: int | None = None,
        feedback: int | None = None,
    ) -> None:
        await self.run(
            "INSERT INTO workshops (id, kind, theme, starts_at, minimum, organiser, rooms, status,"
            " created_at, updated_at, feedback_poll_id)"
            " VALUES (?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, ?)",
            number, kind, theme, starts, minimum, RUPN, status, starts, starts, feedback,
        )  # fmt: skip

    async def signup(
        self,
        workshop: int,
        user: str,
        signed: str,
        *,
        status: str = "confirmed",
        attended: int | None = None,
        via: str = "reaction",
    ) -> None:
        await self.run(
            "INSERT INTO workshop_signups (workshop_id, user_id, via, status, signed_up_at,"
            " attended) VALUES (?, ?, ?, ?, ?, ?)",
            workshop, user, via, status, signed, attended,
        )  # fmt: skip


async def seed_year(db: Database) -> None:
    s = Seeder(db)
    async with db.transaction():
        # News: Éduscol (active), an old inactive feed, Canopé (inactive, one entry), a future one.
        await s.feed(1, "Éduscol", active=1, added=at(2025, 1, 1, 8, 0))
        await s.feed(2, "Ancien flux", active=0, added=at(2025, 1, 1, 8, 0))
        await s.feed(3, "Canopé", active=0, added=at(2025, 1, 1, 8, 0))
        await s.feed(4, "Futur", active=1, added=at(2026, 9, 5, 8, 0))
        for status in ("seen", "filtered", "proposed", "ignored", "ignored"):
            await s.entry(1, status, at(2025, 10, 1, 8, 0))
        published = await s.entry(1, "published", at(2025, 11, 20, 8, 0))
        await s.entry(1, "ignored", at(2025, 6, 1, 8, 0))  # the previous year
        await s.entry(3, "filtered", at(2026, 2, 1, 8, 0))
        # Announcements and their posts (members, author is a member, readers).
        await s.announcement(1, at(2025, 9, 10, 10, 0))
        p1 = await s.post(
            R1, "announcement", ("announcement", 1), at(2025, 9, 10, 10, 0), (10, 1, 6)
        )
        await s.post(R2, "announcement", ("announcement", 1), at(2025, 9, 10, 10, 0), (5, 0, 2))
        await s.announcement(2, at(2025, 11, 5, 10, 0))
        await s.post(R3, "announcement", ("announcement", 2), at(2025, 11, 5, 10, 0), (4, 1, 3))
        await s.announcement(3, at(2025, 11, 20, 9, 0), entry=published)
        p4 = await s.post(
            R1, "announcement", ("announcement", 3), at(2025, 11, 20, 9, 0), (10, 0, 1)
        )
        await s.announcement(4, at(2025, 12, 1, 10, 0), status="withdrawn")
        p5 = await s.post(
            R1, "announcement", ("announcement", 4), at(2025, 12, 1, 10, 0), (10, 1, 9)
        )
        await s.announcement(5, at(2025, 8, 20, 10, 0))
        await s.post(R1, "announcement", ("announcement", 5), at(2025, 8, 20, 10, 0), (10, 1, 9))
        await s.reaction(p1)
        await s.reaction(p1, "❤️")
        await s.reaction(p4)
        await s.reaction(p5)
        # Letters: two weeks sent, one empty.
        await s.run(
            "INSERT INTO digest_weeks (week, outcome, decided_at, rooms)"
            " VALUES ('2025-W38', 'sent', ?, 2)",
            at(2025, 9, 19, 16, 30),
        )
        await s.run(
            "INSERT INTO digest_weeks (week, outcome, decided_at, rooms)"
            " VALUES ('2025-W39', 'empty', ?, 0)",
            at(2025, 9, 26, 16, 30),
        )
        await s.run(
            "INSERT INTO digest_weeks (week, outcome, decided_at, rooms)"
            " VALUES ('2025-W40', 'sent', ?, 2)",
            at(2025, 10, 3, 16, 30),
        )
        letter = await s.post(R1, "digest", ("digest", 202538), at(2025, 9, 19, 16, 30), (10, 0, 4))
        await s.post(R2, "digest", ("digest", 202538), at(2025, 9, 19, 16, 30), (5, 0, 1))
        await s.post(R1, "digest", ("digest", 202540), at(2025, 10, 3, 16, 30), (10, 0, 2))
        await s.post(R2, "digest", ("digest", 202540), at(2025, 10, 3, 16, 30), (5, 0, 0))
        await s.reaction(letter)
        # Polls: q1 closed, q2 open (a withdrawal, a spoiled vote), q3 and q4 needs polls.
        await s.poll(1, ["Oui", "Non"], at(2025, 10, 6, 9, 0), counts=[3, 1], members=8)
        await s.poll(2, ["Oui", "Non"], at(2026, 6, 1, 9, 0), deadline=at(2026, 6, 30, 17, 0))
        await s.post(R1, "poll-start", ("poll", 2), at(2026, 6, 1, 9, 0), (5, 1, 3))
        await s.vote(2, A, ["a1"], at(2026, 6, 1, 10, 0))
        await s.vote(2, B, ["a2"], at(2026, 6, 1, 10, 0))
        await s.vote(2, B, [], at(2026, 6, 2, 10, 0))  # withdrawn
        await s.vote(2, C, ["zz"], at(2026, 6, 2, 10, 0))  # spoiled
        await s.vote(2, D, ["a1"], at(2026, 6, 3, 10, 0))
        themes = ["Pronote", "ENT", "Pix"]
        await s.poll(
            3, themes, at(2025, 9, 15, 9, 0), template=NEEDS_TEMPLATE, counts=[5, 7, 0], members=10
        )
        await s.poll(
            4,
            ["Pronote", "ENT", "Tablettes"],
            at(2026, 5, 4, 9, 0),
            template=NEEDS_TEMPLATE,
            prefix="m",
        )
        await s.vote(4, A, ["m1", "m3"], at(2026, 5, 4, 10, 0))
        await s.vote(4, B, ["m3"], at(2026, 5, 4, 10, 0))
        await s.poll(5, ["Oui", "Non"], at(2025, 8, 30, 9, 0), counts=[1, 0], members=3)
        # Satisfaction polls: after w1 (closed), after the café c1 (still open).
        feedback = list(attendance.FEEDBACK_ANSWERS)
        await s.poll(
            6,
            feedback,
            at(2025, 11, 13, 14, 0),
            template=FEEDBACK_TEMPLATE,
            counts=[3, 1, 0],
            members=10,
            prefix="f",
        )
        await s.poll(
            7,
            feedback,
            at(2026, 1, 15, 14, 0),
            template=FEEDBACK_TEMPLATE,
            deadline=at(2026, 1, 22, 14, 0),
            prefix="g",
        )
        await s.vote(7, A, ["g1"], at(2026, 1, 16, 9, 0))
        await s.vote(7, B, ["g2"], at(2026, 1, 16, 9, 0))
        await s.vote(7, B, ["g3"], at(2026, 1, 17, 9, 0))  # changed her mind
        await s.vote(7, C, ["g1"], at(2026, 1, 25, 9, 0))  # after the deadline
        # Ateliers.
        await s.workshop(
            1, "atelier", "Pix en classe", at(2025, 11, 13, 12, 30), "done", feedback=6
        )
        await s.signup(1, A, at(2025, 11, 10, 9, 0), attended=1)
        await s.signup(1, B, at(2025, 11, 10, 9, 0), attended=0)
        await s.signup(1, C, at(2025, 11, 11, 9, 0), status="waiting")
        await s.signup(1, D, at(2025, 11, 13, 13, 45), attended=1, via="command")  # walk-in
        await s.workshop(
            2, "atelier", "Tchap pour les équipes", at(2026, 4, 9, 17, 0), "planned", minimum=3
        )
        for person in (A, B, C):
            await s.signup(2, person, at(2026, 4, 1, 9, 0))
        await s.workshop(3, "atelier", "Capytale", at(2026, 3, 5, 12, 0), "cancelled", minimum=4)
        for person in (A, B):
            await s.signup(3, person, at(2026, 3, 1, 9, 0))
        await s.workshop(4, "atelier", "ENT", at(2026, 2, 5, 12, 0), "cancelled", minimum=2)
        for person in (A, B, C):
            await s.signup(4, person, at(2026, 2, 1, 9, 0))
        await s.workshop(5, "atelier", "Pix en classe", at(2026, 6, 20, 10, 0), "planned")
        await s.signup(5, A, at(2026, 6, 10, 9, 0))
        await s.workshop(6, "atelier", "L’an dernier", at(2025, 6, 1, 12, 0), "done")
        # Cafés.
        await s.workshop(7, "cafe", "L’IA en classe", at(2026, 1, 15, 12, 30), "done", feedback=7)
        await s.signup(7, A, at(2026, 1, 10, 9, 0), attended=1)
        await s.signup(7, B, at(2026, 1, 10, 9, 0), attended=1)
        await s.workshop(8, "cafe", f"Tchap avec {D}", at(2026, 5, 12, 12, 30), "planned")
        for person in (A, B, C):
            await s.signup(8, person, at(2026, 5, 1, 9, 0))


async def make(db: Database, now: datetime = NOW, year: SchoolYear = YEAR) -> Bilan:
    async with db.transaction():
        return await build_bilan(BilanRepository(db), year, now, PARIS)


def csv_rows(rendered: RenderedBilan) -> list[list[str]]:
    data = rendered.file("csv").data
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def texts(rendered: RenderedBilan) -> dict[str, str]:
    found = {f.name: f.data.decode("utf-8-sig") for f in rendered.files}
    found["summary"] = rendered.summary
    return found


# --- time: months and summer time ----------------------------------------------------------


def test_offset_periods_follow_summer_time() -> None:
    assert offset_periods(YEAR.start(PARIS), YEAR.end(PARIS), PARIS) == [
        ("2025-08-31T22:00:00+00:00", "2025-10-26T01:00:00+00:00", 120),
        ("2025-10-26T01:00:00+00:00", "2026-03-29T01:00:00+00:00", 60),
        ("2026-03-29T01:00:00+00:00", "2026-08-31T22:00:00+00:00", 120),
    ]


def test_month_bounds_are_local_months() -> None:
    months = month_bounds(YEAR.start(PARIS), YEAR.end(PARIS), PARIS)
    assert [(y, m) for y, m, _, _ in months] == [
        (2025, 9), (2025, 10), (2025, 11), (2025, 12), (2026, 1), (2026, 2), (2026, 3),
        (2026, 4), (2026, 5), (2026, 6), (2026, 7), (2026, 8),
    ]  # fmt: skip
    assert months[1][2:] == ("2025-09-30T22:00:00+00:00", "2025-10-31T23:00:00+00:00")
    shifted = SchoolYear(2025, 8, 25)  # [bilan] year_start = "08-25"
    bounds = month_bounds(shifted.start(PARIS), shifted.end(PARIS), PARIS)
    assert len(bounds) == 13
    assert bounds[0][2] == stored(datetime(2025, 8, 25, tzinfo=PARIS))
    assert bounds[-1][3] == stored(datetime(2026, 8, 25, tzinfo=PARIS))


# --- the figures ---------------------------------------------------------------------------


async def test_every_indicator_of_a_hand_made_year(db: Database) -> None:
    await seed_year(db)
    rows = csv_rows(render_bilan(await make(db)))
    assert rows[0] == ["section", "cle", "indicateur", "valeur"]
    assert rows[1] == ["0", "annee", "Année scolaire", "2025-2026"]  # no UAI: a single school
    assert {row[1]: row[3] for row in rows[2:]} == EXPECTED
    assert [row[1] for row in rows[2:]] == [i.key for i in INDICATORS]  # the contract's order
    assert [row[0] for row in rows[2:]] == [str(i.section) for i in INDICATORS]


async def test_details_per_month_source_theme_and_need(db: Database) -> None:
    await seed_year(db)
    bilan = await make(db)
    months = {(m.year, m.month): (m.announcements, m.news) for m in bilan.diffusion.months}
    assert months[(2025, 9)] == (1, 0)
    assert months[(2025, 11)] == (1, 1)
    assert sum(a + n for a, n in months.values()) == 3
    sources = [
        (s.name, s.received, s.proposed, s.published, s.set_aside) for s in bilan.news.sources
    ]
    assert sources == [("Éduscol", 6, 4, 1, 2), ("Canopé", 1, 0, 0, 0)]
    assert [(t.theme, t.sessions, t.participants) for t in bilan.ateliers.themes] == [
        ("Pix en classe", 2, 2),  # w5 is still to come: no participant yet
        ("Tchap pour les équipes", 1, 3),
    ]
    assert [(t.theme, t.sessions, t.participants) for t in bilan.cafes.themes] == [
        ("Tchap avec [identifiant masqué]", 1, 3),  # more participants first
        ("L’IA en classe", 1, 2),
    ]
    assert [(k.label, k.count) for k in bilan.consultations.needs_themes] == [
        ("ENT", 7),
        ("Pronote", 6),
        ("Tablettes", 2),
    ]
    assert [(k.label, k.count) for k in bilan.ateliers.satisfaction.answers] == [
        ("Oui, très", 3),
        ("Un peu", 1),
        ("Pas vraiment", 0),
    ]


async def test_an_empty_year_measures_nothing(db: Database) -> None:
    rendered = render_bilan(await make(db))
    values = {row[1]: row[3] for row in csv_rows(rendered)[2:]}
    medians = {"lecteurs_median", "taux_lecture_median", "lettres_lecteurs_median",
               "lettres_taux_lecture_median", "participation_mediane", "cafes_satisfaction_utile",
               "satisfaction_utile", "satisfaction_tres_utile", "pannes_delai_reponse_median",
               "pannes_delai_resolution_median"}  # fmt: skip
    assert {key for key, value in values.items() if value == ""} == medians
    assert {value for key, value in values.items() if key not in medians} == {"0"}
    assert "non mesuré" in texts(rendered)["bilan-2025-2026.html"]
    assert rendered.paragraph == (
        "Au cours de l’année scolaire 2025-2026 (chiffres arrêtés au 15 juin 2026), aucune "
        "annonce n’a été diffusée par le bot."
    )
    assert len(rendered.summary.splitlines()) == 10


def test_csv_values_are_bare_numbers_with_a_decimal_comma() -> None:
    assert [csv_value(v) for v in (None, 0, 12, 3.5, 57.142857, 100.0, 1234.04)] == [
        "", "0", "12", "3,5", "57,1", "100", "1234",
    ]  # fmt: skip


def test_the_indicator_list_is_documented_and_fixed() -> None:
    keys = [indicator.key for indicator in INDICATORS]
    assert len(keys) == len(set(keys))
    assert all(re.fullmatch(r"[a-z_]+", key) for key in keys)
    assert {i.section for i in INDICATORS} == set(SECTIONS) - {6}
    assert all(i.label and i.definition.endswith(".") for i in INDICATORS)
    assert {
        "annonces_publiees", "salons_diffusion", "lecteurs_median", "taux_lecture_median",
        "reactions", "lettres_envoyees", "sources_suivies", "articles_proposes",
        "articles_publies", "articles_ecartes", "cafes", "ateliers", "ateliers_a_la_demande",
        "ateliers_annules", "inscrits", "presents", "sondages", "sondages_satisfaction",
        "participation_mediane",
    } <= set(keys)  # fmt: skip


def test_the_bilan_reads_what_the_features_write() -> None:
    assert attendance.FEEDBACK_TEMPLATE == FEEDBACK_TEMPLATE
    assert attendance.FEEDBACK_ANSWERS[VERY_USEFUL] == "Oui, très"
    assert attendance.FEEDBACK_ANSWERS[USEFUL] == "Un peu"


def test_user_ids_typed_by_the_rupn_are_masked() -> None:
    assert masked("Tchap avec @alice:example.org et @b.c:srv.fr:8448") == (
        "Tchap avec [identifiant masqué] et [identifiant masqué]"
    )
    assert masked("Pix @ la maison") == "Pix @ la maison"


# --- the files -----------------------------------------------------------------------------


async def test_the_files_name_nobody_and_load_nothing(db: Database) -> None:
    await seed_year(db)
    rendered = render_bilan(await make(db))
    assert [(f.name, f.mimetype) for f in rendered.files] == [
        ("bilan-2025-2026.html", "text/html"),
        ("bilan-2025-2026.csv", "text/csv"),
        ("bilan-2025-2026.md", "text/markdown"),
    ]
    for name, text in texts(rendered).items():
        assert USER_ID.search(text) is None, name  # no user id, nothing that looks like one
        for person in (RUPN, BOT, A, B, C, D):
            assert person not in text
    html = texts(rendered)["bilan-2025-2026.html"]
    assert html.startswith('<!DOCTYPE html>\n<html lang="fr">')
    assert html.count("<svg") == 5
    assert "<script" not in html.lower() and "javascript" not in html.lower()
    assert "<!--" not in html  # pygal's comments (its URLs, the day's date) are gone
    assert not re.search(r"""\b(src|href)\s*=|url\(|<link|<iframe|<img""", html)
    urls = set(re.findall(r"https?://[^\s\"'<>]+", html))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}  # namespaces
    assert 'id="chart-bilan-annonces"' in html  # fixed chart ids: the same figures, the same bytes
    assert render_bilan(await make(db)).files == rendered.files


async def test_a_school_with_a_uai_is_named_in_its_three_files(db: Database) -> None:
    await seed_year(db)
    college = School("0860001J", "Collège Jean Moulin", frozenset({RUPN}), "A")
    async with db.transaction():
        named = await build_bilan(BilanRepository(db), YEAR, NOW, PARIS, college)
    rendered = render_bilan(named)
    assert [f.name for f in rendered.files] == [
        "bilan-0860001J-2025-2026.html",
        "bilan-0860001J-2025-2026.csv",
        "bilan-0860001J-2025-2026.md",
    ]
    found = texts(rendered)
    html, markdown = found["bilan-0860001J-2025-2026.html"], found["bilan-0860001J-2025-2026.md"]
    assert "<title>Bilan du numérique — Collège Jean Moulin — année scolaire 2025-2026</title>" in (
        html
    )
    assert '<p class="etablissement">Collège Jean Moulin (UAI 0860001J)</p>' in html
    assert "\nÉtablissement : Collège Jean Moulin (UAI 0860001J).\n" in markdown
    assert csv_rows(rendered)[1:4] == [
        ["0", "annee", "Année scolaire", "2025-2026"],
        ["0", "uai", "UAI de l’établissement", "0860001J"],
        ["0", "etablissement", "Nom de l’établissement", "Collège Jean Moulin"],
    ]
    assert rendered.summary.splitlines()[0] == (
        "📊 Bilan du numérique 2025-2026 — Collège Jean Moulin (UAI 0860001J), du 1er septembre "
        "2025 au 15 juin 2026 (année en cours)"
    )
    assert {row[1]: row[3] for row in csv_rows(rendered)[4:]} == EXPECTED
    unnamed = replace(named, school=replace(college, name=""))
    assert (
        '<p class="etablissement">UAI 0860001J</p>'
        in render_bilan(unnamed).file("html").data.decode()
    )
    # The single school of today's configuration has no UAI: its files are unchanged.
    implicit = replace(named, school=School(IMPLICIT_KEY, "", frozenset({RUPN}), "A"))
    assert render_bilan(implicit).files == render_bilan(await make(db)).files


async def test_the_html_and_markdown_follow_the_survey(db: Database) -> None:
    await seed_year(db)
    found = texts(render_bilan(await make(db)))
    html, markdown = found["bilan-2025-2026.html"], found["bilan-2025-2026.md"]
    for number, title in SECTIONS.items():
        escaped = title.replace("’", "’")
        assert f"<h2>{number}. {escaped}</h2>" in html
        assert f"## {number}. {title}" in markdown
    row = (
        '<th scope="row">Taux de lecture par annonce (médiane, %)</th><td class="n">57\u00a0%</td>'
    )
    assert row in html
    assert "| Annonces publiées | 3 |" in markdown
    assert "| Éduscol | 6 | 4 | 1 | 2 |" in markdown
    needs = "ENT (7 votes) · Pronote (6 votes) · Tablettes (2 votes)."
    assert f"Thèmes en tête des sondages de besoins : {needs}" in markdown
    assert "Tchap avec \\[identifiant masqué\\]" in markdown  # literal brackets, not a link


async def test_the_paragraph_sums_up_the_year(db: Database) -> None:
    await seed_year(db)
    rendered = render_bilan(await make(db))
    assert rendered.paragraph == (
        "Au cours de l’année scolaire 2025-2026 (chiffres arrêtés au 15 juin 2026), 3 annonces "
        "ont été diffusées dans 3 salons de l’établissement, dont 1 article de veille ; une "
        "annonce a été lue, en médiane, par au moins 3 collègues (57\u00a0% des membres de ses "
        "salons). Elles ont suscité 3 réactions. La lettre de la semaine est partie 2 fois, lue "
        "en médiane par au moins 3 collègues. La veille a porté sur 2 sources : 7 articles "
        "reçus, dont 4 proposés au tri, 1 publié et 2 écartés. Côté échanges professionnels, "
        "2 cafés numériques ont réuni 5 participants. Côté formation, 3 mini-ateliers ont été "
        "organisés, dont 1 « à la demande » (1 autre a été annulé faute d’inscrits) ; les "
        "ateliers tenus ont réuni 2 présents pour 5 inscrits. Répartition des créneaux : 1 sur "
        "la pause méridienne, 1 en fin de journée et 1 sur un autre créneau. 100\u00a0% des "
        "réponses aux sondages de satisfaction les jugent utiles. Pour connaître les besoins, "
        "4 sondages ont été lancés (participation médiane : 50\u00a0%) ; les thèmes les plus "
        "demandés sont « ENT », « Pronote » et « Tablettes »."
    )
    assert rendered.paragraph in texts(rendered)["bilan-2025-2026.md"]


async def test_the_summary_is_ten_lines(db: Database) -> None:
    await seed_year(db)
    summary = render_bilan(await make(db)).summary.splitlines()
    assert summary == [
        "📊 Bilan du numérique 2025-2026, du 1er septembre 2025 au 15 juin 2026 (année en cours)",
        "Diffusion : 3 annonces (dont 1 article de veille) dans 3 salons ; au moins 3 lecteurs "
        "par annonce en médiane (57\u00a0% des membres) ; 3 réactions.",
        "Lettre de la semaine : 2 envois, au moins 3 lecteurs par lettre en médiane.",
        "Veille : 2 sources ; 7 articles reçus, 4 proposés au tri, 1 publié, 2 écartés.",
        "Cafés numériques : 2 cafés, 5 participants.",
        "Mini-ateliers : 3 ateliers (1 à la demande, 2 proposés), 1 annulé faute d’inscrits ; "
        "5 inscrits, 2 présents.",
        "Créneaux : 1 sur la pause méridienne, 1 en fin de journée, 1 autre ; satisfaction : "
        "100\u00a0% jugés utiles (4 réponses).",
        "Besoins : 4 sondages, participation médiane 50\u00a0% ; en tête : « ENT », « Pronote » "
        "et « Tablettes ».",
        "Fichiers ci-dessous : bilan-2025-2026.html (à imprimer ou enregistrer en PDF), "
        "bilan-2025-2026.csv (tableur), bilan-2025-2026.md (à coller).",
        "Aucun nom dans ce bilan ; les lectures sont des minimums (les accusés de lecture "
        "privés ne parviennent pas au bot).",
    ]


async def test_a_year_over_is_a_whole_year(db: Database) -> None:
    await seed_year(db)
    bilan = await make(db, now=datetime(2026, 9, 2, 9, 0, tzinfo=PARIS))
    assert not bilan.partial
    assert bilan["ateliers_tenus"] == 3  # w5 took place
    assert render_bilan(bilan).summary.startswith(
        "📊 Bilan du numérique 2025-2026, du 1er septembre 2025 au 31 août 2026\n"
    )


# --- !bilan --------------------------------------------------------------------------------


@dataclass
class Bot:
    db: Database
    settings: Settings = field(
        default_factory=lambda: Settings(admins=frozenset({RUPN}), tz=PARIS, bot_user_id=BOT)
    )
    clock: FakeClock = field(default_factory=lambda: FakeClock(NOW.astimezone(UTC)))
    info: FakeBotInfo = field(default_factory=lambda: FakeBotInfo(rooms=[OFFICE]))
    events: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def say(self, body: str, sender: str = RUPN) -> list[dict[str, Any]]:
        """The posts queued by the message (kind, content)."""
        before = await self.db.fetchone("SELECT COALESCE(MAX(id), 0) AS n FROM posts")
        event = IncomingMessage(OFFICE, f"$cmd{next(self.events)}", sender, body, self.clock())
        await process_events(self.db, self.settings, self.clock, self.info, [event])
        rows = await self.db.fetchall(
            "SELECT kind, room_id, content FROM posts WHERE id > ? ORDER BY id",
            (before["n"] if before else 0,),
        )
        return [{"kind": r["kind"], "room": r["room_id"], **json.loads(r["content"])} for r in rows]


async def test_bilan_posts_a_summary_and_three_files(db: Database) -> None:
    await seed_year(db)
    bot = Bot(db)
    summary, *files = await bot.say("!bilan 2025-2026")
    assert summary["kind"] == "bilan-summary" and summary["room"] == OFFICE
    assert summary["msgtype"] == "m.notice"
    assert summary["m.relates_to"] == {"m.in_reply_to": {"event_id": "$cmd1"}}
    assert len(summary["body"].splitlines()) == 10
    assert summary["body"].startswith("📊 Bilan du numérique 2025-2026, du 1er septembre 2025")
    expected = render_bilan(await make(db))
    assert [
        (f["kind"], f["room"], f["msgtype"], f["body"], f["info"]["mimetype"]) for f in files
    ] == [
        ("bilan-file", OFFICE, "m.file", "bilan-2025-2026.html", "text/html"),
        ("bilan-file", OFFICE, "m.file", "bilan-2025-2026.csv", "text/csv"),
        ("bilan-file", OFFICE, "m.file", "bilan-2025-2026.md", "text/markdown"),
    ]
    for posted, made in zip(files, expected.files, strict=True):
        assert base64.b64decode(posted[UPLOAD_KEY]["data"]) == made.data


async def test_bilan_without_a_year_is_the_current_one(db: Database) -> None:
    bot = Bot(db)
    bot.clock.now = datetime(2026, 11, 22, 19, 0, tzinfo=PARIS).astimezone(UTC)
    await bot.say("!sondage Un café en décembre ? | Oui | Non")
    summary, *files = await bot.say("!bilan")
    assert summary["body"].splitlines()[0] == (
        "📊 Bilan du numérique 2026-2027, du 1er septembre 2026 au 22 novembre 2026 "
        "(année en cours)"
    )
    assert files[0]["body"] == "bilan-2026-2027.html"


async def test_bilan_follows_the_configured_year_start(db: Database) -> None:
    bot = Bot(db)
    await seed_year(db)
    bot.settings = Settings(admins=frozenset({RUPN}), tz=PARIS, bot_user_id=BOT, year_start=(8, 25))
    summary, *_ = await bot.say("!bilan 2025-2026")
    assert "du 25 août 2025 au 15 juin 2026" in summary["body"].splitlines()[0]


@pytest.mark.parametrize(
    ("command", "sender", "answer"),
    [
        (
            "!bilan 2025",
            RUPN,
            "« 2025 » n’est pas une année scolaire : écrivez par exemple 2025-2026.",
        ),
        ("!bilan 2025-2027", RUPN, "« 2025-2027 » n’est pas une année scolaire"),
        (
            "!bilan 2026-2027",
            RUPN,
            "L’année scolaire 2026-2027 n’a pas encore commencé : pas de bilan.",
        ),
        ("!bilan", A, "réservée"),
    ],
)
async def test_bilan_refusals(db: Database, command: str, sender: str, answer: str) -> None:
    posts = await Bot(db).say(command, sender)
    assert [p["kind"] for p in posts] == ["reply"]
    assert answer in posts[0]["body"]


async def test_a_year_without_activity_gets_a_sentence_and_no_file(db: Database) -> None:
    bot = Bot(db)
    [reply] = await bot.say("!bilan")
    assert (reply["kind"], reply["msgtype"], reply["body"]) == (
        "reply",
        "m.notice",
        "Aucune activité enregistrée pour 2025-2026.",
    )
    await seed_year(db)
    [reply] = await bot.say("!bilan 1999-2000")
    assert reply["body"] == "Aucune activité enregistrée pour 1999-2000."


@pytest.mark.parametrize(
    "year", ["0000-0001", "1899-1900", "9999-10000", "２０２５-２０２６", "٢٠٢٥-٢٠٢٦", "2025-"]
)
async def test_an_impossible_year_is_a_usage_error(db: Database, year: str) -> None:
    [reply] = await Bot(db).say(f"!bilan {year}")
    assert reply["body"] == (
        f"« {year} » n’est pas une année scolaire : écrivez par exemple 2025-2026.\n"
        "Utilisation : !bilan [2025-2026]\n"
        "Exemple : !bilan 2025-2026"
    )


async def test_the_retention_leaves_the_bilan_of_the_year_unchanged(db: Database) -> None:
    """Thirteen months later every personal row of the year is anonymised or pruned
    (the daily job's `expire`), and the year's bilan says exactly the same."""
    await seed_year(db)
    before = render_bilan(await make(db))
    async with db.transaction():
        changed = await PrivacyRepository(db).expire(
            datetime(2027, 10, 1, tzinfo=PARIS), year_start=datetime(2028, 9, 1, tzinfo=PARIS)
        )
    assert sum(changed.values()) > 0
    after = render_bilan(await make(db))
    assert csv_rows(after) == csv_rows(before)
    assert after.file("md").data == before.file("md").data
