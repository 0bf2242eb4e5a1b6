"""Store and forward as a component: while the broker is unreachable, device samples go to a
bounded buffer on disk; once it is back they are forwarded as late samples, for history only.

* Sampling publishes through ``send``: live when the link takes it, else the sample joins an
  in-memory list (O(1) on the sampling path). Its own worker thread writes that list to
  SQLite (WAL, in the state dir) every ``batch_interval_s``, in one transaction with whatever
  the limits drop (``gateway.forward_buffer`` decides), so the buffer survives a restart.
* Forwarding starts once the current state has been republished after a connect (it is the
  last part of the rebirth): the live view is whole first, then the backlog follows, one
  QoS 1 batch at a time on ``<prefix>/<gw>/late_samples`` (never retained), at most one per
  ``batch_interval_s``, each removed from disk only when the broker acknowledged it.
* A buffered reading that the rebirth republishes live (a sensor's last one) is not forwarded
  too: it would count twice in history.
* Behind an edge broker (``[store_forward] edge``) the gateway also follows the edge's link to
  the central broker (``gateway.edge_link``), and remembers what it handed to the edge in the
  last ``edge_lookback_s`` (live samples and acknowledged late batches). While the edge says
  ``0``, every sample is published live to the edge broker as always *and* kept, the
  look-back too; forwarding waits for ``1`` and the rebirth the bridge service then asks.
  Mosquitto says ``0`` on the edge only before its bridge first connects (a later cut is
  announced on the central broker alone, eclipse/mosquitto#2467); the bridge's *live* ``1``
  when it reconnects tells of the cut afterwards: the look-back, which spans it, is kept
  then and forwarded at once.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.subscribeoptions import SubscribeOptions

from factory_core.contract import (
    DeviceState,
    DeviceStateTopic,
    LateSample,
    Quality,
    TopicError,
    Topics,
)
from factory_core.ratelimited_log import RateLimitedLog
from gateway.actuation import Outbound
from gateway.config import GatewayConfig
from gateway.edge_link import EdgeLink, LookBack, parse_link
from gateway.forward_buffer import Entry, ForwardBuffer, Limits
from gateway.metrics import GatewayMetrics
from gateway.mqtt_link import MqttLink
from gateway.worker import Worker

log = logging.getLogger(__name__)

# A batch not acknowledged within this long (link up) is sent again.
ACK_TIMEOUT_S = 30.0
# Behind an edge: no word of its link this long after connecting is worth an error (it is
# retained, so it arrives at once when the name and the ACL are right).
EDGE_LINK_WAIT_S = 10.0

_Pending = tuple[str, float, bytes]  # device, ts, the sample as sent
# What the look-back holds: a live sample (device, ts, value, quality: ~210 bytes measured,
# serialised only if it is kept), or a late batch as sent.
_Reading = tuple[str, float, bool | int | float | None, Quality]
_Handed = _Reading | list[_Pending]


class StoreAndForward:
    def __init__(self, config: GatewayConfig, link: MqttLink, metrics: GatewayMetrics) -> None:
        settings = config.store_forward
        self.settings = settings
        self.link = link
        self.metrics = metrics
        self.topics: Topics = config.topics
        self.topic = self.topics.late_samples(config.gateway_id)
        self.path: Path = config.state_dir / f"{config.gateway_id}-buffer.sqlite3"
        self.worker = Worker(f"{config.gateway_id}-buffer")
        self.dropped_log = RateLimitedLog(log)
        self.buffer = ForwardBuffer(
            Limits(settings.max_samples, settings.max_bytes, settings.max_age_s)
        )
        self._lock = threading.Lock()  # the three below: sampling thread vs. the others
        self._pending: list[_Pending] = []
        self._newest_buffered: dict[str, float] = {}  # device -> ts of its newest kept sample
        self._republished: set[tuple[str, float]] = set()
        # Behind an edge (None otherwise): what was handed to it lately; under ``_lock`` too,
        # with ``_edge``, which paho's thread sets.
        self.edge_topic: str | None = None
        self._look_back: LookBack[_Handed] | None = None
        self._edge = EdgeLink.UNKNOWN
        self._connected_at: float | None = None  # monotonic, while the link is up
        self._edge_silence_logged = False
        # Below: the worker's alone (``_may_forward`` is set by the actuator, read here).
        self._db: sqlite3.Connection | None = None
        self._in_flight: tuple[paho.MQTTMessageInfo, float, list[_Pending]] | None = None
        self._may_forward = False
        self._usable = settings.enabled  # off, or its file could not be opened
        link.on_down(self._link_down)
        if settings.enabled and settings.edge is not None:
            self.edge_topic = self.topics.edge_link(settings.edge)
            self._look_back = LookBack(settings.edge_lookback_s, settings.max_samples)
            link.route(self.edge_topic, SubscribeOptions(qos=1), self._on_edge_link)
            link.on_up(self._link_up)

    # --------------------------------------------------------------- component

    def start(self) -> None:
        if not self._usable:
            return
        self.worker.start()
        self.worker.run_sync(self._open)
        self.worker.call_every(self.settings.batch_interval_s, self._tick)

    def stop(self) -> None:
        """What is still in memory goes to disk; what is in flight stays there (sent again)."""
        if not self.settings.enabled:
            return
        self.worker.run_sync(self._close)
        self.worker.stop()

    # ----------------------------------------------------------- sampling side

    def send(self, out: Outbound) -> None:
        """Sampling's publish: live when the link takes it; a device sample is kept if not
        (and, behind an edge, while the edge's link is down)."""
        payload = out.payload
        live = self.link.publish(out) is not None
        if self._look_back is not None and isinstance(payload, DeviceState):
            self._send_behind_edge(out.topic, payload, live)
            return
        if live:
            # Only while something is kept (a dict's truth is atomic): no cost otherwise.
            if self._newest_buffered and isinstance(payload, DeviceState):
                self._published_live(out.topic, payload)
            return
        if not isinstance(payload, DeviceState) or not self._usable:
            return  # host stats are superseded by the next ones: nothing to keep
        device = self._device(out.topic)
        if device is None:
            return
        sample = _late(_reading(device, payload))
        with self._lock:
            self._pending.append(sample)
            self._newest_buffered[device] = payload.ts

    def _send_behind_edge(self, topic: str, state: DeviceState, live: bool) -> None:
        device = self._device(topic)
        if device is None or self._look_back is None or not self._usable:
            return
        with self._lock:  # against the edge's link changing meanwhile (paho's thread)
            if live and self._edge is not EdgeLink.DOWN:
                self._look_back.add(time.monotonic(), _reading(device, state))
                if self._newest_buffered.get(device) == state.ts:
                    self._republished.add((device, state.ts))
            else:
                self._pending.append(_late(_reading(device, state)))
                self._newest_buffered[device] = state.ts

    def resume(self) -> None:
        """The current state has been republished after a connect: the backlog may follow."""
        self._may_forward = True

    def _published_live(self, topic: str, state: DeviceState) -> None:
        device = self._device(topic)
        with self._lock:
            if device is not None and self._newest_buffered.get(device) == state.ts:
                self._republished.add((device, state.ts))

    def _device(self, topic: str) -> str | None:
        try:
            parsed = self.topics.parse(topic)
        except TopicError:
            return None
        return parsed.device if isinstance(parsed, DeviceStateTopic) else None

    def _link_down(self, _reason: object) -> None:
        self._may_forward = False
        if self._look_back is None:
            return
        with self._lock:
            # What the broker took just before may not have gone further; the edge's link is
            # unknown until the retained notification arrives again.
            self._hold_look_back()
            self._edge = EdgeLink.UNKNOWN
            self._connected_at = None

    # -------------------------------------------------------- behind an edge

    def _link_up(self) -> None:
        self._connected_at = time.monotonic()
        self._edge_silence_logged = False

    def _on_edge_link(self, msg: paho.MQTTMessage) -> None:
        """The edge's bridge notification (paho's thread): ``0`` keeps, ``1`` lets forward;
        a live ``1`` (not the retained one a subscription gets) is a bridge that has just
        reconnected, after a cut its edge may not have announced."""
        try:
            state = parse_link(bytes(msg.payload))
        except ValueError as exc:
            self.dropped_log.warning("edge_link", "ignored on %s: %s", msg.topic, exc)
            return
        reconnected = state is EdgeLink.UP and not msg.retain
        with self._lock:
            was, self._edge = self._edge, state
            if state is EdgeLink.DOWN:
                # Forwarding resumes with the rebirth the bridge service asks once it is back.
                self._may_forward = False
                self._hold_look_back()
            elif reconnected and was is not EdgeLink.DOWN:
                # The cut is over already, and the look-back spans it: keep it and forward it.
                self._hold_look_back()
        if state is EdgeLink.DOWN and was is not EdgeLink.DOWN:
            log.warning(
                "edge %r: its link to the central broker is down; keeping every sample "
                "(the last %g s too) until it is back",
                self.settings.edge,
                self.settings.edge_lookback_s,
            )
        elif state is EdgeLink.UP and was is EdgeLink.DOWN:
            log.info("edge %r: its link to the central broker is back", self.settings.edge)
        elif reconnected and was is EdgeLink.UP:
            log.warning(
                "edge %r: its link to the central broker was cut and is back; forwarding "
                "what was sent in the last %g s",
                self.settings.edge,
                self.settings.edge_lookback_s,
            )

    def _hold_look_back(self) -> None:
        """Keep what was handed over lately (``_lock`` held): it may be lost on the way."""
        if self._look_back is None:
            return
        for item in self._look_back.drain(time.monotonic()):
            kept = [_late(item)] if isinstance(item, tuple) else item
            self._pending.extend(kept)
            for device, ts, _ in kept:
                self._newest_buffered[device] = max(ts, self._newest_buffered.get(device, ts))

    def _upstream_up(self) -> bool:
        """Forwarded samples would get through: no edge, or its link is up."""
        return self._look_back is None or self._edge is EdgeLink.UP

    def _check_edge_heard(self) -> None:
        connected_at = self._connected_at
        if (
            self._look_back is None
            or self._edge is not EdgeLink.UNKNOWN
            or connected_at is None
            or self._edge_silence_logged
            or time.monotonic() - connected_at < EDGE_LINK_WAIT_S
        ):
            return
        self._edge_silence_logged = True
        log.error(
            "no state of edge %r's link on %s %g s after connecting: late samples wait until "
            "one arrives. Is [store_forward] edge the edge's name in the plant description, "
            "this gateway connected to that edge's broker, and its ACL rendered by "
            "factory-broker?",
            self.settings.edge,
            self.edge_topic,
            EDGE_LINK_WAIT_S,
        )

    # -------------------------------------------------------------- the worker

    def _open(self) -> None:
        try:
            self._open_file()
        except (sqlite3.Error, OSError) as exc:
            # The relays and the live link matter more than a backlog: run on, without it.
            self._usable = False
            log.error(
                "store and forward off: %s cannot be used (%s); move it away to start a new buffer",
                self.path,
                exc,
            )

    def _open_file(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # a power cut may lose the last seconds
        db.execute(
            "CREATE TABLE IF NOT EXISTS samples (id INTEGER PRIMARY KEY, device TEXT NOT NULL, "
            "ts REAL NOT NULL, sample BLOB NOT NULL)"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
        )
        counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
        rows = db.execute("SELECT id, device, ts, length(sample) FROM samples ORDER BY id")
        entries = []
        for sid, device, ts, size in rows:
            entries.append(Entry(sid, ts, size))
            self._newest_buffered[device] = ts
        self.buffer = ForwardBuffer(
            self.buffer.limits,
            entries,
            next_id=int(counters.get("next_id", 0)),
            dropped=int(counters.get("dropped", 0)),
        )
        self._db = db
        self.metrics.buffered.set(len(self.buffer))
        if entries:
            log.info("%d buffered samples to forward from %s", len(entries), self.path)

    def _close(self) -> None:
        if self._db is None:
            return
        self._store(time.time())
        self._db.close()
        self._db = None

    def _tick(self) -> None:
        if self._db is None:
            return
        try:
            self._store(time.time())
            self._check_in_flight()
            self._check_edge_heard()
            if self._may_forward and self.link.connected and self._upstream_up():
                self._forward_next()
        except sqlite3.Error as exc:
            self.dropped_log.warning("disk", "store-and-forward buffer %s: %s", self.path, exc)

    def _store(self, now: float) -> None:
        """The samples kept since the last tick to disk, and what the limits drop removed."""
        with self._lock:
            pending, self._pending = self._pending, []
        db = self._db
        if db is None or (not pending and not self.buffer):
            return
        ids = self.buffer.new_ids(len(pending))
        entries = [Entry(i, ts, len(data)) for i, (_, ts, data) in zip(ids, pending, strict=True)]
        dropped = self.buffer.add(entries, now)
        if not pending and not dropped:
            return
        kept = [(i, d, ts, data) for i, (d, ts, data) in zip(ids, pending, strict=True)]
        with db:
            db.executemany("INSERT INTO samples VALUES (?, ?, ?, ?)", kept)
            if dropped:
                db.execute("DELETE FROM samples WHERE id <= ?", (dropped[-1],))
            db.executemany(
                "INSERT OR REPLACE INTO counters VALUES (?, ?)",
                [("next_id", self.buffer.next_id), ("dropped", self.buffer.dropped)],
            )
        self.metrics.buffered.set(len(self.buffer))
        if dropped:
            self.metrics.buffer_dropped.inc(len(dropped))
            self.dropped_log.warning(
                "dropped",
                "store-and-forward buffer over its limits (%d samples, %d bytes, %g s): dropped "
                "the %d oldest samples, %d over its life",
                self.buffer.limits.max_samples,
                self.buffer.limits.max_bytes,
                self.buffer.limits.max_age_s,
                len(dropped),
                self.buffer.dropped,
            )

    def _check_in_flight(self) -> None:
        if self._in_flight is None or self._db is None:
            return
        info, sent_at, sent = self._in_flight
        if info.is_published():
            self._in_flight = None
            self._acknowledged(sent)
        elif not self.link.connected or time.monotonic() - sent_at > ACK_TIMEOUT_S:
            self._in_flight = None
            self.buffer.requeue()

    def _acknowledged(self, sent: list[_Pending]) -> None:
        if self._look_back is not None and sent:
            with self._lock:
                if self._edge is EdgeLink.DOWN:  # the cut was noticed while it was in flight
                    self._pending.extend(sent)
                else:
                    self._look_back.add(time.monotonic(), sent)
        removed = self.buffer.acked()
        if removed and self._db is not None:
            with self._db:
                self._db.execute("DELETE FROM samples WHERE id <= ?", (removed[-1],))
        self.metrics.late_forwarded.inc(len(removed))
        self.metrics.buffered.set(len(self.buffer))
        if not self.buffer:
            with self._lock:
                self._republished.clear()
                if not self._pending:
                    self._newest_buffered.clear()
            log.info("every buffered sample forwarded")

    def _forward_next(self) -> None:
        if self._in_flight is not None or self._db is None:
            return
        batch = self.buffer.next_batch(self.settings.batch_size)
        if not batch:
            return
        rows = self._db.execute(
            "SELECT device, ts, sample FROM samples WHERE id BETWEEN ? AND ? ORDER BY id",
            (batch[0].id, batch[-1].id),
        ).fetchall()
        with self._lock:
            republished = self._republished
            sent = [(d, ts, bytes(s)) for d, ts, s in rows if (d, ts) not in republished]
        body = b",".join(s for _, _, s in sent)
        # The samples are stored as sent: the batch is put together without parsing them.
        head = f'{{"seq":{batch[0].id},"dropped":{self.buffer.dropped},"samples":['.encode()
        out = Outbound(self.topic, head + body + b"]}", kind="late_samples")
        if not sent:  # all of them went out live (the rebirth): nothing left to send
            self._acknowledged([])
            return
        info = self.link.publish(out)
        if info is None:
            self.buffer.requeue()
            return
        self._in_flight = (info, time.monotonic(), sent)


def _reading(device: str, state: DeviceState) -> _Reading:
    return device, state.ts, state.value, state.quality


def _late(reading: _Reading) -> _Pending:
    device, ts, value, quality = reading
    return device, ts, LateSample(device=device, ts=ts, value=value, quality=quality).to_bytes()
