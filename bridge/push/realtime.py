"""Socket.IO event handlers: who may connect, requests, relay commands.

What each client is pushed (its full state, then its chain of deltas) is worked out by
``bridge.push.fanout`` and sent by the flusher in ``bridge.push.engineio_port``; the
handlers only tell the flusher of clients coming, going and taking the full state through
``request_state``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import request, session
from flask_socketio import ConnectionRefusedError, SocketIO

from bridge.contract import EventLogSubscription
from bridge.control.command_gate import CommandGate, all_to_safe_answer
from bridge.push.engineio_port import Flusher
from bridge.push.event_log_stream import EventLogStream
from bridge.security.principals import Auth, Principal, socket_token
from bridge.state.event_log import EventLog, EventQuery, parse_event_query
from bridge.state.store import Store

log = logging.getLogger(__name__)


class Realtime:
    def __init__(
        self,
        socketio: SocketIO,
        store: Store,
        gate: CommandGate,
        auth: Auth,
        flusher: Flusher,
        event_log: EventLog,
        event_stream: EventLogStream,
    ) -> None:
        self.socketio = socketio
        self.store = store
        self.gate = gate
        self.auth = auth
        self.flusher = flusher
        self.event_log = event_log
        self.event_stream = event_stream
        self._principals: dict[str, Principal] = {}
        self._register()

    @property
    def client_count(self) -> int:
        return len(self._principals)

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
        on("request_alarms", self._requester("alarms"))
        on("set_relay", self._on_set_relay)
        on("lock_relay", self._on_lock_relay)
        on("all_to_safe", self._on_all_to_safe)
        on("alarm_command", self._on_alarm_command)
        on("set_service", self._on_set_service)
        on("subscribe_event_log", self._on_subscribe_event_log)
        on("unsubscribe_event_log", self._on_unsubscribe_event_log)

    def _on_connect(self, auth: Any = None) -> bool:
        token = socket_token(auth, request.headers.get("Authorization"))
        principal = self.auth.identify(token, None if token else session.get("sid"))
        if principal is None:
            detail = 'log in first, or connect with auth={"token": "<API token>"}'
            raise ConnectionRefusedError("unauthorized", {"detail": detail})
        sid: str = request.sid  # type: ignore[attr-defined]
        self._principals[sid] = principal
        self.flusher.connect(sid)
        return True

    def disconnect_session(self, session_id: str) -> None:
        """Logout: that session's sockets go at once, not at their next command."""
        for sid, principal in list(self._principals.items()):
            if principal.session == session_id:
                self._drop(sid, "its session ended")

    def revalidate(self) -> None:
        """Drop clients whose user, token or session is gone; pick up role changes."""
        for sid, principal in list(self._principals.items()):
            current = self.auth.refresh(principal)
            if current is None:
                self._drop(sid, f"{principal.name} is no longer authorised")
            else:
                self._principals[sid] = current

    def _drop(self, sid: str, why: str) -> None:
        log.info("disconnecting client %s: %s", sid, why)
        self._forget(sid)
        self.socketio.server.disconnect(sid, namespace="/")

    def _on_disconnect(self, sid: str, *_reason: Any) -> None:
        self._forget(sid)

    def _forget(self, sid: str) -> None:
        self._principals.pop(sid, None)
        self.flusher.disconnect(sid)
        self.event_stream.unsubscribe(sid)

    def _on_request_state(self, sid: str, *_args: Any) -> dict[str, Any]:
        state = self.store.snapshot()
        self.flusher.resynced(sid, state["version"])
        return state

    def _requester(self, field: str) -> Callable[..., dict[str, Any]]:
        def handler(sid: str, *_args: Any) -> dict[str, Any]:
            answer = self.store.kind(field)
            # Always also as the event: the seed's clients listen for it rather than use
            # acknowledgements, and one that asked is owed an answer even with packets still
            # queued for it (right after connect its state is). A client that asks without
            # reading is cut as stuck like any other.
            self.socketio.emit(f"{field}_update", answer, to=sid)
            return answer

        return handler

    def _caller(self, sid: str) -> tuple[Principal | None, str | None]:
        principal = self._principals.get(sid)
        # Authorised per command: the role may have changed, the session may have ended.
        # A client found gone is answered here and dropped by the next ``revalidate``.
        current = self.auth.refresh(principal) if principal is not None else None
        if current is not None:
            self._principals[sid] = current
        remote = (self.socketio.server.get_environ(sid) or {}).get("REMOTE_ADDR")
        return current, remote

    def _on_set_relay(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        caller, remote = self._caller(sid)
        return self.gate.submit(caller, data, "socketio", remote).outcome.to_dict()

    def _on_lock_relay(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        caller, remote = self._caller(sid)
        return self.gate.submit_lock(caller, data, "socketio", remote).outcome.to_dict()

    def _on_all_to_safe(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        caller, remote = self._caller(sid)
        return all_to_safe_answer(self.gate.submit_all_to_safe(caller, data, "socketio", remote))

    def _on_alarm_command(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        caller, remote = self._caller(sid)
        return self.gate.submit_alarm(caller, data, "socketio", remote).outcome.to_dict()

    def _on_set_service(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        caller, remote = self._caller(sid)
        return self.gate.submit_service(caller, data, "socketio", remote).outcome.to_dict()

    def _on_subscribe_event_log(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        """Everyone with a login may read the event log (the connection proved one)."""
        query = parse_event_query(data if data is not None else {})
        if not isinstance(data, dict | None):
            query = "the filters must be an object"
        if not isinstance(query, EventQuery):
            answer: EventLogSubscription = {
                "ok": False, "error": "invalid", "detail": query, "page": None,
            }  # fmt: skip
            return dict(answer)
        # Subscribed before the page is read: an entry written meanwhile is in the page and
        # pushed as well, never in neither (the client keeps each id once).
        self.event_stream.subscribe(sid, query)
        answer = {"ok": True, "error": None, "detail": None, "page": self.event_log.query(query)}
        return dict(answer)

    def _on_unsubscribe_event_log(self, sid: str, *_args: Any) -> dict[str, Any]:
        self.event_stream.unsubscribe(sid)
        return {"ok": True}
