"""``GET /metrics``: the Prometheus text format. Who may read it is decided by the guard
(auth/guard.py, auth/metrics_access.py), like every other route."""

import os

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from billing_admin.metrics.collector import BillingCollector

bp = Blueprint("metrics", __name__)


def process_registry() -> CollectorRegistry:
    """Under gunicorn (PROMETHEUS_MULTIPROC_DIR set): every worker's values, added up from the
    shared folder. Otherwise this process's own."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


@bp.get("/metrics")
def scrape():
    billing = CollectorRegistry()
    billing.register(BillingCollector())
    body = generate_latest(process_registry()) + generate_latest(billing)
    return Response(body, content_type=CONTENT_TYPE_LATEST)
