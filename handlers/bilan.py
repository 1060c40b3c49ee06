"""`!bilan [2025-2026]`: the annual bilan, as a summary here and three files.

The figures are computed in SQL (bot/storage/bilan/), built and rendered by
digests/bilan (the same code as `rupn-bot bilan`, offline). The summary (ten lines,
kind "bilan-summary") answers the command; the HTML to print, the CSV and the
Markdown follow as files in the same room (kind "bilan-file"), encrypted like any
upload in an encrypted room. Only aggregates: no name, no user id.

Without a year, the current school year (to today); a year that has not begun is
refused; a year where no indicator counts anything gets one sentence and no file.
Years start on `[bilan] year_start` (1 September by default), in the bot's time zone.
A school with a UAI gets files named `bilan-<UAI>-AAAA-AAAA.*`, its name in them.

`!bilan academie [2025-2026]`: the académie's bilan (digests/bilan/academie*.py) over every
school served, for the académie's admins only (`[academie] admins`), typed in any room or
in a direct room with the bot; a RUPN gets a refusal.

The pipeline (digests/bilan: babel, the charts, the templates) is imported by the
handler, the feature's one boundary: the first `!bilan` loads it, not every start
(issue 20, memory).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.context import Context
from bot.errors import InvalidArguments, PermissionDenied, UserError
from bot.router import PREFIX, ParseEnv, Router, admin_only_text, normalize
from bot.school_year import SchoolYear, parse_school_year, school_year_of

if TYPE_CHECKING:
    from digests.bilan.academie_render import RenderedAcademie
    from digests.bilan.render import RenderedBilan

SUMMARY_KIND = "bilan-summary"
FILE_KIND = "bilan-file"
REF = "bilan"
ACADEMIE_REF = "bilan-academie"
ACADEMIE_WORD = "academie"
USAGE = "[2025-2026]"  # `academie` is for the académie admins only: in the details
EXAMPLE = f"{PREFIX}bilan 2025-2026"
ACADEMIE_ONLY_TEXT = (
    f"Désolé, « {PREFIX}bilan academie » est réservé aux administrateurs de l’académie "
    f"(section [academie] de la configuration). Pour le bilan de votre établissement, tapez "
    f"{PREFIX}bilan."
)

router = Router("bilan")


@dataclass(frozen=True)
class BilanArgs:
    first: int | None  # 2025 for « 2025-2026 »; None: the current school year
    academie: bool = False  # `!bilan academie`: the académie's bilan


def parse_bilan(text: str, env: ParseEnv) -> BilanArgs:
    words = text.split()
    academie = bool(words) and normalize(words[0]) == ACADEMIE_WORD
    rest = " ".join(words[1:] if academie else words)
    if not rest:
        return BilanArgs(None, academie)
    try:
        return BilanArgs(parse_school_year(rest).first, academie)
    except ValueError as error:
        raise InvalidArguments(str(error)) from None


@router.command(
    "bilan",
    summary="bilan de l’année scolaire : un résumé ici, puis une page à imprimer, un tableau "
    "pour tableur et un texte à coller",
    usage=USAGE,
    example=EXAMPLE,
    admin=True,
    academie=True,
    parse=parse_bilan,
    details=(
        "« !bilan » donne le bilan de l’année scolaire en cours, jusqu’à aujourd’hui ; "
        "« !bilan 2025-2026 » celui d’une année donnée. Les fichiers (HTML, CSV, Markdown) "
        "suivent les rubriques de l’enquête RUPN et ne contiennent aucun nom. "
        "« !bilan academie [2025-2026] » (administrateurs de l’académie) réunit les bilans "
        "de tous les établissements servis."
    ),
)
async def bilan(ctx: Context, args: BilanArgs) -> None:
    if args.academie and not ctx.is_academie_admin:
        raise PermissionDenied(ACADEMIE_ONLY_TEXT)
    if not args.academie and not ctx.is_admin:  # an académie admin in no school of theirs
        raise PermissionDenied(admin_only_text("bilan"))
    month, day = ctx.settings.year_start
    if args.first is None:
        year = school_year_of(ctx.now, ctx.tz, month, day)
    else:
        year = SchoolYear(args.first, month, day)
    if year.start(ctx.tz) > ctx.now:
        raise UserError(f"L’année scolaire {year.label} n’a pas encore commencé : pas de bilan.")
    from digests.bilan.model import no_activity_text

    rendered: RenderedBilan | RenderedAcademie | None
    if args.academie:
        rendered, ref = await _academie(ctx, year), (ACADEMIE_REF, year.first)
    else:
        rendered, ref = await _school(ctx, year), (REF, year.first)
    if rendered is None:
        ctx.reply(no_activity_text(year))
        return
    ctx.messenger.send(
        ctx.room_id,
        rendered.summary,
        reply_to=ctx.event_id,
        thread_root=ctx.thread_root,
        mentions=(ctx.sender,),
        kind=SUMMARY_KIND,
        ref=ref,
    )
    for file in rendered.files:
        ctx.messenger.send_file(
            ctx.room_id, file.name, file.data, file.mimetype, kind=FILE_KIND, ref=ref
        )


async def _school(ctx: Context, year: SchoolYear) -> RenderedBilan | None:
    """The bilan of the command's school (named in the files when it has a UAI)."""
    from digests.bilan.build import build_bilan
    from digests.bilan.render import render_bilan

    built = await build_bilan(ctx.repos.bilan, year, ctx.now, ctx.tz, ctx.school)
    return render_bilan(built) if built.has_activity else None


async def _academie(ctx: Context, year: SchoolYear) -> RenderedAcademie | None:
    """The académie's bilan: each served school's bilan, within its school, added up."""
    from digests.bilan.academie_render import academie_bilan
    from digests.bilan.build import build_bilan

    pairs = [
        (school, await build_bilan(ctx.repos.bilan.of_school(school.key), year, ctx.now,
                                   ctx.tz, school))
        for school in ctx.schools or (ctx.school,)
    ]  # fmt: skip
    rendered = academie_bilan(pairs, year, now=ctx.now, tz=ctx.tz, title=ctx.settings.academie_name)
    return rendered if rendered.has_activity else None
