"""`!annonce` and `!annonces`: broadcast, schedule, correct and withdraw announcements.

Arguments are parsed in handlers/announcements/args.py (dates included);
posting, editing and redacting are in handlers/announcements/publishing.py; the
job publishing scheduled announcements and the delivery confirmation are in
handlers/announcements/scheduled.py, declared on this router at the end.
"""

from __future__ import annotations

from typing import assert_never

from bot.context import Context
from bot.dates import format_day, format_when
from bot.errors import NotFound, UserError
from bot.router import Router, no_arguments
from bot.storage.announcements import Announcement
from bot.tenancy import check_rooms_of_school
from handlers.announcements import publishing, scheduled
from handlers.announcements.args import (
    AnnonceArgs,
    Correct,
    FromNews,
    Publish,
    Withdraw,
    parse_annonce,
)
from handlers.announcements.publishing import Request
from handlers.news.curation import publish_entry

router = Router("annonce")

EXCERPT_CHARS = 60
ACK_THRESHOLD = 5  # above this many rooms, say at once that publication has started


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
    await check_rooms_of_school(ctx, zip(resolved, args.rooms, strict=True))
    return list(dict.fromkeys(resolved))


async def _get(ctx: Context, announcement_id: int) -> Announcement:
    announcement = await ctx.repos.announcements.get_number(announcement_id)
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
        "Un texte qui commence par l’un de ces mots (programmer, veille, corriger, retirer, "
        'dans) s’écrit entre guillemets : !annonce "Retirer les tablettes du chariot".\n'
        "Tapez !annonces pour retrouver les numéros."
    ),
)
async def annonce(ctx: Context, args: AnnonceArgs) -> None:
    match args:
        case Publish():
            await _publish(ctx, args)
        case FromNews():
            await publish_entry(ctx, args.entry_id, Request.of(ctx), args.comment)
        case Correct():
            await _correct(ctx, args)
        case Withdraw():
            await _withdraw(ctx, args)
        case _:
            assert_never(args)


async def _publish(ctx: Context, args: Publish) -> None:
    rooms = await _resolve_rooms(ctx, args)
    when = args.when
    body, html = publishing.render(args.text)
    announcement = await publishing.publish(
        ctx, Request.of(ctx), body=body, html=html, rooms=rooms, scheduled_for=when, queue=False
    )
    if when is not None:
        label = format_when(when, ctx.tz, with_year=when.year != ctx.now.year)
        ctx.reply(
            f"Annonce n° {announcement.number} programmée pour le {label}, "
            f"dans {publishing.rooms_label(len(rooms))} : {_rooms(ctx, rooms)}. "
            f"Pour l’annuler : !annonce retirer {announcement.number}."
        )
        return
    if len(rooms) > ACK_THRESHOLD:
        # Queued before the posts, so that it arrives first.
        ctx.reply(
            f"Annonce n° {announcement.number} en cours de publication dans {len(rooms)} salons ; "
            "je vous confirme quand c’est fait."
        )
    publishing.queue_posts(ctx, announcement)


async def _correct(ctx: Context, args: Correct) -> None:
    announcement = await _get(ctx, args.announcement_id)
    if announcement.status in ("withdrawn", "cancelled"):
        raise UserError(
            f"L’annonce n° {announcement.number} a été retirée : impossible de la corriger."
        )
    body, html = publishing.render(args.text)
    if announcement.status == "scheduled":
        await ctx.repos.announcements.edit(announcement.id, body, html, ctx.now)
        ctx.reply(f"Annonce n° {announcement.number} corrigée ; elle partira comme prévu.")
        return
    count = await publishing.edit(ctx, announcement, body, html)
    ctx.reply(f"Annonce n° {announcement.number} corrigée dans {publishing.rooms_label(count)}.")


async def _withdraw(ctx: Context, args: Withdraw) -> None:
    announcement = await _get(ctx, args.announcement_id)
    if announcement.status in ("withdrawn", "cancelled"):
        raise UserError(f"L’annonce n° {announcement.number} est déjà retirée.")
    if announcement.status == "scheduled":
        await ctx.repos.announcements.set_status(announcement.id, "cancelled")
        ctx.reply(f"Annonce n° {announcement.number} annulée : elle ne sera pas publiée.")
        return
    count = await publishing.withdraw(ctx, announcement)
    ctx.reply(f"Annonce n° {announcement.number} retirée de {publishing.rooms_label(count)}.")


@router.command(
    "annonces",
    summary=(
        "les dernières annonces publiées dans ce salon (pour les RUPN : toutes, programmées "
        "comprises, avec leurs numéros)"
    ),
    parse=no_arguments,
)
async def annonces(ctx: Context, _: None) -> None:
    if not ctx.is_admin:
        await _published_here(ctx)
        return
    recent = await ctx.repos.announcements.recent(15)
    if not recent:
        ctx.reply("Aucune annonce pour l’instant. Exemple : !annonce Réunion ENT lundi à 17h.")
        return
    labels = {"sent": "publiée", "withdrawn": "retirée", "cancelled": "annulée"}
    lines = ["Annonces :"]
    for a in recent:
        if a.status == "scheduled" and a.scheduled_for is not None:
            other_year = a.scheduled_for.astimezone(ctx.tz).year != ctx.now.astimezone(ctx.tz).year
            state = (
                f"programmée pour le {format_when(a.scheduled_for, ctx.tz, with_year=other_year)}"
            )
        else:
            state = labels.get(a.status, a.status)
            if a.edited_at is not None and a.status == "sent":
                state += ", corrigée"
        lines.append(
            f"- n° {a.number} ({state}, {publishing.rooms_label(len(a.rooms))}) : "
            f"{_excerpt(a.body)}"
        )
    ctx.reply("\n".join(lines))


# --- declared here, written elsewhere ------------------------------------------------------

router.job("annonces-programmees", every_seconds=lambda settings: scheduled.TICK_S)(
    scheduled.publish_due
)
router.on_post_settled(scheduled.confirm)


async def _published_here(ctx: Context) -> None:
    """What a colleague sees (the weekly letter sends them here for « et N autres »):
    what was posted in this room only, so nothing meant for another room shows."""
    published = await ctx.repos.announcements.published_in_room(ctx.room_id, 15)
    if not published:
        ctx.reply("Aucune annonce publiée dans ce salon pour l’instant.")
        return
    lines = ["Dernières annonces de ce salon :"]
    for a in published:
        day = format_day(a.published_at.astimezone(ctx.tz).date()) if a.published_at else ""
        lines.append(f"- {day} : {_excerpt(a.body)}")
    ctx.reply("\n".join(lines))
