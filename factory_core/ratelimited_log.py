"""Logging that cannot be flooded: a misbehaving publisher must not fill the disk."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class RateLimitedLog:
    """At most one record per key per ``interval_s``; the next one says how many were dropped."""

    def __init__(
        self,
        logger: logging.Logger,
        interval_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self.clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def warning(self, key: str, msg: str, *args: object) -> bool:
        now = self.clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval_s:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return False
            if len(self._last) > 1000:  # bounded memory under key churn
                self._last.clear()
            self._last[key] = now
            dropped = self._suppressed.pop(key, 0)
        if dropped:
            msg += f" ({dropped} similar messages suppressed)"
        self.logger.warning(msg, *args)
        return True
