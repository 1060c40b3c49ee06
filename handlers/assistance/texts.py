"""What teachers, the RUPN and the helpdesk read about assistance requests, in French."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.storage.assistance import Request

NOT_SET_UP = (
    "Le signalement des pannes n’est pas encore configuré pour votre établissement. "
    "Signalez la panne à votre référent numérique (RUPN){rupn} ; il peut activer cette "
    "commande (section [assistance] de la configuration du bot)."
)


def not_set_up(rupn: list[str]) -> str:
    return NOT_SET_UP.format(rupn=f" : {', '.join(rupn)}" if rupn else "")


def ticket_name(request: Request) -> str:
    """« GLPI #0000123 »: the desk's tag as learnt from its first answer, brackets removed."""
    return (request.desk_ticket or "").strip("[]() ")


def desk_number(request: Request) -> str:
    return (
        f" (ticket {ticket_name(request)} du service d’assistance)" if request.desk_ticket else ""
    )


def reported(request: Request) -> str:
    return (
        f"Demande n° {request.number} enregistrée : {request.location} — {request.equipment} — "
        f"{request.symptom}.\nElle part par courriel au service d’assistance ({request.desk}). "
        "Sa réponse vous sera transmise ici. Pour ajouter une précision : "
        f"!panne {request.number} <précision> ; une fois réparé : !panne résolue {request.number}."
    )


def already_reported(request: Request, added: bool) -> str:
    if not added:
        return (
            f"Déjà signalé, n° {request.number} ({request.title}) : vous faites déjà partie "
            "des personnes prévenues."
        )
    return (
        f"Déjà signalé, n° {request.number} ({request.title}) : je vous ajoute aux personnes "
        "prévenues. La réponse du service d’assistance vous sera transmise ici."
    )


def unknown_request(number: int) -> str:
    return (
        f"Aucune demande n° {number} dans votre établissement (tapez !pannes pour la liste). "
        f"Pour signaler une panne dans une salle numérotée, utilisez la forme longue : "
        f"!panne {number} | vidéoprojecteur | ne s’allume plus"
    )


def already_closed(request: Request) -> str:
    return f"La demande n° {request.number} ({request.title}) est déjà close."


def not_yours(request: Request) -> str:
    return (
        f"Seuls la personne qui a signalé la panne n° {request.number} et le RUPN peuvent la "
        "déclarer résolue."
    )


def detail_sent(request: Request) -> str:
    return (
        f"Précision ajoutée à la demande n° {request.number}{desk_number(request)} ; elle part "
        "au service d’assistance."
    )


def resolved(request: Request) -> str:
    return (
        f"Demande n° {request.number} ({request.title}) close : le service d’assistance en est "
        "informé. Merci !"
    )


def desk_answer(request: Request, text: str) -> str:
    return (
        f"Réponse du service d’assistance à la demande n° {request.number} ({request.title})"
        f"{desk_number(request)} :\n\n{text}"
    )


def unmatched_answer(subject: str, sender: str, text: str) -> str:
    return (
        "Un courriel reçu dans la boîte du bot ne correspond à aucune demande de panne "
        f"connue ; le voici pour que vous le transmettiez.\nDe : {sender}\nObjet : {subject}"
        f"\n\n{text}"
    )


def stale(request: Request, days: int, since: datetime, tz: ZoneInfo) -> str:
    when = since.astimezone(tz).strftime("%d/%m/%Y")
    ticket = f"ticket {ticket_name(request)}" if request.desk_ticket else "pas encore de ticket"
    return (
        f"Demande n° {request.number} ({request.title}) : aucune nouvelle du service "
        f"d’assistance depuis {days} jours ouvrés (le {when} ; {ticket}). Suggestion de "
        f"relance : « !panne {request.number} Bonjour, pouvez-vous nous dire où en est cette "
        "demande ? Le matériel est toujours en panne. Merci. »"
    )


def age(request: Request, now: datetime) -> str:
    days = (now - request.opened_at).days
    return "aujourd’hui" if days == 0 else f"il y a {days} jour{'s' if days > 1 else ''}"


def listed(requests: list[Request], now: datetime, *, own: bool) -> str:
    if not requests:
        return (
            "Vous n’avez signalé aucune panne en cours."
            if own
            else "Aucune demande de panne en cours ni close récemment."
        )
    title = "Vos demandes de panne :" if own else "Demandes de panne de l’établissement :"
    lines = [title]
    for r in requests:
        state = "en cours" if r.status == "open" else "close"
        news = f" — dernière nouvelle : {_short(r.last_news)}" if r.last_news else ""
        lines.append(
            f"- n° {r.number} · {r.title} · {state}, signalée {age(r, now)}{desk_number(r)}{news}"
        )
    return "\n".join(lines)


def _short(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def mail_failed(request: Request, reason: str) -> str:
    return (
        f"Le courriel de la demande de panne n° {request.number} ({request.title}) au service "
        f"d’assistance ({request.desk}) n’a pas pu partir : {reason}. Transmettez-la autrement "
        "au service d’assistance ; la demande reste ouverte."
    )


def mail_partly_refused(request: Request, addresses: tuple[str, ...]) -> str:
    return (
        f"Le courriel de la demande de panne n° {request.number} ({request.title}) est parti, "
        f"sauf pour {', '.join(addresses)} : le serveur de courriel a refusé ces adresses. "
        "Vérifiez-les dans la section [assistance] (to, categories, copie_rupn)."
    )
