"""Wires the bridge together: ``create_app(settings, ...)`` returns a startable ``Bridge``."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil
from flask import Flask
from flask_cors import CORS
from flask_socketio import SocketIO
from gevent.threadpool import ThreadPool
from pydantic import SecretStr
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.security import check_password_hash

from bridge.api.dashboard import serve_dashboard
from bridge.api.routes import audit_refused_commands, json_http_error, make_api
from bridge.control.alarm_commands import AlarmCommands
from bridge.control.command_gate import CommandGate
from bridge.control.relay_commands import Commands, Outcome
from bridge.metrics import Metrics
from bridge.mqtt.link import MqttLink
from bridge.notifications import NotificationPlan, Notifications, Smtp
from bridge.push.coalesce import Pacing
from bridge.push.engineio_port import Flusher
from bridge.push.event_log_stream import EventLogStream
from bridge.push.fanout import Fanout, max_queued_for
from bridge.push.realtime import Realtime
from bridge.security.accounts import Accounts
from bridge.security.audit import AuditLog
from bridge.security.http_gate import install_auth
from bridge.security.principals import CSRF_HEADER, Auth, origin_allowed
from bridge.security.private_files import ensure_private_dir, secret_file
from bridge.security.ratelimit import RateLimiter
from bridge.security.sessions import Sessions
from bridge.settings import BridgeSettings, edges_behind
from bridge.state import event_log as events
from bridge.state.history_store import (
    DB_NAME,
    HistoryStore,
    default_tiers,
    late_samples_of,
    sample_of,
)
from bridge.state.silence import SilenceWatch
from bridge.state.sparklines import History
from bridge.state.store import Delta, Entry, Store, first_version_for, key
from factory_core.contract import (
    AlarmResultTopic,
    AllToSafeResultTopic,
    CommandResult,
    LateSamplesTopic,
    Message,
    RelayResultTopic,
)

log = logging.getLogger(__name__)


@dataclass
class Bridge:
    """The app and its running parts; ``start``/``stop`` the background work."""

    settings: BridgeSettings
    app: Flask
    socketio: SocketIO
    store: Store
    mqtt: MqttLink
    realtime: Realtime
    flusher: Flusher
    commands: Commands
    metrics: Metrics
    auth: Auth
    audit: AuditLog
    silence: SilenceWatch
    history: HistoryStore
    clock: Callable[[], float]
    gate: CommandGate
    alarm_commands: AlarmCommands
    event_log: events.EventLog
    notifications: Notifications
    _stats_task: Any = field(default=None, init=False)
    _history_task: Any = field(default=None, init=False)
    _running: bool = field(default=False, init=False)

    def start(self) -> None:
        self._running = True
        self._bridge_event("started")
        self.flusher.start()
        self.silence.start()
        self._stats_task = self.socketio.start_background_task(self._stats_loop)
        self.socketio.start_background_task(self.gate.run_windows)
        self._history_task = self.socketio.start_background_task(self._history_loop)
        if self.notifications.enabled:
            self.socketio.start_background_task(self.notifications.run)
        self.mqtt.start()

    def stop(self) -> None:
        self._running = False
        self.notifications.stop()
        self.mqtt.stop()
        self.silence.stop()
        self.flusher.stop()
        self.gate.stop()  # a flood's count held in an open window is written before exit
        self.history.close()
        self._bridge_event("stopped")
        self.event_log.close()

    def _bridge_event(self, action: str) -> None:
        text = f"bridge {self.settings.mqtt_client_id} {action}"
        self.event_log.add([events.Event(self.clock(), "bridge", action, text)])

    def publish(self, deltas: list[Delta]) -> None:
        """Every change goes out to the clients and, where it is one, into the event log."""
        self.event_log.observe(deltas)
        self.flusher.publish(deltas)

    def on_messages(self, messages: list[Message]) -> None:
        self.metrics.messages_in.inc(len(messages))
        now = self.clock()
        deltas: list[Delta] = []
        results: list[CommandResult] = []
        alarm_results: list[CommandResult] = []
        for message in messages:
            if isinstance(message.topic, LateSamplesTopic):
                # Kept by the gateway through an outage: history only, never the live view.
                self._record_late(message)
                continue
            # Results too: they change no state, but prove their gateway alive.
            applied = self.store.apply(message, now)
            if isinstance(message.topic, RelayResultTopic | AllToSafeResultTopic):
                if isinstance(message.payload, CommandResult):
                    results.append(message.payload)
            elif isinstance(message.topic, AlarmResultTopic):
                if isinstance(message.payload, CommandResult):
                    alarm_results.append(message.payload)
            # Only what the store took (not a 65th unlisted device, say) is recorded.
            elif applied and (sample := sample_of(message)) is not None:
                self.history.record(sample)
            deltas += applied
        self.metrics.deltas.inc(len(deltas))
        self.publish(deltas)
        if self.store.take_rebirth_request():
            # An edge's link is back: its gateways' state converges through a rebirth.
            self.mqtt.publish_rebirth()
        # After the pushes are queued: the state that confirms a command reaches every
        # client before the sender's acknowledgement is sent.
        for result in results:
            self.commands.resolve(result)
        for result in alarm_results:
            self.alarm_commands.resolve(result)

    def _record_late(self, message: Message) -> None:
        known = self.store.knows_device
        samples = [s for s in late_samples_of(message) if known(s[0][1], s[0][2])]
        self.history.record_late(samples)

    def on_broker_lost(self) -> None:
        self.publish(self.store.broker_lost(self.clock()))

    def _history_loop(self) -> None:
        pruned = self.clock()
        while self._running:
            self.socketio.sleep(self.settings.history_flush_s)
            self.history.flush()
            self.event_log.flush()
            if self.clock() - pruned > 3600:
                pruned = self.clock()
                self.event_log.prune()

    def _stats_loop(self) -> None:
        process = psutil.Process()
        process.cpu_percent()  # the first reading is meaningless; it starts the interval
        while self._running:
            self.socketio.sleep(self.settings.bridge_stats_interval)
            self.realtime.revalidate()
            self.flusher.publish(self.store.set_bridge_stats(self._own_stats(process)))

    def _own_stats(self, process: psutil.Process) -> Entry:
        now = self.clock()
        with process.oneshot():
            return {
                "cpu": round(process.cpu_percent(), 1),
                "memory": round(process.memory_percent(), 2),
                "rss": process.memory_info().rss,
                "threads": process.num_threads(),
                "disk": psutil.disk_usage("/").percent,
                "temperature": None,
                "load": list(os.getloadavg()),
                "uptime": round(now - process.create_time(), 1),
                "clients": self.realtime.client_count,
                "commands_in_flight": self.commands.in_flight,
                "mqtt_connected": self.mqtt.connected,
                "ts": now,
                "quality": "good",
            }


def create_app(
    settings: BridgeSettings,
    *,
    mqtt: MqttLink | None = None,
    clock: Callable[[], float] = time.time,
) -> Bridge:
    metrics = Metrics()
    store = Store(
        History(settings.history_window_s, settings.history_points),
        settings.event_buffer,
        edges_behind(settings.plant_file),
        first_version=first_version_for(time.time_ns()),  # the real start, never a test's clock
    )
    link = mqtt or MqttLink(
        settings.broker,
        settings.topics,
        settings.mqtt_client_id,
        clock,
        keepalive=settings.mqtt_keepalive,
        on_dropped=lambda reason: metrics.dropped.labels(reason).inc(),
    )
    state = settings.state_dir
    ensure_private_dir(state)
    # scrypt is 100-150 ms of CPU per login, by design. On the event loop it stopped every push
    # to every client for that long (3 logins: a 439 ms stall, measured); on a thread the loop
    # runs on (5 ms), since hashlib releases the GIL while it hashes.
    hashing = ThreadPool(2)
    accounts = Accounts(
        state,
        password_check=lambda hashed, password: hashing.apply(
            check_password_hash, (hashed, password)
        ),
    )
    auth = Auth(accounts, Sessions(state / "sessions.json", settings.session_hours * 3600))
    audit = AuditLog(state / "audit.jsonl", ThreadPool(1))
    # Its own disk thread: a long history write must not hold an audit entry back.
    history = HistoryStore(
        state / DB_NAME,
        default_tiers(
            settings.history_second_keep_h * 3600,
            settings.history_minute_keep_d * 86400,
            settings.history_ten_minute_keep_d * 86400,
        ),
        ThreadPool(1),
        clock,
    )
    history.open()
    metrics.watch_history(history)
    event_log = events.EventLog(
        state / events.DB_NAME, ThreadPool(1), clock, settings.event_log_keep_d * 86400
    )
    event_log.open()
    # The sparklines start from what was stored, not empty, after a restart.
    sparklines = store.history
    for gateway, device, ts, value in history.recent_readings(
        clock() - sparklines.window, sparklines.bucket_width
    ):
        sparklines.add(key(gateway, device), ts, value)
    secret = (
        settings.secret_key.get_secret_value()
        if settings.secret_key is not None
        else secret_file(state / "secret_key")
    )

    app = Flask(__name__, static_folder=None)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    origins = settings.cors_origin_list
    if origins:
        CORS(
            app,
            resources={r"/api/*": {"origins": origins}},
            supports_credentials=True,
            allow_headers=["Content-Type", "Authorization", CSRF_HEADER],
        )
    socketio = SocketIO(
        app,
        async_mode="gevent",
        # Checked on every Engine.IO request with an Origin, WebSocket upgrades included.
        cors_allowed_origins=lambda origin, environ: origin_allowed(origin, environ, origins),
        cors_credentials=bool(origins),
        manage_session=False,
    )
    if settings.trust_proxy:
        # Outermost, so that Engine.IO's origin check sees the browser's scheme and host too.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    def observe(outcome: Outcome, seconds: float) -> None:
        metrics.commands.labels(outcome.error or "ok").inc()
        if outcome.id is not None:
            metrics.command_latency.observe(seconds)

    commands = Commands(
        store,
        link,
        socketio.server.eio.create_event,
        clock,
        settings.command_ttl,
        observe,
        grace=settings.command_grace,
    )
    alarm_commands = AlarmCommands(
        store,
        link,
        socketio.server.eio.create_event,
        clock,
        settings.command_ttl,
        grace=settings.command_grace,
    )
    gate = CommandGate(
        commands,
        audit,
        RateLimiter(settings.command_rate, settings.command_burst),
        clock,
        make_event=socketio.server.eio.create_event,
        alarms=alarm_commands,
        on_audited=lambda entry: event_log.add(
            [e for e in [events.command_event(entry)] if e is not None]
        ),
    )
    interval = settings.coalesce_ms / 1000
    fanout = Fanout(
        interval=interval,
        stuck_after=settings.client_stuck_s,
        burst=settings.coalesce_burst,
        max_queued=max_queued_for(interval),
        pacing=Pacing(
            interval, settings.coalesce_under_load_ms / 1000, settings.coalesce_knee_rate
        ),
    )
    flusher = Flusher(socketio.server, store, metrics, fanout)
    event_stream = EventLogStream(
        lambda event, payload, to: socketio.server.emit(event, payload, to=to, namespace="/")
    )
    event_log.listen(event_stream.publish)
    realtime = Realtime(socketio, store, gate, auth, flusher, event_log, event_stream)
    limiter = install_auth(
        app, settings, auth, secret, realtime.disconnect_session, audit_refused_commands(gate)
    )
    api = make_api(store, gate, lambda: link.connected, metrics, audit, history, clock, event_log)
    limiter.limit(settings.http_rate_limit)(api)
    app.register_blueprint(api)
    app.register_error_handler(HTTPException, json_http_error)
    _serve_dashboard(app, settings)

    def publish(deltas: list[Delta]) -> None:
        bridge.publish(deltas)  # the bridge is made below, before anything runs

    silence = SilenceWatch(socketio, store, publish, clock)
    notifications = Notifications(
        NotificationPlan(
            [p.strip() for p in settings.notify_priorities.split(",") if p.strip()],
            settings.notify_resend_s or None,
        ),
        lambda: store.alarms,
        settings.notify_webhook_url or None,
        _secret_value(settings.notify_webhook_token),
        _smtp(settings),
        clock,
    )
    bridge = Bridge(
        settings,
        app,
        socketio,
        store,
        link,
        realtime,
        flusher,
        commands,
        metrics,
        auth,
        audit,
        silence,
        history,
        clock,
        gate,
        alarm_commands,
        event_log,
        notifications,
    )
    link.subscribe(bridge.on_messages)
    link.on_lost = bridge.on_broker_lost
    return bridge


def _secret_value(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None


def _smtp(settings: BridgeSettings) -> Smtp | None:
    to = [a.strip() for a in settings.notify_email_to.split(",") if a.strip()]
    if not settings.notify_smtp_host or not to:
        return None
    return Smtp(
        settings.notify_smtp_host,
        settings.notify_smtp_port,
        settings.notify_email_from,
        to,
        settings.notify_smtp_user or None,
        _secret_value(settings.notify_smtp_password),
        settings.notify_smtp_starttls,
    )


def _serve_dashboard(app: Flask, settings: BridgeSettings) -> None:
    serve_dashboard(app, settings.web_dist)
