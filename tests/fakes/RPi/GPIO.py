# ruff: noqa: N999 - the module is named after the real RPi.GPIO
"""A behavioural fake of ``RPi.GPIO`` (the hardware edge; nothing of ours is faked).

It keeps RPi.GPIO's API and its errors for misuse, and adds test controls:
``drive(pin, level)`` toggles an input as a switch would (firing the registered callbacks on
matching edges), ``stick(pin, level)`` makes an output ignore writes (a welded relay, a dead
driver), ``level(pin)`` and ``writes`` show what the code did, ``reset()`` starts afresh.

Across processes (a gateway subprocess in the fault tests), set ``FAKE_GPIO_DIR``: every
output set-up and write is appended to ``pins.jsonl`` there (pin, level taken, time, pid),
and ``control.json`` there is re-read whenever it changes: ``{"stuck": {"5": 0}}`` sticks
outputs, ``{"slow_writes": {"5": 30}}`` makes a write to that pin take that many seconds
after the level is taken (a driver that hangs: the process can be killed in between).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

BCM = 11
BOARD = 10
OUT = 0
IN = 1
HIGH = 1
LOW = 0
PUD_OFF = 20
PUD_DOWN = 21
PUD_UP = 22
RISING = 31
FALLING = 32
BOTH = 33
RPI_INFO = {"P1_REVISION": 3, "TYPE": "fake", "RAM": "fake"}
VERSION = "0.7.1-fake"

_lock = threading.RLock()
_board: dict[str, int | None] = {"mode": None}
_direction: dict[int, int] = {}
_levels: dict[int, int] = {}
_stuck: dict[int, int] = {}
_detect: dict[int, tuple[int, list[Callable[[int], None]], int | None]] = {}
writes: list[tuple[int, int]] = []
setup_calls: list[tuple[int, int, dict[str, Any]]] = []
cleaned: list[int] = []

_shared = Path(os.environ["FAKE_GPIO_DIR"]) if os.environ.get("FAKE_GPIO_DIR") else None
_control: dict[str, Any] = {"mtime": None, "slow_writes": {}}


def _sync_control() -> None:
    """Take the stuck pins and slow writes from the shared control file, if it changed."""
    if _shared is None:
        return
    path = _shared / "control.json"
    mtime = path.stat().st_mtime_ns if path.exists() else None
    if mtime == _control["mtime"]:
        return
    data = json.loads(path.read_text()) if mtime is not None else {}
    _control["mtime"] = mtime
    _stuck.clear()
    _stuck.update({int(pin): int(bool(lv)) for pin, lv in data.get("stuck", {}).items()})
    _control["slow_writes"] = {int(pin): float(s) for pin, s in data.get("slow_writes", {}).items()}


def _journal(op: str, channel: int, level: int) -> None:
    if _shared is None:
        return
    line = json.dumps(
        {"op": op, "pin": channel, "level": level, "t": time.time(), "pid": os.getpid()}
    )
    with (_shared / "pins.jsonl").open("a") as f:
        f.write(line + "\n")


def reset() -> None:
    with _lock:
        _board["mode"] = None
        _direction.clear()
        _levels.clear()
        _stuck.clear()
        _detect.clear()
        writes.clear()
        setup_calls.clear()
        cleaned.clear()


def setwarnings(flag: bool) -> None:
    pass


def setmode(mode: int) -> None:
    if mode not in (BCM, BOARD):
        raise ValueError("An invalid mode was passed to setmode()")
    if _board["mode"] is not None and _board["mode"] != mode:
        raise ValueError("A different mode has already been set!")
    _board["mode"] = mode


def getmode() -> int | None:
    return _board["mode"]


def _check_mode() -> None:
    if _board["mode"] is None:
        raise RuntimeError(
            "Please set pin numbering mode using GPIO.setmode(GPIO.BOARD) or GPIO.setmode(GPIO.BCM)"
        )


def setup(channel: int, direction: int, pull_up_down: int = PUD_OFF, initial: int = -1) -> None:
    _check_mode()
    if direction not in (IN, OUT):
        raise ValueError("An invalid direction was passed to setup()")
    if direction == OUT and pull_up_down != PUD_OFF:
        raise ValueError("pull_up_down parameter is not valid for outputs")
    with _lock:
        setup_calls.append((channel, direction, {"pull_up_down": pull_up_down, "initial": initial}))
        _direction[channel] = direction
        if direction == OUT:
            _sync_control()
            level = LOW if initial == -1 else int(bool(initial))
            _levels[channel] = _stuck.get(channel, level)
            _journal("setup", channel, _levels[channel])
        else:
            _levels.setdefault(channel, HIGH if pull_up_down == PUD_UP else LOW)


def output(channel: int, value: int) -> None:
    _check_mode()
    with _lock:
        if _direction.get(channel) != OUT:
            raise RuntimeError("The GPIO channel has not been set up as an OUTPUT")
        _sync_control()
        writes.append((channel, int(bool(value))))
        _levels[channel] = _stuck.get(channel, int(bool(value)))
        _journal("output", channel, _levels[channel])
        slow = _control["slow_writes"].get(channel, 0.0)
    if slow:
        time.sleep(slow)


def input(channel: int) -> int:
    _check_mode()
    with _lock:
        if channel not in _direction:
            raise RuntimeError("You must setup() the GPIO channel first")
        return _levels[channel]


def add_event_detect(
    channel: int,
    edge: int,
    callback: Callable[[int], None] | None = None,
    bouncetime: int | None = None,
) -> None:
    _check_mode()
    if edge not in (RISING, FALLING, BOTH):
        raise ValueError("The edge must be set to RISING, FALLING or BOTH")
    if bouncetime is not None and bouncetime <= 0:
        raise ValueError("Bouncetime must be greater than 0")
    with _lock:
        if _direction.get(channel) != IN:
            raise RuntimeError("You must setup() the GPIO channel as an input first")
        if channel in _detect:
            raise RuntimeError("Conflicting edge detection already enabled for this GPIO channel")
        _detect[channel] = (edge, [callback] if callback else [], bouncetime)


def add_event_callback(channel: int, callback: Callable[[int], None]) -> None:
    with _lock:
        if channel not in _detect:
            raise RuntimeError("Add event detection using add_event_detect first")
        _detect[channel][1].append(callback)


def remove_event_detect(channel: int) -> None:
    with _lock:
        _detect.pop(channel, None)


def event_detected(channel: int) -> bool:
    return False


def cleanup(channel: int | Iterable[int] | None = None) -> None:
    with _lock:
        if channel is None:
            pins = list(_direction)
        elif isinstance(channel, int):
            pins = [channel]
        else:
            pins = list(channel)
        for pin in pins:
            _direction.pop(pin, None)
            _detect.pop(pin, None)
            cleaned.append(pin)
        if not _direction:
            _board["mode"] = None


# ------------------------------------------------------------------ test controls


def drive(channel: int, level: int | bool) -> None:
    """Set an input as the outside world would; fires callbacks on a matching edge.

    Callbacks run on a separate thread, as RPi.GPIO runs them on its own.
    """
    value = int(bool(level))
    with _lock:
        if _direction.get(channel) == OUT:
            raise RuntimeError(f"fake GPIO: pin {channel} is an output, it cannot be driven")
        old = _levels.get(channel)
        _levels[channel] = value
        edge, callbacks, _ = _detect.get(channel, (None, [], None))
    if old == value or edge is None:
        return
    if edge == BOTH or (edge == RISING) == bool(value):
        thread = threading.Thread(target=lambda: [cb(channel) for cb in list(callbacks)])
        thread.start()
        thread.join()


def stick(channel: int, level: int | bool) -> None:
    """From now on this output stays at ``level`` whatever is written."""
    with _lock:
        _stuck[channel] = int(bool(level))
        if _direction.get(channel) == OUT:
            _levels[channel] = _stuck[channel]


def unstick(channel: int) -> None:
    with _lock:
        _stuck.pop(channel, None)


def level(channel: int) -> int:
    with _lock:
        return _levels[channel]


def is_output(channel: int) -> bool:
    with _lock:
        return _direction.get(channel) == OUT
