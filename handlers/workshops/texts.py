"""Texts of the workshops: labels, the notice, mentions as pills; and what counts as a 👍."""

from __future__ import annotations

import html
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.dates import format_when
from bot.ics import workshop_title
from bot.messenger import Messenger, Ref
from bot.storage.workshops import Workshop

THUMBS_UP = "\U0001f44d"
_SKIN_TONES = {chr(c) for c in range(0x1F3FB, 0x1F400)}
_VARIATION_SELECTORS = {"\ufe0e", "\ufe0f"}


def icon(workshop: Workshop) -> str:
    return "☕" if workshop.kind == "cafe" else "🛠️"


def label(workshop: Workshop) -> str:
    """« Atelier n° 3 », « Café numérique n° 3 »."""
    return f"{'Café numérique' if workshop.kind == 'cafe' else 'Atelier'} n° {workshop.id}"


def the(workshop: Workshop) -> str:
    """« l’atelier n° 3 », « le café numérique n° 3 »."""
    return ("le café numérique" if workshop.kind == "cafe" else "l’atelier") + f" n° {workshop.id}"


def to_the(workshop: Workshop) -> str:
    """« à l’atelier n° 3 », « au café numérique n° 3 »."""
    return (
        "au café numérique" if workshop.kind == "cafe" else "à l’atelier"
    ) + f" n° {workshop.id}"


def when_label(moment: datetime, tz: ZoneInfo, now: datetime) -> str:
    """« mardi 1 décembre à 12h30 », with the year when it is not the current one."""
    return format_when(moment, tz, with_year=moment.astimezone(tz).year != now.astimezone(tz).year)


def place_label(place: str | None) -> str:
    return place or "lieu à préciser"


def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


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
        f"Pour vous inscrire : réagissez 👍 à ce message, ou tapez !inscription {workshop.id} ; "
        "pour vous désinscrire : retirez votre réaction ou tapez "
        f"!desinscription {workshop.id}."
    )
    return "\n".join(lines)


def to_html(text: str, mentions: tuple[str, ...] = (), *, bold_first: bool = False) -> str:
    """Escaped text, line breaks kept, the mentioned ids as matrix.to links (pills)."""
    lines = [html.escape(line, quote=False) for line in text.split("\n")]
    if bold_first and lines:
        lines[0] = f"<strong>{lines[0]}</strong>"
    body = "<br>".join(lines)
    for user in sorted(set(mentions), key=len, reverse=True):
        escaped = html.escape(user, quote=False)
        body = body.replace(
            escaped, f'<a href="https://matrix.to/#/{html.escape(user)}">{escaped}</a>'
        )
    return f"<p>{body}</p>"


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
        room_id, text, html=to_html(text, mentions), mentions=mentions, reply_to=reply_to,
        kind=kind, ref=ref,
    )  # fmt: skip


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
