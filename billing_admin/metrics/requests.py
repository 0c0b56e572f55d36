"""Counting every request: endpoint, method, status, latency, and requests in progress.

The endpoint label is the route's name (``plans.edit``), never the URL, so a scan of random
URLs cannot create unbounded series; methods outside the usual ones count as ``OTHER``.
"""

import time

from flask import Flask, Response, g, request

from billing_admin.metrics.instruments import IN_PROGRESS, LATENCY, REQUESTS

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _labels() -> tuple[str, str]:
    endpoint = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
    method = request.method if request.method in METHODS else "OTHER"
    return endpoint, method


def _start() -> None:
    g.metrics_started = time.perf_counter()
    IN_PROGRESS.inc()


def _count(response: Response) -> Response:
    started = g.get("metrics_started")
    if started is not None:
        endpoint, method = _labels()
        REQUESTS.labels(endpoint, method, str(response.status_code)).inc()
        LATENCY.labels(endpoint, method).observe(time.perf_counter() - started)
    return response


def _finish(exc: BaseException | None) -> None:
    if g.pop("metrics_started", None) is not None:
        IN_PROGRESS.dec()


def register_request_metrics(app: Flask) -> None:
    """Call right after the request ids: before the guard, so refused requests count too."""
    app.before_request(_start)
    app.after_request(_count)
    app.teardown_request(_finish)
