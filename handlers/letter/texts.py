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


def already_sent(decided_at: datetime, tz: ZoneInfo) -> str:
    return (
        f"La lettre de cette semaine est déjà partie le {format_when(decided_at, tz)} : "
        "rien n’est envoyé. Pour envoyer quand même ce qui est nouveau depuis la dernière "
        "lettre (une lettre de plus), tapez « !lettre envoyer quand-même »."
    )


def extra_sent(rooms: int, mailed: bool) -> str:
    mail = " et par courriel" if mailed else ""
    return (
        f"Lettre supplémentaire envoyée dans {rooms_label(rooms)}{mail}, avec ce qui est "
        "nouveau depuis la dernière lettre. Elle s’ajoute à celle de cette semaine."
    )


NOTHING_NEW = (
    "Rien de nouveau depuis la dernière lettre (aucune publication, aucun mot du RUPN) : "
    "aucune lettre supplémentaire n’est partie."
)
NO_MAIL_YET = (
    "Aucune lettre n’est encore partie par courriel : rien à renvoyer. La prochaine lettre "
    "partira aussi par courriel."
)


def mail_again(subject: str) -> str:
    return (
        f"Le courriel « {subject} » repart tel quel, par courriel seulement (pas dans les salons)."
    )


def mail_pending(subject: str) -> str:
    return (
        f"Le courriel « {subject} » n’est pas encore parti : il est réessayé automatiquement. "
        "Rien de plus n’est envoyé."
    )


def mail_already_sent(
    subject: str, sent_at: datetime | None, tz: ZoneInfo, refused: Sequence[str] = ()
) -> str:
    when = f" le {format_when(sent_at, tz)}" if sent_at else ""
    if refused:
        return (
            f"Le courriel « {subject} » est parti{when}, sauf pour {', '.join(refused)} : rien "
            "n’est renvoyé, pour ne pas l’envoyer deux fois aux autres. Vérifiez ces adresses "
            "dans [email] to."
        )
    return f"Le courriel « {subject} » est bien parti{when} : rien n’est renvoyé."


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
    "SMTP_NO_STARTTLS": (
        "le serveur de courriel ne propose pas STARTTLS, que la configuration demande : "
        "vérifiez [email] smtp_port (465 pour une connexion chiffrée dès le départ), ou "
        "mettez [email] starttls = false si ce relais est sur un réseau de confiance"
    ),
    "SMTP_NO_AUTH": (
        "le serveur de courriel ne propose pas d’identification, alors que [email] username "
        "est renseigné : retirez username si le relais accepte ce serveur sans mot de passe, "
        "ou chiffrez la connexion ([email] starttls = true, ou le port 465), beaucoup de "
        "relais n’identifiant qu’en connexion chiffrée"
    ),
    "SMTP_UNSUPPORTED": (
        "le serveur de courriel ne sait pas transmettre les adresses accentuées (SMTPUTF8) : "
        "vérifiez les adresses de [email] from et to"
    ),
}
UNEXPECTED = "une erreur inattendue est survenue (voir le journal)"


def mail_failed_text(error: str | None, *, resent: bool) -> str:
    """The RUPN's report of a letter's mail that failed for good."""
    reason = MAIL_FAILURES.get(error or "", UNEXPECTED)
    if resent:
        return (
            f"La lettre renvoyée par « !lettre courriel » n’a toujours pas pu partir : "
            f"{reason}. Une fois corrigé, « !lettre courriel » la renvoie encore."
        )
    return (
        f"La lettre n’a pas pu partir par courriel : {reason}. Les salons l’ont bien "
        "reçue. Une fois corrigé, « !lettre courriel » la renvoie par courriel seulement."
    )


def mail_partly_refused(addresses: Sequence[str]) -> str:
    """The RUPN's report of a letter's mail that some recipients refused."""
    listed = ", ".join(addresses)
    return (
        f"La lettre est partie par courriel, sauf pour {listed} : le serveur de courriel a "
        "refusé ces adresses. Vérifiez-les dans [email] to ; les autres destinataires "
        "l’ont reçue (elle n’est pas renvoyée, pour ne pas la leur envoyer deux fois)."
    )
