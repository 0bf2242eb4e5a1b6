"""Soak: the whole system for a bounded time, with faults, then checked end to end.

``python -m devtools.soak --seconds N`` (``make soak SOAK_SECONDS=N``) runs Mosquitto, several
simulated gateways and a bridge as processes, dashboard-like clients, and an operator that
switches relays at a steady rate, while a fault is injected every few seconds, in turn:
broker SIGKILL, broker restart without persistence, gateway SIGKILL, a gateway link cut
beyond the link-loss timeout, a short link blip, a dashboard client cut off. The bridge and
gateway ``<prefix>1`` are never restarted: their memory is what is measured.

Checks at the end (exit status 1 when one fails):
* every client's view (gateways online, device values, relay states) equals what the gateways
  last published (a fresh MQTT subscriber's view);
* resident memory of the bridge and of gateway 1 grew by at most ``--rss-bound-mb`` from the
  end of warm-up to the end;
* the gateways' audit log (logger ``gateway.audit``) has exactly one entry per command the
  gateway answered, and never more than one per command id (a redelivery is logged as a
  ``duplicate`` rejection and counted apart).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import random
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from devtools.dashboard_mirror import DashboardMirror
from devtools.local_broker import LocalBroker
from devtools.mqtt_probe import MqttProbe
from devtools.procs import ManagedProcess, python_module
from devtools.stack import Stack
from devtools.tcp_proxy import TcpProxy
from factory_core.contract import (
    DeviceState,
    DeviceStateTopic,
    GatewayMeta,
    MetaTopic,
    RelayState,
    RelayStateTopic,
    StatusTopic,
    Topics,
    decode,
)

log = logging.getLogger("soak")
MB = 1024 * 1024
_COMMAND_RE = re.compile(r"command ([A-Za-z0-9_.:-]+)")
# Outcomes decided by the bridge: the gateway may or may not have seen the command.
_UNANSWERED = {"timeout", "gateway_offline", "not_connected", "invalid", "unknown_relay"}


@dataclass(frozen=True)
class SoakConfig:
    seconds: float = 600.0
    gateways: int = 3
    clients: int = 3
    command_interval_s: float = 0.5
    fault_interval_s: float = 8.0
    link_loss_timeout_s: float = 3.0
    rss_bound_mb: float = 20.0
    seed: int = 1
    prefix: str = "sim"


@dataclass
class SoakReport:
    seconds: float = 0.0
    faults: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    converged_s: float | None = None
    mismatch: str = ""
    rss_mb: dict[str, tuple[float, float]] = field(default_factory=dict)
    audited: int = 0
    duplicates_logged: int = 0
    audit_missing: list[str] = field(default_factory=list)
    audit_repeated: list[str] = field(default_factory=list)
    rss_bound_mb: float = 0.0

    def problems(self) -> list[str]:
        found = []
        if self.converged_s is None:
            found.append(f"clients did not converge on the gateways' state: {self.mismatch}")
        for name, (start, end) in self.rss_mb.items():
            if end - start > self.rss_bound_mb:
                found.append(
                    f"{name} memory grew {end - start:.1f} MB ({start:.1f} -> {end:.1f} MB), "
                    f"bound {self.rss_bound_mb} MB"
                )
        if self.audit_missing:
            found.append(f"commands without an audit entry: {self.audit_missing[:10]}")
        if self.audit_repeated:
            found.append(f"commands with several audit entries: {self.audit_repeated[:10]}")
        if not self.outcomes.get("ok"):
            found.append(f"no command succeeded: {dict(self.outcomes)}")
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 1),
            "faults": Counter(self.faults),
            "commands": dict(self.outcomes),
            "converged_after_s": self.converged_s,
            "rss_mb": {k: [round(a, 1), round(b, 1)] for k, (a, b) in self.rss_mb.items()},
            "rss_bound_mb": self.rss_bound_mb,
            "audit_entries": self.audited,
            "duplicates_logged": self.duplicates_logged,
            "problems": self.problems(),
        }


def truth_view(probe: MqttProbe, topics: Topics) -> dict[str, Any]:
    """What the gateways last published, as plant_view shapes a client's state."""
    gateways: dict[str, bool] = {}
    devices: dict[str, Any] = {}
    relays: dict[str, Any] = {}
    for m in list(probe.messages):
        if not m.payload:
            continue
        try:
            msg = decode(topics, m.topic, m.payload)
        except ValueError:
            continue
        match msg.topic:
            case StatusTopic(gw):
                gateways[gw] = msg.payload == "online"
            case DeviceStateTopic(gw, dev) if isinstance(msg.payload, DeviceState):
                devices[f"{gw}/{dev}"] = (msg.payload.value, msg.payload.quality)
            case RelayStateTopic(gw, relay) if isinstance(msg.payload, RelayState):
                relays[f"{gw}/{relay}"] = (msg.payload.on, "good")
            case MetaTopic(_) if isinstance(msg.payload, GatewayMeta):
                pass
    return {"gateways": gateways, "devices": devices, "relays": relays}


