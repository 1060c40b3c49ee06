"""The weekly letter for many rooms over a year of data: collect, build, render.

A real, migrated SQLite database in a temporary directory is seeded in bulk (plain
`executemany` into the real tables) with a year of a busy RUPN's activity across N
diffusion rooms: announcements posted to every room (some of them published news
entries), polls with their responses, ateliers and cafés with a notice in every
room and their sign-ups, a letter sent every Friday, and « Le mot du RUPN ».
The database is then closed and reopened (as after a restart) and the letter's
whole pipeline is timed at `NOW`, a Friday 16:30 in Europe/Paris:
`digests.collect.collect` once (in a transaction, as the weekly job runs it),
`build_letter` and `render_letter` for every room, and `render_mail` once.

The first run in the process is reported apart as cold (jinja2 compiles the
templates, babel loads its French data, SQLite's page cache is empty); the goal is
judged on the median of the warm runs that follow. Every rendered letter is checked
to fit on a phone screen (at most `MAX_LINES` non-empty lines).

    python -m bench.letter [--rooms 200] [--runs 5] [--profile] [--show]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import hashlib
import io
import itertools
import json
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import Repositories
from bot.schools import IMPLICIT_KEY
from bot.storage.database import Database, stored, stored_or_none
from digests.build import MAX_LINES, build_letter, server_of
from digests.collect import collect
from digests.model import Letter, Source
from digests.render import Rendered, RenderedMail, render_letter, render_mail

GOAL_S = 1.0
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 12, 4, 16, 30, tzinfo=PARIS)  # a Friday, a school day
SERVER = "agent.education.tchap.gouv.fr"
BOT = f"@rupn-bot:{SERVER}"
RUPN = f"@marie.lefebvre-ac-rennes.fr:{SERVER}"
PERMALINK_BASE = "https://matrix.to/#/"
MEMBERS = 40
"""Joined members of every room, the bot excepted (a fake of the bot's member lists)."""

WEEKS = 52
FEED_SHARE = 0.3  # of the announcements, the news entries published from a feed
POLL_ROOMS = 40  # polls are started in the staff rooms, not in every diffusion room
OPEN_POLLS_IN_FIRST_ROOM = 5  # the worst case for the letter's length: « et 2 autres »
WORKSHOP_SPAN_DAYS = 385  # from a year ago to three weeks ahead


@dataclass(frozen=True)
class Volume:
    """How much one RUPN does in a year, across all of their rooms."""

    announcements_per_week: int
    other_entries_per_feed_week: int  # entries seen but not published (filtered, ignored…)
    polls: int
    workshops: int


BUSY = Volume(announcements_per_week=40, other_entries_per_feed_week=8, polls=300, workshops=150)
"""A busy RUPN of 200 diffusion rooms, this benchmark's case."""

TEACHERS = tuple(f"@enseignant{i:02d}-ac-rennes.fr:{SERVER}" for i in range(60))

FEEDS = (
    ("Éduscol", "https://eduscol.education.fr/rss"),
    ("Académie de Rennes", "https://www.ac-rennes.fr/rss.xml"),
    ("Réseau Canopé", "https://www.reseau-canope.fr/rss"),
    ("DRANE Bretagne", "https://dane.ac-rennes.fr/spip.php?page=backend"),
    ("CNIL — Éducation", "https://www.cnil.fr/fr/rss.xml"),
)
DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi")
HOURS = ("8h", "10h", "12h30", "13h30", "17h", "17h30")
ANNOUNCEMENT_TITLES = (
    "Réunion ENT {day} à {hour} en salle {room}",
    "Conseil pédagogique du {day} : ordre du jour et documents",
    "Pronote : saisie des appréciations avant {day} {hour}",
    "Maintenance de l’ENT {day} soir, connexions coupées de 20h à 23h",
    "Formation Pix+ Édu : inscriptions ouvertes jusqu’à {day}",
    "Nouveaux identifiants EduConnect pour les élèves de 6e",
    "Prêt de tablettes : retour des chariots au CDI avant {day} {hour}",
    "Les vidéoprojecteurs du bâtiment B sont réparés",
    "Capytale : nouvelle activité Python partagée pour les 2de",
    "Sauvegardez vos cours sur l’ENT avant les vacances",
    "Changez votre mot de passe académique avant {day}",
    "Webinaire de la DRANE « IA et évaluation » {day} à {hour}",
    "Salle informatique {room} indisponible {day} (installation des postes)",
    "Conseils de classe : les bulletins sont à valider avant {day} {hour}",
    "Rappel : exercice PPMS {day} matin, consignes en pièce jointe",
    "Nouvelle imprimante en salle des professeurs, code à demander au secrétariat",
    "Le wifi du CDI sera coupé {day} de {hour} à 18h",
    "Tchap : créez vos salons d’équipe, mode d’emploi",
    "Manuels numériques : activation des licences pour les 4e",
    "Journée portes ouvertes : appel aux volontaires pour les démonstrations",
    "Réunion parents-professeurs des 3e {day} à {hour}",
    "apps.education.fr : Nextcloud passe à 100 Go par enseignant",
    "Brevet blanc : salles et surveillances affichées en salle {room}",
    "Les casques audio de la salle {room} sont à nouveau disponibles",
)
PARAGRAPHS = (
    "Merci de prévenir la vie scolaire si vous ne pouvez pas être présent.",
    "Le document est disponible dans l’espace partagé de l’ENT, rubrique Documents.",
    "En cas de difficulté, passez me voir au CDI ou écrivez-moi ici.",
    "Pensez à transmettre l’information à vos collègues qui ne sont pas sur Tchap.",
    "Les élèves concernés ont été prévenus par Pronote.",
)
ENTRY_TITLES = (
    "Semaine de la presse et des médias dans l’École : les ressources",
    "Le numérique au service de l’École de la confiance : appel à projets",
    "Pix : la certification des élèves de 3e et de terminale",
    "Éducation aux médias et à l’information : nouveaux parcours",
    "Protection des données personnelles : le guide pour les établissements",
    "Concours Castor informatique : inscriptions des classes",
    "Intelligence artificielle : repères pour l’usage en classe",
    "Les Trophées des classes : candidatures ouvertes",
    "Capytale : bilan d’usage et nouvelles fonctionnalités",
    "Harcèlement en ligne : ressources pour la journée nationale",
    "Éléa : nouveaux parcours de formation en autonomie",
    "Cybersécurité : les bons réflexes pour les personnels",
)
POLL_QUESTIONS = (
    (
        "Quel créneau pour la prochaine formation ENT ?",
        ("Lundi 17h", "Mercredi 13h30", "Jeudi 17h"),
    ),
    ("Faut-il reconduire le prêt de tablettes aux 6e ?", ("Oui", "Non", "Sans avis")),
    ("Quel thème pour le prochain café numérique ?", ("Pix", "Capytale", "IA", "Tchap")),
    ("Avez-vous besoin d’une clé USB sécurisée ?", ("Oui", "Non")),
    ("Quelle salle pour l’atelier Pronote ?", ("CDI", "Salle 104", "Salle des professeurs")),
    ("Utilisez-vous les manuels numériques en classe ?", ("Souvent", "Parfois", "Jamais")),
    (
        "Quelles applications installer sur les tablettes ?",
        ("GeoGebra", "Book Creator", "Plickers"),
    ),
    ("Participez-vous au webinaire de la DRANE ?", ("Oui", "Non", "Peut-être")),
)
WORKSHOP_THEMES = (
    "Pix en classe",
    "Prise en main de l’ENT",
    "Capytale pour les sciences",
    "Sécuriser ses mots de passe",
    "L’IA générative en classe",
    "Pronote : le cahier de textes",
    "Tchap pour les équipes",
    "Nextcloud apps.education",
    "Les tablettes en classe",
    "RGPD et vie scolaire",
    "Des documents accessibles",
    "Éléa, la plateforme Moodle",
)
PLACES = ("CDI", "Salle 104", "Salle des professeurs", "Salle informatique B12", None)
WORDS = (
    "Pensez à rendre vos fiches de besoins en équipement avant le 11 décembre.",
    "Merci aux 42 collègues qui ont passé la certification Pix+ Édu cette année !",
    "Le guide Tchap mis à jour est dans l’espace partagé de l’ENT.",
    "Nouveau : les chariots de tablettes se réservent dans l’agenda de l’ENT.",
    "Pas de café numérique pendant les vacances de Noël.",
)


# --- seeding ---------------------------------------------------------------------------


class Ids:
    """Unique event ids (43 base64 characters, as Matrix room versions 4+), txn ids, and
    each table's row ids (one database may hold several schools' rows)."""

    def __init__(self) -> None:
        self._events = itertools.count(1)
        self._txns = itertools.count(1)
        self._rows: dict[str, Iterator[int]] = {}

    def row(self, table: str) -> int:
        return next(self._rows.setdefault(table, itertools.count(1)))

    def event(self) -> str:
        digest = hashlib.sha256(next(self._events).to_bytes(8, "big")).digest()
        return "$" + base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def txn(self) -> str:
        return f"rupn{next(self._txns):032x}"


def room_ids(count: int, rng: random.Random) -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return ["!" + "".join(rng.choices(letters, k=18)) + f":{SERVER}" for _ in range(count)]


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        day=rng.choice(DAYS), hour=rng.choice(HOURS), room=rng.choice(("104", "B12", "12", "210"))
    )


