"""A real Socket.IO client that records what the bridge pushes (tests and benchmarks)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import socketio

from bridge.contract import EVENTS

PUSH_EVENTS = ("state", *EVENTS)


@dataclass(frozen=True)
class Pushed:
    event: str
    data: Any
    at: float


class SioProbe:
    def __init__(
        self,
        base_url: str,
        transports: list[str] | None = None,
        token: str | None = None,
        **connect: Any,
    ) -> None:
        """``token``: an API token, sent as Socket.IO's ``auth={"token": ...}``."""
        self.base_url = base_url
        self.transports = transports or ["websocket"]
        self.connect_kwargs = connect if token is None else {"auth": {"token": token}, **connect}
        self.client = socketio.Client(reconnection=True, reconnection_delay=0.2)
        self.events: list[Pushed] = []
        self._cond = threading.Condition()
        for name in PUSH_EVENTS:
            self.client.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[[Any], None]:
        def record(data: Any) -> None:
            with self._cond:
                self.events.append(Pushed(name, data, time.time()))
                self._cond.notify_all()

        return record

    def start(self) -> SioProbe:
        self.client.connect(
            self.base_url, transports=self.transports, wait_timeout=10, **self.connect_kwargs
        )
        return self

    def stop(self) -> None:
        self.client.disconnect()

    def call(self, event: str, data: Any = None, timeout: float = 15) -> Any:
        return self.client.call(event, data, timeout=timeout)

    def wait_for(
        self, event: str, match: Callable[[Any], bool] = lambda _d: True, timeout: float = 10
    ) -> Pushed:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for pushed in self.events:
                    if pushed.event == event and match(pushed.data):
                        return pushed
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [p.event for p in self.events[-20:]]
                    raise TimeoutError(f"no matching {event!r} within {timeout} s; saw {seen}")
                self._cond.wait(left)

    def of(self, event: str) -> list[Any]:
        with self._cond:
            return [p.data for p in self.events if p.event == event]

    def clear(self) -> None:
        with self._cond:
            self.events.clear()

    def __enter__(self) -> SioProbe:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
