"""Waiting on an event that has no callback: poll the check, fail with what was awaited."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(check: Callable[[], Any], timeout: float = 15, what: str = "",
               poll: float = 0.02) -> Any:  # fmt: skip
    """Poll ``check`` until truthy and return what it returned.

    Raises TimeoutError naming ``what`` after ``timeout`` seconds. Give a generous timeout:
    on a busy machine an event that usually takes milliseconds can take seconds, and a
    passing wait returns as soon as the event is there.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout} s: {what}")
        time.sleep(poll)


def wait_for(check: Callable[[], Any], timeout: float, what: str, poll: float = 0.02) -> float:
    """As ``wait_until``, but return the time.time() at which ``check`` was first true."""
    wait_until(check, timeout, what, poll)
    return time.time()
