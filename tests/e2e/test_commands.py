"""The router's first commands, in an encrypted room, against a real Synapse; the
supervision endpoints (/metrics, /sante) count them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from devtools.smtp import free_port
from devtools.synapse import ThrowawaySynapse
from tests.e2e.conftest import StaffRoom, close_staff_room, make_staff_room
from tests.e2e.helpers import eventually

pytestmark = pytest.mark.e2e

HELP_FOR_TEACHERS = (
    "**Commandes de rupn-bot**\n"
    "\n"
    "- !aide [commande] — affiche la liste des commandes, ou le détail de l’une d’elles\n"
    "- !annonces — les dernières annonces publiées dans ce salon (pour les RUPN : toutes, "
    "programmées comprises, avec leurs numéros)\n"
    "- !ateliers — liste les prochains ateliers et cafés numériques, avec les places restantes\n"
    "- !inscription <n°> — vous inscrit à un atelier ou un café numérique (comme réagir 👍 à "
    "son annonce)\n"
    "- !desinscription <n°> — retire votre inscription à un atelier ou un café numérique\n"
    "- !panne <salle> | <matériel> | <ce qui se passe> — signale une panne au service "
    "d’assistance et vous transmet sa réponse\n"
    "- !pannes — les demandes de panne en cours (les vôtres ; toutes pour le RUPN)\n"
    "- !mesdonnees [effacer] — vous montre en privé ce que le bot garde à votre sujet ; "
    "« effacer » pour l’effacer\n"
    "\n"
    "Tapez !aide suivi d’un nom de commande pour le détail et un exemple."
)


@dataclass
class Supervised:
    """The staff room, its bot serving /metrics and /sante on `address`."""

    room: StaffRoom
    address: str

    async def get(self, path: str) -> tuple[int, str]:
        """A GET, as Prometheus or a monitor does."""
        url = f"http://{self.address}{path}"
        async with aiohttp.ClientSession() as session, session.get(url) as answer:
            return answer.status, await answer.text()


@pytest.fixture
async def supervised(synapse: ThrowawaySynapse, tmp_path: Path) -> AsyncIterator[Supervised]:
    address = f"127.0.0.1:{free_port()}"
    metrics = {"enabled": True, "listen": address}
    room = await make_staff_room(synapse, tmp_path, sections={"metrics": metrics}, start_bot=True)
    yield Supervised(room, address)
    await close_staff_room(room)


async def test_help_unknown_and_refusal_in_encrypted_room(supervised: Supervised) -> None:
    staff = supervised.room
    reply = await staff.command(staff.prof1, "!aide")
    assert reply.decrypted
    assert reply.msgtype == "m.notice"
    assert reply.body == HELP_FOR_TEACHERS
    assert reply.formatted_body is not None
    assert "<strong>Commandes de rupn-bot</strong>" in reply.formatted_body
    assert reply.content["m.mentions"] == {"user_ids": [staff.prof1.user_id]}

    reply = await staff.command(staff.prof2, "!xyz")
    assert reply.body == "Commande inconnue : !xyz. Tapez !aide pour la liste des commandes."

    reply = await staff.command(staff.prof1, "!statut")
    assert reply.body == (
        "Désolé, la commande !statut est réservée aux référents numériques (RUPN) qui "
        "administrent le bot. Tapez !aide pour voir les commandes qui vous sont ouvertes."
    )

    reply = await staff.command(staff.rupn, "!AIDE")
    assert "- !statut — état du bot" in reply.body

    reply = await staff.command(staff.rupn, "!Statut")
    assert reply.body.startswith("rupn-bot 0.1.0, en service depuis le ")
    assert "Salons rejoints : 1." in reply.body

    # Five commands answered, five replies sent: counted by command, never by person.
    async def counted() -> set[str]:
        status, text = await supervised.get("/metrics")
        assert status == 200
        lines = set(text.splitlines())
        expected = {
            'rupn_commandes_total{commande="aide",etablissement="",resultat="ok"} 2.0',
            'rupn_commandes_total{commande="inconnue",etablissement="",resultat="inconnue"} 1.0',
            'rupn_commandes_total{commande="statut",etablissement="",resultat="reservee"} 1.0',
            'rupn_commandes_total{commande="statut",etablissement="",resultat="ok"} 1.0',
            'rupn_messages_envoyes_total{etablissement="",type="reply"} 5.0',
            'rupn_file_attente{canal="matrix",etablissement=""} 0.0',
        }
        assert expected <= lines, sorted(line for line in lines if line.startswith("rupn_"))
        return lines

    lines = await eventually(counted, timeout=10)
    assert not any(staff.prof1.user_id in line or staff.rupn.user_id in line for line in lines)
    assert await supervised.get("/sante") == (200, "ok")
