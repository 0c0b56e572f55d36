"""gunicorn's settings for Billing Admin. gunicorn reads this file by itself when started from
the project folder (its default is ./gunicorn.conf.py); elsewhere pass ``-c``.

Metrics that add up across workers: each gunicorn worker is its own process with its own
counters, so prometheus_client runs in multiprocess mode. Every worker writes its values to
files in ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics``, whichever worker answers, adds up all
of them (billing_admin/metrics/views.py). Here:

- the folder is the one the environment names, or else a private temporary one made now, in
  the master, before any worker imports prometheus_client (which reads the variable once, at
  import);
- ``on_starting`` empties it: values left by a previous run must not be added to this one's
  (so never share one folder between two gunicorn instances);
- ``child_exit`` tells prometheus_client a worker died, so its live gauges (requests in
  progress) stop counting; its counters stay, as Prometheus expects of a counter;
- ``on_exit`` removes the folder if it was made here.

Garbage collection: ``post_worker_init`` freezes (``gc.freeze()``) the objects a worker holds
once it has loaded the app (routes, templates, SQLAlchemy's mappers: ~150,000 objects that live
as long as the worker), so the collector's full collections walk only what requests made. A
full collection had walked them all, pausing a request by 0.1 s every few dozen requests
(docs/benchmarks.md, "Search ... (issue 13)").

The access log (``--access-logfile -``) names each request's id (the ``X-Request-ID`` the app
returns) and the worker's pid, so a line can be matched with the app's own log lines.
"""

import gc
import glob
import os
import shutil
import tempfile

_made_here = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _made_here = tempfile.mkdtemp(prefix="billing-admin-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _made_here

access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms '
    "request_id=%({x-request-id}o)s pid=%(p)s"
)


def on_starting(server):
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(path, mode=0o700, exist_ok=True)
    for name in glob.glob(os.path.join(path, "*.db")):
        os.remove(name)


def post_worker_init(worker):
    gc.freeze()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _made_here:
        shutil.rmtree(_made_here, ignore_errors=True)
