"""The Prometheus series of a running bot (prometheus-client, imported with this module).

Where events happen (`SchoolRecorder`), counting is adding one to a plain integer: no
lock, no label lookup, nothing of prometheus-client. The series are built from those
integers, and from what was read in the database (`Registry.observe`), only when
Prometheus asks. Every per-school series carries `etablissement`, the School's key.
Names and meanings are in the README (« Supervision »).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import datetime

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from bot.clock import Clock
from bot.metrics import SchoolMetrics
from bot.schools import School
from bot.storage.digests import LETTER_KIND, MAIL_KIND
from bot.storage.posts import Post
from bot.storage.supervision import Backlog

SCHOOL = "etablissement"
ROOM_LETTER = "salon"
MAIL_LETTER = "courriel"
PREFIX = "rupn_"


class SchoolRecorder(SchoolMetrics):
    """The counts of one établissement, as plain integers."""

    def __init__(self, registry: Registry, key: str) -> None:
        self._registry = registry
        self.key = key
        self.commands: Counter[tuple[str, str]] = Counter()  # (command, outcome)
        self.posts_sent: Counter[str] = Counter()  # by kind
        self.posts_failed: Counter[str] = Counter()
        self.letters_sent: Counter[str] = Counter({ROOM_LETTER: 0, MAIL_LETTER: 0})
        self.mails_sent = 0
        self.mails_failed = 0

    def command(self, name: str, outcome: str) -> None:
        self.commands[name, outcome] += 1

    def post_sent(self, post: Post) -> None:
        if post.action == "mail":
            self.mails_sent += 1
            if post.kind == MAIL_KIND:
                self.letters_sent[MAIL_LETTER] += 1
            return
        self.posts_sent[post.kind] += 1
        if post.kind == LETTER_KIND:
            self.letters_sent[ROOM_LETTER] += 1
        self._registry.delivered()

    def post_failed(self, post: Post) -> None:
        if post.action == "mail":
            self.mails_failed += 1
            return
        self.posts_failed[post.kind] += 1
        self._registry.delivered()  # a refusal moves the queue on too


class AllSchools(SchoolMetrics):
    """What the engine records into in a shared deployment: each school's own recorder,
    found by the key of the command's or the post's school."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def of(self, key: str) -> SchoolMetrics:
        return self._registry.recorder(key)


class Registry:
    """The series, in a registry of their own (not prometheus-client's global one)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._schools: dict[str, SchoolRecorder] = {}
        self._backlogs: dict[str, Mapping[str, Backlog]] = {}
        self._now: datetime | None = None
        self._sync_lag_s = 0.0
        self.healthy = True
        self.last_delivery: datetime | None = None
        """When the Matrix outbox last moved (a post sent or failed for good)."""
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)  # the bot's memory, CPU and open files
        self.registry.register(self)

    def school(self, school: School) -> SchoolRecorder:
        """The recorder of `school` (the same one at every call)."""
        return self.recorder(school.key)

    def recorder(self, key: str) -> SchoolRecorder:
        """The recorder of the school keyed `key`, made at its first use."""
        recorder = self._schools.get(key)
        if recorder is None:
            recorder = self._schools[key] = SchoolRecorder(self, key)
        return recorder

    def delivered(self) -> None:
        self.last_delivery = self._clock()

    def observe(
        self,
        backlogs: Mapping[str, Mapping[str, Backlog]],
        now: datetime,
        sync_lag_s: float,
        *,
        healthy: bool,
    ) -> None:
        """What was read in the database for this scrape: `backlogs` by school key, then
        by channel."""
        self._backlogs = dict(backlogs)
        self._now = now
        self._sync_lag_s = sync_lag_s
        self.healthy = healthy

    def exposition(self) -> bytes:
        """The text Prometheus scrapes."""
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        """prometheus-client's collector protocol: the series, built now."""
        schools = list(self._schools.values())
        yield _counter(
            "commandes", "Commandes traitées, par nom de commande et résultat",
            ("commande", "resultat"), ((s, k, n) for s in schools for k, n in s.commands.items()),
        )  # fmt: skip
        yield _counter(
            "messages_envoyes", "Messages Matrix envoyés, par type", ("type",),
            ((s, (k,), n) for s in schools for k, n in s.posts_sent.items()),
        )  # fmt: skip
        yield _counter(
            "messages_echoues", "Messages Matrix abandonnés (refusés par le serveur)", ("type",),
            ((s, (k,), n) for s in schools for k, n in s.posts_failed.items()),
        )  # fmt: skip
        yield _counter(
            "lettres_envoyees", "Lettres de la semaine envoyées, par canal (salon, courriel)",
            ("canal",), ((s, (k,), n) for s in schools for k, n in s.letters_sent.items()),
        )  # fmt: skip
        yield _counter(
            "courriels_envoyes", "Courriels remis au serveur SMTP", (),
            ((s, (), s.mails_sent) for s in schools),
        )  # fmt: skip
        yield _counter(
            "courriels_echoues", "Courriels abandonnés", (),
            ((s, (), s.mails_failed) for s in schools),
        )  # fmt: skip
        pending = GaugeMetricFamily(
            PREFIX + "file_attente", "Messages en attente d’envoi, par canal (matrix, courriel)",
            labels=(SCHOOL, "canal"),
        )  # fmt: skip
        oldest = GaugeMetricFamily(
            PREFIX + "file_attente_plus_ancien_secondes",
            "Âge du plus ancien message en attente, par canal (0 si aucun)",
            labels=(SCHOOL, "canal"),
        )
        for key, channels in self._backlogs.items():
            for channel, backlog in channels.items():
                pending.add_metric((key, channel), backlog.pending)
                age = 0.0
                if backlog.oldest is not None and self._now is not None:
                    age = max(0.0, (self._now - backlog.oldest).total_seconds())
                oldest.add_metric((key, channel), age)
        yield pending
        yield oldest
        yield GaugeMetricFamily(
            PREFIX + "synchronisation_retard_secondes",
            "Secondes depuis la dernière synchronisation réussie (ou depuis le démarrage)",
            value=self._sync_lag_s,
        )
        yield GaugeMetricFamily(
            PREFIX + "sante", "1 si /sante répond « ok », 0 sinon", value=1 if self.healthy else 0
        )


def _counter(
    name: str,
    documentation: str,
    labels: tuple[str, ...],
    samples: Iterator[tuple[SchoolRecorder, tuple[str, ...], int]],
) -> CounterMetricFamily:
    family = CounterMetricFamily(PREFIX + name, documentation, labels=(SCHOOL, *labels))
    for school, values, count in samples:
        family.add_metric((school.key, *values), count)
    return family
