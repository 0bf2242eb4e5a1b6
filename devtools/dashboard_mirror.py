"""A dashboard-like Socket.IO client for fault tests and the soak: holds the plant's state.

It does what web/ does: takes ``state`` whole, applies a delta only when its ``prev`` is the
version it holds, and on a gap asks for ``request_state``. It reconnects by itself. Every
version it held is kept (``versions``), so a test can check that they only go forward.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import Any, Final

import socketio

from bridge.contract import FIELD

FIELDS: Final[dict[str, str]] = {str(event): field for event, field in FIELD.items()}


def apply_delta(state: dict[str, Any], event: str, data: dict[str, Any]) -> bool | None:
    """The dashboard's rule for a push: applied (True) only when its ``prev`` is the version
    held; False for a gap (ask for the full state); None for an answer to ``request_*``."""
    if "prev" not in data:
        return None
    if data["prev"] != state["version"]:
        return False
    held = state[FIELDS[event]]
    for key, entry in data[FIELDS[event]].items():
        if entry is None:  # an alarm removed (its retained topic cleared)
            held.pop(key, None)
        else:
            held[key] = entry
    state["version"] = data["version"]
    return True


def plant_view(state: dict[str, Any], skip: tuple[str, ...] = ("bridge",)) -> dict[str, Any]:
    """What an operator reads off a state: gateways online, values, relays, qualities.

    ``ts`` and ``seq`` are left out on purpose: two views agree when they show the same plant.
    """
    return {
        "gateways": {k: g["online"] for k, g in state["gateways"].items() if k not in skip},
        "devices": {k: (d["value"], d["quality"]) for k, d in state["devices"].items()},
        "relays": {k: (r["on"], r["quality"]) for k, r in state["relays"].items()},
    }


class DashboardMirror:
    def __init__(
        self,
        base_url: str,
        transports: list[str] | None = None,
        name: str = "",
        token: str | None = None,
        **connect: Any,
    ) -> None:
        """``token``: an API token, sent as Socket.IO's ``auth={"token": ...}``."""
        self.base_url = base_url
        self.name = name or base_url
        self.transports = transports or ["websocket"]
        self.connect_kwargs = connect if token is None else {"auth": {"token": token}, **connect}
        self.client = socketio.Client(
            reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1
        )
        self.state: dict[str, Any] | None = None
        self.snapshots = 0  # full states received (one per connect, plus one per gap)
        self.gaps = 0
        self.disconnects = 0
        self.versions: list[int] = []  # every version held, in order
        self.offline_seen: list[tuple[float, str]] = []  # (time, gateway) went offline
        self._cond = threading.Condition()
        self.client.on("state", self._on_state)
        self.client.on("disconnect", self._on_disconnect)
        for event in FIELDS:
            self.client.on(event, self._delta_handler(event))

    # ---------------------------------------------------------------- lifecycle

    def start(self, timeout: float = 15) -> DashboardMirror:
        self.client.connect(
            self.base_url, transports=self.transports, wait_timeout=10, **self.connect_kwargs
        )
        self.wait(lambda s: s is not None, timeout, "the full state after connect")
        return self

    def stop(self) -> None:
        self.client.disconnect()

    def __enter__(self) -> DashboardMirror:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ queries

    def snapshot(self) -> dict[str, Any] | None:
        with self._cond:
            return copy.deepcopy(self.state)

    def view(self) -> dict[str, Any] | None:
        with self._cond:
            return None if self.state is None else plant_view(self.state)

    def wait(
        self, check: Callable[[dict[str, Any] | None], Any], timeout: float = 15, what: str = ""
    ) -> Any:
        """Wait until ``check(state)`` is truthy (called under the lock, on every change)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = check(self.state)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name}: not within {timeout} s: {what}")
                self._cond.wait(min(left, 0.5))

    def call(self, event: str, data: Any = None, timeout: float = 15) -> Any:
        return self.client.call(event, data, timeout=timeout)

    # ----------------------------------------------------------------- handlers

    def _on_state(self, data: dict[str, Any]) -> None:
        with self._cond:
            self.state = copy.deepcopy(data)
            self.snapshots += 1
            self.versions.append(int(data["version"]))
            self._cond.notify_all()

    def _on_disconnect(self, *_args: Any) -> None:
        with self._cond:
            self.disconnects += 1
            self._cond.notify_all()

    def _delta_handler(self, event: str) -> Callable[[dict[str, Any]], None]:
        field = FIELDS[event]

        def handler(data: dict[str, Any]) -> None:
            with self._cond:
                if self.state is None:
                    return
                applied = apply_delta(self.state, event, data)
                if applied is False:
                    self.gaps += 1
                    self.client.emit("request_state", callback=self._on_state)
                if not applied:
                    return
                if event == "gateways_update":
                    for k, entry in data[field].items():
                        if not entry.get("online", True):
                            self.offline_seen.append((time.time(), k))
                self.versions.append(int(data["version"]))
                self._cond.notify_all()

        return handler
