"""The scenarios of issue 8, each a function of the running system that returns its result."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bench.config import BenchConfig
from bench.lab import Group, Lab, cpu_seconds, rss
from bench.profile import Profiler
from bench.report import Row, ScenarioResult, Target
from bench.stats import memory_per_client, percentile, ratio, staleness, summarize, window
from devtools.procs import ManagedProcess, python_module
from devtools.stack import Stack

GATEWAY_CONFIG = Path(__file__).resolve().parent / "gateway_50hz.toml"
RELAY = "line1/relay_2"  # the coolant pump: no input is wired to it on the demo board
GRACE_S = 0.5  # lets the last coalesced push of a step arrive before receivers stop


@dataclass
class Run:
    config: BenchConfig
    lab: Lab
    floor_ms: float | None = None

    def profiler(self, stack: Stack, step: str) -> Profiler:
        out = self.lab.workdir / "profiles" / f"{step.replace(' ', '_').replace('/', '_')}.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        return Profiler(stack.bridge.pid, out, self.config.duration, self.config.profile)


def _samples(results: Sequence[dict[str, Any]]) -> list[list[float]]:
    return [s for r in results for s in r["samples"]]


def _failures(results: Sequence[dict[str, Any]]) -> dict[str, int]:
    return {
        "connect_failed": sum(int(r["connect_failed"]) for r in results),
        "disconnects": sum(int(r["disconnects"]) for r in results),
    }


def bridge_counter(stack: Stack, name: str, **labels: str) -> float:
    request = urllib.request.Request(stack.base_url + "/metrics", headers=stack.auth_header)
    with urllib.request.urlopen(request, timeout=10) as answer:
        text = answer.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    if labels:
        return 0.0  # a labelled counter appears only once it has counted something
    raise KeyError(f"the bridge's /metrics has no {name!r}")


def pushes_sent(stack: Stack) -> float:
    """``devices_update`` messages the bridge has sent, summed over its clients."""
    return bridge_counter(stack, "factory_bridge_updates_out_total", event="devices_update")


# --------------------------------------------------------------------------- 1. the floor


def raw_mqtt(run: Run) -> ScenarioResult:
    cfg = run.config
    res = ScenarioResult("raw_mqtt")
    with run.lab.mqtt_subscriber() as group:
        pub = run.lab.publish(cfg.push_rate, cfg.duration, cfg.push_devices)
        # The same hop at the ingest rates: what one paho subscriber (no gevent) can take.
        ramp = []
        for offered in cfg.rates:
            step = run.lab.publish(offered, min(cfg.duration, 4.0), cfg.ingest_devices)
            ramp.append((offered, step))
            time.sleep(GRACE_S)
            if step["rate"] < 0.95 * offered:
                break  # the generator itself is the ceiling
        time.sleep(GRACE_S)
        [sub] = group.finish()
    summary = summarize(window(sub["samples"], pub["start"], pub["end"]), pub["rate"])
    res.rows.append(Row(f"publish -> subscribe, {cfg.push_rate:g}/s, QoS 1", summary))
    res.figures["floor_p50_ms"] = summary.p50
    run.floor_ms = summary.p50
    best: float | None = None
    for offered, step in ramp:
        lat = window(sub["samples"], step["start"], step["end"])
        if not lat:
            continue
        got = len(lat) / step["sent"]
        ok = got >= 0.99 and step["rate"] >= 0.95 * offered and percentile_ms(lat, 99) <= 100
        note = f"subscriber got {got:.0%}{', SUSTAINED' if ok else ''}"
        case = f"{offered}/s offered, plain paho subscriber"
        res.rows.append(Row(case, summarize(lat, step["rate"]), note))
        if ok:
            best = max(best or 0.0, step["rate"])
        else:
            break
    res.figures["paho_subscriber_max_rate"] = best
    return res


def percentile_ms(seconds: list[float], q: float) -> float:
    return percentile(sorted(seconds), q) * 1000


# --------------------------------------------------------------------------- gateway CPU


def gateway_cpu(run: Run, mqtt_url: str) -> ScenarioResult:
    cfg = run.config
    res = ScenarioResult("gateway_cpu")
    workdir = run.lab.workdir / "gateway-50hz"
    gateway = ManagedProcess(
        "gateway-50hz",
        python_module("gateway", "--config", str(GATEWAY_CONFIG)),
        workdir / "gateway.log",
        {"FACTORY_MQTT_URL": mqtt_url, "FACTORY_STATE_DIR": str(workdir / "state")},
    )
    with run.lab.mqtt_subscriber("benchgw") as group:
        with gateway:
            time.sleep(2.0)  # start-up (imports, meta, first samples) is not the steady state
            start, cpu0 = time.time(), cpu_seconds(gateway.pid)
            time.sleep(max(cfg.duration, 5.0))
            end, cpu1 = time.time(), cpu_seconds(gateway.pid)
        [sub] = group.finish()
    lat = window(sub["samples"], start, end)
    updates = len(lat) / (end - start)
    cpu = 100 * (cpu1 - cpu0) / (end - start)
    res.rows.append(Row("sample -> subscriber, simulated board", summarize(lat, updates)))
    res.figures.update({"cpu_percent_one_core": cpu, "sensor_updates_per_s": updates})
    res.targets.append(Target(f"CPU at {updates:.0f} updates/s (goal 50)", cpu, "<", 5, "%"))
    return res


# --------------------------------------------------------------------------- 2. sensor push


def _publish_measured(
    run: Run, stack: Stack, group: Group, rate: float, profile: str
) -> tuple[dict[str, Any], float, float]:
    """Publish at ``rate`` for the configured duration: (publisher report, bridge CPU %,
    receivers' CPU %), the CPU as percent of one core over the publishing time."""
    bridge = stack.bridge.pid
    t0, cpu0, load0 = time.monotonic(), cpu_seconds(bridge), group.cpu_seconds()
    with run.profiler(stack, profile):
        pub = run.lab.publish(rate, run.config.duration, run.config.push_devices)
    elapsed = time.monotonic() - t0
    cpu = 100 * (cpu_seconds(bridge) - cpu0) / elapsed
    return pub, cpu, 100 * (group.cpu_seconds() - load0) / elapsed


def push_case(run: Run, stack: Stack, clients: int, label: str) -> Row:
    cfg = run.config
    with run.lab.sio_clients(stack.base_url, clients) as group:
        pub, cpu, receivers = _publish_measured(
            run, stack, group, cfg.push_rate, f"push-{clients}-{label}"
        )
        time.sleep(GRACE_S)
        results = group.finish()
    lat = window(_samples(results), pub["start"], pub["end"])
    failures = _failures(results)
    per_client = len(lat) / clients / max(pub["sent"], 1)
    note = f"{per_client:.0%} of values delivered per client"
    note += " (rest coalesced)" if per_client < 0.995 else ""
    note += f", CPU bridge {cpu:.0f}%, receivers {receivers:.0f}%"
    if any(failures.values()):
        note += f"; {failures}"
    return Row(
        f"{clients} clients, {pub['rate']:.0f}/s, {label}", summarize(lat, pub["rate"]), note
    )


def push_targets(res: ScenarioResult, floor_ms: float | None) -> None:
    # The targets are for 10 clients; with fewer measured, the largest case stands in.
    rows = [r for r in res.rows if "shipped" in r.case] or res.rows
    if not rows:
        return
    row = next((r for r in rows if r.case.startswith("10 clients")), rows[-1])
    n = row.case.split(",")[0]
    res.targets += [
        Target(f"push p50, {n}", row.summary.p50, "<=", 2, "ms"),
        Target(f"push p99, {n}", row.summary.p99, "<=", 10, "ms"),
        Target(f"push p50 / raw MQTT p50, {n}", ratio(row.summary.p50, floor_ms), "<=", 4, "x"),
    ]


# --------------------------------------------------------------------------- 3. relay


def relay(run: Run, stack: Stack, under_load: float | None = None) -> ScenarioResult:
    """The relay round trip; with ``under_load`` (msg/s), issue 19's item 2: the same with
    ``ingest_clients`` connected while samples stream in at that rate."""
    cfg = run.config
    res = ScenarioResult("relay" if under_load is None else "relay_under_load")
    go, done = run.lab.go_files()
    n = cfg.relay_clients if under_load is None else cfg.ingest_clients
    load: list[dict[str, Any]] = []
    with (
        run.lab.mqtt_subscriber(commands_of=RELAY.split("/", maxsplit=1)[0]) as wire,
        run.lab.sio_clients(
            stack.base_url, n, measure=min(10, n), relay=RELAY, commands=cfg.relay_commands,
            go_file=go, done_file=done,
        ) as group,
    ):  # fmt: skip
        publisher = None
        if under_load is not None:
            # Long enough for every command (each takes ~5 ms, 0.1 s apart) and the settle.
            seconds = 3.0 + cfg.relay_commands * 0.2
            publisher = threading.Thread(
                target=lambda: load.append(
                    run.lab.publish(under_load, seconds, cfg.ingest_devices)
                ),
                daemon=True,
            )
            publisher.start()
            time.sleep(2.0)  # the publisher's start-up and settle, then its steady rate
        go.touch()
        deadline = time.monotonic() + cfg.relay_commands * 20
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if publisher is not None:
            publisher.join(timeout=cfg.relay_commands * 0.2 + 120)
        time.sleep(GRACE_S)
        results = group.finish()
        [mqtt] = wire.finish()
    seen: dict[str, tuple[int, float]] = {}
    for r in results:
        for cmd, (count, last) in r["relay_seen"].items():
            prev = seen.get(cmd, (0, 0.0))
            seen[cmd] = (prev[0] + count, max(prev[1], last))
    commands = results[0]["commands"]
    ack, sender, everyone, to_broker, gateway_part, back = [], [], [], [], [], []
    failed: list[Any] = []
    for c in commands:
        ack.append(c["acked"] - c["sent"])
        if not (isinstance(c["ack"], dict) and c["ack"].get("ok")):
            failed.append(c["ack"])
            continue
        if c["confirmed"] is not None:
            sender.append(c["confirmed"] - c["sent"])
        wire = mqtt["commands"].get(c["id"], {})
        if "set" in wire and "result" in wire:
            to_broker.append(wire["set"] - c["sent"])
            gateway_part.append(wire["result"] - wire["set"])
            back.append(c["acked"] - wire["result"])
        count, last = seen.get(c["id"], (0, 0.0))
        if count == n:
            everyone.append(last - c["sent"])
    if not commands:
        raise RuntimeError("the operator client sent no commands")
    rate = len(commands) / max(1e-9, commands[-1]["acked"] - commands[0]["sent"])
    res.rows.append(Row("set_relay -> ack with outcome", summarize(ack, rate)))
    if sender:
        res.rows.append(Row("set_relay -> relays_update at sender", summarize(sender, rate)))
    all_row = summarize(everyone) if everyone else None
    if all_row is not None:
        res.rows.append(Row(f"set_relay -> relays_update at all {n} clients", all_row))
    # Where the time goes, as a plain MQTT subscriber on the broker sees the command pass.
    if to_broker:
        res.rows.append(Row("  split: set_relay -> `set` on MQTT (bridge)", summarize(to_broker)))
        res.rows.append(
            Row("  split: `set` -> `result` on MQTT (gateway)", summarize(gateway_part))
        )
        res.rows.append(Row("  split: `result` -> ack at sender (bridge)", summarize(back)))
    res.details.update({"commands": len(commands), "failed": len(failed), "failures": failed[:5]})
    res.figures["commands_failed"] = len(failed)
    if under_load is not None:
        if load:
            pub = load[0]
            lat = window(_samples(results), pub["start"], pub["end"])
            res.rows.append(Row(f"  meanwhile: push, {pub['rate']:.0f}/s", summarize(lat)))
        res.targets.append(
            Target(f"round trip p99, {n} clients, {under_load:.0f} msg/s ingest",
                   all_row.p99 if all_row else None, "<=", 15, "ms")
        )  # fmt: skip
        return res
    res.targets += [
        Target(f"round trip p50, {n} clients", all_row.p50 if all_row else None, "<=", 5, "ms"),
        Target(f"round trip p99, {n} clients", all_row.p99 if all_row else None, "<=", 15, "ms"),
    ]
    return res


# --------------------------------------------------------------------------- 4. ingest


def ingest(run: Run, stack: Stack, res: ScenarioResult, label: str) -> float | None:
    """Ramp the MQTT rate with clients connected; the highest offered rate sustained along
    with every lower one, or None."""
    cfg = run.config
    clients = cfg.ingest_clients
    steps: list[dict[str, Any]] = []
    bridge_pid = stack.bridge.pid
    with run.lab.sio_clients(stack.base_url, clients, measure=min(10, clients)) as group:
        for offered in cfg.rates:
            before = bridge_counter(stack, "factory_bridge_mqtt_messages_total")
            pushes0 = pushes_sent(stack)
            cpu0, t0 = cpu_seconds(bridge_pid), time.monotonic()
            with run.profiler(stack, f"ingest-{offered}-{label}"):
                pub = run.lab.publish(offered, cfg.duration, cfg.ingest_devices)
            cpu = 100 * (cpu_seconds(bridge_pid) - cpu0) / (time.monotonic() - t0)
            processed = _drain(stack, before, pub["sent"])
            # What coalescing buys a browser: how many messages each client had to handle.
            per_client = (pushes_sent(stack) - pushes0) / clients / pub["elapsed"]
            steps.append(
                {"offered": offered, "pub": pub, "processed": processed, "cpu": cpu,
                 "pushes_per_client_s": per_client}
            )  # fmt: skip
            if processed < 0.99 * pub["sent"]:
                break  # the bridge fell behind: higher rates only make it worse
        time.sleep(GRACE_S)
        results = group.finish()
    samples = _samples(results)
    best: float | None = None
    measured = False
    failed_below = False  # "sustained" means this rate and every lower one
    for step in steps:
        pub = step["pub"]
        lat = window(samples, pub["start"], pub["end"])
        if not lat:
            res.details.setdefault("empty_steps", []).append(step["offered"])
            continue
        summary = summarize(lat, pub["rate"])
        measured = True
        kept_up = step["processed"] >= 0.99 * pub["sent"]
        generator_ok = pub["rate"] >= 0.95 * step["offered"]
        ok = kept_up and generator_ok and summary.p99 <= 100
        note = (
            f"bridge took {step['processed']:.0f}/{pub['sent']} msgs, bridge CPU "
            f"{step['cpu']:.0f}%, {step['pushes_per_client_s']:.0f} pushes/s per client"
            f"{'' if generator_ok else ', generator could not keep up'}"
            f"{', SUSTAINED' if ok else ''}"
        )
        case = f"{step['offered']}/s offered, {clients} clients, {label}"
        res.rows.append(Row(case, summary, note))
        # Named by the offered rate, as the ramp's steps are; the row shows what was reached.
        if ok and not failed_below:
            best = max(best or 0.0, float(step["offered"]))
        failed_below = failed_below or not ok
    # Measured but never sustained is a rate of 0, not a missing figure.
    return best if best is not None or not measured else 0.0


# Issue 19, item 1: push latency with 100 clients at every ingest rate (offered msg/s ->
# p50 and p99 limits in ms).
INGEST_LATENCY_GOALS: dict[int, tuple[float, float]] = {
    250: (3, 15), 1000: (3, 15), 2500: (3, 15), 10000: (10, 50), 20000: (10, 50),
}  # fmt: skip


def ingest_latency_targets(res: ScenarioResult, label: str) -> list[Target]:
    targets = []
    for row in res.rows:
        offered = int(row.case.split("/", 1)[0])
        goal = INGEST_LATENCY_GOALS.get(offered)
        if goal is None or not row.case.endswith(label):
            continue
        where = f"push at {offered}/s ingest, {row.case.split(', ')[1]}"
        targets.append(Target(f"{where}: p50", row.summary.p50, "<=", goal[0], "ms"))
        targets.append(Target(f"{where}: p99", row.summary.p99, "<=", goal[1], "ms"))
    return targets


def _drain(stack: Stack, before: float, sent: int, timeout: float = 10) -> float:
    """Messages the bridge took since ``before``, once it has them all or stops taking more."""
    deadline = time.monotonic() + timeout
    last, still = -1.0, 0
    while time.monotonic() < deadline:
        got = bridge_counter(stack, "factory_bridge_mqtt_messages_total") - before
        if got >= sent:
            return got
        still = still + 1 if got == last else 0
        if still >= 5:
            return got
        last = got
        time.sleep(0.2)
    return last


# --------------------------------------------------------------------------- 5. fan-out


def fan_out(run: Run, stack: Stack) -> ScenarioResult:
    cfg = run.config
    res = ScenarioResult("fan_out")
    best: int | None = None
    per_client: float | None = None
    bridge = stack.bridge.pid
    for n in cfg.fanout:
        rss0 = rss(bridge)
        with run.lab.sio_clients(stack.base_url, n) as group:
            rss1 = rss(bridge)
            pub, cpu, receivers = _publish_measured(
                run, stack, group, cfg.fanout_rate, f"fanout-{n}"
            )
            time.sleep(GRACE_S)
            results = group.finish()
        failures = _failures(results)
        summary = summarize(window(_samples(results), pub["start"], pub["end"]), pub["rate"])
        mem = memory_per_client(rss0, rss1, n)
        ok = summary.p99 <= 50 and not any(failures.values())
        note = f"bridge RSS {rss0 / 2**20:.0f} -> {rss1 / 2**20:.0f} MiB"
        note += f", {mem / 1024:.0f} KiB/client, CPU bridge {cpu:.0f}%, receivers {receivers:.0f}%"
        note += f"; {failures}" if any(failures.values()) else ""
        res.rows.append(Row(f"{n} clients, {pub['rate']:.0f}/s", summary, note))
        res.details.setdefault("steps", []).append(
            {"clients": n, "rss_before": rss0, "rss_after": rss1, "bridge_cpu": cpu,
             "receivers_cpu": receivers, **failures}
        )  # fmt: skip
        per_client = mem  # memory does not depend on meeting the latency goal
        if ok:
            best = n
        if any(failures.values()) or summary.p99 > 1000:
            break  # past the point where more clients tell anything
    res.figures["max_clients_p99_under_50ms"] = best if best is not None or not res.rows else 0
    res.figures["bridge_kib_per_client_at_largest"] = (
        per_client / 1024 if per_client is not None else None
    )
    most = res.figures["max_clients_p99_under_50ms"]  # 0, not "not measured", when none met it
    res.targets.append(Target("clients at p99 <= 50 ms", most, ">=", 1000, "clients"))
    # Issue 19, item 3: 2,000 dashboards from one bridge process.
    at_2000 = next((r.summary.p99 for r in res.rows if r.case.startswith("2000 clients")), None)
    if at_2000 is not None:
        res.targets.append(Target("p99 at 2000 clients", at_2000, "<=", 50, "ms"))
    return res


# --------------------------------------------------------------------------- 6. polling


def polling(run: Run, stack: Stack, push_p50_ms: float | None) -> ScenarioResult:
    cfg = run.config
    res = ScenarioResult("polling")
    with run.lab.pollers(stack.base_url, cfg.pollers, cfg.poll_interval) as group:
        pub = run.lab.publish(10, cfg.poll_duration, 1, log_sent=True)
        time.sleep(cfg.poll_interval + GRACE_S)
        [polled] = group.finish()
    sent = [(int(seq), float(at)) for seq, at in pub["sent_log"]]
    stale: list[float] = []
    for poller in range(cfg.pollers):
        # Each poller is one client: a value one poller saw early is still stale for another.
        polls = [(float(at), int(seq)) for i, at, seq in polled["polls"] if i == poller]
        stale += staleness(sent, polls)
    poll_rate = len(polled["polls"]) / (cfg.poll_duration + cfg.poll_interval)
    case = f"HTTP poll every {cfg.poll_interval:g} s, {cfg.pollers} pollers, staleness"
    summary = summarize(stale, poll_rate)
    res.rows.append(Row(case, summary, f"{polled['failed']} failed polls"))
    res.figures["staleness_p50_ms"] = summary.p50
    res.figures["staleness_p50_over_push_p50"] = ratio(summary.p50, push_p50_ms)
    return res
