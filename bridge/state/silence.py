"""The silence watch: marks silent the gateways that stopped speaking without disconnecting.

A hung gateway process (SIGSTOP reproduces it), a frozen Pi or a half-open link keeps its TCP
connection, so no last will comes until the broker's keepalive expires, if ever. The store
decides who is silent (``Store.check_silence``, from MQTT facts alone); this greenlet only
asks it on a short tick, on the same hub as the message handlers, so it never races them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

from flask_socketio import SocketIO

from bridge.state.store import Delta, Store

# How often the watch looks: silence is reported at most this late past its window.
TICK_S: Final = 0.5


class SilenceWatch:
    def __init__(
        self,
        socketio: SocketIO,
        store: Store,
        publish: Callable[[list[Delta]], None],
        clock: Callable[[], float] = time.time,
        tick: float = TICK_S,
    ) -> None:
        self.socketio = socketio
        self.store = store
        self.publish = publish
        self.clock = clock
        self.tick = tick
        self._running = False
        self._task: Any = None

    def start(self) -> None:
        self._running = True
        self._task = self.socketio.start_background_task(self._loop)

    def stop(self) -> None:
        self._running = False

    def _loop(self) -> None:
        while self._running:
            self.socketio.sleep(self.tick)
            self.publish(self.store.check_silence(self.clock()))
