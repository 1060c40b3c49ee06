"""Tell the RUPN when a colleague's app refuses the bot its keys (`m.room_key.withheld`).

The bot cannot read what was sent, so it never quotes it: it says who, where
and why, so that the RUPN can help (the colleague's app excludes unverified
sessions, blocked the bot…). Undecryptable events themselves are kept by the
processor until their key arrives (bot/processor.py).

Decisions:
- Once per sender and per (Paris) day, however many sessions or messages:
  one alert is useful, a flood is not.
- The alert goes to the school's RUPN rooms (bot/rupn_rooms.py: its curation room, else
  the direct rooms already open with its RUPN: an event cannot wait for one to open),
  else to the room where it happened, mentioning the RUPN (m.text: it asks them to act).
"""

from __future__ import annotations

import logging

from bot.context import Context
from bot.domain import KeyWithheld
from bot.router import Router
from bot.rupn_rooms import known_rupn_rooms

log = logging.getLogger(__name__)

router = Router("dechiffrement")

ALERT_KIND = "undecryptable-alert"

_WHY = {
    "m.unverified": "son application ne partage ses clés qu’avec les sessions vérifiées, et "
    "elle ne considère pas la mienne comme vérifiée",
    "m.blacklisted": "la session du bot a été bloquée dans son application",
    "m.unauthorised": "son application estime que je n’ai pas accès à ces messages",
    "m.unavailable": "son application n’a plus la clé de ces messages",
    "m.no_olm": "aucun canal chiffré n’a pu être établi entre son application et le bot",
}

_ADVICE = (
    "Tapez !statut : si la session du bot y est « NON signée », voyez la section Dépannage "
    "du guide. Sinon, demandez à cette personne de mettre à jour son application, puis de "
    "renvoyer sa commande."
)


def alert_text(event: KeyWithheld, room_name: str, admins: tuple[str, ...]) -> str:
    why = _WHY.get(event.code, f"son application a refusé de m’envoyer la clé ({event.code})")
    who = ", ".join(admins)
    prefix = f"{who} : " if who else ""
    return (
        f"{prefix}je ne peux pas lire les messages chiffrés de {event.sender} dans "
        f"« {room_name} » : {why}. Je n’ai donc pas vu ce qui a été écrit (commandes "
        f"comprises), et je ne peux pas y répondre. {_ADVICE}"
    )


@router.on(KeyWithheld)
async def key_withheld(ctx: Context, event: KeyWithheld) -> None:
    day = ctx.now.astimezone(ctx.tz).date()
    if not await ctx.repos.undecrypted.claim_alert(event.sender, day):
        log.info("Key withheld by %s again today (%s); RUPN already told", event.sender, event.code)
        return
    admins = tuple(sorted(ctx.settings.admins))
    text = alert_text(event, ctx.info.room_name(event.room_id), admins)
    rooms = await known_rupn_rooms(ctx) or (event.room_id,)
    for room in rooms:
        ctx.messenger.send(room, text, mentions=admins, kind=ALERT_KIND)
    log.info("Told the RUPN that %s withheld keys (%s)", event.sender, event.code)