def audit_entries(log_text: str) -> tuple[Counter[str], int]:
    """Per command id, the gateway's audit entries (duplicate rejections counted apart)."""
    entries: Counter[str] = Counter()
    duplicates = 0
    for line in log_text.splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = str(entry.get("message", ""))
        if entry.get("logger") != "gateway.audit" or "pulse of command" in message:
            continue
        found = _COMMAND_RE.search(message)
        if found is None:
            continue
        if "rejected: duplicate" in message:
            duplicates += 1
        else:
            entries[found.group(1)] += 1
    return entries, duplicates


class Soak:
    def __init__(self, config: SoakConfig, workdir: Path) -> None:
        self.config = config
        self.workdir = workdir
        self.topics = Topics()
        self.random = random.Random(config.seed)
        self.report = SoakReport(rss_bound_mb=config.rss_bound_mb)
        self.broker = LocalBroker(workdir / "broker")
        self.ids = [f"{config.prefix}{n}" for n in range(1, config.gateways + 1)]
        self.links: dict[str, TcpProxy] = {}
        self.gateways: dict[str, ManagedProcess] = {}
        self.mirrors: list[DashboardMirror] = []
        self.operator: DashboardMirror | None = None
        self.sent: list[tuple[str, str | None, str]] = []  # (gateway, id, outcome)
        self._stop = threading.Event()
        self.stack: Stack | None = None
        self.client_link: TcpProxy | None = None

    # ------------------------------------------------------------ processes

    def _gateway_env(self, gw: str) -> dict[str, str]:
        return {
            "FACTORY_GATEWAY_ID": gw,
            "FACTORY_NAME": f"Soak {gw}",
            "FACTORY_MQTT_URL": self.links[gw].url(self.broker.url),
            "FACTORY_STATE_DIR": str(self.workdir / f"{gw}-state"),
            "FACTORY_LINK_LOSS_TIMEOUT_S": str(self.config.link_loss_timeout_s),
            "FACTORY_MQTT_KEEPALIVE": "4",
            "FACTORY_CLOCK_SKEW_S": "0.5",  # the bridge waits FACTORY_COMMAND_GRACE past that
            "FACTORY_LOG_FORMAT": "json",
        }

    def start(self) -> None:
        self.broker.start()
        for gw in self.ids:
            self.links[gw] = TcpProxy(self.broker.port).start()
        bridge_link = TcpProxy(self.broker.port).start()
        self.links["bridge"] = bridge_link
        first = self.ids[0]
        self.stack = Stack(
            self.workdir,
            broker=self.broker,
            gateway_env=self._gateway_env(first),
            bridge_env={
                "FACTORY_MQTT_URL": bridge_link.url(self.broker.url),
                "FACTORY_MQTT_KEEPALIVE": "4",
                "FACTORY_COMMAND_TTL": "2",
                "FACTORY_COMMAND_GRACE": "0.7",
                # The operator's steady rate is the workload, not abuse to be limited.
                "FACTORY_COMMAND_RATE": "6000",
                "FACTORY_COMMAND_BURST": "100",
            },
        )
        self.gateways[first] = self.stack.gateway
        for gw in self.ids[1:]:
            self.gateways[gw] = ManagedProcess(
                gw,
                python_module("gateway", "--simulate"),
                self.workdir / f"{gw}.log",
                self._gateway_env(gw),
            ).start()
        self.stack.start(gateway_id=first)
        self.client_link = TcpProxy(self.stack.http_port).start()
        for n in range(self.config.clients):
            url = self.stack.base_url
            if n == 0:
                url = f"http://127.0.0.1:{self.client_link.port}"
            token = self.stack.api_token
            self.mirrors.append(DashboardMirror(url, name=f"client{n}", token=token).start())
        self.operator = DashboardMirror(
            self.stack.base_url, name="operator", token=self.stack.api_token
        ).start()
        for gw in self.ids:
            self.operator.wait(
                lambda s, gw=gw: s is not None and s["gateways"].get(gw, {}).get("online"),  # type: ignore[misc]
                30,
                f"gateway {gw} online",
            )

    def stop(self) -> None:
        self._stop.set()
        for m in [*self.mirrors, *([self.operator] if self.operator else [])]:
            with contextlib.suppress(Exception):  # already disconnected
                m.stop()
        for gw, proc in self.gateways.items():
            if gw != self.ids[0]:
                proc.stop()
        if self.stack is not None:
            self.stack.stop()
        for link in [*self.links.values(), *([self.client_link] if self.client_link else [])]:
            link.stop()
        self.broker.stop()

    # --------------------------------------------------------------- workload

    def _operate(self) -> None:
        assert self.operator is not None
        relays = [f"relay_{n}" for n in range(1, 5)]
        while not self._stop.wait(self.config.command_interval_s):
            gw = self.random.choice(self.ids)
            request = {
                "gateway": gw,
                "relay": self.random.choice(relays),
                "on": self.random.random() < 0.5,
            }
            try:
                outcome = self.operator.call("set_relay", request, timeout=10)
            except Exception as exc:  # the operator's own link is down: counts as a failure
                self.report.outcomes[f"client:{type(exc).__name__}"] += 1
                continue
            error = outcome.get("error") or "ok"
            self.report.outcomes[error] += 1
            self.sent.append((gw, outcome.get("id"), error))

    def _rss_mb(self) -> dict[str, float]:
        assert self.stack is not None
        out = {}
        for name, proc in (("bridge", self.stack.bridge), (self.ids[0], self.stack.gateway)):
            out[name] = psutil.Process(proc.pid).memory_info().rss / MB
        return out

    # ----------------------------------------------------------------- faults

    def _faults(self) -> list[tuple[str, Callable[[], None]]]:
        victim = self.ids[-1] if len(self.ids) > 1 else None
        cut = self.ids[1] if len(self.ids) > 2 else victim
        faults: list[tuple[str, Callable[[], None]]] = [
            ("broker_kill", self._broker_kill),
            ("link_blip", lambda: self._blip(self.ids[0])),
            ("client_cut", self._client_cut),
            ("broker_restart_wiped", lambda: self.broker.restart(wipe_persistence=True)),
        ]
        if victim is not None and cut is not None:
            faults.insert(1, ("gateway_kill", lambda: self._gateway_kill(victim)))
            faults.insert(3, ("link_cut", lambda: self._link_cut(cut)))
        return faults

    def _broker_kill(self) -> None:
        self.broker.stop(kill=True)
        time.sleep(1.0)
        self.broker.start()

    def _gateway_kill(self, gw: str) -> None:
        self.gateways[gw].kill()
        time.sleep(0.5)
        self.gateways[gw].start()

    def _link_cut(self, gw: str) -> None:
        self.links[gw].drop()
        time.sleep(self.config.link_loss_timeout_s + 1.0)
        self.links[gw].pass_()

    def _blip(self, gw: str) -> None:
        self.links[gw].stall()
        time.sleep(1.0)
        self.links[gw].pass_()

    def _client_cut(self) -> None:
        assert self.client_link is not None
        self.client_link.drop()
        time.sleep(3.0)
        self.client_link.pass_()

    # ------------------------------------------------------------------- run

    def run(self) -> SoakReport:
        started = time.monotonic()
        end = started + self.config.seconds
        warmup_end = started + min(15.0, self.config.seconds * 0.15)
        operator = threading.Thread(target=self._operate, name="operator", daemon=True)
        operator.start()
        faults = self._faults()
        rss_start: dict[str, float] | None = None
        next_fault = started + self.config.fault_interval_s / 2
        n = 0
        while time.monotonic() < end:
            now = time.monotonic()
            if rss_start is None and now >= warmup_end:
                rss_start = self._rss_mb()
            if now >= next_fault and end - now > self.config.fault_interval_s / 2:
                name, inject = faults[n % len(faults)]
                n += 1
                log.info("fault %d: %s", n, name)
                inject()
                self.report.faults.append(name)
                next_fault = time.monotonic() + self.config.fault_interval_s
            time.sleep(0.1)
        self._stop.set()
        operator.join(15)
        rss_start = rss_start or self._rss_mb()
        rss_end = self._rss_mb()
        self.report.rss_mb = {k: (rss_start[k], rss_end[k]) for k in rss_end}
        self._check_convergence()
        self._check_audit()
        self.report.seconds = time.monotonic() - started
        return self.report

    def _check_convergence(self, timeout: float = 30.0) -> None:
        began = time.monotonic()
        with MqttProbe(self.broker.url, [self.topics.everything_filter()]) as probe:
            deadline = began + timeout
            while True:
                truth = truth_view(probe, self.topics)
                views = [m.view() for m in self.mirrors]
                diffs = [self._diff(truth, v) for v in views]
                if truth["gateways"] and not any(diffs):
                    self.report.converged_s = round(time.monotonic() - began, 2)
                    return
                if time.monotonic() > deadline:
                    self.report.mismatch = "; ".join(d for d in diffs if d)[:2000]
                    return
                time.sleep(0.1)

    def _diff(self, truth: dict[str, Any], view: dict[str, Any] | None) -> str:
        if view is None:
            return "a client has no state"
        problems = []
        for field_name in ("gateways", "devices", "relays"):
            for k, want in truth[field_name].items():
                got = view[field_name].get(k)
                if got != want:
                    problems.append(f"{field_name}[{k}] client {got} gateway {want}")
        if not all(truth["gateways"].get(gw) for gw in self.ids):
            problems.append(f"gateways not all online: {truth['gateways']}")
        return ", ".join(problems[:5])

    def _check_audit(self) -> None:
        entries: Counter[str] = Counter()
        for proc in self.gateways.values():
            found, duplicates = audit_entries(proc.log())
            entries.update(found)
            self.report.duplicates_logged += duplicates
        self.report.audited = sum(entries.values())
        for _gw, cid, outcome in self.sent:
            if cid is None:
                continue
            if outcome not in _UNANSWERED and entries[cid] != 1:
                self.report.audit_missing.append(f"{cid} ({outcome}: {entries[cid]} entries)")
        self.report.audit_repeated = [cid for cid, count in entries.items() if count > 1]


