"""Timestamps are Unix epoch seconds. One function so tests can pin the clock."""

import time


def now_epoch() -> int:
    return int(time.time())
