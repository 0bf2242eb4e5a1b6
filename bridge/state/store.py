"""The plant's current state as the bridge serves it (pure: no sockets, no clock of its own).

Every change the store applies raises ``version`` by one and yields a ``Delta`` naming only
what changed. The last deltas are kept in a bounded ring so that a polling client can ask
for what it missed (``events_since``) or learn that it must fetch the full state again.
Entries are replaced, never mutated, so a snapshot may share them safely.

Versions are per bridge process, and a version one process issued must never be taken for
one of another's (docs/api.md, "Versions"): a client that moves to another bridge, or
outlives a restart, would apply deltas that do not follow from what it holds. So a store
does not count from 0 but from ``first_version_for`` the time its process started, in
microseconds: a restarted bridge starts above every version its predecessor issued (unless
that one made more than a million changes a second, or the clock was set back), and two
bridges' counters are as far apart as their starts. ``events_since`` answers only versions
this store issued itself, from ``first_version`` on, as a continuation; anything else is a
resync. Versions stay below 2**53, exact as JavaScript numbers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from bridge.contract import FIELD, Event, GatewayStatus
from bridge.state.sparklines import History, Point
from factory_core.contract import (
    AlarmSetTopic,
    AlarmState,
    AlarmStateTopic,
    AllToSafeTopic,
    CommandResult,
    DeviceInfo,
    DeviceState,
    DeviceStateTopic,
    EdgeLinkTopic,
    GatewayAlarmAck,
    GatewayAlarmAckTopic,
    GatewayMeta,
    Message,
    MetaTopic,
    OutOfService,
    RelayInfo,
    RelayLockTopic,
    RelaySetTopic,
    RelayState,
    RelayStateTopic,
    ServiceTopic,
    StatusTopic,
    SystemStats,
    SystemTopic,
    silence_window,
)

Entry: TypeAlias = dict[str, Any]
# The largest integer a JavaScript number holds exactly: the dashboard compares versions.
MAX_VERSION: Final = 2**53 - 1
BRIDGE_KEY: Final = "bridge"
# Ids a gateway publishes without listing them in its meta are shown (a field device may be
# sloppy), but only this many per gateway: memory must not grow with a device's mistakes.
MAX_UNLISTED_PER_GATEWAY: Final = 64
# The source of a gateway's own alarms (offline, silent) in alarm keys: a device alarm can
# never have these conditions, so a device of that name does not collide.
GATEWAY_SOURCE: Final = "gateway"
GATEWAY_ALARM_PRIORITY: Final = "high"


# Topics under a gateway that bridges (or plant systems) publish, never the gateway itself.
_SENT_BY_BRIDGES: Final = (
    RelaySetTopic | RelayLockTopic | AllToSafeTopic | AlarmSetTopic | GatewayAlarmAckTopic
)


@dataclass(frozen=True, slots=True)
class Delta:
    event: Event
    prev: int
    version: int
    items: Mapping[str, Entry | None]  # None: removed (alarms only, their topic cleared)

    def payload(self) -> dict[str, Any]:
        return {"prev": self.prev, "version": self.version, FIELD[self.event]: self.items}


def first_version_for(started_ns: int) -> int:
    """The first version of a bridge process that started at this Unix time (ns): its start
    in microseconds, so that no other process's versions are near its own (module doc)."""
    return started_ns // 1_000


def key(gateway: str, item: str) -> str:
    return f"{gateway}/{item}"


def alarm_key(gateway: str, source: str, condition: str) -> str:
    return f"{gateway}/{source}/{condition}"


