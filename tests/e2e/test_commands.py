"""The router's first commands, in an encrypted room, against a real Synapse."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import StaffRoom

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
    "- !mesdonnees [effacer] — vous montre en privé ce que le bot garde à votre sujet ; "
    "« effacer » pour l’effacer\n"
    "\n"
    "Tapez !aide suivi d’un nom de commande pour le détail et un exemple."
)


async def test_help_unknown_and_refusal_in_encrypted_room(staff: StaffRoom) -> None:
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
