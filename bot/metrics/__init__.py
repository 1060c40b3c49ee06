"""Supervision for the operator (the académie's digital service): /metrics and /sante.

The engine records what happens through a `SchoolMetrics`, one per établissement (its
`etablissement` label is the School's key, "" for today's single implicit school):

- the processor, each command handled, once its batch is committed (`command`), under
  the recorder of the command's school (`of(key)`);
- the sender and the mail sender, each post sent or failed for good (`post_sent`,
  `post_failed`), under the recorder of `post.school`.

With `[metrics]` off (the default) they hold `NO_METRICS`, which records nothing and costs
a method call. On, `bot.metrics.server` (imported then, with prometheus-client and
aiohttp's server) serves the endpoints in the bot's event loop; what is read from the
database (the outbox's backlog, the last sync) is read when Prometheus asks, never on the
bot's own path. The series and /sante are described in the README (« Supervision »).
"""

from __future__ import annotations

from bot.storage.posts import Post

OK = "ok"
"""The command ran and answered."""
USER_ERROR = "erreur_utilisateur"
"""Its arguments, or what they named, were refused with a French explanation."""
ADMIN_ONLY = "reservee"
"""A RUPN's command typed by someone else."""
INTERNAL_ERROR = "erreur_interne"
"""It failed on a bug (logged; the person got the fixed « erreur interne » sentence)."""
LIMITED = "limitee"
"""Dropped or paused by the flood limit."""
UNKNOWN = "inconnue"
"""No such command: both its `commande` and its `resultat` label (names typed are not kept)."""

OUTCOMES = (OK, USER_ERROR, ADMIN_ONLY, INTERNAL_ERROR, LIMITED, UNKNOWN)


class SchoolMetrics:
    """What happens in one établissement. This base records nothing: metrics are off."""

    def of(self, key: str) -> SchoolMetrics:
        """The recorder of the school keyed `key`. One school's recorder (a single-school
        bot's) records all it is given; a shared deployment's finds each school's."""
        return self

    def command(self, name: str, outcome: str) -> None:
        """A command was handled: `name` as registered (never as typed), `outcome` of
        OUTCOMES. Never who typed it."""

    def post_sent(self, post: Post) -> None:
        """The homeserver (or the SMTP server, for a mail) took `post`."""

    def post_failed(self, post: Post) -> None:
        """`post` failed for good."""


NO_METRICS = SchoolMetrics()
