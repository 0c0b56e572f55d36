"""The app's metrics, and the tiny hooks other areas call to count things.

Under gunicorn, prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set before
the app is imported; gunicorn.conf.py does it) keeps each worker's values in files that
``/metrics`` adds up, so the figures are the whole server's whatever worker answers. Nothing
here imports the rest of the app: any area may call these hooks.
"""

import os

from prometheus_client import Counter, Gauge, Histogram

# In multiprocess mode each metric opens its file in the folder as it is created, just below:
# a folder named but not made yet (a command run with the server's environment) is made here.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], mode=0o700, exist_ok=True)

REQUESTS = Counter(
    "billing_admin_http_requests",
    "HTTP requests answered, by endpoint (the route's name; 'unmatched' for no route), method "
    "and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "billing_admin_http_request_duration_seconds",
    "Time from the request reaching the app to its response, by endpoint and method.",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
IN_PROGRESS = Gauge(
    "billing_admin_http_requests_in_progress",
    "Requests being answered now, summed over live workers.",
    multiprocess_mode="livesum",
)
DATABASE_ERRORS = Counter(
    "billing_admin_database_errors",
    "Requests that failed on the database: 'unavailable' (it did not answer: a 503) or "
    "'error' (any other database error: a 500).",
    ["kind"],
)
SIGN_INS = Counter(
    "billing_admin_sign_ins",
    "Sign-in steps by outcome: success (signed in), failure (a wrong email, password or code, "
    "or no dashboard access), throttled (refused unchecked: the account's delay or the "
    "client's limit; auth/throttle.py).",
    ["outcome"],
)
SIGN_IN_OUTCOMES = ("success", "failure", "throttled")
# auth/service.py's words for the outcomes (audit actions sign_in_<outcome>) → the metric's.
_OUTCOME_LABELS = {"succeeded": "success", "failed": "failure", "throttled": "throttled"}
DATABASE_ERROR_KINDS = ("unavailable", "error")

# Every series exists from the start (at 0), so a rate() over it works before the first event.
for _outcome in SIGN_IN_OUTCOMES:
    SIGN_INS.labels(_outcome)
for _kind in DATABASE_ERROR_KINDS:
    DATABASE_ERRORS.labels(_kind)


def count_sign_in(outcome: str) -> None:
    """One sign-in step's outcome as auth/service.py records it: ``succeeded``, ``failed`` or
    ``throttled``."""
    SIGN_INS.labels(_OUTCOME_LABELS[outcome]).inc()


def count_database_error(kind: str) -> None:
    """``kind``: 'unavailable' or 'error' (DATABASE_ERROR_KINDS)."""
    DATABASE_ERRORS.labels(kind).inc()
