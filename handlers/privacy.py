"""`!mesdonnees [effacer]`: what the bot holds about the asker, erasure, and the retention.

Decisions:
- The answer goes to a direct room with only the bot and the asker: at once when the
  command is typed in one; otherwise a `privacy_requests` row is kept, the job
  `donnees-demandes` opens the room (network, before its unit) and answers once the
  person has joined it; the shared room gets a one-line pointer that quotes nothing.
- `!mesdonnees effacer` erases at once, in the command's transaction: user ids become
  the person's pseudonym (`anonyme:…`, so counts and tallies stay right), their read
  markers of every school year are deleted. The confirmation goes where the answer
  would; once it is queued, the request, the direct room's record and the
  requester of the confirmation posts are forgotten too (`close_erasure`), so that no
  table holds the user id any more. The pointer in a shared room mentions nobody.
- A request nobody could answer (the invite never accepted) is dropped after
  `REQUEST_KEPT_FOR`; an erasure is then closed all the same.
- Opening a direct room is tried at each tick for a minute, then every
  `OPEN_RETRY_EVERY`: a homeserver that refuses is not asked every few seconds.
- Retention: the job `donnees-conservation` ticks hourly and acts once per local day
  (the day is kept in `bot_state`): personal rows older than `[privacy]
  retention_months` are anonymised, the content of the bot's old posts pruned; it logs
  the counts, never a user id nor a text.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import assert_never
from zoneinfo import ZoneInfo

from bot.context import BotInfo, Context, Scope
from bot.dates import format_when
from bot.errors import InvalidArguments
from bot.router import ParseEnv, Router, normalize
from bot.school_year import SchoolYear, school_year_of
from bot.storage.privacy import Action, HeldSignup, HeldVote, PersonalData, PrivacyRequest
from bot.work import Units

log = logging.getLogger(__name__)

router = Router("donnees")

DATA_KIND = "privacy-data"
ERASED_KIND = "privacy-erased"
REQUESTS_TICK_S = 5.0
RETENTION_TICK_S = 3600.0
REQUEST_KEPT_FOR = timedelta(days=7)
OPEN_AT_ONCE_FOR = timedelta(minutes=1)
OPEN_RETRY_EVERY = timedelta(minutes=10)
RETENTION_DAY_KEY = "privacy.retention_day"
SHOWN_PER_LIST = 10

SHOW_POINTER_TEXT = "Je vous réponds en message privé : acceptez l’invitation du bot si besoin."
ERASE_POINTER_TEXT = "C’est fait : vos données sont effacées. Je vous le confirme en message privé."
ERASED_TEXT = (
    "C’est fait : ce que rupn-bot gardait à votre sujet est effacé ou anonymisé "
    "(inscriptions, réponses aux sondages, réactions, marqueurs de lecture, copies de ses "
    "messages). Les totaux restent justes, sans votre nom. Ce qui a été écrit dans les "
    "salons reste dans leur historique, sur le serveur Tchap : le bot ne peut pas l’effacer."
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


def parse_action(text: str, env: ParseEnv) -> Action:
    words = text.split()
    if not words:
        return "show"
    if len(words) == 1 and normalize(words[0]) == "effacer":
        return "erase"
    raise InvalidArguments(
        f"« {text.strip()[:30]} » : tapez !mesdonnees pour voir ce que le bot garde à votre "
        "sujet, ou !mesdonnees effacer pour l’effacer."
    )


# --- texts --------------------------------------------------------------------------------


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n <= 1 else plural}"


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


def held_text(data: PersonalData, tz: ZoneInfo, retention_months: int) -> str:
    """What `!mesdonnees` shows, in French."""
    if data.empty:
        return NOTHING_TEXT
    lines = ["Ce que rupn-bot garde à votre sujet :"]
    if data.signups:
        lines.append(f"• Inscriptions aux ateliers et cafés numériques ({len(data.signups)}) :")
        lines += _capped([_signup_line(s, tz) for s in data.signups])
    if data.votes:
        lines.append(f"• Réponses aux sondages ({len(data.votes)}) :")
        lines += _capped([_vote_line(v, tz) for v in data.votes])
    reactions = sum(1 for s in data.signups if s.by_reaction)
    if reactions or data.decisions:
        parts = []
        if reactions:
            parts.append(_count(reactions, "👍 d’inscription", "👍 d’inscription"))
        if data.decisions:
            sorted_ = _count(data.decisions, "proposition triée", "propositions triées")
            parts.append(f"{sorted_} dans la veille (✅/❌ ou commande)")
        lines.append(f"• Réactions enregistrées : {', '.join(parts)}")
    if data.read_markers:
        lines.append(
            f"• Marqueurs de lecture : {_count(data.read_markers, 'salon', 'salons')}, sous un "
            "pseudonyme (ils comptent les lecteurs des messages du bot)"
        )
    authored = [_count(n, *_AUTHORED.get(k, (k, k))) for k, n in data.authored.items() if n]
    if authored:
        lines.append(f"• Ce que vous avez créé : {', '.join(authored)}")
    if data.posts:
        lines.append(
            "• Messages du bot envoyés à votre demande ou qui vous nomment : "
            f"{data.posts} (copies gardées {retention_months} mois)"
        )
    if data.waiting:
        lines.append(f"• Messages chiffrés en attente de leur clé : {data.waiting}")
    lines += [
        "",
        f"Tout est anonymisé au bout de {retention_months} mois. Pour l’effacer dès "
        "maintenant : !mesdonnees effacer",
    ]
    return "\n".join(lines)


# --- rooms, keys, dates -------------------------------------------------------------------


def private_rooms(info: BotInfo, user: str, bot: str) -> list[str]:
    """Joined rooms where the person is, with nobody but the bot (sorted)."""
    return sorted(r for r in info.joined_rooms() if _is_private(info, r, user, bot))


def _is_private(info: BotInfo, room: str, user: str, bot: str) -> bool:
    members = set(info.member_ids(room))
    return user in members and members <= {user, bot}


async def reader_keys(scope: Scope, user: str) -> list[str]:
    """The person's read-marker key in every school year markers may be from."""
    month, day = scope.settings.year_start
    span = await scope.repos.privacy.marker_span()
    first, last = span if span is not None else (scope.now, scope.now)
    years = range(
        school_year_of(first, scope.tz, month, day).first - 1,
        school_year_of(max(last, scope.now), scope.tz, month, day).first + 1,
    )
    pseudonyms = scope.settings.pseudonyms
    return [pseudonyms.reader_key(user, SchoolYear(y, month, day).label) for y in years]


