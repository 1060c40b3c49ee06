"""`!bilan [2025-2026]`: the annual bilan, as a summary here and three files.

The figures are computed in SQL (bot/storage/bilan/), built and rendered by
digests/bilan (the same code as `rupn-bot bilan`, offline). The summary (ten lines,
kind "bilan-summary") answers the command; the HTML to print, the CSV and the
Markdown follow as files in the same room (kind "bilan-file"), encrypted like any
upload in an encrypted room. Only aggregates: no name, no user id.

Without a year, the current school year (to today); a year that has not begun is
refused; a year where no indicator counts anything gets one sentence and no file.
Years start on `[bilan] year_start` (1 September by default), in the bot's time zone.

The pipeline (digests/bilan: babel, the charts, the templates) is imported by the
handler, the feature's one boundary: the first `!bilan` loads it, not every start
(issue 20, memory).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.context import Context
from bot.errors import InvalidArguments, UserError
from bot.router import PREFIX, ParseEnv, Router
from bot.school_year import SchoolYear, parse_school_year, school_year_of

SUMMARY_KIND = "bilan-summary"
FILE_KIND = "bilan-file"
REF = "bilan"
USAGE = "[2025-2026]"
EXAMPLE = f"{PREFIX}bilan 2025-2026"

router = Router("bilan")


@dataclass(frozen=True)
class BilanArgs:
    first: int | None  # 2025 for « 2025-2026 »; None: the current school year


def parse_bilan(text: str, env: ParseEnv) -> BilanArgs:
    if not text.strip():
        return BilanArgs(None)
    try:
        return BilanArgs(parse_school_year(text).first)
    except ValueError as error:
        raise InvalidArguments(str(error)) from None


@router.command(
    "bilan",
    summary="bilan de l’année scolaire : un résumé ici, puis une page à imprimer, un tableau "
    "pour tableur et un texte à coller",
    usage=USAGE,
    example=EXAMPLE,
    admin=True,
    parse=parse_bilan,
    details=(
        "« !bilan » donne le bilan de l’année scolaire en cours, jusqu’à aujourd’hui ; "
        "« !bilan 2025-2026 » celui d’une année donnée. Les fichiers (HTML, CSV, Markdown) "
        "suivent les rubriques de l’enquête RUPN et ne contiennent aucun nom."
    ),
)
async def bilan(ctx: Context, args: BilanArgs) -> None:
    month, day = ctx.settings.year_start
    if args.first is None:
        year = school_year_of(ctx.now, ctx.tz, month, day)
    else:
        year = SchoolYear(args.first, month, day)
    if year.start(ctx.tz) > ctx.now:
        raise UserError(f"L’année scolaire {year.label} n’a pas encore commencé : pas de bilan.")
    from digests.bilan.build import build_bilan
    from digests.bilan.model import no_activity_text
    from digests.bilan.render import render_bilan

    built = await build_bilan(ctx.repos.bilan, year, ctx.now, ctx.tz)
    if not built.has_activity:
        ctx.reply(no_activity_text(year))
        return
    rendered = render_bilan(built)
    ctx.messenger.send(
        ctx.room_id,
        rendered.summary,
        reply_to=ctx.event_id,
        thread_root=ctx.thread_root,
        mentions=(ctx.sender,),
        kind=SUMMARY_KIND,
        ref=(REF, year.first),
    )
    for file in rendered.files:
        ctx.messenger.send_file(
            ctx.room_id, file.name, file.data, file.mimetype, kind=FILE_KIND, ref=(REF, year.first)
        )
