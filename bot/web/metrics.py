"""`/metrics` in the Prometheus text format (prometheus-client, a private registry per app).

- `RequestMetrics`: ASGI middleware counting requests by route template, method and status,
  with a latency histogram per route. Routes are the app's templates (`/api/chat`), never
  raw paths, so a scanner cannot blow up the label set; unknown paths count as "other".
- `StateCollector`: read at scrape time from the objects that own the numbers: answer-queue
  depth and answers in progress (`AnswerSlots`), answer-cache hits/misses/size, embedding
  batch sizes (`QueryBatcher`), and the index generation being served.

It opens no port and starts no thread; `server.py` mounts the `/metrics` route.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from bot.web.limits import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from bot.app import Deps
    from bot.web.answer_cache import AnswerCache

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


class Metrics:
    """The registry and the request metrics of one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "antiscam_http_requests",
            "HTTP requests by route template, method and status.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "antiscam_http_request_duration_seconds",
            "Time to the end of the response body, by route template.",
            ("route",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class RequestMetrics:
    """Count and time every HTTP request (status from the response start message)."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "other"
            self.metrics.requests.labels(name, scope.get("method", ""), str(status)).inc()
            self.metrics.latency.labels(name).observe(time.perf_counter() - t0)


class StateCollector(Collector):
    """Gauges and counters owned by other objects, read when Prometheus scrapes."""

    def __init__(
        self,
        queue: Callable[[], tuple[int, int]] | None = None,
        cache: Callable[[], dict[str, int]] | None = None,
        batches: Callable[[], dict[int, int]] | None = None,
        generation: Callable[[], int | None] | None = None,
    ):
        self.queue, self.cache, self.batches, self.generation = queue, cache, batches, generation

    def collect(self) -> Iterator[Metric]:
        if self.queue:
            waiting, running = self.queue()
            yield GaugeMetricFamily(
                "antiscam_answer_queue_depth", "Answer steps waiting for a slot.", value=waiting
            )
            yield GaugeMetricFamily(
                "antiscam_answers_in_progress", "Answer steps running now.", value=running
            )
        if self.cache:
            stats = self.cache()
            for name in ("hits", "misses", "skipped"):
                yield CounterMetricFamily(
                    f"antiscam_answer_cache_{name}",
                    f"Answer-cache lookups: {name}.",
                    value=stats.get(name, 0),
                )
            yield GaugeMetricFamily(
                "antiscam_answer_cache_entries",
                "Answers held in the cache.",
                value=stats.get("entries", 0),
            )
        if self.batches:
            yield batch_histogram(self.batches())
        if self.generation:
            value = self.generation()
            if value is not None:
                yield GaugeMetricFamily(
                    "antiscam_index_generation", "Index generation being served.", value=value
                )

    def describe(self) -> Iterator[Metric]:
        return iter(())  # collected lazily; nothing to check at registration


def batch_histogram(sizes: dict[int, int]) -> HistogramMetricFamily:
    """{batch size: calls} as a Prometheus histogram of query-embedding batch sizes."""
    buckets: list[tuple[str, float]] = []
    for bound in BATCH_BUCKETS:
        buckets.append((str(bound), float(sum(n for s, n in sizes.items() if s <= bound))))
    buckets.append(("+Inf", float(sum(sizes.values()))))
    total = float(sum(s * n for s, n in sizes.items()))
    return HistogramMetricFamily(
        "antiscam_embed_batch_size",
        "Queries per e5 engine call made by the micro-batcher.",
        buckets=buckets,
        sum_value=total,
    )


def state_collector(
    deps: Deps | None,
    queue: Callable[[], tuple[int, int]],
    cache: AnswerCache | None,
) -> StateCollector:
    """What /metrics reads besides requests: queue, cache, embedding batches, index."""
    batcher = getattr(deps.embeddings, "batcher", None) if deps else None
    return StateCollector(
        queue=queue,
        cache=cache.stats if cache is not None else None,
        batches=batcher.stats if batcher is not None else None,
        generation=deps.retriever.generation if deps else None,
    )


def install(app: Any, metrics: Metrics, collector: StateCollector) -> None:
    """Register the collector, add the middleware and the GET /metrics route."""
    from starlette.responses import Response

    metrics.registry.register(collector)
    app.add_middleware(RequestMetrics, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
