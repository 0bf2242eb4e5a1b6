"""A thread that runs jobs in order, now or at a time: commands, pulse ends, samplers.

One worker per concern keeps ordering simple (all relay actions run on one thread, in
order) and keeps slow work (a 750 ms 1-wire read) away from the relays and the MQTT loop.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

Job = Callable[[], None]


@dataclass(order=True)
class _Entry:
    due: float
    n: int
    job: Job = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class Handle:
    def __init__(self, entry: _Entry) -> None:
        self._entry = entry

    def cancel(self) -> None:
        self._entry.cancelled = True


class Worker:
    def __init__(self, name: str) -> None:
        self.name = name
        self._heap: list[_Entry] = []
        self._count = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def call_at(self, due: float, job: Job) -> Handle:
        """Run ``job`` at monotonic time ``due`` (jobs due at the same time run in order)."""
        entry = _Entry(due, next(self._count), job)
        with self._cond:
            heapq.heappush(self._heap, entry)
            self._cond.notify()
        return Handle(entry)

    def call_soon(self, job: Job) -> Handle:
        return self.call_at(time.monotonic(), job)

    def call_later(self, delay_s: float, job: Job) -> Handle:
        return self.call_at(time.monotonic() + delay_s, job)

    def call_every(self, interval_s: float, job: Job, first_delay_s: float = 0.0) -> None:
        """Fixed-rate repetition that does not drift; a slow run skips missed ticks."""
        next_due = time.monotonic() + first_delay_s

        def tick() -> None:
            nonlocal next_due
            try:
                job()
            finally:
                now = time.monotonic()
                next_due += interval_s
                if next_due < now:
                    next_due = now + interval_s
                self.call_at(next_due, tick)

        self.call_at(next_due, tick)

    def run_sync(self, job: Job, timeout_s: float = 10.0) -> bool:
        """Run ``job`` after everything already queued; wait for it. False on timeout."""
        done = threading.Event()

        def wrapped() -> None:
            try:
                job()
            finally:
                done.set()

        self.call_soon(wrapped)
        return done.wait(timeout_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        return
                    now = time.monotonic()
                    if self._heap and self._heap[0].due <= now:
                        entry = heapq.heappop(self._heap)
                        break
                    self._cond.wait(self._heap[0].due - now if self._heap else None)
            if entry.cancelled:
                continue
            try:
                entry.job()
            except Exception:
                log.exception("%s: a job failed; carrying on", self.name)
