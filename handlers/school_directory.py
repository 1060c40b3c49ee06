"""`!etablissements`: the académie's admins list the schools served, and reload the CSV."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from bot.context import Context, SchoolsDirectory
from bot.dates import format_when
from bot.errors import InvalidArguments, NotFound
from bot.router import PREFIX, ParseEnv, Router
from bot.schools import School
from bot.storage.school_states import NO_STATE, SchoolState
from bot.tenancy import school_label
from bot.wording import counted

router = Router("etablissements")

RELOAD = "recharger"
FULL_LIST = 30
"""Up to this many schools, the listing shows every one; beyond, a summary and the schools
to look at (a line each for 1,000 schools would not fit in one Matrix message)."""
TO_LOOK_AT = 20
MATCHES_SHOWN = 10
DETAIL_HINT = f"Le détail d’un établissement : {PREFIX}etablissements <UAI ou nom>."


@dataclass(frozen=True)
class OneSchool:
    query: str


Action = Literal["liste", "recharger"] | OneSchool


def parse_action(text: str, _: ParseEnv) -> Action:
    words = text.split()
    if not words:
        return "liste"
    if len(words) == 1 and words[0].lower() == RELOAD:
        return "recharger"
    return OneSchool(" ".join(words))


@router.command(
    "etablissements",
    summary="liste les établissements servis et leur état, ou relit leur annuaire (académie)",
    usage=f"[{RELOAD} | <UAI ou nom>]",
    example=f"{PREFIX}etablissements 0860001J",
    admin=True,
    academie_only=True,
    parse=parse_action,
)
async def etablissements(ctx: Context, action: Action) -> None:
    directory = ctx.directory
    if directory is None:  # the processor gives it to the académie's commands
        raise RuntimeError("!etablissements without the académie's directory")
    match action:
        case "recharger":
            ctx.reply((await directory.reload()).message)
        case "liste":
            ctx.reply(await listing(ctx, directory))
        case OneSchool(query):
            school = find_school(directory.schools, query)
            ctx.reply(await detail(ctx, school))


async def _states(ctx: Context) -> dict[str, SchoolState]:
    """Each school's state, its rooms narrowed to those the bot is still in."""
    joined = set(ctx.info.joined_rooms())
    return {
        key: replace(state, rooms=tuple(r for r in state.rooms if r in joined))
        for key, state in (await ctx.repos.school_states.every_school()).items()
    }


def _outbox(state: SchoolState) -> list[str]:
    parts = []
    if state.pending:
        parts.append(f"{counted(state.pending, 'envoi')} en attente")
    if state.failed:
        parts.append(f"{counted(state.failed, 'envoi')} en échec")
    return parts


def _line(school: School, state: SchoolState) -> str:
    parts = [counted(len(state.rooms), "salon"), *_outbox(state)]
    if state.letter_paused:
        parts.append("lettre en pause")
    return f"- {school_label(school)} : {', '.join(parts)}"


async def listing(ctx: Context, directory: SchoolsDirectory) -> str:
    """Every school served with its rooms and what waits or failed; for a large académie,
    a summary and the schools that need a look (failures, backlog, no room yet)."""
    schools = directory.schools
    states = await _states(ctx)
    if len(schools) <= FULL_LIST:
        lines = [f"Établissements servis ({len(schools)}) :"]
        lines += [_line(school, states.get(school.key, NO_STATE)) for school in schools]
        return "\n".join([*lines, DETAIL_HINT])
    return _summary(schools, states)


def _summary(schools: Sequence[School], states: Mapping[str, SchoolState]) -> str:
    of = [(school, states.get(school.key, NO_STATE)) for school in schools]
    without_room = [school for school, state in of if not state.rooms]
    pending = [state.pending for _, state in of if state.pending]
    failed = [state.failed for _, state in of if state.failed]
    lines = [
        f"Établissements servis ({len(schools)}) : {len(schools) - len(without_room)} avec au "
        f"moins un salon, {len(without_room)} sans salon (leur RUPN n’a pas encore invité "
        "le bot).",
        f"Envois en attente : {sum(pending)} ({counted(len(pending), 'établissement')}) ; "
        f"en échec : {sum(failed)} ({counted(len(failed), 'établissement')}).",
    ]
    troubled = sorted(
        ((school, state) for school, state in of if state.failed or state.pending),
        key=lambda pair: (-pair[1].failed, -pair[1].pending, pair[0].key),
    )
    to_look_at = [*troubled, *((s, NO_STATE) for s in without_room)]
    if to_look_at:
        lines.append("À regarder :")
        lines += [_line(school, state) for school, state in to_look_at[:TO_LOOK_AT]]
        rest = len(to_look_at) - TO_LOOK_AT
        if rest > 0:
            lines.append(f"… et {counted(rest, 'autre')}.")
    lines.append(
        f"{DETAIL_HINT} La liste complète : « rupn-bot etablissements --config … » sur le "
        "serveur du bot."
    )
    return "\n".join(lines)


def _folded(text: str) -> str:
    """Lower case, without accents: « lycée » finds « Lycée », « lycee » too."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def find_school(schools: Sequence[School], query: str) -> School:
    """The school whose UAI is `query`, or the only one whose name contains it."""
    by_key = [s for s in schools if s.key.casefold() == query.casefold()]
    if by_key:
        return by_key[0]
    wanted = _folded(query)
    found = [s for s in schools if wanted in _folded(s.name)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise NotFound(
            f"Aucun établissement servi ne correspond à « {query} » : tapez son UAI (par "
            f"exemple {PREFIX}etablissements 0860001J) ou une partie de son nom."
        )
    shown = ", ".join(school_label(s) for s in found[:MATCHES_SHOWN])
    rest = len(found) - MATCHES_SHOWN
    more = f" et {counted(rest, 'autre')}" if rest > 0 else ""
    raise InvalidArguments(
        f"{counted(len(found), 'établissement')} correspondent à « {query} » : {shown}{more}. "
        "Tapez l’UAI de celui que vous voulez."
    )


async def detail(ctx: Context, school: School) -> str:
    """One school's state: its rooms, its outbox, its letter."""
    state = (await _states(ctx)).get(school.key, NO_STATE)
    zone = f"zone {school.zone}" if school.zone else "sans zone de vacances"
    rooms = ", ".join(f"« {ctx.info.room_name(r)} »" for r in state.rooms)
    where = f" ({rooms})" if rooms else " (son RUPN n’a pas encore invité le bot)"
    sent = await ctx.repos.school_states.sent(school.key)
    letter = (
        f"le {format_when(state.last_letter, ctx.tz, with_year=True)}"
        if state.last_letter is not None
        else "aucune envoyée"
    )
    lines = [
        f"{school_label(school)} : {zone}, {counted(len(school.admins), 'RUPN', 'RUPN')}.",
        f"Salons : {len(state.rooms)}{where}.",
        f"Envois : {sent} reçus dans ses salons ; {state.pending} en attente ; "
        f"{state.failed} en échec.",
        f"Dernière lettre : {letter}{' ; lettre en pause' if state.letter_paused else ''}.",
    ]
    return "\n".join(lines)
