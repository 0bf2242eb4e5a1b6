"""The designs a user would otherwise pick, measured beside the bridge (issue 19, item 4).

Same broker, same publisher (bench/publisher.mjs), same kind of receivers, same run:

* **MQTT over WebSocket**: every browser is an MQTT.js client subscribed to the broker over
  WebSockets (bench/mqtt_receivers.mjs). Debian's Mosquitto 2.0.11 has no WebSocket
  listener, so bench/ws_relay.mjs (Node, `ws`) relays each WebSocket to the broker's TCP
  port: one extra loopback hop a broker with WebSockets built in would not have.
* **The seed's design**: bench/seed_app.py, Flask-SocketIO emitting every MQTT message to
  every client, no coalescing; timed by the same Socket.IO receivers as the bridge.

Each is measured for push latency (the sensor push rate, with each of ``clients``),
fan-out (the ``fanout`` ramp at ``fanout_rate``) and ingest (the ``rates`` ramp with
``ingest_clients`` connected). A step of the ingest ramp is sustained when every timing
client got >= 99 % of the messages, the generator reached 95 % of the offered rate and
p99 <= 100 ms — the bridge's rule, with delivery in place of the bridge's own counter,
since neither alternative merges anything.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.lab import Group, cpu_seconds
from bench.report import Row, ScenarioResult, Target
from bench.scenarios import GRACE_S, Run
from bench.stats import Summary, summarize, window
from devtools.local_broker import LocalBroker, free_port
from devtools.procs import ManagedProcess, python_module

MQTT_WS = "MQTT over WebSocket"
SEED = "seed design"


@dataclass
class Design:
    name: str
    receivers: Callable[[int, int | None], Group]  # (clients, timing clients) -> receivers
    server_pids: Callable[[], list[int]]  # whose CPU is the design's server side


@contextmanager
def mqtt_over_websocket(run: Run, broker: LocalBroker) -> Iterator[Design]:
    port = free_port()
    assert broker.admin is not None and broker.pid is not None
    login = f"{broker.admin}:{broker.passwords[broker.admin]}"
    url = f"ws://127.0.0.1:{port}"
    with run.lab.ws_relay(port, broker.port) as relay:
        relay_pid = relay.workers[0].proc.pid
        broker_pid = broker.pid
        yield Design(
            MQTT_WS,
            lambda n, measure: run.lab.mqtt_ws_clients(url, login, n, measure),
            lambda: [relay_pid, broker_pid],
        )
        relay.finish()


@contextmanager
def seed_design(run: Run, broker: LocalBroker) -> Iterator[Design]:
    port = free_port()
    workdir = run.lab.workdir / "seed-app"
    workdir.mkdir(parents=True, exist_ok=True)
    app = ManagedProcess(
        "seed-app",
        python_module("bench.seed_app", "--url", broker.url, "--port", str(port)),
        workdir / "seed-app.log",
    )
    base_url = f"http://127.0.0.1:{port}"
    with app:
        app.wait_until(lambda: _answers(base_url + "/health"), timeout=60, what="serving")
        yield Design(
            SEED, lambda n, measure: run.lab.sio_clients(base_url, n, measure), lambda: [app.pid]
        )


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _samples(results: list[dict[str, Any]]) -> list[list[float]]:
    return [s for r in results for s in r["samples"]]


def _failures(results: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "connect_failed": sum(int(r["connect_failed"]) for r in results),
        "disconnects": sum(int(r["disconnects"]) for r in results),
    }


@dataclass
class Step:
    pub: dict[str, Any]
    summary: Summary
    delivered: float  # share of the published values each timing client got
    server_cpu: float  # % of one core
    receivers_cpu: float
    failures: dict[str, int]


def _step(run: Run, design: Design, clients: int, measure: int, rate: float, devices: int) -> Step:
    with design.receivers(clients, measure if measure < clients else None) as group:
        pids = design.server_pids()
        t0, cpu0, load0 = time.monotonic(), sum(map(cpu_seconds, pids)), group.cpu_seconds()
        pub = run.lab.publish(rate, run.config.duration, devices)
        elapsed = time.monotonic() - t0
        server = 100 * (sum(map(cpu_seconds, pids)) - cpu0) / elapsed
        receivers = 100 * (group.cpu_seconds() - load0) / elapsed
        time.sleep(GRACE_S)
        results = group.finish()
    lat = window(_samples(results), pub["start"], pub["end"])
    delivered = len(lat) / measure / max(pub["sent"], 1)
    return Step(pub, summarize(lat, pub["rate"]), delivered, server, receivers, _failures(results))


def _note(step: Step) -> str:
    note = f"{step.delivered:.0%} of values delivered per client, CPU server "
    note += f"{step.server_cpu:.0f}%, receivers {step.receivers_cpu:.0f}%"
    return note + (f"; {step.failures}" if any(step.failures.values()) else "")


def measure(run: Run, design: Design, scenario: str) -> ScenarioResult:
    cfg = run.config
    res = ScenarioResult(scenario)
    res.details["design"] = design.name
    # Push latency.
    for n in cfg.clients:
        step = _step(run, design, n, n, cfg.push_rate, cfg.push_devices)
        case = f"push, {n} clients, {step.pub['rate']:.0f}/s, {design.name}"
        res.rows.append(Row(case, step.summary, _note(step)))
    # Ingest: a fresh set of receivers per rate, so that a step that fell behind does not
    # spill into the next; the ramp ends at the first step not sustained.
    clients = cfg.ingest_clients
    best: float | None = None
    for offered in cfg.rates:
        step = _step(run, design, clients, min(10, clients), offered, cfg.ingest_devices)
        generator_ok = step.pub["rate"] >= 0.95 * offered
        ok = step.delivered >= 0.99 and generator_ok and step.summary.p99 <= 100
        case = f"ingest {offered}/s offered, {clients} clients, {design.name}"
        note = _note(step) + ("" if generator_ok else ", generator could not keep up")
        res.rows.append(Row(case, step.summary, note + (", SUSTAINED" if ok else "")))
        if not ok:
            break
        best = float(offered)
    res.figures["max_rate"] = best if best is not None else 0.0
    # Fan-out.
    most: int | None = None
    for n in cfg.fanout:
        step = _step(run, design, n, n, cfg.fanout_rate, cfg.push_devices)
        res.rows.append(
            Row(f"fan-out {n} clients, {step.pub['rate']:.0f}/s, {design.name}", step.summary,
                _note(step))
        )  # fmt: skip
        res.details.setdefault("fanout_p99_ms", {})[str(n)] = step.summary.p99
        failed = any(step.failures.values()) or step.delivered < 0.99
        if step.summary.p99 <= 50 and not failed:
            most = n
        if failed or step.summary.p99 > 250:
            break  # well past the 50 ms goal: more clients tell nothing (and keep the run short)
    res.figures["max_clients_p99_under_50ms"] = most if most is not None else 0
    return res


# --------------------------------------------------------------------------- ours vs theirs


def _push_p50(res: ScenarioResult, prefix: str, clients: int) -> float | None:
    for row in res.rows:
        if row.case.startswith(f"{prefix}{clients} clients,"):
            return row.summary.p50
    return None


def versus(
    push: ScenarioResult, ingest: ScenarioResult, fan_out: ScenarioResult,
    alternatives: list[ScenarioResult], clients: int,
) -> ScenarioResult:  # fmt: skip
    """Our figures over each alternative's, from the same run; the issue's targets against
    MQTT over WebSocket (both designs have one hop between broker and browser)."""
    res = ScenarioResult("versus")
    ours_push = next(
        (r.summary.p50 for r in push.rows if r.case.startswith(f"{clients} clients,")
         and "shipped" in r.case), None,
    )  # fmt: skip
    ours_ingest = ingest.figures.get("max_rate_shipped")
    ours_fanout = {
        int(r.case.split(" ")[0]): r.summary.p99 for r in fan_out.rows if "clients" in r.case
    }
    for alt in alternatives:
        name = alt.details.get("design", alt.name)
        theirs_push = _push_p50(alt, "push, ", clients)
        push_x = _over(ours_push, theirs_push)
        res.figures[f"push p50 {clients} clients, ours / {name}"] = push_x
        theirs_ingest = alt.figures.get("max_rate")
        ingest_x = _over(ours_ingest, theirs_ingest) if theirs_ingest else None
        res.figures[f"ingest max rate, ours / {name}"] = ingest_x
        theirs_fanout: dict[str, float] = alt.details.get("fanout_p99_ms", {})
        common = sorted(n for n in ours_fanout if str(n) in theirs_fanout)
        for n in common:
            res.figures[f"fan-out p99 {n} clients, ours / {name}"] = _over(
                ours_fanout[n], theirs_fanout[str(n)]
            )
        if name != MQTT_WS:
            continue
        res.targets.append(Target(f"push p50, ours / {name}", push_x, "<=", 1, "x"))
        at = max((n for n in common if n <= 1000), default=None)
        if at is not None:
            fan_x = _over(ours_fanout[at], theirs_fanout[str(at)])
            res.targets.append(Target(f"fan-out p99 {at} clients, ours / {name}", fan_x,
                                      "<=", 1, "x"))  # fmt: skip
        if ours_ingest is not None and theirs_ingest is not None:
            # A design that sustained no step counts as its first step's rate.
            floor = theirs_ingest or None
            res.targets.append(Target(f"ingest, ours / {name}", _over(ours_ingest, floor),
                                      ">=", 20, "x"))  # fmt: skip
    return res


def _over(ours: float | None, theirs: float | None) -> float | None:
    return None if ours is None or not theirs else ours / theirs