def run_soak(config: SoakConfig, workdir: Path) -> SoakReport:
    soak = Soak(config, workdir)
    try:
        soak.start()
        return soak.run()
    finally:
        soak.stop()


def main(argv: list[str] | None = None) -> int:
    defaults = SoakConfig()
    p = argparse.ArgumentParser(prog="python -m devtools.soak", description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=defaults.seconds)
    p.add_argument("--gateways", type=int, default=defaults.gateways)
    p.add_argument("--clients", type=int, default=defaults.clients)
    p.add_argument("--command-interval", type=float, default=defaults.command_interval_s)
    p.add_argument("--fault-interval", type=float, default=defaults.fault_interval_s)
    p.add_argument("--rss-bound-mb", type=float, default=defaults.rss_bound_mb)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--workdir", type=Path, help="keep logs here (default: a temporary directory)")
    p.add_argument("--json", type=Path, help="also write the report to this file")
    args = p.parse_args(argv)
    problems = [
        f"--{name} must be positive (got {value})"
        for name, value in (
            ("seconds", args.seconds),
            ("gateways", args.gateways),
            ("command-interval", args.command_interval),
            ("fault-interval", args.fault_interval),
            ("rss-bound-mb", args.rss_bound_mb),
        )
        if value <= 0
    ]
    if args.clients < 1:
        problems.append(f"--clients must be at least 1 (got {args.clients})")
    if problems:
        p.error("; ".join(problems))
    logging.basicConfig(level="INFO", format="%(asctime)s %(name)s: %(message)s")
    config = SoakConfig(
        seconds=args.seconds,
        gateways=args.gateways,
        clients=args.clients,
        command_interval_s=args.command_interval,
        fault_interval_s=args.fault_interval,
        rss_bound_mb=args.rss_bound_mb,
        seed=args.seed,
    )
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        workdir = args.workdir or Path(tmp)
        report = run_soak(config, workdir)
    data = report.to_dict()
    text = json.dumps(data, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 1 if data["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
