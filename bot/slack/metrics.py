"""The process's Prometheus metrics, served at ``GET /metrics`` (``prometheus-client``).

One registry per process, its own (not the library's global one), every name prefixed
``labelbot_``. The domain never imports this: the edge counts what it sees (a click's ack, a
Web API call, a claim of the channel poster, a training process that ended), and the queue's
depth is read from the database when Prometheus scrapes. Counting is cheap on purpose: a click
costs one histogram observation and, for a recorded label, one counter increment of a child
looked up once per project.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE", "METRICS", "Metrics"]

log = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Slack's deadline for an ack is 3 s; a click is acked in ~10-80 ms under load (README, Performance).
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
TRAINING_BUCKETS = (1.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
disable_created_metrics()  # no ``*_created`` series: a process's start time is not worth a series each


class _ReadGauge(Collector):
    """A gauge per project read from the database when scraped (a count per project, by index)."""

    def __init__(self, name: str, documentation: str) -> None:
        self.name, self.documentation = name, documentation
        self.read: Callable[[], Mapping[str, int]] | None = None

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(self.name, self.documentation, labels=["project"])
        if self.read is not None:
            try:
                depths = self.read()
            except Exception:  # a scrape must not fail with the database: the gauge is left out
                log.warning("reading %s for /metrics failed", self.name, exc_info=True)
                return []
            for project, depth in sorted(depths.items()):
                family.add_metric([project], depth)
        return [family]


class Metrics:
    """Every metric of a labelbot process, on its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.ack_seconds = Histogram(
            "labelbot_ack_seconds",
            "From a Slack request's arrival to its acknowledgement, by kind (click = label, Undo, Skip)",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self.labels_recorded = Counter(
            "labelbot_labels_recorded",
            "Labels recorded or changed by a click (channel or direct-message session), by project",
            ["project"],
            registry=r,
        )
        self.slack_calls = Counter(
            "labelbot_slack_calls",
            "Web API calls that succeeded, by method (posts: method=chat.postMessage)",
            ["method"],
            registry=r,
        )
        self.slack_errors = Counter(
            "labelbot_slack_api_errors",
            "Web API calls (and response_url answers) that failed, by method and error",
            ["method", "error"],
            registry=r,
        )
        self.claims = Counter(
            "labelbot_item_claims",
            "Items claimed for posting by the channel poster, by project",
            ["project"],
            registry=r,
        )
        self.dispatch_lag = Histogram(
            "labelbot_dispatch_lag_seconds",
            "From an item's claim to its message posted in the channel",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.training_seconds = Histogram(
            "labelbot_training_seconds",
            "Training processes (labelbot model --train), start to exit, by outcome",
            ["outcome"],
            buckets=TRAINING_BUCKETS,
            registry=r,
        )
        self._queue = _ReadGauge("labelbot_queue_depth", "Items queued, waiting to be posted, by project")
        r.register(self._queue)
        self._leases = _ReadGauge(
            "labelbot_live_leases", "Items leased to a person's direct-message session now, by project"
        )
        r.register(self._leases)

        self._by_project: dict[str, Counter] = {}
        self._lock = threading.Lock()

    def label_recorded(self, project: str) -> None:
        child = self._by_project.get(project)
        if child is None:
            with self._lock:
                child = self._by_project.setdefault(project, self.labels_recorded.labels(project))
        child.inc()

    def slack_call(self, method: str, error: str | None = None) -> None:
        if error is None:
            self.slack_calls.labels(method).inc()
        else:
            self.slack_errors.labels(method, error).inc()

    def watch_queue(self, read: Callable[[], Mapping[str, int]] | None) -> None:
        """Report ``read()``'s depths per project at each scrape (None: no gauge values)."""
        self._queue.read = read

    def watch_leases(self, read: Callable[[], Mapping[str, int]] | None) -> None:
        """Report ``read()``'s live leases per project at each scrape (None: no gauge values)."""
        self._leases.read = read

    def value(self, name: str, labels: Mapping[str, str] | None = None) -> float:
        """A sample's current value (0 when absent): for tests and the sandbox."""
        return self.registry.get_sample_value(name, dict(labels or {})) or 0.0

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


METRICS = Metrics()
