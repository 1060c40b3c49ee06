"""Send: the letters of the rooms through the Messenger (the outbox), and by e-mail.

Queuing happens in the caller's unit (one transaction): the posts, the e-mail, the
week's mark and the removal of the words shown are committed together, so a
letter is never lost nor sent twice, even after kill -9.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.context import Scope
from bot.storage.digests import LETTER_KIND, MAIL_KIND, LetterMail
from digests.build import build_letter, server_of
from digests.collect import collect
from digests.model import Letter
from digests.render import render_letter, render_mail

REF = "digest"


@dataclass(frozen=True)
class Letters:
    """The letters of the rooms that have something to say, in the rooms' order."""

    letters: tuple[Letter, ...]

    @property
    def empty(self) -> bool:
        return not self.letters

    @property
    def word_ids(self) -> tuple[int, ...]:
        return tuple(sorted({i for letter in self.letters for i in letter.word_ids}))


def members_without_bot(scope: Scope, room_id: str) -> int | None:
    """Joined members, the bot excepted; None when the room's members are unknown."""
    members = set(scope.info.member_ids(room_id))
    if not members:
        return None
    return len(members - {scope.settings.bot_user_id})


async def compose(scope: Scope, rooms: Sequence[str], *, extra: bool = False) -> Letters:
    """Each room's letter as it would go out now (rooms with nothing to say left out).

    `extra`: a second letter in a week whose letter went out; only what is new since
    (publications, the RUPN's words), not the polls and events that letter showed.
    """
    source = await collect(scope.repos, scope.now, rooms)
    via = server_of(scope.settings.bot_user_id)
    letters = (
        build_letter(
            source,
            room,
            tz=scope.tz,
            members=members_without_bot(scope, room),
            permalink_base=scope.settings.digest.permalink_base,
            via=via,
            news_only=extra,
        )
        for room in rooms
    )
    return Letters(tuple(letter for letter in letters if not letter.empty))


async def queue_letters(scope: Scope, letters: Letters, *, week: int, mail: bool) -> None:
    """One m.notice per room; one e-mail (the first room's letter) when `mail`."""
    for letter in letters.letters:
        rendered = render_letter(letter, scope.tz)
        scope.messenger.send(
            letter.room_id, rendered.text, html=rendered.html, kind=LETTER_KIND, ref=(REF, week)
        )
    if mail and letters.letters:
        queue_mail(scope, letters.letters[0], week=week)
    await scope.repos.digests.remove_words(letters.word_ids)


def queue_mail(scope: Scope, letter: Letter, *, week: int) -> str:
    rendered = render_mail(letter, scope.tz)
    return scope.messenger.send_mail(
        rendered.subject, rendered.text, rendered.html, kind=MAIL_KIND, ref=(REF, week)
    )


def queue_mail_again(scope: Scope, mail: LetterMail) -> str:
    """The same e-mail once more (same subject, texts and Message-ID), after a failure."""
    return scope.messenger.send_mail(
        mail.subject,
        mail.text,
        mail.html,
        kind=MAIL_KIND,
        ref=(REF, mail.week_ref),
        resends=mail.resends or mail.txn_id,
    )


def week_ref(week: str) -> int:
    """« 2026-W49 » → 202649, the posts' ref_id for that week's letter."""
    year, number = week.split("-W")
    return int(year) * 100 + int(number)
