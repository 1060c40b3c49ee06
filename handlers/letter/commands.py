"""`!lettre`: preview, send, pause and the RUPN's words of the weekly letter.

- `!lettre` / `!lettre aperçu`: the letter of the first letter room as it would go
  out now, answered in the room of the command only (never posted elsewhere,
  never mailed), with the next sending and the numbers of the queued words.
- `!lettre envoyer`: sends now to every letter room (and by e-mail) and counts as
  this week's letter: the scheduled one does not follow. Once this week's letter
  went out, it sends nothing unless confirmed (`!lettre envoyer quand-même`): then
  one more letter, with only what is new since.
- `!lettre courriel`: the latest letter's e-mail again, as it was (same subject,
  texts and Message-ID), after it failed, e.g. once the SMTP settings are fixed.
- `!lettre pause` / `!lettre reprise`: stop and restart the scheduled sending.
- `!lettre ajouter <texte>` / `!lettre retirer <n°>`: « Le mot du RUPN ».
"""

from __future__ import annotations

from html import escape
from typing import assert_never

from bot.context import Context
from bot.router import Router
from bot.storage.posts import refused_addresses
from digests.build import week_monday
from digests.render import render_letter
from digests.rooms import letter_rooms
from digests.schedule import iso_week
from digests.send import compose, queue_mail_again
from handlers.letter import texts
from handlers.letter.args import USAGE, AddWord, LettreArgs, RemoveWord, Send, Simple, parse_lettre
from handlers.letter.weekly import is_paused, send_extra, send_now, upcoming

router = Router("lettre")


async def _next_line(ctx: Context) -> str:
    rooms = await letter_rooms(ctx.repos, ctx.settings)
    return texts.next_sending(
        upcoming(ctx),
        enabled=ctx.settings.digest.enabled,
        paused=await is_paused(ctx),
        tz=ctx.tz,
        rooms=len(rooms),
    )


def _this_week(ctx: Context) -> str:
    return iso_week(week_monday(ctx.now, ctx.tz))


@router.command(
    "lettre",
    summary="la lettre de la semaine : aperçu, envoi, pause, mot du RUPN",
    usage=USAGE,
    example="!lettre aperçu",
    admin=True,
    parse=parse_lettre,
    details=(
        "« !lettre » ou « !lettre aperçu » montre ici la lettre telle qu’elle partirait ; "
        "« envoyer » l’envoie maintenant (elle compte pour la semaine ; « envoyer "
        "quand-même » en envoie une de plus, avec ce qui est nouveau) ; « courriel » renvoie "
        "par courriel seulement le courriel de la dernière lettre qui n’a pas pu partir ; "
        "« pause » et « reprise » ; « ajouter <texte> » et « retirer <n°> » gèrent le mot "
        "du RUPN."
    ),
)
async def lettre(ctx: Context, args: LettreArgs) -> None:
    match args:
        case Simple("apercu"):
            await _preview(ctx)
        case Send(anyway):
            await _send(ctx, anyway=anyway)
        case Simple("courriel"):
            await _mail_again(ctx)
        case Simple("pause"):
            await ctx.repos.digests.set_paused(True, ctx.now)
            ctx.reply(texts.paused_text())
        case Simple("reprise"):
            await ctx.repos.digests.set_paused(False, ctx.now)
            ctx.reply(texts.resumed_text(await _next_line(ctx)))
        case Simple():
            raise AssertionError(args)  # pragma: no cover - parse_lettre's choices
        case AddWord(text):
            word_id = await ctx.repos.digests.add_word(text, ctx.sender, ctx.now)
            ctx.reply(texts.word_added(word_id, await _next_line(ctx)))
        case RemoveWord(word_id):
            removed = await ctx.repos.digests.remove_word(word_id)
            ctx.reply(texts.word_removed(word_id) if removed else texts.word_unknown(word_id))
        case _:
            assert_never(args)


async def _preview(ctx: Context) -> None:
    rooms = await letter_rooms(ctx.repos, ctx.settings)
    header = texts.preview_header(await _next_line(ctx))
    if not rooms:
        ctx.reply(f"{header}\n{texts.NO_ROOM}")
        return
    letters = await compose(ctx, rooms[:1])
    words = texts.pending_words(await ctx.repos.digests.words())
    if letters.empty:
        ctx.reply(f"{header}\n{texts.NOTHING_TO_SAY}")
        return
    rendered = render_letter(letters.letters[0], ctx.tz)
    footer = f"\n\n{words}" if words else ""
    ctx.messenger.send(
        ctx.room_id,
        f"{header}\n\n{rendered.text}{footer}",
        html=f"<p><em>{escape(header)}</em></p>{rendered.html}"
        + (f"<p><em>{escape(words)}</em></p>" if words else ""),
        reply_to=ctx.event_id,
        thread_root=ctx.thread_root,
        kind="reply",
    )


async def _send(ctx: Context, *, anyway: bool) -> None:
    if not await letter_rooms(ctx.repos, ctx.settings):
        ctx.reply(texts.NO_ROOM)
        return
    week = _this_week(ctx)
    done = await ctx.repos.digests.week(week)
    if done is not None and done.outcome == "sent":
        if not anyway:
            ctx.reply(texts.already_sent(done.decided_at, ctx.tz))
            return
        rooms = await send_extra(ctx, week)
        ctx.reply(
            texts.extra_sent(rooms, ctx.settings.mail_enabled) if rooms else texts.NOTHING_NEW
        )
        return
    rooms = await send_now(ctx, week)
    ctx.reply(texts.sent_text(rooms, ctx.settings.mail_enabled) if rooms else texts.NOTHING_TO_SAY)


async def _mail_again(ctx: Context) -> None:
    """The latest letter's e-mail once more, as it was queued, if it failed."""
    if not ctx.settings.mail_enabled:
        ctx.reply(texts.NO_MAIL)
        return
    mail = await ctx.repos.digests.last_mail()
    if mail is None:
        ctx.reply(texts.NO_MAIL_YET)
        return
    match mail.status:
        case "failed":
            queue_mail_again(ctx, mail)
            ctx.reply(texts.mail_again(mail.subject))
        case "pending":
            ctx.reply(texts.mail_pending(mail.subject))
        case "sent":
            refused = refused_addresses(mail.error)
            ctx.reply(texts.mail_already_sent(mail.subject, mail.sent_at, ctx.tz, refused))
        case _:
            assert_never(mail.status)
