"""A reload of the directory reaches the running engine; `!etablissements` for the académie."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import load_config
from bot.context import Repositories, Settings
from bot.domain import IncomingMessage, SyncBatch
from bot.processor import EventProcessor
from bot.router import CommandRegistry
from bot.school_reload import EngineSchools, register_schools
from bot.schools import SchoolDirectory, academie_admins
from bot.storage.database import Database
from bot.storage.rooms import RoomsRepository
from bot.storage.state import StateRepository
from bot.tenancy import NO_SCHOOL_TEXT, Tenancy
from handlers import ROUTERS
from tests.unit.academie_files import write_academie
from tests.unit.fakes import FakeBotInfo, FakeClock
from tests.unit.harness import PSEUDONYMS, make_units

DRANE = "@drane:example.org"
MOULIN_RUPN = "@rupn.moulin:example.org"
NEWCOMER = "@rupn.mer:example.org"
MOULIN_ROOM = "!salle-moulin:example.org"
DIRECT = "!direct:example.org"
_ids = itertools.count(1)

RELOADED_CSV = (
    "uai;nom;rupn;zone\n"
    "0860034V;Lycée Camille Guérin;@rupn.guerin:example.org;A\n"
    "0750654D;Lycée Louis-le-Grand;@rupn.llg:example.org;C\n"
    f"0170002K;Lycée de la Mer;{NEWCOMER};B\n"
)


class Engine:
    """The real processor and units of a shared bot, following its directory's reloads."""

    def __init__(self, db: Database, tmp_path: Path) -> None:
        config = load_config(write_academie(tmp_path), environ={})
        self.db = db
        self.csv = tmp_path / "etablissements.csv"
        self.clock = FakeClock()
        self.directory = EngineSchools(
            SchoolDirectory(config), db, self.clock, academie_admins(config)
        )
        schools = self.directory.schools
        settings = Settings(admins=frozenset(), tz=ZoneInfo("Europe/Paris"))
        info = FakeBotInfo(rooms=[MOULIN_ROOM, DIRECT])
        self.units = make_units(db, settings, info, self.clock)
        self.units.serve(schools)
        self.processor = EventProcessor(
            db, Repositories.open(db), StateRepository(db), CommandRegistry(ROUTERS), settings,
            self.clock, info, pseudonyms=PSEUDONYMS,
            tenancy=Tenancy(schools, RoomsRepository(db)), directory=self.directory,
        )  # fmt: skip
        self.directory.follow(self.processor.serve)
        self.directory.follow(self.units.serve)

    async def start(self) -> None:
        await register_schools(self.db, self.directory.schools, self.clock())
        async with self.db.transaction():
            await RoomsRepository(self.db).claim(MOULIN_ROOM, "0860001J", self.clock())

    async def say(self, sender: str, body: str, room: str = DIRECT) -> str:
        """`sender` types `body`: the one reply."""
        event = IncomingMessage(room, f"$m{next(_ids)}", sender, body, self.clock())
        await self.processor.process(SyncBatch(f"s{next(_ids)}", (event,), (), False))
        row = await self.db.fetchone(
            "SELECT content FROM posts WHERE kind = 'reply' ORDER BY id DESC LIMIT 1"
        )
        assert row is not None
        return str(json.loads(row["content"])["body"])


LISTING = (
    "Établissements servis (3) :\n"
    "- Collège Jean Moulin (0860001J) : 1 salon\n"
    "- Lycée Camille Guérin (0860034V) : 0 salon\n"
    "- Lycée Louis-le-Grand (0750654D) : 0 salon\n"
    "Le détail d’un établissement : !etablissements <UAI ou nom>."
)


async def test_the_academie_lists_its_schools_with_their_rooms(
    db: Database, tmp_path: Path
) -> None:
    engine = Engine(db, tmp_path)
    await engine.start()
    assert await engine.say(DRANE, "!etablissements") == LISTING
    assert await engine.say(DRANE, "!etablissements", room=MOULIN_ROOM) == LISTING
    assert await engine.say(MOULIN_RUPN, "!etablissements", room=MOULIN_ROOM) == (
        "Désolé, la commande !etablissements est réservée aux administrateurs de l’académie "
        "(section [academie] de la configuration du bot)."
    )
    assert await engine.say(DRANE, "!etablissements tout") == (
        "Aucun établissement servi ne correspond à « tout » : tapez son UAI (par exemple "
        "!etablissements 0860001J) ou une partie de son nom."
    )


async def test_a_reload_in_chat_reaches_the_running_engine(db: Database, tmp_path: Path) -> None:
    engine = Engine(db, tmp_path)
    await engine.start()
    assert await engine.say(NEWCOMER, "!statut") == NO_SCHOOL_TEXT
    engine.csv.write_text(RELOADED_CSV, encoding="utf-8")
    assert await engine.say(DRANE, "!etablissements recharger") == (
        "Annuaire des établissements rechargé : 4 établissements (1 ajouté)."
    )
    # Recorded, obeyed, and its jobs run: the new school is served from now on.
    rows = await db.fetchall("SELECT key FROM schools WHERE key = '0170002K'")
    assert len(rows) == 1
    assert (await engine.say(NEWCOMER, "!statut")).startswith("rupn-bot ")
    assert [u.settings.school.key for u in engine.units.each_school()] == [
        "0860001J", "0860034V", "0750654D", "0170002K",
    ]  # fmt: skip
    # (its RUPN's `!statut` just above is answered: that reply waits in the outbox)
    assert "\n- Lycée de la Mer (0170002K) : 0 salon, 1 envoi en attente\n" in await engine.say(
        DRANE, "!etablissements"
    )


async def test_a_reload_with_errors_keeps_the_running_list(db: Database, tmp_path: Path) -> None:
    engine = Engine(db, tmp_path)
    await engine.start()
    engine.csv.write_text(
        f"uai;nom;rupn;zone\n0170002X;Lycée de la Mer;{NEWCOMER};B\n", encoding="utf-8"
    )
    assert await engine.say(DRANE, "!etablissements recharger") == (
        "Annuaire des établissements non rechargé ; la liste actuelle est conservée :\n"
        "  etablissements.csv, ligne 2, colonne uai : clé de contrôle erronée : pour 0170002, "
        "la lettre attendue est « K » ; vérifiez le code UAI dans l’annuaire de l’éducation "
        "(reçu : « 0170002X »)"
    )
    assert await engine.say(NEWCOMER, "!statut") == NO_SCHOOL_TEXT
    assert await engine.say(DRANE, "!etablissements") == LISTING
    assert len(engine.units.each_school()) == 3
