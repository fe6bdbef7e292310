"""The service's Prometheus metrics, in a registry of its own (one per app)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

ENDPOINTS = ("/v1/remove", "/v1.0/removebg", "/v1/models", "/healthz", "/readyz", "/metrics")
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0)


class Metrics:
    """Requests by endpoint and status, their latency, and the pool's state read when scraped:
    requests admitted (waiting + running), waiting for a worker, busy and ready workers."""

    def __init__(self, admitted: Callable[[], float], waiting: Callable[[], float],
                 busy: Callable[[], float], ready: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("backdrop_requests", "HTTP requests answered, by endpoint and status",
                                ("endpoint", "status"), registry=self.registry)
        self.latency = Histogram("backdrop_request_seconds", "Time to answer a request, by endpoint",
                                 ("endpoint",), buckets=BUCKETS, registry=self.registry)
        for name, doc, read in (
                ("backdrop_requests_admitted", "Requests admitted: waiting for a worker or being worked on", admitted),
                ("backdrop_queue_depth", "Requests waiting for a free worker", waiting),
                ("backdrop_workers_busy", "Worker processes working on a request", busy),
                ("backdrop_workers_ready", "Worker processes with their models loaded", ready)):
            Gauge(name, doc, registry=self.registry).set_function(read)

    def observe(self, path: str, status: int, seconds: float) -> None:
        endpoint = path if path in ENDPOINTS else "other"
        self.requests.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)
