"""``python -m bench``: start a real system, run the scenarios, print the table, write JSON.

Order matters: the floor (raw MQTT) is measured first on the same broker, then the bridge on
the shipped settings (the 50 ms coalescing clock under load), then a second bridge on
``--clock-ms`` (default 0: coalescing driven by each client's transport alone, issue 19's
design), so every run carries its own comparison.
A scenario that fails is reported with its error; the others still run.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import alternatives as alt
from bench import scenarios as sc
from bench.config import BenchConfig, from_args, parser
from bench.edge_hop import edge_hop
from bench.lab import Lab
from bench.plant_screen import plant_screen
from bench.report import ScenarioResult, Target, document, render, write
from devtools.local_broker import LocalBroker, mosquitto_binary
from devtools.stack import Stack

_ON = "shipped"
_OFF = "clock"  # the comparison bridge: "<clock_ms> ms clock", or "transport-driven" at 0


def machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    try:
        answer = subprocess.run(
            [mosquitto_binary(), "-h"], capture_output=True, text=True, timeout=5, check=False
        )
        mosquitto = (answer.stdout or answer.stderr).splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        mosquitto = "unknown"
    return {
        "nproc": os.cpu_count(),
        "cpu": model or platform.processor(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "mosquitto": mosquitto,
        "loadavg_at_start": list(os.getloadavg()),
    }


def attempt(name: str, fn: Callable[[], ScenarioResult]) -> ScenarioResult:
    print(f"[bench] {name} ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        result = fn()
    except Exception as exc:
        traceback.print_exc()
        result = ScenarioResult(name, error=f"{type(exc).__name__}: {exc}")
    print(f"[bench] {name} done in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return result


def attempt_into(res: ScenarioResult, fn: Callable[[], None]) -> None:
    """Run a part of a scenario; its failure becomes the scenario's error."""
    try:
        fn()
    except Exception as exc:
        traceback.print_exc()
        res.error = (res.error + "; " if res.error else "") + f"{type(exc).__name__}: {exc}"


def run_all(cfg: BenchConfig, workdir: Path) -> tuple[list[ScenarioResult], float | None]:
    wanted = set(cfg.scenarios)
    done: dict[str, ScenarioResult] = {}
    with LocalBroker(workdir / "broker") as broker:
        run = sc.Run(cfg, Lab(workdir / "load", broker.url, cfg.clients_per_process))
        if "raw_mqtt" in wanted:
            done["raw_mqtt"] = attempt("raw_mqtt", lambda: sc.raw_mqtt(run))
        if "gateway_cpu" in wanted:
            done["gateway_cpu"] = attempt("gateway_cpu", lambda: sc.gateway_cpu(run, broker.url))
        push = ScenarioResult("sensor_push")
        ingest = ScenarioResult("ingest")
        on_stack = wanted & {
            "sensor_push", "relay", "relay_under_load", "ingest", "fan_out", "polling"
        }  # fmt: skip
        if on_stack:
            _shipped(run, broker, wanted, done, push, ingest)
        if wanted & {"sensor_push", "ingest"}:
            _clock(run, broker, wanted, push, ingest)
        if "sensor_push" in wanted:
            sc.push_targets(push, run.floor_ms)
            done["sensor_push"] = push
        if "ingest" in wanted:
            done["ingest"] = ingest
        designs: dict[str, Callable[..., Any]] = {
            "mqtt_ws": alt.mqtt_over_websocket,
            "seed": alt.seed_design,
        }
        for name, design in designs.items():
            if name in wanted:
                done[name] = attempt(name, _alternative(run, broker, design, name))
        if "plant_screen" in wanted:
            done["plant_screen"] = attempt("plant_screen", lambda: _plant_screen(run))
    if "edge_hop" in wanted:
        done["edge_hop"] = attempt("edge_hop", lambda: _edge_hop(cfg, workdir))
    if {"sensor_push", "ingest", "fan_out"} <= done.keys() and done.keys() & {"mqtt_ws", "seed"}:
        theirs = [done[n] for n in ("mqtt_ws", "seed") if n in done]
        clients = _compared_clients(cfg)
        done["versus"] = alt.versus(
            done["sensor_push"], done["ingest"], done["fan_out"], theirs, clients
        )
    order = [n for n in ("raw_mqtt", "gateway_cpu", "sensor_push", "relay", "relay_under_load",
                         "ingest", "fan_out", "polling", "mqtt_ws", "seed", "versus",
                         "plant_screen", "edge_hop")
             if n in done]  # fmt: skip
    return [done[n] for n in order], run.floor_ms


def _compared_clients(cfg: BenchConfig) -> int:
    """The push case compared across designs: 10 clients (the issue's), else the largest."""
    return 10 if 10 in cfg.clients else max(cfg.clients)


def _alternative(
    run: sc.Run, broker: LocalBroker, design: Callable[..., Any], name: str
) -> Callable[[], ScenarioResult]:
    def measure() -> ScenarioResult:
        with design(run, broker) as d:
            return alt.measure(run, d, name)

    return measure


# The per-user limits protect a plant from a runaway script; the benchmark is that script on
# purpose, and measures latency, not the limiter.
UNLIMITED = {
    "FACTORY_COMMAND_RATE": "100000",
    "FACTORY_COMMAND_BURST": "10000",
    "FACTORY_HTTP_RATE_LIMIT": "1000000/minute",
}


