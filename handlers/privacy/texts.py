"""What `!mesdonnees` answers, in French."""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo

from bot.dates import format_when
from bot.schools import IMPLICIT_KEY
from bot.storage.privacy import HeldRequest, HeldSignup, HeldVote, PersonalData
from bot.wording import counted

SHOWN_PER_LIST = 10

SHOW_POINTER_TEXT = "Je vous réponds en message privé : acceptez l’invitation du bot si besoin."
ERASE_POINTER_TEXT = "C’est fait : vos données sont effacées. Je vous le confirme en message privé."
ERASED_TEXT = (
    "C’est fait : ce que rupn-bot gardait à votre sujet est effacé ou anonymisé "
    "(inscriptions, réponses aux sondages, réactions, marqueurs de lecture, copies de ses "
    "messages). Vos réponses aux sondages encore ouverts et vos inscriptions aux ateliers à "
    "venir sont retirées ; les totaux passés restent justes, sans votre nom. Ce qui a été "
    "écrit dans les salons reste dans leur historique, sur le serveur Tchap : le bot ne peut "
    "pas l’effacer."
)
NOTHING_TEXT = (
    "rupn-bot ne garde rien à votre sujet. Ce que vous écrivez dans les salons reste dans "
    "leur historique, sur le serveur Tchap."
)

_STATUS = {
    "confirmed": "inscription confirmée",
    "waiting": "en liste d’attente",
    "cancelled": "désinscription",
}
_AUTHORED = {
    "announcements": ("annonce rédigée", "annonces rédigées"),
    "polls": ("sondage créé ou clos", "sondages créés ou clos"),
    "workshops": ("atelier ou café organisé", "ateliers ou cafés organisés"),
    "broadcast_rooms": ("salon de diffusion ajouté", "salons de diffusion ajoutés"),
    "feeds": ("flux de veille ajouté", "flux de veille ajoutés"),
    "digest_words": ("mot pour la lettre", "mots pour la lettre"),
}


def _capped(lines: list[str]) -> list[str]:
    extra = len(lines) - SHOWN_PER_LIST
    return lines[:SHOWN_PER_LIST] + ([f"  – et {extra} autres"] if extra > 0 else [])


def _signup_line(signup: HeldSignup, tz: ZoneInfo) -> str:
    what = "café" if signup.kind == "cafe" else "atelier"
    details = [_STATUS.get(signup.status, signup.status)]
    if signup.by_reaction:
        details[0] += " (par 👍)"
    if signup.attended is not None:
        details.append("présence notée" if signup.attended else "absence notée")
    when = format_when(signup.starts_at, tz, with_year=True)
    return f"  – {what} « {signup.theme} », {when} : {', '.join(details)}"


def _vote_line(vote: HeldVote, tz: ZoneInfo) -> str:
    chosen = ", ".join(vote.answers) or "réponse retirée"
    line = f"  – « {vote.question} » : {chosen} ({format_when(vote.sent_at, tz, with_year=True)})"
    return line + (" — sondage anonyme : effacée à la clôture" if vote.anonymous else "")


def _request_line(request: HeldRequest, tz: ZoneInfo) -> str:
    role = "signalée par vous" if request.reported else "vous êtes prévenu·e de ses réponses"
    state = "en cours" if request.open else "close"
    when = format_when(request.opened_at, tz, with_year=True)
    return f"  – n° {request.number} « {request.title} », {when} : {role}, {state}"


OUTSIDE_SCHOOLS = "Hors établissement"
"""The heading of what no school owns (a room of no school's, a source of the config file)."""


def held_text(
    held: Mapping[str, PersonalData],
    names: Mapping[str, str],
    tz: ZoneInfo,
    retention_months: int,
) -> str:
    """What `!mesdonnees` shows, in French: the person's data in every school (`held`, by
    school key), under each school's name (`names`, in the order to show) when the bot
    serves named schools."""
    if not held:
        return NOTHING_TEXT
    lines = ["Ce que rupn-bot garde à votre sujet :"]
    if set(held) == {IMPLICIT_KEY}:
        lines += _held_lines(held[IMPLICIT_KEY], tz, retention_months)
    else:
        order = {key: index for index, key in enumerate(names)}
        for key in sorted(held, key=lambda k: order.get(k, len(order))):
            heading = names.get(key) or key or OUTSIDE_SCHOOLS
            lines += ["", heading, *_held_lines(held[key], tz, retention_months)]
    lines += [
        "",
        f"Tout est anonymisé au bout de {retention_months} mois. Pour l’effacer dès "
        "maintenant : !mesdonnees effacer",
    ]
    return "\n".join(lines)


def _held_lines(data: PersonalData, tz: ZoneInfo, retention_months: int) -> list[str]:
    """What one school holds about the person."""
    lines: list[str] = []
    if data.signups:
        lines.append(f"• Inscriptions aux ateliers et cafés numériques ({len(data.signups)}) :")
        lines += _capped([_signup_line(s, tz) for s in data.signups])
    if data.votes:
        lines.append(f"• Réponses aux sondages ({len(data.votes)}) :")
        lines += _capped([_vote_line(v, tz) for v in data.votes])
    if data.requests:
        lines.append(f"• Demandes de panne (!panne) ({len(data.requests)}) :")
        lines += _capped([_request_line(r, tz) for r in data.requests])
    reactions = sum(1 for s in data.signups if s.by_reaction)
    if reactions or data.decisions:
        parts = []
        if reactions:
            parts.append(counted(reactions, "👍 d’inscription", "👍 d’inscription"))
        if data.decisions:
            sorted_ = counted(data.decisions, "proposition triée", "propositions triées")
            parts.append(f"{sorted_} dans la veille (✅/❌ ou commande)")
        lines.append(f"• Réactions enregistrées : {', '.join(parts)}")
    if data.read_markers:
        lines.append(
            f"• Marqueurs de lecture : {counted(data.read_markers, 'salon', 'salons')}, sous un "
            "pseudonyme (ils comptent les lecteurs des messages du bot)"
        )
    authored = [counted(n, *_AUTHORED.get(k, (k, k))) for k, n in data.authored.items() if n]
    if authored:
        lines.append(f"• Ce que vous avez créé : {', '.join(authored)}")
    if data.posts:
        lines.append(
            "• Messages du bot envoyés à votre demande ou qui vous nomment : "
            f"{data.posts} (copies gardées {retention_months} mois)"
        )
    if data.waiting:
        lines.append(f"• Messages chiffrés en attente de leur clé : {data.waiting}")
    return lines
