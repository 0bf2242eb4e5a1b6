"""The fan-out engine on python-socketio / python-engineio: the port and the flusher.

Every Engine.IO detail the bridge relies on is here, written against the versions pinned in
pyproject.toml (python-socketio 5.16.2-5.18, python-engineio 4.13.2-4.15, gevent mode): a
client's Engine.IO socket is found through ``server.manager.eio_sid_from_sid`` and
``server.eio.sockets``; its outgoing packets wait in ``socket.queue``, a gevent
``JoinableQueue`` whose writer calls ``task_done`` as it takes each packet (so ``join``
returns once the writer has taken them all); a stuck client is closed as Engine.IO itself
does on a ping timeout (``close(wait=False, abort=True)``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import simple_websocket  # type: ignore[import-untyped]
from engineio import packet as eio_packet
from socketio import packet as sio_packet
from wsproto.frame_protocol import FrameProtocol

from bridge.metrics import Metrics
from bridge.push.fanout import Fanout, Port
from bridge.state.store import Delta, Store

log = logging.getLogger(__name__)

_MAX_IDLE_WAIT = 1.0  # also how often a backlogged client is checked for being stuck
_NAMESPACE = "/"


class _WebSocketLink:
    """A client's WebSocket as python-engineio's writer uses it, and whether it is writing."""

    __slots__ = ("connection", "writing")

    def __init__(self, connection: Any) -> None:
        self.connection = connection  # simple_websocket.Server
        self.writing = False  # inside a send: a frame may be half on the socket

    def finish(self, rest: bytes) -> None:
        self.writing = True
        try:
            self.connection.sock.sendall(rest)
        finally:
            self.writing = False


class _Rest:
    """The part of a direct frame the kernel did not take, queued as an Engine.IO packet.

    python-engineio's writer calls ``encode`` and sends what it returns as a frame of its own:
    here ``encode`` first finishes the direct frame on the socket (blocking that writer, and
    only it, until the client reads), then hands back an Engine.IO NOOP, which every client
    ignores. Everything queued after it goes out after the whole direct frame.
    """

    packet_type = eio_packet.NOOP
    data = None

    def __init__(self, link: _WebSocketLink, rest: bytes) -> None:
        self._link = link
        self._rest = rest

    def encode(self) -> str:
        self._link.finish(self._rest)
        return str(eio_packet.Packet(eio_packet.NOOP).encode())


def _record_websockets(eio: Any, links: dict[str, _WebSocketLink]) -> None:
    """Have this Engine.IO server tell us each client's WebSocket and when it writes to it."""
    base = eio._async.get("websocket")
    if base is None:
        return

    class Recorded(base):  # type: ignore[misc, valid-type]
        """python-engineio's WebSocket wrapper, whose ``send`` its writer greenlet calls."""

        def __init__(self, handler: Any, server: Any) -> None:
            eio_sid = handler.__self__.sid  # handler: the Engine.IO socket's bound method
            self.link: _WebSocketLink | None = None

            def handle(wsgi_ws: Any) -> Any:
                connection = getattr(wsgi_ws, "ws", None)
                if isinstance(connection, simple_websocket.Server):
                    self.link = links[eio_sid] = _WebSocketLink(connection)
                try:
                    return handler(wsgi_ws)
                finally:
                    links.pop(eio_sid, None)

            super().__init__(handle, server)

        def send(self, message: Any) -> Any:
            link = self.link
            if link is None:
                return super().send(message)
            link.writing = True
            try:
                return super().send(message)
            finally:
                link.writing = False

    # A copy: python-engineio shares the driver's dict between every server in the process.
    eio._async = {**eio._async, "websocket": Recorded}