def _stack(run: sc.Run, broker: LocalBroker, name: str, bridge_env: dict[str, str]) -> Stack:
    env = {**UNLIMITED, **bridge_env}
    stack = Stack(run.lab.workdir.parent / name, broker=broker, bridge_env=env)
    run.lab.token = stack.api_token
    return stack


def _plant_screen(run: sc.Run) -> ScenarioResult:
    cfg = run.config
    return plant_screen(
        run.lab.workdir.parent,
        UNLIMITED,
        cfg.plant_gateways,
        cfg.plant_devices,
        cfg.plant_relays,
        cfg.plant_rate,
        cfg.duration,
    )


def _edge_hop(cfg: BenchConfig, workdir: Path) -> ScenarioResult:
    """On brokers of its own (edge and central), after the one-broker scenarios."""
    return edge_hop(
        workdir,
        UNLIMITED,
        min(cfg.clients),
        cfg.push_rate,
        cfg.duration,
        cfg.push_devices,
        cfg.clients_per_process,
    )


def _shipped(
    run: sc.Run,
    broker: LocalBroker,
    wanted: set[str],
    done: dict[str, ScenarioResult],
    push: ScenarioResult,
    ingest: ScenarioResult,
) -> None:
    stack = _stack(run, broker, "stack-shipped", {})
    try:
        stack.start()
    except Exception as exc:
        stack.stop()
        error = f"the system did not start: {type(exc).__name__}: {str(exc)[:2000]}"
        for name in wanted & {"relay", "relay_under_load", "fan_out", "polling"}:
            done[name] = ScenarioResult(name, error=error)
        for res in (push, ingest):
            res.error = error
        return
    try:
        if "sensor_push" in wanted:
            for n in run.config.clients:
                attempt_into(push, _push(run, stack, push, n, _ON))
        if "relay" in wanted:
            done["relay"] = attempt("relay", lambda: sc.relay(run, stack))
        if "relay_under_load" in wanted:
            load = run.config.relay_load_rate
            done["relay_under_load"] = attempt(
                "relay_under_load", lambda: sc.relay(run, stack, under_load=load)
            )
        if "ingest" in wanted:
            attempt_into(ingest, lambda: _ingest(run, stack, ingest, _ON, "max_rate_shipped"))
        if "fan_out" in wanted:
            done["fan_out"] = attempt("fan_out", lambda: sc.fan_out(run, stack))
        if "polling" in wanted:
            on_rows = [r for r in push.rows if _ON in r.case]
            p50 = on_rows[0].summary.p50 if on_rows else None
            done["polling"] = attempt("polling", lambda: sc.polling(run, stack, p50))
    finally:
        stack.stop()


def _clock(
    run: sc.Run,
    broker: LocalBroker,
    wanted: set[str],
    push: ScenarioResult,
    ingest: ScenarioResult,
) -> None:
    clock = str(run.config.clock_ms)
    fixed = {"FACTORY_COALESCE_MS": clock, "FACTORY_COALESCE_MAX_MS": clock}
    stack = _stack(run, broker, "stack-clock", {**fixed, "FACTORY_COALESCE_BURST": "10"})
    label = f"{run.config.clock_ms} ms {_OFF}" if run.config.clock_ms else "transport-driven"
    try:
        stack.start()
    except Exception as exc:
        stack.stop()
        for res in (push, ingest):
            res.error = f"the system on the {label} did not start: {exc}"[:2000]
        return
    try:
        if "sensor_push" in wanted:
            n = max((c for c in run.config.clients if c <= 10), default=run.config.clients[0])
            attempt_into(push, _push(run, stack, push, n, label))
        if "ingest" in wanted:
            attempt_into(ingest, lambda: _ingest(run, stack, ingest, label, "max_rate_clock"))
    finally:
        stack.stop()


def _push(
    run: sc.Run, stack: Stack, res: ScenarioResult, clients: int, label: str
) -> Callable[[], None]:
    def measure() -> None:
        print(f"[bench] sensor_push, {clients} clients, {label} ...", file=sys.stderr, flush=True)
        res.rows.append(sc.push_case(run, stack, clients, label))

    return measure


def _ingest(run: sc.Run, stack: Stack, res: ScenarioResult, label: str, figure: str) -> None:
    print(f"[bench] ingest, {label} ...", file=sys.stderr, flush=True)
    best = sc.ingest(run, stack, res, label)
    res.figures[figure] = best
    if label == _ON:
        res.targets.append(
            Target(
                f"msg/s sustained, {run.config.ingest_clients} clients, p99 <= 100 ms",
                best,
                ">=",
                20000,
                "msg/s",
            )
        )
        res.targets += sc.ingest_latency_targets(res, _ON)
    else:
        on = res.figures.get("max_rate_shipped")
        res.figures["shipped_over_clock_x"] = on / best if on and best else None


def main(argv: list[str] | None = None) -> int:
    cfg = from_args(parser().parse_args(argv))
    now = datetime.now(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    workdir = cfg.out_dir / f"{stamp}-logs"
    info = machine()
    started = time.monotonic()
    results, floor = run_all(cfg, workdir)
    doc = document(results, floor, info, cfg.as_dict(), now.isoformat(), time.monotonic() - started)
    path = write(doc, cfg.out_dir, stamp)
    print(render(results, floor))
    print(f"\nfloor = raw MQTT p50; logs in {workdir}; results in {path}")
    return 1 if any(r.error for r in results) else 0