def _message(body: str, msgtype: str = "m.text") -> str:
    return json.dumps(
        {
            "msgtype": msgtype,
            "body": body,
            "format": "org.matrix.custom.html",
            "formatted_body": "<p>" + body.replace("\n\n", "</p><p>") + "</p>",
        },
        ensure_ascii=False,
    )


def _within(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment strictly inside (start, end)."""
    span = (end - start).total_seconds()
    return start + timedelta(seconds=rng.uniform(60, span - 60))


@dataclass
class Seed:
    """The rows to insert, table by table, for the établissement `school`."""

    school: str = IMPLICIT_KEY
    posts: list[tuple[Any, ...]] = field(default_factory=list)
    feeds: list[tuple[Any, ...]] = field(default_factory=list)
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    announcements: list[tuple[Any, ...]] = field(default_factory=list)
    polls: list[tuple[Any, ...]] = field(default_factory=list)
    responses: list[tuple[Any, ...]] = field(default_factory=list)
    workshops: list[tuple[Any, ...]] = field(default_factory=list)
    signups: list[tuple[Any, ...]] = field(default_factory=list)
    weeks: list[tuple[Any, ...]] = field(default_factory=list)
    words: list[tuple[Any, ...]] = field(default_factory=list)
    broadcast: list[tuple[Any, ...]] = field(default_factory=list)

    def post(
        self,
        ids: Ids,
        room: str,
        kind: str,
        ref: tuple[str, int] | None,
        content: str,
        at: datetime,
        event_type: str = "m.room.message",
        txn: str | None = None,
    ) -> None:
        when = stored(at)
        self.posts.append(
            (
                room,
                event_type,
                content,
                kind,
                ref[0] if ref else None,
                ref[1] if ref else None,
                txn or ids.txn(),
                ids.event(),
                when,
                when,
                self.school,
            )
        )


def seed_feeds(seed: Seed, ids: Ids) -> list[int]:
    """The config file's sources (the bot's: every school's in a shared deployment), in
    the order of FEEDS; returns their ids."""
    feed_ids = [ids.row("feeds") for _ in FEEDS]
    added = stored(NOW - timedelta(weeks=WEEKS))
    for feed_id, (name, url) in zip(feed_ids, FEEDS, strict=True):
        seed.feeds.append(
            (feed_id, name, url, '["numérique"]', "[]", 0, "config", added, stored(NOW), None)
        )
    return feed_ids


def seed_announcements(
    seed: Seed,
    ids: Ids,
    rooms: Sequence[str],
    rng: random.Random,
    volume: Volume,
    feed_ids: Sequence[int],
) -> None:
    start = NOW - timedelta(weeks=WEEKS)
    everywhere = json.dumps(list(rooms))
    for week in range(WEEKS):
        week_start = start + timedelta(weeks=week)
        week_end = week_start + timedelta(weeks=1)
        for feed_index, feed_id in enumerate(feed_ids):
            for _ in range(volume.other_entries_per_feed_week):
                other_id = ids.row("feed_entries")
                seen = _within(rng, week_start, week_end)
                title = rng.choice(ENTRY_TITLES)
                status = rng.choice(("filtered", "filtered", "ignored", "seen"))
                seed.entries.append(
                    (
                        other_id,
                        feed_id,
                        f"urn:entry:{other_id}",
                        title,
                        f"{FEEDS[feed_index][1].rsplit('/', 1)[0]}/article/{other_id}",
                        stored(seen),
                        f"<p>{title}.</p>",
                        f"{title}.",
                        status,
                        stored(seen),
                        RUPN if status == "ignored" else None,
                        stored(seen) if status == "ignored" else None,
                    )
                )
        weekly = volume.announcements_per_week
        moments = sorted(_within(rng, week_start, week_end) for _ in range(weekly))
        for at in moments:
            announcement_id = ids.row("announcements")
            entry_id: int | None = None
            if rng.random() < FEED_SHARE:
                entry_id = ids.row("feed_entries")
                feed_index = rng.randrange(len(FEEDS))
                feed_id = feed_ids[feed_index]
                title = rng.choice(ENTRY_TITLES)
                link = f"{FEEDS[feed_index][1].rsplit('/', 1)[0]}/article/{entry_id}"
                summary = f"{title}. {rng.choice(PARAGRAPHS)}"
                seed.entries.append(
                    (
                        entry_id,
                        feed_id,
                        f"urn:entry:{entry_id}",
                        title,
                        link,
                        stored(at - timedelta(hours=6)),
                        f"<p>{summary}</p>",
                        summary,
                        "published",
                        stored(at - timedelta(hours=5)),
                        RUPN,
                        stored(at),
                    )
                )
                body = f"**{title}** ({FEEDS[feed_index][0]})\n\n{summary}\n\n{link}"
            else:
                body = f"**{_fill(rng.choice(ANNOUNCEMENT_TITLES), rng)}**\n\n"
                body += " ".join(rng.sample(PARAGRAPHS, 2))
            status = "withdrawn" if rng.random() < 0.02 else "sent"
            seed.announcements.append(
                (
                    announcement_id,
                    RUPN,
                    body,
                    None,
                    everywhere,
                    status,
                    None,
                    stored(at - timedelta(minutes=1)),
                    stored(at),
                    entry_id,
                    rng.choice(rooms[:3]) if entry_id is None else None,
                    ids.event() if entry_id is None else None,
                    1,
                    seed.school,
                )
            )
            content = _message(body)
            for room in rooms:
                seed.post(ids, room, "announcement", ("announcement", announcement_id), content, at)
    # What is still to come: scheduled for next week, never posted.
    for _ in range(5):
        announcement_id = ids.row("announcements")
        body = f"**{_fill(rng.choice(ANNOUNCEMENT_TITLES), rng)}**"
        at = _within(rng, NOW, NOW + timedelta(weeks=1))
        seed.announcements.append(
            (
                announcement_id,
                RUPN,
                body,
                None,
                everywhere,
                "scheduled",
                stored(at),
                stored(NOW - timedelta(hours=2)),
                None,
                None,
                rooms[0],
                ids.event(),
                1,
                seed.school,
            )
        )


def seed_polls(
    seed: Seed, ids: Ids, rooms: Sequence[str], rng: random.Random, volume: Volume
) -> None:
    start = NOW - timedelta(weeks=WEEKS)
    created = sorted(_within(rng, start, NOW - timedelta(days=8)) for _ in range(volume.polls))
    # The last few, in the first room, are all still open: the most the letter can show.
    created[-OPEN_POLLS_IN_FIRST_ROOM:] = sorted(
        _within(rng, NOW - timedelta(days=7), NOW - timedelta(hours=1))
        for _ in range(OPEN_POLLS_IN_FIRST_ROOM)
    )
    for index, at in enumerate(created, start=1):
        poll_id = ids.row("polls")
        forced = index > volume.polls - OPEN_POLLS_IN_FIRST_ROOM
        room = rooms[0] if forced else rng.choice(rooms[:POLL_ROOMS])
        question, texts = rng.choice(POLL_QUESTIONS)
        answers = [{"id": f"a{n}", "text": t} for n, t in enumerate(texts, start=1)]
        max_selections = 1 if rng.random() < 0.8 else len(answers)
        anonymous = rng.random() < 0.2
        deadline: datetime | None = None
        if forced or rng.random() < 0.85:
            deadline = (at + timedelta(days=rng.randint(3, 21))).replace(
                hour=17, minute=0, second=0, microsecond=0
            )
            if forced:
                deadline = max(deadline, NOW + timedelta(days=1 + index % 5))
        is_open = (deadline is not None and deadline > NOW) or (
            deadline is None and at > NOW - timedelta(days=30)
        )
        if deadline is not None:
            end = min(deadline, NOW)
        else:
            end = NOW if is_open else at + timedelta(days=10)
        closed_at = None if is_open else end
        counts = dict.fromkeys((a["id"] for a in answers), 0)
        votes: list[tuple[str, list[str], datetime]] = []
        for voter in rng.sample(TEACHERS, rng.randint(3, 25)):
            for _ in range(2 if rng.random() < 0.15 else 1):  # some change their mind
                picked = rng.sample(list(counts), rng.randint(1, max_selections))
                votes.append((voter, picked, _within(rng, at, end)))
        if is_open or not anonymous:  # an anonymous poll's responses go when it closes
            for voter, picked, sent_at in sorted(votes, key=lambda v: v[2]):
                seed.responses.append(
                    (
                        ids.row("poll_responses"),
                        poll_id,
                        voter,
                        ids.event(),
                        json.dumps(picked),
                        stored(sent_at),
                        stored(sent_at + timedelta(seconds=1)),
                    )
                )
        for _, picked, _ in votes:
            for answer in picked:
                counts[answer] += 1
        txn = ids.txn()
        seed.polls.append(
            (
                poll_id,
                room,
                RUPN,
                question,
                json.dumps(answers, ensure_ascii=False),
                max_selections,
                int(anonymous),
                stored_or_none(deadline),
                "open" if is_open else "closed",
                stored(at),
                stored_or_none(closed_at),
                txn,
                None if is_open else json.dumps({"counts": counts}),
                seed.school,
            )
        )
        content = json.dumps({"org.matrix.msc3381.poll.start": {"question": {"body": question}}})
        seed.post(
            ids,
            room,
            "poll-start",
            ("poll", poll_id),
            content,
            at,
            event_type="org.matrix.msc3381.poll.start",
            txn=txn,
        )


def seed_workshops(
    seed: Seed, ids: Ids, rooms: Sequence[str], rng: random.Random, volume: Volume
) -> None:
    first_day = NOW.date() - timedelta(days=364)
    everywhere = json.dumps(list(rooms))
    for index in range(volume.workshops):
        workshop_id = ids.row("workshops")
        day = first_day + timedelta(days=round(index * WORKSHOP_SPAN_DAYS / volume.workshops))
        day += timedelta(days=max(0, 7 - day.weekday()) if day.weekday() >= 5 else 0)
        cafe = index % 3 == 0
        hour, minute = (12, 30) if cafe else (17, 0)
        starts = datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)
        capacity = None if cafe else rng.choice((12, 16))
        status = "planned" if starts > NOW else "done"
        if rng.random() < 0.05:
            status = "cancelled"
        theme = rng.choice(WORKSHOP_THEMES)
        posted = min(starts - timedelta(days=10), NOW - timedelta(days=1))
        seed.workshops.append(
            (
                workshop_id,
                "cafe" if cafe else "atelier",
                theme,
                stored(starts),
                30 if cafe else 90,
                rng.choice(PLACES),
                capacity,
                None if cafe else 4,
                RUPN,
                everywhere,
                status,
                stored(posted),
                stored(min(NOW, starts)),
                int(starts <= NOW),
                int(starts <= NOW),
                stored(posted),
                seed.school,
            )
        )
        name = f"{'Café numérique' if cafe else 'Atelier'} « {theme} »"
        content = _message(f"**{name}**\n\nRéagissez avec 👍 pour vous inscrire.", "m.notice")
        for room in rooms:
            seed.post(ids, room, "workshop-notice", ("workshop", workshop_id), content, posted)
        confirmed = 0
        for user in rng.sample(TEACHERS, rng.randint(4, 20)):
            signed = _within(rng, posted, min(starts, NOW))
            if rng.random() < 0.1:
                signup_status = "cancelled"
            elif capacity is None or confirmed < capacity:
                signup_status, confirmed = "confirmed", confirmed + 1
            else:
                signup_status = "waiting"
            reaction = rng.random() < 0.7
            seed.signups.append(
                (
                    ids.row("workshop_signups"),
                    workshop_id,
                    user,
                    "reaction" if reaction else "command",
                    ids.event() if reaction and signup_status != "cancelled" else None,
                    signup_status,
                    stored(signed),
                    stored(signed + timedelta(days=1)) if signup_status == "cancelled" else None,
                    int(rng.random() < 0.85)
                    if status == "done" and signup_status == "confirmed"
                    else None,
                )
            )


def seed_letters(seed: Seed, ids: Ids, rooms: Sequence[str], rng: random.Random) -> None:
    """A letter every Friday of the past year, in every room; the words still queued."""
    for weeks_ago in range(WEEKS, 0, -1):
        friday = NOW - timedelta(weeks=weeks_ago)
        year, number, _ = friday.isocalendar()
        decided = friday + timedelta(seconds=rng.randint(1, 30))
        seed.weeks.append(
            (f"{year}-W{number:02d}", "sent", stored(decided), len(rooms), seed.school)
        )
        body = f"📬 La lettre numérique — semaine du {number}\n\nCette semaine\n• …"
        content = _message(body, "m.notice")
        for room in rooms:
            seed.post(ids, room, "digest", ("digest", year * 100 + number), content, decided)
    for n, word in enumerate(WORDS, start=1):
        seed.words.append(
            (ids.row("digest_words"), word, RUPN, stored(NOW - timedelta(days=6 - n)), seed.school)
        )
    for room in rooms:
        seed.broadcast.append((room, RUPN, stored(NOW - timedelta(weeks=WEEKS + 2)), seed.school))


INSERTS: tuple[tuple[str, str], ...] = (
    (
        "feeds",
        "INSERT INTO feeds (id, name, url, include_words, exclude_words, auto_publish, origin,"
        " added_at, last_success_at, school) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    (
        "entries",
        "INSERT INTO feed_entries (id, feed_id, entry_key, title, link, published, summary_html,"
        " summary_text, status, created_at, decided_by, decided_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    (
        "announcements",
        "INSERT INTO announcements (id, author, body, html, rooms, status, scheduled_for,"
        " created_at, published_at, entry_id, request_room, request_event, confirmed, school)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    (
        "polls",
        "INSERT INTO polls (id, room_id, creator, question, answers, max_selections, anonymous,"
        " deadline, status, created_at, closed_at, start_txn, final_results, school)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    (
        "responses",
        "INSERT INTO poll_responses (id, poll_id, voter, event_id, answers, sent_at,"
        " received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ),
    (
        "workshops",
        "INSERT INTO workshops (id, kind, theme, starts_at, duration_minutes, place, capacity,"
        " minimum, organiser, rooms, status, created_at, updated_at, reminded_day,"
        " reminded_hour, notice_edited_at, school)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    (
        "signups",
        "INSERT INTO workshop_signups (id, workshop_id, user_id, via, reaction_event_id, status,"
        " signed_up_at, cancelled_at, attended) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    (
        "posts",
        "INSERT INTO posts (room_id, action, event_type, content, kind, ref_type, ref_id, txn_id,"
        " status, event_id, attempts, created_at, sent_at, school)"
        " VALUES (?, 'send', ?, ?, ?, ?, ?, ?, 'sent', ?, 1, ?, ?, ?)",
    ),
    (
        "weeks",
        "INSERT INTO digest_weeks (week, outcome, decided_at, rooms, school)"
        " VALUES (?, ?, ?, ?, ?)",
    ),
    (
        "words",
        "INSERT INTO digest_words (id, body, added_by, added_at, school) VALUES (?, ?, ?, ?, ?)",
    ),
    (
        "broadcast",
        "INSERT INTO broadcast_rooms (room_id, added_by, added_at, school) VALUES (?, ?, ?, ?)",
    ),
)
SEEDING_PRAGMAS = (
    "PRAGMA journal_mode = MEMORY",
    "PRAGMA synchronous = OFF",
    "PRAGMA cache_size = -262144",  # 256 MiB: the unique event_id index is filled at random
)
TABLES = (
    "announcements",
    "posts",
    "feeds",
    "feed_entries",
    "polls",
    "poll_responses",
    "workshops",
    "workshop_signups",
    "digest_weeks",
    "digest_words",
    "broadcast_rooms",
)


def seed_rooms(
    seed: Seed,
    ids: Ids,
    rooms: Sequence[str],
    rng: random.Random,
    volume: Volume,
    feed_ids: Sequence[int],
) -> None:
    """A year of `seed.school`'s activity in `rooms`: its RUPN's announcements (some of
    them entries of the feeds `feed_ids`), polls, ateliers and cafés, letters and words."""
    seed_announcements(seed, ids, rooms, rng, volume, feed_ids)
    seed_polls(seed, ids, rooms, rng, volume)
    seed_workshops(seed, ids, rooms, rng, volume)
    seed_letters(seed, ids, rooms, rng)


async def prepare_for_seeding(db: Database) -> None:
    """Seeding is not measured: no write-ahead log nor fsync while filling the file (the
    database is closed and reopened with the bot's own settings before measuring)."""
    for pragma in SEEDING_PRAGMAS:
        await db.fetchall(pragma)


async def insert_seed(db: Database, seed: Seed) -> None:
    async with db.transaction():
        for attribute, sql in INSERTS:
            await db.executemany(sql, getattr(seed, attribute))


async def seed_database(db: Database, rooms: Sequence[str], rng: random.Random) -> None:
    seed, ids = Seed(), Ids()
    seed_rooms(seed, ids, rooms, rng, BUSY, seed_feeds(seed, ids))
    await prepare_for_seeding(db)
    await insert_seed(db, seed)


async def row_counts(db: Database) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in TABLES:
        row = await db.fetchone(f"SELECT COUNT(*) AS n FROM {table}")  # noqa: S608 - constant
        counts[table] = int(row["n"]) if row else 0
    return counts


async def seed_file(
    path: Path, fill: Callable[[Database], Awaitable[None]]
) -> tuple[dict[str, int], float]:
    """A new database at `path`, filled by `fill` then closed: its row counts, and the
    seconds it took."""
    started = time.perf_counter()
    db = await Database.open(path)
    try:
        await fill(db)
        counts = await row_counts(db)
    finally:
        await db.close()
    return counts, time.perf_counter() - started


# --- the pipeline ----------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    collect_s: float
    build_s: float
    render_s: float
    mail_s: float
    source: Source
    letters: tuple[Letter, ...]
    rendered: tuple[Rendered, ...]
    mail: RenderedMail

    @property
    def total_s(self) -> float:
        return self.collect_s + self.build_s + self.render_s + self.mail_s


async def run_pipeline(
    db: Database, repos: Repositories, rooms: Sequence[str], members: Mapping[str, int]
) -> RunResult:
    via = server_of(BOT)
    started = time.perf_counter()
    async with db.transaction():  # the weekly job collects inside its unit
        source = await collect(repos, NOW, rooms)
    collected = time.perf_counter()
    letters = tuple(
        build_letter(
            source,
            room,
            tz=PARIS,
            members=members[room],
            permalink_base=PERMALINK_BASE,
            via=via,
        )
        for room in rooms
    )
    built = time.perf_counter()
    rendered = tuple(render_letter(letter, PARIS) for letter in letters if not letter.empty)
    rendered_at = time.perf_counter()
    mail = render_mail(letters[0], PARIS)
    done = time.perf_counter()
    return RunResult(
        collect_s=collected - started,
        build_s=built - collected,
        render_s=rendered_at - built,
        mail_s=done - rendered_at,
        source=source,
        letters=letters,
        rendered=rendered,
        mail=mail,
    )


def non_empty_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip())


def check(result: RunResult, rooms: Sequence[str]) -> int:
    """Every room has a letter that fits on a phone screen; returns the longest, in lines."""
    assert len(result.rendered) == len(rooms), "every room has something to say"
    longest = 0
    for rendered in result.rendered:
        lines = non_empty_lines(rendered.text)
        assert lines <= MAX_LINES, f"{lines} lines:\n{rendered.text}"
        assert rendered.html.startswith("<p><strong>📬 La lettre numérique")
        longest = max(longest, lines)
    mail_lines = non_empty_lines(result.mail.text)
    assert mail_lines <= MAX_LINES, f"{mail_lines} lines in the e-mail:\n{result.mail.text}"
    assert result.mail.html.startswith("<!DOCTYPE html>")
    return max(longest, mail_lines)


# --- diagnostics -----------------------------------------------------------------------


Timings = dict[str, list[float]]


def _timed(
    label: str, method: Callable[..., Awaitable[Any]], timings: Timings
) -> Callable[..., Awaitable[Any]]:
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await method(*args, **kwargs)
        finally:
            timings.setdefault(label, []).append(time.perf_counter() - started)

    return timed


def instrument(repos: Repositories, timings: Timings) -> None:
    """Time every repository call `collect` makes (bench-only patch of the instances)."""
    watched = {
        "digests": (
            "last_letters",
            "delivered_between",
            "open_polls",
            "upcoming_between",
            "words",
        ),
    }
    for repo_name, methods in watched.items():
        repo = getattr(repos, repo_name)
        for name in methods:
            setattr(repo, name, _timed(f"{repo_name}.{name}", getattr(repo, name), timings))


def profile_report(profiler: cProfile.Profile, sort: str, limit: int) -> str:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(sort).print_stats(limit)
    text = out.getvalue()
    start = text.find("   ncalls")
    return text[start:].rstrip() if start >= 0 else text


async def diagnose(db: Database, rooms: Sequence[str], members: Mapping[str, int]) -> None:
    timings: Timings = {}
    repos = Repositories.open(db)
    instrument(repos, timings)
    result = await run_pipeline(db, repos, rooms, members)
    print(f"Inside collect ({result.collect_s * 1e3:.1f} ms), per repository call:")
    for label, values in sorted(timings.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {label:<30}{len(values):>5} call(s){sum(values) * 1e3:>9.1f} ms")
    print()
    profiler = cProfile.Profile()
    profiler.enable()
    await run_pipeline(db, Repositories.open(db), rooms, members)
    profiler.disable()
    print(
        "cProfile of one warm run, by own time (SQLite runs in aiosqlite's thread: the "
        "event loop's wait for it shows as select/poll):"
    )
    print(profile_report(profiler, "tottime", 20))
    print()
    print("Same run, by cumulative time:")
    print(profile_report(profiler, "cumulative", 30))
    print()


# --- main ----------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:7.1f} ms"


def _verdict(seconds: float) -> str:
    return "met" if seconds < GOAL_S else "NOT met"


def _stages(results: Sequence[RunResult]) -> Iterator[tuple[str, list[float]]]:
    yield "collect (SQL + rows → Source)", [r.collect_s for r in results]
    yield "build_letter × rooms", [r.build_s for r in results]
    yield "render_letter × rooms", [r.render_s for r in results]
    yield "render_mail × 1", [r.mail_s for r in results]
    yield "total", [r.total_s for r in results]


async def main_async(room_count: int, runs: int, profile: bool, show: bool) -> bool:
    rng = random.Random(2026)  # noqa: S311 - reproducible synthetic data, not security
    rooms = room_ids(room_count, rng)
    members = dict.fromkeys(rooms, MEMBERS)
    with tempfile.TemporaryDirectory(prefix="rupn-bench-letter-") as tmp:
        path = Path(tmp) / "rupn-bot.db"
        counts, seeding = await seed_file(path, lambda db: seed_database(db, rooms, rng))
        size_mb = path.stat().st_size / 1e6
        db = await Database.open(path)  # as after a restart: an empty page cache
        try:
            repos = Repositories.open(db)
            cold = await run_pipeline(db, repos, rooms, members)
            warm = [await run_pipeline(db, repos, rooms, members) for _ in range(runs)]
            longest = max(check(r, rooms) for r in [cold, *warm])
            median = statistics.median(r.total_s for r in warm)
            source = cold.source
            print(
                f"rupn-bot weekly letter benchmark — Python {sys.version.split()[0]}, "
                f"{room_count} rooms, now = {NOW:%A %d %B %Y %H:%M} Europe/Paris"
            )
            print(
                f"goal: collect + build and render the letters of all rooms (+ the e-mail) "
                f"< {GOAL_S:g} s\n"
            )
            print(f"Seeded {WEEKS} weeks in {seeding:.1f} s ({size_mb:.0f} MB database):")
            for table, count in counts.items():
                print(f"  {table:<20}{count:>10,}")
            print()
            print(
                f"What the letter reads at now (since the previous letter, "
                f"{source.since.astimezone(PARIS):%a %d %b %H:%M}): "
                f"{len(source.published):,} published rows "
                f"({len({(p.published_at, p.title) for p in source.published})} announcements"
                f" × {room_count} rooms), {len(source.polls)} open polls, "
                f"{len(source.upcoming)} ateliers/cafés in the next 14 days, "
                f"{len(source.words)} words"
            )
            first = cold.letters[0]
            print(
                f"  each letter: {len(first.news)} news + « et {first.more_news} autres », "
                f"{len(first.events)} events + {first.more_events} more; the first room also "
                f"{len(first.polls)} polls + {first.more_polls} more; longest letter "
                f"{longest} non-empty lines (≤ {MAX_LINES}: checked for all "
                f"{len(cold.rendered)} letters and the e-mail)\n"
            )
            print(f"  {'stage':<32}{'cold':>10}{'median':>10}{'max':>10}   ({runs} warm runs)")
            for label, values in _stages(warm):
                cold_value = dict(_stages([cold]))[label][0]
                print(
                    f"  {label:<32}{_ms(cold_value):>10}{_ms(statistics.median(values)):>10}"
                    f"{_ms(max(values)):>10}"
                )
            print()
            print(
                f"cold (first run after opening: jinja2 compiles, babel loads, empty page "
                f"cache): {cold.total_s * 1e3:.0f} ms — goal < {GOAL_S:g} s: "
                f"{_verdict(cold.total_s)}"
            )
            print(
                f"warm median {median * 1e3:.0f} ms (max {max(r.total_s for r in warm) * 1e3:.0f}"
                f" ms), {median / room_count * 1e3:.2f} ms per room — goal < {GOAL_S:g} s: "
                f"{_verdict(median)}"
            )
            print()
            if show:
                print(f"The first room's letter ({len(cold.rendered[0].text)} characters):\n")
                print(cold.rendered[0].text)
                print()
            if profile or median >= GOAL_S:
                await diagnose(db, rooms, members)
        finally:
            await db.close()
    return median < GOAL_S


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The weekly letter over a year of data.")
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5, help="warm runs after the cold one")
    parser.add_argument("--profile", action="store_true", help="break down even if the goal is met")
    parser.add_argument("--show", action="store_true", help="print the first room's letter")
    args = parser.parse_args(argv)
    if not asyncio.run(main_async(args.rooms, args.runs, args.profile, args.show)):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