class EngineIOPort:
    """``bridge.push.fanout.Port`` on a python-socketio server; client ids are Socket.IO sids."""

    def __init__(self, server: Any, on_drained: Callable[[str], None], watch_limit: float) -> None:
        self._server = server
        self._on_drained = on_drained
        # A watch ends after this long even if the queue never drains: by then the client is
        # cut, and a closed socket's queue is never joined.
        self._watch_limit = watch_limit
        self._sockets: dict[str, Any] = {}  # looked up once per client
        self._watching: set[str] = set()
        self._links: dict[str, _WebSocketLink] = {}  # by Engine.IO sid
        _record_websockets(server.eio, self._links)

    def _socket(self, client: str) -> Any:
        sock = self._sockets.get(client)
        if sock is None:
            try:
                eio_sid = self._server.manager.eio_sid_from_sid(client, _NAMESPACE)
            except KeyError:
                return None
            sock = self._server.eio.sockets.get(eio_sid) if eio_sid is not None else None
            if sock is not None:
                self._sockets[client] = sock
        return sock

    def backlog(self, client: str) -> int | None:
        sock = self._socket(client)
        if sock is None or sock.closed or sock.closing:
            return None
        return int(sock.queue.qsize())

    def watch(self, client: str) -> None:
        if client in self._watching:
            return
        sock = self._socket(client)
        if sock is None:
            return
        self._watching.add(client)
        self._server.start_background_task(self._await_drain, client, sock.queue)

    def _await_drain(self, client: str, queue: Any) -> None:
        try:
            drained = queue.join(timeout=self._watch_limit)
        finally:
            self._watching.discard(client)
        if drained:
            self._on_drained(client)

    def emit(self, event: str, payload: dict[str, Any], to: list[str]) -> int:
        frame = self._frame(event, payload)
        queued = to if frame is None else [c for c in to if not self._write_direct(c, frame)]
        if queued:
            # One emit to the list: python-socketio encodes the packet once for all of them.
            self._server.emit(event, payload, to=queued, namespace=_NAMESPACE)
        return len(to) - len(queued)

    def _frame(self, event: str, payload: dict[str, Any]) -> bytes | None:
        """The WebSocket frame python-engineio's writer would send for this event."""
        if not self._links:
            return None
        # Built as python-socketio's emit builds it (its packet class carries the server's json).
        encoded = self._server.packet_class(
            sio_packet.EVENT, namespace=_NAMESPACE, data=[event, payload]
        ).encode()
        text = eio_packet.Packet(eio_packet.MESSAGE, data=encoded).encode()
        return bytes(FrameProtocol(client=False, extensions=[]).send_data(text))

    def _write_direct(self, client: str, frame: bytes) -> bool:
        """Write the frame now if nothing else is writing to the client; False: queue it."""
        sock = self._socket(client)
        if sock is None or not sock.upgraded or sock.upgrading or sock.closing or sock.closed:
            return False
        link = self._links.get(sock.sid)
        # Packets queued go first; a writer inside a send may have half a frame out.
        if link is None or link.writing or sock.queue.qsize() or not link.connection.connected:
            return False
        try:
            # The OS-level socket under gevent's is non-blocking: this never waits.
            written = link.connection.sock._sock.send(frame)
        except OSError:
            return False  # full (EAGAIN) or broken: the writer's path finds out and closes
        if written < len(frame):
            sock.queue.put(_Rest(link, frame[written:]))
        return True

    def cut(self, client: str) -> None:
        sock = self._socket(client)
        self.forget(client)
        if sock is not None:
            sock.close(wait=False, abort=True)

    def forget(self, client: str) -> None:
        self._sockets.pop(client, None)


class Flusher:
    """One greenlet does every push, so each client's order is simply the order of flushes.

    It flushes when something new arrives, when a client's queue drains, when the engine's
    next coalescing deadline comes, and at least every second (stuck clients).
    """

    def __init__(
        self,
        server: Any,
        store: Store,
        metrics: Metrics,
        fanout: Fanout,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.server = server
        self.store = store
        self.metrics = metrics
        self.fanout = fanout
        self.clock = clock
        self.port: Port = EngineIOPort(server, self._drained, watch_limit=fanout.stuck_after + 1)
        self._wake = server.eio.create_event()
        self._running = False
        self._task: Any = None

    def start(self) -> None:
        self._running = True
        self._task = self.server.start_background_task(self._loop)

    def stop(self) -> None:
        self._running = False
        self._wake.set()
        if self._task is not None:
            self._task.join()

    # Inputs (from the event handlers and the store) ---------------------------

    def connect(self, sid: str) -> None:
        # The state goes out from the flusher, after the CONNECT packet, never before it.
        self.fanout.connect(sid)
        self.metrics.clients.set(self.fanout.clients)
        self._wake.set()

    def disconnect(self, sid: str) -> None:
        self.fanout.disconnect(sid)
        self.port.forget(sid)
        self.metrics.clients.set(self.fanout.clients)

    def resynced(self, sid: str, version: int) -> None:
        self.fanout.resynced(sid, version)

    def publish(self, deltas: list[Delta]) -> None:
        """New changes for every client; the flusher sends them when each can take them."""
        if deltas:
            self.fanout.publish(deltas, self.clock())
            self._wake.set()

    def _drained(self, sid: str) -> None:
        if self.fanout.drained(sid):
            self._wake.set()

    # The loop ------------------------------------------------------------------

    def _loop(self) -> None:
        while self._running:
            self._wake.clear()
            next_due = self.flush(self.clock())
            wait = _MAX_IDLE_WAIT if next_due is None else max(0.0, next_due - self.clock())
            self._wake.wait(min(wait, _MAX_IDLE_WAIT))

    def flush(self, now: float) -> float | None:
        plan = self.fanout.flush(now, self.port.backlog, self.store.version)
        if plan.state_to:
            # Taken now, with no switch since the engine's flush: it is at that version.
            self._emit("state", self.store.snapshot(), plan.state_to)
        for group in plan.groups:
            for message in group.messages:
                self._emit(message.event, message.payload, group.clients)
        for sid in plan.cut:
            log.warning(
                "disconnecting client %s: it has not read for %.1f s", sid, self.fanout.stuck_after
            )
            self.metrics.stuck.inc()
            self.port.cut(sid)  # its disconnect handler runs at once, within this call
        for sid in plan.watch:
            self.port.watch(sid)
        return plan.next_due

    def _emit(self, event: str, payload: dict[str, Any], to: list[str]) -> None:
        direct = self.port.emit(event, payload, to)
        self.metrics.updates_out.labels(event).inc(len(to))
        self.metrics.updates_out_direct.inc(direct)
