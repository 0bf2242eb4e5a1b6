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
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho

from factory_core.contract import DeviceState, DeviceStateTopic, LateSample, TopicError, Topics
from factory_core.ratelimited_log import RateLimitedLog
from gateway.actuation import Outbound
from gateway.config import GatewayConfig
from gateway.forward_buffer import Entry, ForwardBuffer, Limits
from gateway.metrics import GatewayMetrics
from gateway.mqtt_link import MqttLink
from gateway.worker import Worker

log = logging.getLogger(__name__)

# A batch not acknowledged within this long (link up) is sent again.
ACK_TIMEOUT_S = 30.0

_Pending = tuple[str, float, bytes]  # device, ts, the sample as sent


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
        # Below: the worker's alone (``_may_forward`` is set by the actuator, read here).
        self._db: sqlite3.Connection | None = None
        self._in_flight: tuple[paho.MQTTMessageInfo, float] | None = None
        self._may_forward = False
        self._usable = settings.enabled  # off, or its file could not be opened
        link.on_down(self._link_down)

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
        """Sampling's publish: live when the link takes it; a device sample is kept if not."""
        payload = out.payload
        if self.link.publish(out) is not None:
            # Only while something is kept (a dict's truth is atomic): no cost otherwise.
            if self._newest_buffered and isinstance(payload, DeviceState):
                self._published_live(out.topic, payload)
            return
        if not isinstance(payload, DeviceState) or not self._usable:
            return  # host stats are superseded by the next ones: nothing to keep
        device = self._device(out.topic)
        if device is None:
            return
        sample = LateSample(
            device=device, ts=payload.ts, value=payload.value, quality=payload.quality
        )
        with self._lock:
            self._pending.append((device, payload.ts, sample.to_bytes()))
            self._newest_buffered[device] = payload.ts

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
            if self._may_forward and self.link.connected:
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
        info, sent_at = self._in_flight
        if info.is_published():
            self._in_flight = None
            self._acknowledged()
        elif not self.link.connected or time.monotonic() - sent_at > ACK_TIMEOUT_S:
            self._in_flight = None
            self.buffer.requeue()

    def _acknowledged(self) -> None:
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
            samples = [bytes(s) for d, ts, s in rows if (d, ts) not in republished]
        body = b",".join(samples)
        # The samples are stored as sent: the batch is put together without parsing them.
        head = f'{{"seq":{batch[0].id},"dropped":{self.buffer.dropped},"samples":['.encode()
        out = Outbound(self.topic, head + body + b"]}", kind="late_samples")
        if not samples:  # all of them went out live (the rebirth): nothing left to send
            self._acknowledged()
            return
        info = self.link.publish(out)
        if info is None:
            self.buffer.requeue()
            return
        self._in_flight = (info, time.monotonic())
