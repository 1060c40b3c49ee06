"""Texts of the workshops: names, the notice, reminders, mentions as pills; what counts as a 👍.

Pure functions of a `Workshop` (and of `now`, `tz` where a date is shown), and
`tell`, which sends a text with its mentions shown as pills: the modules that
send decide where and to whom.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot.dates import format_when
from bot.formatting import text_to_html
from bot.ics import workshop_title
from bot.messenger import Messenger, Ref
from bot.storage.workshops import Workshop
from handlers.workshops.args import DESPITE_HOLIDAYS

THUMBS_UP = "\U0001f44d"
_SKIN_TONES = {chr(c) for c in range(0x1F3FB, 0x1F400)}
_VARIATION_SELECTORS = {"\ufe0e", "\ufe0f"}


def _is_cafe(workshop: Workshop) -> bool:
    return workshop.kind == "cafe"


def icon(workshop: Workshop) -> str:
    return "☕" if _is_cafe(workshop) else "🛠️"


def label(workshop: Workshop) -> str:
    """« Atelier n° 3 », « Café numérique n° 3 »."""
    return f"{'Café numérique' if _is_cafe(workshop) else 'Atelier'} n° {workshop.number}"


def named(workshop: Workshop) -> str:
    """« atelier n° 3 « Pronote » », « café numérique n° 3 « ENT » » (within a sentence)."""
    kind = "café numérique" if _is_cafe(workshop) else "atelier"
    return f"{kind} n° {workshop.number} « {workshop.theme} »"


def the(workshop: Workshop) -> str:
    """« l’atelier n° 3 », « le café numérique n° 3 »."""
    return f"{'le café numérique' if _is_cafe(workshop) else 'l’atelier'} n° {workshop.number}"


def to_the(workshop: Workshop) -> str:
    """« à l’atelier n° 3 », « au café numérique n° 3 »."""
    return f"{'au café numérique' if _is_cafe(workshop) else 'à l’atelier'} n° {workshop.number}"


def not_found(workshop_id: int) -> str:
    """Neutral: a number that does not exist has no kind (atelier or café)."""
    return (
        f"Aucun atelier ni café numérique n° {workshop_id}. "
        "Tapez !ateliers pour voir les prochains."
    )


def when_label(moment: datetime, tz: ZoneInfo, now: datetime) -> str:
    """« mardi 1 décembre à 12h30 », with the year when it is not the current one."""
    return format_when(moment, tz, with_year=moment.astimezone(tz).year != now.astimezone(tz).year)


def place_label(place: str | None) -> str:
    return place or "lieu à préciser"


def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def count_of(count: int, word: str) -> str:
    """« 0 inscrit », « 1 présent », « 3 présents »: in French 0 and 1 are singular."""
    return f"{count} {word}{'s' if count > 1 else ''}"


def people(count: int) -> str:
    if count == 0:
        return "aucune personne inscrite à prévenir"
    if count == 1:
        return "1 personne inscrite prévenue"
    return f"{count} personnes inscrites prévenues"


def _remaining(capacity: int, confirmed: int) -> str:
    left = max(capacity - confirmed, 0)
    if left == 0:
        return "complet"
    return f"{left} restante{'s' if left > 1 else ''}"


def notice_text(workshop: Workshop, confirmed: int, tz: ZoneInfo, now: datetime) -> str:
    places = (
        "sans limite"
        if workshop.capacity is None
        else f"{workshop.capacity} ({_remaining(workshop.capacity, confirmed)})"
    )
    lines = [
        f"{icon(workshop)} {workshop_title(workshop)}",
        f"Quand : {when_label(workshop.starts_at, tz, now)}",
        f"Où : {place_label(workshop.place)}",
        f"Places : {places}",
    ]
    if workshop.minimum is not None:
        lines.append(
            f"À la demande : il aura lieu si au moins {workshop.minimum} personnes s’inscrivent."
        )
    lines.append(
        "Pour vous inscrire : réagissez 👍 à ce message, ou tapez "
        f"!inscription {workshop.number} ; "
        "pour vous désinscrire : retirez votre réaction ou tapez "
        f"!desinscription {workshop.number}."
    )
    return "\n".join(lines)


def tell(
    messenger: Messenger,
    room_id: str,
    text: str,
    mentions: tuple[str, ...],
    *,
    kind: str,
    ref: Ref | None,
    reply_to: str | None = None,
) -> str:
    return messenger.send(
        room_id,
        text,
        html=text_to_html(text, mentions),
        mentions=mentions,
        reply_to=reply_to,
        kind=kind,
        ref=ref,
    )


# --- public holidays and school holidays ------------------------------------------------


def day_label(day: date) -> str:
    """« jeudi 6 mai 2027 », « samedi 1er mai 2027 »: always with the year."""
    number = "1er" if day.day == 1 else str(day.day)
    weekday = format_date(day, "EEEE", locale="fr_FR")
    return f"{weekday} {number} {format_date(day, 'MMMM y', locale='fr_FR')}"


def _during(name: str) -> str:
    """« les vacances de Noël », « le pont de l’Ascension », from the calendar's names."""
    lowered = name[:1].lower() + name[1:]
    if lowered.startswith("vacances"):
        return f"les {lowered}"
    if lowered.startswith("pont"):
        return f"le {lowered}"
    return f"la période « {name} »"