def months_before(moment: datetime, months: int, tz: ZoneInfo) -> datetime:
    """The same local time `months` earlier (the last day of a shorter month)."""
    local = moment.astimezone(tz)
    index = local.year * 12 + local.month - 1 - months
    year, month = divmod(index, 12)
    day = min(local.day, calendar.monthrange(year, month + 1)[1])
    return local.replace(year=year, month=month + 1, day=day)


# --- the command --------------------------------------------------------------------------


@router.command(
    "mesdonnees",
    summary="vous montre en privé ce que le bot garde à votre sujet ; « effacer » pour l’effacer",
    usage="[effacer]",
    example="!mesdonnees",
    parse=parse_action,
    details=(
        "Le bot vous répond en message privé : vos inscriptions aux ateliers, vos réponses "
        "aux sondages nominatifs, vos réactions, vos marqueurs de lecture. "
        "« !mesdonnees effacer » les efface ou les anonymise aussitôt (les totaux restent "
        "justes, sans votre nom) et vous le confirme en message privé."
    ),
)
async def mesdonnees(ctx: Context, action: Action) -> None:
    private = _is_private(ctx.info, ctx.room_id, ctx.sender, ctx.settings.bot_user_id)
    match action:
        case "show":
            if private:
                data = await ctx.repos.privacy.held(ctx.sender, await reader_keys(ctx, ctx.sender))
                _answer(ctx, ctx.room_id, held_text(data, ctx.tz, ctx.settings.retention_months))
                return
            await ctx.repos.privacy.request(ctx.sender, "show", ctx.now)
            ctx.reply(SHOW_POINTER_TEXT)
        case "erase":
            changed = await ctx.repos.privacy.erase(
                ctx.sender,
                ctx.settings.pseudonyms.erased(ctx.sender),
                await reader_keys(ctx, ctx.sender),
                keep_direct_room=True,
            )
            ctx.settings.pseudonyms.forget(ctx.sender)
            await ctx.repos.privacy.request(ctx.sender, "erase", ctx.now)
            log.info("Personal data erased on request: %s", _summary(changed))
            # No mention: the confirmation and the pointer never name the person.
            text = ERASED_TEXT if private else ERASE_POINTER_TEXT
            kind = ERASED_KIND if private else "reply"
            ctx.messenger.send(
                ctx.room_id, text, reply_to=ctx.event_id, thread_root=ctx.thread_root, kind=kind
            )
        case _:
            assert_never(action)


