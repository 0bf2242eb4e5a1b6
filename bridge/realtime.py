"""Socket.IO: full state on connect, coalesced deltas after, requests and relay commands.

One flusher greenlet does every push, so per-client ordering is simple: it sends a new
client its full state, then whatever that client's Coalescer releases, but only while the
client's transport queue holds fewer than ``MAX_QUEUED`` packets — a slow reader is never
buffered beyond its Coalescer and those few packets, and one whose queue stays full for
``stuck_after`` seconds is disconnected.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import request, session
from flask_socketio import ConnectionRefusedError, SocketIO

from bridge.auth import Auth, Principal, socket_token
from bridge.coalesce import Coalescer, RateMeter, merge
from bridge.command_gate import CommandGate
from bridge.metrics import Metrics
from bridge.store import Delta, Store

log = logging.getLogger(__name__)

_MAX_IDLE_WAIT = 1.0  # also how often a backlogged client is re-checked when nothing is new
# Not 1: an acknowledgement still queued for the sender must not hold back the push that
# confirms its command (that cost the sender a whole coalescing interval, bench: 55 ms).
MAX_QUEUED = 4


@dataclass(slots=True)
class _Client:
    coalescer: Coalescer
    principal: Principal
    needs_state: bool = True
    stuck_since: float | None = None
    engine_socket: Any = None  # Engine.IO's socket for this client, looked up once


class Realtime:
    def __init__(
        self,
        socketio: SocketIO,
        store: Store,
        gate: CommandGate,
        metrics: Metrics,
        auth: Auth,
        interval: float,
        stuck_after: float,
        burst: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.socketio = socketio
        self.store = store
        self.gate = gate
        self.metrics = metrics
        self.auth = auth
        self.interval = interval
        self.stuck_after = stuck_after
        self.clock = clock
        self._clients: dict[str, _Client] = {}
        self._incoming: list[Delta] = []
        self._rate = RateMeter(interval, burst)
        self._wake = socketio.server.eio.create_event()
        self._running = False
        self._task: Any = None
        self._register()

    # Component -------------------------------------------------------------

    def start(self) -> None:
        self._running = True
        self._task = self.socketio.start_background_task(self._flush_loop)

    def stop(self) -> None:
        self._running = False
        self._wake.set()
        if self._task is not None:
            self._task.join()

    @property
    def client_count(self) -> int:
        return len(self._clients)

    def publish(self, deltas: list[Delta]) -> None:
        """New changes for every client; the flusher sends them when each client can take them."""
        if not deltas:
            return
        now = self.clock()
        for delta in deltas:
            self._rate.record(delta.event, now)
        # Merged once per flush for all clients: the per-message cost does not grow with them.
        self._incoming.extend(deltas)
        self._wake.set()

    # Handlers --------------------------------------------------------------

    def _register(self) -> None:
        # Only connect needs Flask's request (headers, the session cookie). The other events
        # need just the sid and go straight to python-socketio: Flask-SocketIO's per-event
        # request context (a Request, URL matching, the session) cost ~0.2 ms per command.
        self.socketio.on_event("connect", self._on_connect)
        on = self.socketio.server.on
        on("disconnect", self._on_disconnect)
        on("request_state", self._on_request_state)
        on("request_devices", self._requester("devices"))
        on("request_relays", self._requester("relays"))
        on("request_system_stats", self._requester("system_stats"))
        on("request_gateways", self._requester("gateways"))
        on("set_relay", self._on_set_relay)

    def _on_connect(self, auth: Any = None) -> bool:
        token = socket_token(auth, request.headers.get("Authorization"))
        principal = self.auth.identify(token, None if token else session.get("sid"))
        if principal is None:
            detail = 'log in first, or connect with auth={"token": "<API token>"}'
            raise ConnectionRefusedError("unauthorized", {"detail": detail})
        sid: str = request.sid  # type: ignore[attr-defined]
        # The state goes out from the flusher, after the CONNECT packet, never before it.
        self._clients[sid] = _Client(Coalescer(self.interval, self.store.version), principal)
        self.metrics.clients.set(len(self._clients))
        self._wake.set()
        return True

    def disconnect_session(self, session_id: str) -> None:
        """Logout: that session's sockets go at once, not at their next command."""
        for sid, client in list(self._clients.items()):
            if client.principal.session == session_id:
                self._drop(sid, "its session ended")

    def revalidate(self) -> None:
        """Drop clients whose user, token or session is gone; pick up role changes."""
        for sid, client in list(self._clients.items()):
            current = self.auth.refresh(client.principal)
            if current is None:
                self._drop(sid, f"{client.principal.name} is no longer authorised")
            else:
                client.principal = current

    def _drop(self, sid: str, why: str) -> None:
        log.info("disconnecting client %s: %s", sid, why)
        self._clients.pop(sid, None)
        self.metrics.clients.set(len(self._clients))
        self.socketio.server.disconnect(sid, namespace="/")

    def _on_disconnect(self, sid: str, *_reason: Any) -> None:
        self._clients.pop(sid, None)
        self.metrics.clients.set(len(self._clients))

    def _on_request_state(self, sid: str, *_args: Any) -> dict[str, Any]:
        client = self._clients.get(sid)
        if client is not None:
            client.coalescer.reset(self.store.version)
            client.needs_state = False
        return self.store.snapshot()

    def _requester(self, field: str) -> Callable[..., dict[str, Any]]:
        def handler(sid: str, *_args: Any) -> dict[str, Any]:
            answer = self.store.kind(field)
            # The seed's clients listen for the event rather than use acknowledgements; a
            # client that is not reading gets only the acknowledgement, not a second copy.
            if self._backlog(sid) == 0:
                self.socketio.emit(f"{field}_update", answer, to=sid)
            return answer

        return handler

    def _on_set_relay(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        client = self._clients.get(sid)
        # Authorised per command: the role may have changed, the session may have ended.
        # A client found gone is answered here and dropped by the next ``revalidate``.
        current = self.auth.refresh(client.principal) if client is not None else None
        if client is not None and current is not None:
            client.principal = current
        remote = (self.socketio.server.get_environ(sid) or {}).get("REMOTE_ADDR")
        decision = self.gate.submit(current, data, "socketio", remote)
        return decision.outcome.to_dict()

    # Flusher ---------------------------------------------------------------

    def _flush_loop(self) -> None:
        while self._running:
            self._wake.clear()
            next_due = self._flush_once(self.clock())
            now = self.clock()
            wait = _MAX_IDLE_WAIT if next_due is None else max(0.0, next_due - now)
            self._wake.wait(min(wait, _MAX_IDLE_WAIT))

    def _flush_once(self, now: float) -> float | None:
        batch, self._incoming = merge(self._incoming), []
        busy = self._rate.busy(now)
        next_due: float | None = None
        recheck = now + max(self.interval, 0.02)
        # Clients in step get the same message: it is encoded once and sent to all of them.
        groups: dict[tuple[str, int, int], list[tuple[dict[str, Any], list[str]]]] = {}
        # Most clients hold exactly the version before this batch: what they get is worked
        # out once, here, and each of them only joins the list.
        events = [delta.event for delta in batch]
        base = min((delta.prev for delta in batch), default=-1)
        in_step: list[str] = []
        reference = Coalescer(self.interval, base)
        for delta in batch:
            reference.offer(delta)
        for out in reference.take(now, ()):
            key = (out.event, out.payload["prev"], out.payload["version"])
            groups[key] = [(out.payload, in_step)]
        for sid, client in list(self._clients.items()):
            backlog = self._backlog(sid)
            if backlog is None:
                continue
            coalescer = client.coalescer
            if (
                batch
                and backlog < MAX_QUEUED
                and not client.needs_state
                and coalescer.in_step(base, events, now, busy)
            ):
                client.stuck_since = None
                coalescer.sent(reference.sent_version, events, now)
                in_step.append(sid)
                continue
            for delta in batch:
                coalescer.offer(delta)
            if backlog >= MAX_QUEUED:
                if client.stuck_since is None:
                    client.stuck_since = now
                elif now - client.stuck_since >= self.stuck_after:
                    self._cut(sid)
                    continue
                if client.needs_state or coalescer.due_at(busy) is not None:
                    next_due = recheck if next_due is None else min(next_due, recheck)
                continue
            client.stuck_since = None
            if client.needs_state:
                client.needs_state = False
                state = self.store.snapshot()
                coalescer.reset(state["version"])
                self._emit("state", state, sid)
            for out in coalescer.take(now, busy):
                same = groups.setdefault(
                    (out.event, out.payload["prev"], out.payload["version"]), []
                )
                for payload, sids in same:
                    if payload == out.payload:
                        sids.append(sid)
                        break
                else:
                    same.append((out.payload, [sid]))
            due = coalescer.due_at(busy)
            if due is not None:
                next_due = due if next_due is None else min(next_due, due)
        # Ascending versions: each client still gets its messages in the order it took them.
        for (event, _prev, _version), payloads in sorted(groups.items(), key=lambda g: g[0][1:]):
            for payload, sids in payloads:
                if sids:
                    self._emit(event, payload, sids)
        return next_due

    def _emit(self, event: str, payload: dict[str, Any], to: str | list[str]) -> None:
        self.socketio.emit(event, payload, to=to)
        self.metrics.updates_out.labels(event).inc(1 if isinstance(to, str) else len(to))

    def _engine_socket(self, sid: str) -> Any:
        server = self.socketio.server
        try:
            eio_sid = server.manager.eio_sid_from_sid(sid, "/")
        except KeyError:
            return None
        return server.eio.sockets.get(eio_sid) if eio_sid is not None else None

    def _backlog(self, sid: str) -> int | None:
        """Packets queued for this client and not yet taken by its transport."""
        client = self._clients.get(sid)
        if client is None:
            return None
        if client.engine_socket is None:
            client.engine_socket = self._engine_socket(sid)
        sock = client.engine_socket
        if sock is None or sock.closed or sock.closing:
            return None
        return int(sock.queue.qsize())

    def _cut(self, sid: str) -> None:
        log.warning("disconnecting client %s: it has not read for %.1f s", sid, self.stuck_after)
        self.metrics.stuck.inc()
        self._clients.pop(sid, None)
        self.metrics.clients.set(len(self._clients))
        sock = self._engine_socket(sid)
        if sock is not None:
            # As engine.io itself does on a ping timeout: no waiting on a queue nobody drains.
            sock.close(wait=False, abort=True)
