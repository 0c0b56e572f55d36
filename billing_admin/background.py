"""Work that outlives the request that started it (a move of 500,000 subscriptions).

A thread in the worker process, with its own app context and database session. The work must be
safe to re-run, because a worker can be restarted under it: its state lives in the database (see
plans/price_moves.py), not in the thread.
"""

import threading
from collections.abc import Callable

from flask import Flask, current_app

THREADS_KEY = "background_threads"


def run_in_background(name: str, work: Callable[[], object]) -> threading.Thread:
    """Start ``work()`` in a thread of this worker; errors are logged with their traceback."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]

    def target() -> None:
        with app.app_context():
            try:
                work()
            except Exception:
                app.logger.exception("background work %r failed; it can be re-run", name)

    thread = threading.Thread(target=target, name=name, daemon=True)
    threads = app.extensions.setdefault(THREADS_KEY, [])
    threads[:] = [t for t in threads if t.is_alive()]
    threads.append(thread)
    thread.start()
    return thread


def wait_for_background(app: Flask, timeout: float = 60) -> None:
    """Wait for this app's background threads (tests, and a clean shutdown)."""
    for thread in list(app.extensions.get(THREADS_KEY, [])):
        thread.join(timeout)