def _answer(ctx: Context, room: str, text: str) -> None:
    ctx.messenger.send(
        room, text, reply_to=ctx.event_id, thread_root=ctx.thread_root, kind=DATA_KIND
    )


def _summary(changed: Mapping[str, int]) -> str:
    total = sum(changed.values())
    details = ", ".join(f"{table} {n}" for table, n in sorted(changed.items()))
    return f"{total} rows" + (f" ({details})" if details else "")


# --- the jobs -----------------------------------------------------------------------------


def _worth_opening(request: PrivacyRequest, now: datetime) -> bool:
    waited = now - request.requested_at
    if waited < OPEN_AT_ONCE_FOR:
        return True
    return waited.total_seconds() % OPEN_RETRY_EVERY.total_seconds() < REQUESTS_TICK_S


@router.job("donnees-demandes", every_seconds=lambda settings: REQUESTS_TICK_S)
async def answer_requests(units: Units) -> None:
    """Answer `!mesdonnees` in a direct room once the person is in it."""
    bot = units.settings.bot_user_id
    async with units.unit() as ctx:
        pending = await _drop_stale(ctx, await ctx.repos.privacy.requests())
    if not pending:
        return
    to_open = [
        r.user_id
        for r in pending
        if not private_rooms(units.info, r.user_id, bot) and _worth_opening(r, units.clock())
    ]
    if to_open and units.direct_rooms is not None:
        await units.direct_rooms.ensure(to_open)  # network: outside any unit
    async with units.unit() as ctx:
        requests = await ctx.repos.privacy.requests()
        users = [r.user_id for r in requests]
        known = await units.direct_rooms.known(users) if units.direct_rooms is not None else {}
        for request in requests:
            await _answer_request(ctx, request, known.get(request.user_id))


async def _answer_request(ctx: Scope, request: PrivacyRequest, known: str | None) -> None:
    user, bot = request.user_id, ctx.settings.bot_user_id
    rooms = private_rooms(ctx.info, user, bot)
    if request.action == "erase" and await ctx.repos.privacy.confirmed_erasure(
        user, rooms, ERASED_KIND, request.requested_at
    ):
        await _close(ctx, user)  # confirmed by the command itself, in a private room
        return
    room = known if known in rooms else next(iter(rooms), None)
    if room is None:
        return  # not joined yet
    match request.action:
        case "show":
            data = await ctx.repos.privacy.held(user, await reader_keys(ctx, user))
            text = held_text(data, ctx.tz, ctx.settings.retention_months)
            ctx.messenger.send(room, text, kind=DATA_KIND)
            await ctx.repos.privacy.answered(request.id)
            log.info("Personal data shown in a direct room (request %d)", request.id)
        case "erase":
            ctx.messenger.send(room, ERASED_TEXT, kind=ERASED_KIND)
            await _close(ctx, user)
            log.info("Erasure confirmed in a direct room (request %d)", request.id)
        case _:
            assert_never(request.action)


async def _close(ctx: Scope, user: str) -> None:
    await ctx.repos.privacy.close_erasure(user, ctx.settings.pseudonyms.erased(user))


async def _drop_stale(ctx: Scope, requests: Iterable[PrivacyRequest]) -> list[PrivacyRequest]:
    kept: list[PrivacyRequest] = []
    dropped = 0
    for request in requests:
        if ctx.now - request.requested_at < REQUEST_KEPT_FOR:
            kept.append(request)
            continue
        dropped += 1
        if request.action == "erase":
            await _close(ctx, request.user_id)
        else:
            await ctx.repos.privacy.answered(request.id)
    if dropped:
        log.warning("Dropped %d privacy requests: the direct room was never joined", dropped)
    return kept


@router.job("donnees-conservation", every_seconds=lambda settings: RETENTION_TICK_S)
async def retention(units: Units) -> None:
    """Once per local day: anonymise what is older than the retention."""
    async with units.unit() as ctx:
        today = ctx.now.astimezone(ctx.tz).date().isoformat()
        if await ctx.repos.state.get(RETENTION_DAY_KEY) == today:
            return
        months = ctx.settings.retention_months
        before = months_before(ctx.now, months, ctx.tz)
        changed = await ctx.repos.privacy.expire(before, ctx.settings.pseudonyms.erased)
        await ctx.repos.state.set(RETENTION_DAY_KEY, today)
    log.info(
        "Retention of %d months (before %s): %s anonymised, deleted or pruned",
        months,
        before.date().isoformat(),
        _summary(changed),
    )