class Store:
    def __init__(
        self,
        history: History | None = None,
        event_buffer: int = 1000,
        behind_edges: Mapping[str, str] | None = None,
        *,
        first_version: int,
    ) -> None:
        """``first_version``: the version of the empty state, ``first_version_for`` the
        process's start (any number from 0 to ``MAX_VERSION`` for a test)."""
        if not 0 <= first_version <= MAX_VERSION:
            raise ValueError(f"first_version must be from 0 to 2**53 - 1, got {first_version}")
        self.first_version = first_version
        self.version = first_version
        self.gateways: dict[str, Entry] = {}
        self.devices: dict[str, Entry] = {}
        self.relays: dict[str, Entry] = {}
        self.system_stats: dict[str, Entry] = {}
        self.alarms: dict[str, Entry] = {}
        self.meta: dict[str, GatewayMeta] = {}
        # The shared acknowledgements of gateways' own alarms, as retained on the broker.
        self._gateway_acks: dict[tuple[str, str], GatewayAlarmAck] = {}
        # Devices out of service (by key), as retained on the broker.
        self._out_of_service: dict[str, OutOfService] = {}
        # What each gateway's meta says per device and relay id, looked up per message.
        self._device_info: dict[str, dict[str, DeviceInfo]] = {}
        self._relay_info: dict[str, dict[str, RelayInfo]] = {}
        self.history = history or History()
        self._ring: deque[Delta] = deque(maxlen=event_buffer)
        self._unlisted: dict[str, set[str]] = {}
        # When the bridge last received anything from each gateway (its own clock: gateway
        # clocks may be off), and, while it is silent, the qualities its values had before.
        self._last_heard: dict[str, float] = {}
        self._before_silence: dict[str, dict[str, dict[str, str]]] = {}
        # Per offline gateway, per field: the quality each value arrived with meanwhile.
        self._while_offline: dict[str, dict[str, dict[str, str]]] = {}
        # Gateways behind an edge broker (-> its name), the edges whose link to this broker
        # is down, and each gateway's own retained status: a gateway is online when its
        # status says so and its edge's link is up (docs/mqtt-contract.md, "Edge brokers").
        self._behind_edges = dict(behind_edges or {})
        self._edges_down: set[str] = set()
        self._says_online: dict[str, bool] = {}
        # Edges whose link came back and carried nothing from a gateway since, and whether a
        # rebirth is to be asked (take_rebirth_request).
        self._edges_back: set[str] = set()
        self._rebirth_requested = False

    # Queries ---------------------------------------------------------------

    def snapshot(self, with_history: bool = True) -> dict[str, Any]:
        state: dict[str, Any] = {
            "version": self.version,
            "gateways": dict(self.gateways),
            "devices": dict(self.devices),
            "relays": dict(self.relays),
            "system_stats": dict(self.system_stats),
            "alarms": dict(self.alarms),
        }
        if with_history:
            state["history"] = self.history.for_state()
        return state

    def kind(self, field: str) -> dict[str, Any]:
        """One kind of state: ``devices``, ``relays``, ``system_stats``, ``gateways`` or
        ``alarms``."""
        return {"version": self.version, field: dict(getattr(self, field))}

    def events_since(self, since: int) -> list[Delta] | None:
        """The deltas after version ``since``, or None (resync) when they are no longer all
        known, or ``since`` is no version this store issued (another process's)."""
        if since == self.version:
            return []
        # Every version from first_version to version was issued here, each by one delta:
        # the ring's first ``prev`` is first_version or later, so another process's version
        # below ours is refused by the same test as one too old to be remembered.
        if since > self.version or not self._ring or self._ring[0].prev > since:
            return None
        return [d for d in self._ring if d.version > since]

    def history_of(self, gateway: str, device: str) -> list[Point] | None:
        k = key(gateway, device)
        if k not in self.devices and k not in self.history:
            return None
        return self.history.get(k)

    def is_online(self, gateway: str) -> bool | None:
        entry = self.gateways.get(gateway)
        return None if entry is None else bool(entry["online"])

    def gateways_online(self) -> list[str]:
        """Connected and speaking: a silent gateway is not counted."""
        return sorted(g for g, e in self.gateways.items() if e["status"] == "online")

    def take_rebirth_request(self) -> bool:
        """Whether a rebirth is due since the last call: an edge's link is back and carries
        its gateways' messages again. Not at its ``1`` already: the edge bridge subscribes to
        the commands (and the rebirth request) after announcing itself, so a rebirth sent at
        once could pass it by; the messages it re-sends from its store come after that."""
        requested, self._rebirth_requested = self._rebirth_requested, False
        return requested

    def gateways_silent(self) -> list[str]:
        return sorted(self._before_silence)

    def silent_since(self, gateway: str) -> float | None:
        """When the bridge last heard from a silent gateway; None when it is not silent."""
        entry = self.gateways.get(gateway)
        return entry["silent_since"] if entry is not None and entry["status"] == "silent" else None

    # Changes ---------------------------------------------------------------

    def apply(self, message: Message, now: float) -> list[Delta]:
        """Apply one contract message; return the deltas it caused (often one, maybe none)."""
        topic, payload = message.topic, message.payload
        if self._edges_back and not isinstance(topic, _SENT_BY_BRIDGES):
            edge = self._behind_edges.get(getattr(topic, "gateway", ""))
            if edge in self._edges_back:
                self._edges_back.discard(edge)
                self._rebirth_requested = True
        deltas = self._heard(topic, payload, now)
        match topic:
            case StatusTopic(gw) if payload in ("online", "offline"):
                self._says_online[gw] = payload == "online"
                deltas += self._status(gw, self._seen_online(gw), now)
            case EdgeLinkTopic(edge) if payload in ("online", "offline"):
                deltas += self._edge_link(edge, payload == "online", now)
            case MetaTopic(gw) if isinstance(payload, GatewayMeta):
                deltas += self._meta(gw, payload, now)
            case DeviceStateTopic(gw, dev) if isinstance(payload, DeviceState):
                deltas += self._device(gw, dev, payload)
            case RelayStateTopic(gw, relay) if isinstance(payload, RelayState):
                deltas += self._relay(gw, relay, payload)
            case SystemTopic(gw) if isinstance(payload, SystemStats):
                quality = self._quality(gw, "good", "system_stats", gw)
                stats = {**payload.model_dump(), "quality": quality}
                deltas += self._change("system_stats_update", {gw: stats})
                if self.gateways.get(gw, {}).get("status", "online") != "online":
                    deltas += self._gateway_alarms(gw)  # the outage's episode is its ts
            case AlarmStateTopic(gw, source, condition) if isinstance(payload, AlarmState):
                deltas += self._alarm(gw, source, condition, payload)
            case AlarmStateTopic(gw, source, condition) if payload is None:
                deltas += self._alarm_removed(alarm_key(gw, source, condition))
            case ServiceTopic(gw, dev):
                deltas += self._service(
                    gw, dev, payload if isinstance(payload, OutOfService) else None
                )
            case GatewayAlarmAckTopic(gw, condition):
                if isinstance(payload, GatewayAlarmAck):
                    self._gateway_acks[(gw, condition)] = payload
                else:
                    self._gateway_acks.pop((gw, condition), None)
                deltas += self._gateway_alarms(gw)
        return deltas

    def knows_device(self, gateway: str, device: str) -> bool:
        return key(gateway, device) in self.devices

    def out_of_service(self, gateway: str, device: str) -> OutOfService | None:
        return self._out_of_service.get(key(gateway, device))

    def alarm(self, gateway: str, source: str, condition: str) -> Entry | None:
        return self.alarms.get(alarm_key(gateway, source, condition))

    def alarm_episode(self, gateway: str) -> float:
        """The outage a gateway's own alarm is about: the ``ts`` of its last system stats
        (retained, so every bridge reads the same), 0 when it sent none."""
        stats = self.system_stats.get(gateway)
        ts = stats.get("ts") if stats is not None else None
        return float(ts) if isinstance(ts, int | float) else 0.0

    def check_silence(self, now: float) -> list[Delta]:
        """Mark silent every connected gateway not heard from for its silence window.

        Deterministic from MQTT facts alone: when the last message arrived and the stats
        interval the gateway's meta declares (``silence_window``; none declared: never).
        """
        deltas: list[Delta] = []
        for gw, entry in list(self.gateways.items()):
            if entry["status"] != "online":
                continue
            heard, window = self._last_heard.get(gw), entry["silent_after"]
            if heard is not None and window is not None and now - heard >= window:
                deltas += self._go_silent(gw, heard, now)
        return deltas

    def broker_lost(self, now: float) -> list[Delta]:
        """The bridge lost the broker: no gateway can be seen, so none is shown as live.

        No last will reaches us now, so we must not keep showing old values as current; the
        retained status and the rebirth bring everything back after the reconnect.
        """
        deltas: list[Delta] = []
        for gw in self.gateways_online():
            # Not an alarm: the gateways may be fine, it is this bridge that cannot see them.
            deltas += self._status(gw, False, now, derive_alarms=False)
        return deltas

    def set_bridge_stats(self, stats: Entry) -> list[Delta]:
        return self._change("system_stats_update", {BRIDGE_KEY: stats})

    def relay_on(self, gateway: str, relay: str) -> bool | None:
        entry = self.relays.get(key(gateway, relay))
        return None if entry is None else entry.get("on")

    def knows_relay(self, gateway: str, relay: str) -> bool:
        return relay in self._relay_info.get(gateway, {})

    def confirmed_on(self, gateway: str, relay: str, result: CommandResult) -> bool | None:
        """What the relay is known to be after a result: the result's read-back, else state."""
        return result.on if result.on is not None else self.relay_on(gateway, relay)

    # Internals -------------------------------------------------------------

    def _quality(self, gateway: str, reported: str, field: str, k: str) -> str:
        if self.is_online(gateway) is not False:
            return reported
        # Samples travel on their own connection and can overtake the gateway's "online"
        # (a gateway that reconnects publishes both at once): a value that arrives while the
        # gateway looks offline gets the quality it was sent with when "online" comes. A
        # retained value replayed to a starting bridge is restored too, and replaced within
        # milliseconds by the republish every gateway does after it connects.
        self._while_offline.setdefault(gateway, {}).setdefault(field, {})[k] = reported
        return "stale"

    def _seen_online(self, gw: str) -> bool:
        edge = self._behind_edges.get(gw)
        return self._says_online.get(gw, False) and edge not in self._edges_down

    def _edge_link(self, edge: str, up: bool, now: float) -> list[Delta]:
        """An edge's link went down: its gateways' last wills cannot reach us, so each is
        offline (its own alarm raised) until the link is back; then each is what its
        retained status says, until the statuses re-sent across the link arrive."""
        if up and edge in self._edges_down:
            self._edges_back.add(edge)
        if up:
            self._edges_down.discard(edge)
        else:
            self._edges_down.add(edge)
            self._edges_back.discard(edge)
        deltas: list[Delta] = []
        for gw, behind in self._behind_edges.items():
            if behind == edge and gw in self.gateways:
                deltas += self._status(gw, self._seen_online(gw), now)
        return deltas

    def _gateway_entry(
        self, gw: str, online: bool, ts: float, silent_since: float | None = None
    ) -> Entry:
        meta = self.meta.get(gw)
        status: GatewayStatus = (
            "offline" if not online else "online" if silent_since is None else "silent"
        )
        return {
            "id": gw,
            "online": online,
            "name": meta.name if meta else None,
            "version": meta.version if meta else None,
            "ts": ts,
            "status": status,
            "silent_since": silent_since,
            "silent_after": silence_window(meta.stats_interval_s if meta else None),
            "interlocks": [{**r.model_dump(), "text": r.describe()} for r in meta.interlocks]
            if meta
            else [],
            "device_order": [d.id for d in meta.devices] if meta else [],
            "relay_order": [r.id for r in meta.relays] if meta else [],
        }

    def _heard(self, topic: object, payload: object, now: float) -> list[Delta]:
        """Any message a gateway itself sent proves it alive (not its last will, which the
        broker sends, nor commands, which bridges send)."""
        if isinstance(topic, _SENT_BY_BRIDGES):
            return []  # sent by bridges, not by the gateway
        if payload == "offline":
            return []
        gw = getattr(topic, "gateway", None)
        if gw is None:
            return []
        self._last_heard[gw] = now
        return self._speaks_again(gw, now) if gw in self._before_silence else []

    def _go_silent(self, gw: str, heard: float, now: float) -> list[Delta]:
        deltas = self._change("gateways_update", {gw: self._gateway_entry(gw, True, now, heard)})
        self._before_silence[gw] = {
            field: {k: e["quality"] for k, e in table.items() if k.startswith(f"{gw}/")}
            for field, table in (("devices", self.devices), ("relays", self.relays))
        }
        if gw in self.system_stats:
            self._before_silence[gw]["system_stats"] = {gw: self.system_stats[gw]["quality"]}
        return deltas + self._mark_stale(gw) + self._gateway_alarms(gw)

    def _speaks_again(self, gw: str, now: float) -> list[Delta]:
        """Silent, and now a message: its values are current again (the connection never
        dropped, so what it last sent is still its word), each with the quality it had."""
        before = self._before_silence.pop(gw)
        deltas = self._change("gateways_update", {gw: self._gateway_entry(gw, True, now)})
        return deltas + self._restore(before) + self._gateway_alarms(gw)

    def _mark_stale(self, gw: str) -> list[Delta]:
        """Nothing this gateway said before can be trusted to be current."""
        deltas: list[Delta] = []
        prefix = f"{gw}/"
        for event, table in (("devices_update", self.devices), ("relays_update", self.relays)):
            stale = {k: {**e, "quality": "stale"} for k, e in table.items() if k.startswith(prefix)}
            deltas += self._change(event, stale)  # type: ignore[arg-type]
        if gw in self.system_stats:
            stats = {gw: {**self.system_stats[gw], "quality": "stale"}}
            deltas += self._change("system_stats_update", stats)
        return deltas

    def _change(self, event: Event, items: dict[str, Entry]) -> list[Delta]:
        table: dict[str, Entry] = getattr(self, FIELD[event])
        changed = {k: v for k, v in items.items() if table.get(k) != v}
        if not changed:
            return []
        table.update(changed)
        self.version += 1
        delta = Delta(event, self.version - 1, self.version, changed)
        self._ring.append(delta)
        return [delta]

    def _status(self, gw: str, online: bool, now: float, derive_alarms: bool = True) -> list[Delta]:
        old = self.gateways.get(gw)
        if old is not None and old["online"] == online:
            return []
        if not online:
            # Offline supersedes silent; its values are stale either way.
            self._before_silence.pop(gw, None)
        arrived = self._while_offline.pop(gw, {})
        deltas = self._change("gateways_update", {gw: self._gateway_entry(gw, online, now)})
        if not online:
            deltas += self._mark_stale(gw)  # the last will (or no broker)
            return deltas + (self._gateway_alarms(gw) if derive_alarms else [])
        return deltas + self._restore(arrived) + (self._gateway_alarms(gw) if derive_alarms else [])

    def _restore(self, qualities: dict[str, dict[str, str]]) -> list[Delta]:
        """Stale values back to the quality each was last sent with."""
        deltas: list[Delta] = []
        for event in ("devices_update", "relays_update", "system_stats_update"):
            field = FIELD[event]
            table: dict[str, Entry] = getattr(self, field)
            restored = {
                k: {**table[k], "quality": quality}
                for k, quality in qualities.get(field, {}).items()
                if k in table and table[k]["quality"] == "stale"
            }
            deltas += self._change(event, restored)
        return deltas

    def _meta(self, gw: str, meta: GatewayMeta, now: float) -> list[Delta]:
        self.meta[gw] = meta
        self._device_info[gw] = {d.id: d for d in meta.devices}
        self._relay_info[gw] = {r.id: r for r in meta.relays}
        deltas: list[Delta] = []
        old_gw = self.gateways.get(gw)
        gw_entry = (
            self._gateway_entry(gw, old_gw["online"], old_gw["ts"], old_gw["silent_since"])
            if old_gw
            else self._gateway_entry(gw, True, now)
        )
        deltas += self._change("gateways_update", {gw: gw_entry})
        devices: dict[str, Entry] = {}
        for info in meta.devices:
            k = key(gw, info.id)
            old = self.devices.get(k) or {
                "gateway": gw, "id": info.id, "value": None, "ts": None, "seq": None,
                "quality": "stale",
            }  # fmt: skip
            devices[k] = {**old, "name": info.name, "kind": info.kind,
                          "unit": old.get("unit") or info.unit,
                          "out_of_service": self._service_entry(k)}  # fmt: skip
        deltas += self._change("devices_update", devices)
        relays: dict[str, Entry] = {}
        for rinfo in meta.relays:
            k = key(gw, rinfo.id)
            old = self.relays.get(k) or {
                "gateway": gw, "id": rinfo.id, "on": None, "ts": None, "seq": None,
                "cmd": None, "quality": "stale",
            }  # fmt: skip
            relays[k] = {
                **old,
                "name": rinfo.name,
                "safe_state": rinfo.safe_state,
                "confirm": rinfo.confirm,
            }
        deltas += self._change("relays_update", relays)
        return deltas + self._gateway_alarms(gw)

    def _admit_unlisted(self, gw: str, k: str, table: dict[str, Entry]) -> bool:
        if k in table:
            return True
        unlisted = self._unlisted.setdefault(gw, set())
        if len(unlisted) >= MAX_UNLISTED_PER_GATEWAY:
            return False
        unlisted.add(k)
        return True

    def _device(self, gw: str, dev: str, state: DeviceState) -> list[Delta]:
        k = key(gw, dev)
        info = self._device_info.get(gw, {}).get(dev)
        if info is None and not self._admit_unlisted(gw, k, self.devices):
            return []
        entry = {
            "gateway": gw,
            "id": dev,
            "name": info.name if info else dev,
            "kind": info.kind if info else None,
            "unit": state.unit if state.unit is not None else (info.unit if info else None),
            "value": state.value,
            "ts": state.ts,
            "seq": state.seq,
            "quality": self._quality(gw, state.quality, "devices", k),
            "out_of_service": self._service_entry(k),
        }
        if state.quality == "good":
            self.history.add(k, state.ts, state.value)
        return self._change("devices_update", {k: entry})

    def _relay(self, gw: str, relay: str, state: RelayState) -> list[Delta]:
        k = key(gw, relay)
        info = self._relay_info.get(gw, {}).get(relay)
        if info is None and not self._admit_unlisted(gw, k, self.relays):
            return []
        entry = {
            "gateway": gw,
            "id": relay,
            "name": info.name if info else relay,
            "on": state.on,
            "ts": state.ts,
            "seq": state.seq,
            "cmd": state.cmd,
            "reason": state.reason,
            "quality": self._quality(gw, "good", "relays", k),
            "safe_state": info.safe_state if info else None,
            "confirm": info.confirm if info else False,
            "lock": state.lock.model_dump() if state.lock else None,
            "rule": state.rule,
            "cycles": state.cycles,
            "on_time_s": state.on_time_s,
        }
        return self._change("relays_update", {k: entry})

    # Alarms ------------------------------------------------------------------

    def _alarm(self, gw: str, source: str, condition: str, state: AlarmState) -> list[Delta]:
        entry = {
            "gateway": gw,
            "source": source,
            "condition": condition,
            **state.model_dump(exclude={"message"}),
            "message": state.message,
            "suppressed": self._suppressed(gw, source),
        }
        return self._change("alarms_update", {alarm_key(gw, source, condition): entry})

    def _alarm_removed(self, k: str) -> list[Delta]:
        """Its retained topic was cleared (its definition left the gateway's config): the
        alarm is dropped, and the delta says so with ``null`` in its place."""
        if self.alarms.pop(k, None) is None:
            return []
        self.version += 1
        delta = Delta("alarms_update", self.version - 1, self.version, {k: None})
        self._ring.append(delta)
        return [delta]

    def _suppressed(self, gw: str, source: str) -> bool:
        entry = self.gateways.get(gw)
        gone = entry is not None and entry["status"] != "online"
        return gone or key(gw, source) in self._out_of_service

    def _service_entry(self, k: str) -> Entry | None:
        oos = self._out_of_service.get(k)
        return None if oos is None else {"by": oos.by, "since": oos.ts, "reason": oos.reason}

    def _service(self, gw: str, dev: str, oos: OutOfService | None) -> list[Delta]:
        k = key(gw, dev)
        if oos is None:
            self._out_of_service.pop(k, None)
        else:
            self._out_of_service[k] = oos
        deltas: list[Delta] = []
        if k in self.devices:
            entry = {**self.devices[k], "out_of_service": self._service_entry(k)}
            deltas += self._change("devices_update", {k: entry})
        return deltas + self._gateway_alarms(gw)

    def _gateway_alarms(self, gw: str) -> list[Delta]:
        """The gateway's own alarms and the suppression of its devices' alarms, derived from
        MQTT facts alone (docs/mqtt-contract.md, "Alarms"): every bridge gets the same."""
        gateway = self.gateways.get(gw)
        if gateway is None:
            return []
        status = gateway["status"]
        episode = self.alarm_episode(gw)
        name = gateway["name"] or gw
        items: dict[str, Entry] = {}
        conditions = ["offline"] + (["silent"] if gateway["silent_after"] is not None else [])
        for condition in conditions:
            k = alarm_key(gw, GATEWAY_SOURCE, condition)
            active = status == condition
            ack = self._gateway_acks.get((gw, condition))
            acked = not active or (ack is not None and ack.episode == episode)
            old = self.alarms.get(k)
            state = "normal" if not active else "acked" if acked else "unacked"
            moved = old is None or old["state"] != state
            since = gateway["ts"] if moved or old is None else old["since"]
            items[k] = {
                "gateway": gw,
                "source": GATEWAY_SOURCE,
                "condition": condition,
                "priority": GATEWAY_ALARM_PRIORITY,
                "active": active,
                "acked": acked,
                "state": state,
                "since": since,
                "raised": since if active else (old or {}).get("raised"),
                "value": None,
                "limit": None,
                "message": f"gateway {name} is {condition}",
                "acked_by": ack.by if active and acked and ack is not None else None,
                "acked_at": ack.ts if active and acked and ack is not None else None,
                "shelved_until": None,
                "shelved_by": None,
                "shelve_reason": None,
                "suppressed": False,
                "ts": gateway["ts"],
            }
        prefix = f"{gw}/"
        for k, e in self.alarms.items():
            own = e["condition"] in ("offline", "silent")
            if k.startswith(prefix) and not own:
                suppressed = self._suppressed(gw, e["source"])
                if e["suppressed"] != suppressed:
                    items[k] = {**e, "suppressed": suppressed}
        return self._change("alarms_update", items)
