"""What `!lettre` answers (the letter's own wording lives in digests/templates/)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.dates import format_when
from bot.storage.digests import Word
from digests.schedule import DueLetter

NOTHING_TO_SAY = (
    "Rien à dire pour l’instant : aucune publication depuis la dernière lettre, aucun "
    "sondage ouvert, aucun atelier ni café dans les 14 jours, aucun mot du RUPN. "
    "Aucune lettre ne partirait."
)
NO_ROOM = (
    "Aucun salon ne reçoit la lettre : ajoutez un salon de diffusion avec « !diffusion "
    "ajouter » dans le salon concerné, ou renseignez [digest] rooms dans la configuration."
)
PAUSED = "La lettre est en pause : aucun envoi automatique jusqu’à « !lettre reprise »."
NO_MAIL = "Aucun envoi par courriel n’est configuré (section [email] de la configuration)."


def rooms_label(count: int) -> str:
    return "1 salon" if count == 1 else f"{count} salons"


def next_sending(
    due: DueLetter | None, *, enabled: bool, paused: bool, tz: ZoneInfo, rooms: int
) -> str:
    if not enabled:
        return "Envoi automatique désactivé ([digest] enabled = false) : « !lettre envoyer »."
    if paused:
        return PAUSED
    if due is None:
        return "Aucun envoi prévu dans l’année (vacances ou calendrier à mettre à jour)."
    return f"Prochain envoi : {format_when(due.due, tz)}, dans {rooms_label(rooms)}."


def preview_header(next_line: str) -> str:
    return f"Aperçu de la lettre (rien n’est envoyé). {next_line}"


def pending_words(words: Sequence[Word]) -> str:
    if not words:
        return ""
    shown = " ; ".join(f"n° {w.id} « {_short(w.body)} »" for w in words)
    return f"Mot du RUPN en attente : {shown}. Pour en retirer un : !lettre retirer <n°>."


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sent_text(rooms: int, mailed: bool) -> str:
    mail = " et par courriel" if mailed else ""
    return f"Lettre envoyée dans {rooms_label(rooms)}{mail}. Elle compte pour cette semaine."


def word_added(word_id: int, next_line: str) -> str:
    return f"Ajouté au mot du RUPN (n° {word_id}). {next_line}"


def word_removed(word_id: int) -> str:
    return f"Ligne n° {word_id} retirée du mot du RUPN."


def word_unknown(word_id: int) -> str:
    return (
        f"Aucune ligne n° {word_id} dans le mot du RUPN en attente. "
        "« !lettre aperçu » montre les numéros."
    )


def paused_text() -> str:
    return "Lettre mise en pause : plus d’envoi automatique. « !lettre reprise » la relance."


def resumed_text(next_line: str) -> str:
    return f"Lettre relancée. {next_line}"


def mail_queued() -> str:
    return "La lettre de la semaine part par courriel (et pas dans les salons)."


MAIL_FAILURES = {
    "SMTP_AUTH": (
        "le serveur de courriel a refusé l’identifiant ou le mot de passe : vérifiez "
        "[email] username et la variable RUPN_SMTP_PASSWORD"
    ),
    "SMTP_REFUSED": (
        "le serveur de courriel a refusé le message : vérifiez l’adresse d’expédition "
        "([email] from) et les destinataires ([email] to)"
    ),
    "SMTP_UNREACHABLE": (
        "le serveur de courriel est resté injoignable malgré plusieurs essais : vérifiez "
        "[email] smtp_host et smtp_port, et que le relais accepte ce serveur"
    ),
}


def mail_failed_text(error: str | None, queued_at: datetime | None, tz: ZoneInfo) -> str:
    reason = MAIL_FAILURES.get(error or "", "une erreur inattendue est survenue (voir le journal)")
    when = f" du {format_when(queued_at, tz)}" if queued_at else ""
    return (
        f"La lettre{when} n’a pas pu partir par courriel : {reason}. Les salons l’ont bien "
        "reçue. Une fois corrigé, « !lettre courriel » la renvoie par courriel seulement."
    )
