"""Prometheus metrics at ``/metrics`` (prometheus_client): requests, latency, database
errors, sign-ins, and subscriptions and MRR read from the counts table."""

from billing_admin.metrics.requests import register_request_metrics

__all__ = ["register_request_metrics"]