_CONFIRM = (
    f"choisissez un autre jour, ou confirmez en ajoutant « {DESPITE_HOLIDAYS} » à la fin "
    "de la commande."
)


def public_holiday_refusal(day: date, name: str) -> str:
    """« Le jeudi 6 mai 2027 est férié (Ascension) : choisissez un autre jour, … »."""
    return f"Le {day_label(day)} est férié ({name}) : {_CONFIRM}"


def school_holiday_refusal(day: date, name: str, zone: str) -> str:
    """« Le mardi 22 décembre 2026 tombe pendant les vacances de Noël (zone B) : … »."""
    return f"Le {day_label(day)} tombe pendant {_during(name)} (zone {zone}) : {_CONFIRM}"


# --- reminders and the minimum check ---------------------------------------------------


def _clock(workshop: Workshop, tz: ZoneInfo) -> str:
    local = workshop.starts_at.astimezone(tz)
    return f"{local.hour}h{local.minute:02d}"


def _place(workshop: Workshop) -> str:
    return f", {workshop.place}" if workshop.place else ""


def day_reminder_text(workshop: Workshop, now: datetime, tz: ZoneInfo) -> str:
    start = workshop.starts_at.astimezone(tz)
    today = now.astimezone(tz).date()
    if start.date() == today:
        day = "aujourd’hui"
    elif start.date() == today + timedelta(days=1):
        day = "demain"
    else:  # not reached: the reminder is due 24 h before
        day = f"le {start.day}/{start.month}"
    return f"📅 Rappel : {named(workshop)} {day} à {_clock(workshop, tz)}{_place(workshop)}."


def hour_reminder_text(workshop: Workshop, tz: ZoneInfo) -> str:
    return f"⏰ Dans une heure : {named(workshop)} à {_clock(workshop, tz)}{_place(workshop)}."


def with_people(text: str, people: Sequence[str]) -> str:
    return f"{text}\nInscrits : {', '.join(people)}"


def minimum_text(workshop: Workshop, confirmed: int) -> str:
    article = "Le " if _is_cafe(workshop) else "L’"
    return (
        f"{article}{named(workshop)} n’a que {count_of(confirmed, 'inscrit')} pour un minimum "
        f"de {workshop.minimum}. Confirmez-le en ne faisant rien, ou annulez-le : "
        f"!atelier annuler {workshop.number}."
    )


# --- reactions ---------------------------------------------------------------------------


def is_thumbs_up(key: str) -> bool:
    """👍 in any skin tone, with or without a variation selector."""
    stripped = "".join(c for c in key.strip() if c not in _SKIN_TONES | _VARIATION_SELECTORS)
    return unicodedata.normalize("NFC", stripped) == THUMBS_UP


DETAILS = (
    "Séparez la date, le thème et les options par des barres « | ». Options, dans n’importe "
    "quel ordre après le thème :\n"
    "- un lieu, par exemple « CDI »\n"
    "- un nombre de places, par exemple « 12 places » ou « 12 » (au-delà : liste d’attente, "
    "promue dans l’ordre quand une place se libère)\n"
    "- minimum N — atelier « à la demande » : s’il y a moins de N inscrits peu avant, le bot "
    "vous demande de confirmer ou d’annuler\n"
    "Un jour férié, ou un jour des vacances scolaires de la zone configurée, est refusé ; "
    f"pour le maintenir, ajoutez « {DESPITE_HOLIDAYS} » à la fin de la commande (de même "
    "pour !atelier modifier et !atelier depuis-sondage).\n"
    "L’annonce part dans les salons de diffusion (ou dans ce salon s’il n’y en a aucun), avec "
    "une invitation .ics pour l’agenda. On s’inscrit en réagissant 👍 à l’annonce ou avec "
    "!inscription <n°>.\n"
    "- !atelier modifier <n°> <quand> [| lieu] — change la date et/ou le lieu "
    "(« !atelier modifier 3 | salle 12 » ne change que le lieu), prévient les inscrits et "
    "envoie l’invitation mise à jour\n"
    "- !atelier annuler <n°> — annule et prévient les inscrits\n"
    "- !atelier presents <n°> @a @b … (ou « tous ») — enregistre les présents\n"
    "- !atelier depuis-sondage <n° de sondage> <quand> — crée un atelier sur le thème en tête "
    "du sondage et invite ceux qui l’ont choisi\n"
    "Tapez !ateliers pour retrouver les numéros."
)
