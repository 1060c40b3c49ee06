"""`!annonce` and `!annonces`: broadcast, schedule, correct and withdraw announcements."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.context import Context
from bot.dates import format_when
from bot.errors import InvalidArguments, NotFound, UserError
from bot.router import ParseEnv, Router, no_arguments
from bot.storage.announcements import Announcement
from bot.storage.posts import Post
from bot.when import parse_when
from bot.work import Units
from handlers.announcements import publishing

log = logging.getLogger(__name__)

router = Router("annonce")

SCHEDULE_TICK_S = 20.0
EXCERPT_CHARS = 60
ACK_THRESHOLD = 5  # above this many rooms, say at once that publication has started


@dataclass(frozen=True)
class Publish:
    text: str
    rooms: tuple[str, ...] = ()  # empty: the diffusion rooms
    when: str | None = None


@dataclass(frozen=True)
class FromNews:
    entry_id: int
    comment: str | None


@dataclass(frozen=True)
class Correct:
    announcement_id: int
    text: str


@dataclass(frozen=True)
class Withdraw:
    announcement_id: int


AnnonceArgs = Publish | FromNews | Correct | Withdraw


def _number(word: str) -> int | None:
    word = word.removeprefix("n°").removeprefix("#")
    return int(word) if word.isdigit() else None


def _is_room(word: str) -> bool:
    return (
        word == "ici"
        or (word.startswith("!") and len(word) > 1)
        or (word.startswith("#") and ":" in word)
    )


def parse_annonce(text: str, env: ParseEnv) -> AnnonceArgs:
    """Sub-commands only when their shape is complete; otherwise it is all text."""
    text = text.strip()
    if not text:
        raise InvalidArguments("Le texte de l’annonce est vide.")
    head, _, rest = text.partition(" ")
    keyword, rest = head.lower(), rest.strip()
    number_word, _, after_number = rest.partition(" ")
    number = _number(number_word) if rest else None
    if keyword == "veille" and number is not None:
        return FromNews(number, after_number.strip() or None)
    if keyword == "corriger" and number is not None:
        if not after_number.strip():
            raise InvalidArguments("Donnez le nouveau texte après le numéro de l’annonce.")
        return Correct(number, after_number.strip())
    if keyword == "retirer" and number is not None and not after_number.strip():
        return Withdraw(number)
    if keyword == "programmer" and "|" in rest:
        when, _, body = rest.partition("|")
        publish = _targets(body.strip())
        if not publish.text:
            raise InvalidArguments("Le texte de l’annonce est vide.")
        return Publish(publish.text, publish.rooms, when.strip())
    return _targets(text)


def _targets(text: str) -> Publish:
    """`dans #salle:serveur #autre:serveur : texte` names the rooms; else all diffusion rooms."""
    first, _, remainder = text.partition(" ")
    if first.lower() == "dans":
        # Aliases contain ":", so the separator is " : " (French typography).
        candidate, separator, body = remainder.partition(" : ")
        rooms = candidate.split()
        if separator and rooms and all(_is_room(r) for r in rooms):
            return Publish(body.strip(), tuple(rooms))
    return Publish(text)


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1].rstrip() + "…"


def _rooms(ctx: Context, names: list[str]) -> str:
    return ", ".join(ctx.info.room_name(r) for r in names)


async def _resolve_rooms(ctx: Context, args: Publish) -> list[str]:
    if not args.rooms:
        rooms = await publishing.diffusion_rooms(ctx.repos, ctx.settings)
        if not rooms:
            raise UserError(
                "Aucun salon de diffusion : tapez !diffusion ajouter dans chaque salon qui doit "
                "recevoir les annonces, ou nommez les salons : !annonce dans #salon:serveur : texte"
            )
        return rooms
    resolved: list[str] = []
    for reference in args.rooms:
        room_id = ctx.room_id if reference == "ici" else ctx.info.find_room(reference)
        if room_id is None:
            raise NotFound(f"Le bot n’est pas dans le salon {reference} : invitez-le d’abord.")
        resolved.append(room_id)
    return list(dict.fromkeys(resolved))


async def _get(ctx: Context, announcement_id: int) -> Announcement:
    announcement = await ctx.repos.announcements.get(announcement_id)
    if announcement is None:
        raise NotFound(
            f"Aucune annonce n° {announcement_id}. Tapez !annonces pour voir leurs numéros."
        )
    return announcement


@router.command(
    "annonce",
    summary="publie une annonce dans les salons de diffusion, la programme, la corrige "
    "ou la retire",
    usage="<texte>",
    example="!annonce **Café numérique** jeudi à 12h30 au CDI : venez avec vos questions !",
    admin=True,
    parse=parse_annonce,
    details=(
        "Le texte accepte le Markdown : **gras**, *italique*, [lien](https://…), listes.\n"
        "- !annonce dans #salon:serveur ici : <texte> — seulement dans les salons nommés "
        "(« ici » = ce salon)\n"
        "- !annonce programmer <quand> | <texte> — par exemple "
        "« !annonce programmer lundi 8h | Réunion ENT à 17h »\n"
        "- !annonce veille <n°> [commentaire] — publie la proposition de veille n°\n"
        "- !annonce corriger <n°> <nouveau texte> — corrige l’annonce dans chaque salon\n"
        "- !annonce retirer <n°> — la retire de chaque salon (ou annule une annonce "
        "programmée)\n"
        "Tapez !annonces pour retrouver les numéros."
    ),
)
async def annonce(ctx: Context, args: AnnonceArgs) -> None:
    if isinstance(args, FromNews):
        await publishing.publish_entry(
            ctx.repos, ctx.messenger, ctx.settings, entry_id=args.entry_id, author=ctx.sender,
            comment=args.comment, now=ctx.now, request_room=ctx.room_id,
            request_event=ctx.event_id,
        )  # fmt: skip
    elif isinstance(args, Correct):
        await _correct(ctx, args)
    elif isinstance(args, Withdraw):
        await _withdraw(ctx, args)
    else:
        await _publish(ctx, args)


async def _publish(ctx: Context, args: Publish) -> None:
    rooms = await _resolve_rooms(ctx, args)
    when = parse_when(args.when, ctx.now, ctx.tz) if args.when is not None else None
    body, html = publishing.render(args.text)
    announcement = await publishing.publish(
        ctx.repos, ctx.messenger, author=ctx.sender, body=body, html=html, rooms=rooms,
        now=ctx.now, scheduled_for=when, request_room=ctx.room_id, request_event=ctx.event_id,
        queue=False,
    )  # fmt: skip
    if when is not None:
        label = format_when(when, ctx.tz, with_year=when.year != ctx.now.year)
        ctx.reply(
            f"Annonce n° {announcement.id} programmée pour le {label}, "
            f"dans {publishing.rooms_label(len(rooms))} : {_rooms(ctx, rooms)}. "
            f"Pour l’annuler : !annonce retirer {announcement.id}."
        )
        return
    if len(rooms) > ACK_THRESHOLD:
        # Queued before the posts, so that it arrives first.
        ctx.reply(
            f"Annonce n° {announcement.id} en cours de publication dans {len(rooms)} salons ; "
            "je vous confirme quand c’est fait."
        )
    publishing.queue_posts(ctx.messenger, announcement)


async def _correct(ctx: Context, args: Correct) -> None:
    announcement = await _get(ctx, args.announcement_id)
    if announcement.status in ("withdrawn", "cancelled"):
        raise UserError(
            f"L’annonce n° {announcement.id} a été retirée : impossible de la corriger."
        )
    body, html = publishing.render(args.text)
    if announcement.status == "scheduled":
        await ctx.repos.announcements.edit(announcement.id, body, html, ctx.now)
        ctx.reply(f"Annonce n° {announcement.id} corrigée ; elle partira comme prévu.")
        return
    count = await publishing.edit(ctx.repos, ctx.messenger, announcement, body, html, ctx.now)
    ctx.reply(f"Annonce n° {announcement.id} corrigée dans {publishing.rooms_label(count)}.")


async def _withdraw(ctx: Context, args: Withdraw) -> None:
    announcement = await _get(ctx, args.announcement_id)
    if announcement.status in ("withdrawn", "cancelled"):
        raise UserError(f"L’annonce n° {announcement.id} est déjà retirée.")
    if announcement.status == "scheduled":
        await ctx.repos.announcements.set_status(announcement.id, "cancelled")
        ctx.reply(f"Annonce n° {announcement.id} annulée : elle ne sera pas publiée.")
        return
    count = await publishing.withdraw(ctx.repos, ctx.messenger, announcement)
    ctx.reply(f"Annonce n° {announcement.id} retirée de {publishing.rooms_label(count)}.")


@router.command(
    "annonces",
    summary="liste les annonces programmées et les dernières publiées, avec leurs numéros",
    admin=True,
    parse=no_arguments,
)
async def annonces(ctx: Context, _: None) -> None:
    recent = await ctx.repos.announcements.recent(15)
    if not recent:
        ctx.reply("Aucune annonce pour l’instant. Exemple : !annonce Réunion ENT lundi à 17h.")
        return
    labels = {"sent": "publiée", "withdrawn": "retirée", "cancelled": "annulée"}
    lines = ["Annonces :"]
    for a in recent:
        if a.status == "scheduled" and a.scheduled_for is not None:
            state = f"programmée pour le {format_when(a.scheduled_for, ctx.tz)}"
        else:
            state = labels.get(a.status, a.status)
            if a.edited_at is not None and a.status == "sent":
                state += ", corrigée"
        lines.append(
            f"- n° {a.id} ({state}, {publishing.rooms_label(len(a.rooms))}) : {_excerpt(a.body)}"
        )
    ctx.reply("\n".join(lines))


@router.job("annonces-programmees", every_seconds=lambda settings: SCHEDULE_TICK_S)
async def publish_due(units: Units) -> None:
    """Scheduled announcements whose time has come, including while the bot was down."""
    async with units.unit() as ctx:
        for announcement in await ctx.repos.announcements.due(ctx.now):
            await ctx.repos.announcements.mark_published(announcement.id, ctx.now)
            publishing.queue_posts(ctx.messenger, announcement)
            log.info("Published scheduled announcement %d", announcement.id)


@router.on_post_settled
async def confirm(units: Units, post: Post) -> None:
    if post.kind != publishing.KIND or post.ref_type != publishing.KIND or post.ref_id is None:
        return
    async with units.unit() as ctx:
        await publishing.confirm_when_delivered(ctx, post.ref_id)
