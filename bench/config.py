"""What one benchmark run measures and how big: the CLI flags, resolved (pure)."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Final

SCENARIOS: Final = (
    "raw_mqtt",
    "gateway_cpu",
    "sensor_push",
    "relay",
    "relay_under_load",
    "ingest",
    "fan_out",
    "polling",
    "mqtt_ws",
    "seed",
    "plant_screen",
    "edge_hop",
)
RESULTS_DIR: Final = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class BenchConfig:
    scenarios: tuple[str, ...] = SCENARIOS
    duration: float = 8.0  # seconds of load per measured step
    push_rate: float = 100.0  # sensor updates/s in the push and raw scenarios
    push_devices: int = 10
    clients: tuple[int, ...] = (1, 10, 100)
    relay_clients: int = 10
    relay_commands: int = 60
    relay_load_rate: float = 10000.0  # MQTT msg/s streaming in during relay_under_load
    # A fixed coalescing clock for the comparison bridge (FACTORY_COALESCE_MS and _MAX_MS, with
    # the burst of 10 it shipped with): 50 is the setting shipped before issue 19, so every run
    # carries its before and after; 0 is coalescing driven by each client's transport alone.
    clock_ms: int = 50
    ingest_clients: int = 100
    ingest_devices: int = 100
    rates: tuple[int, ...] = (250, 1000, 2500, 5000, 10000, 20000, 30000)
    fanout: tuple[int, ...] = (100, 250, 500, 1000, 1500, 2000)
    fanout_rate: float = 10.0
    clients_per_process: int = 500  # 1,000 clients over two Node processes, one per core
    poll_interval: float = 5.0
    pollers: int = 5
    poll_duration: float = 30.0
    gateway_rate: float = 50.0
    out_dir: Path = RESULTS_DIR
    profile: bool = False  # py-spy the bridge during each measured step
    # plant_screen: a whole plant in Chromium (Trends 3)
    plant_gateways: int = 100
    plant_devices: int = 50
    plant_relays: int = 10
    plant_rate: float = 200.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["out_dir"] = str(self.out_dir)
        return data


# Proves that every scenario runs (tests/bench runs it in `make test`): one short step each.
QUICK: Final = BenchConfig(
    duration=1.0,
    clients=(1, 5),
    relay_clients=3,
    relay_commands=10,
    relay_load_rate=500.0,
    ingest_clients=5,
    ingest_devices=20,
    rates=(500,),
    fanout=(10,),
    clients_per_process=10,
    poll_interval=1.0,
    pollers=2,
    poll_duration=3.0,
    plant_gateways=5,
    plant_devices=10,
    plant_relays=2,
    plant_rate=20.0,
)


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _scenarios(text: str) -> tuple[str, ...]:
    names = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown scenario(s) {', '.join(unknown) or repr(text)}; "
            f"choose from {', '.join(SCENARIOS)}"
        )
    return names


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Factory IoT benchmarks: starts its own Mosquitto, gateway and bridge, "
        "and load generators in separate processes; prints one table and writes JSON to "
        "bench/results/.",
    )
    p.add_argument("--quick", action="store_true", help="tiny sizes: proves the suite works")
    p.add_argument("--scenarios", type=_scenarios, help=f"subset of {','.join(SCENARIOS)}")
    p.add_argument("--duration", type=_positive, help="seconds of load per measured step")
    p.add_argument("--clients", type=_ints, help="sensor push client counts, e.g. 1,10,100")
    p.add_argument("--rates", type=_ints, help="ingest ramp, MQTT messages/s, e.g. 1000,5000")
    p.add_argument("--ingest-clients", type=int, help="clients connected during ingest")
    p.add_argument("--fanout", type=_ints, help="fan-out ramp, client counts, e.g. 250,500")
    p.add_argument("--push-rate", type=_positive, help="sensor updates/s for push and raw")
    p.add_argument("--relay-commands", type=int, help="relay commands to time")
    p.add_argument("--poll-interval", type=_positive, help="seconds between HTTP polls")
    p.add_argument("--poll-duration", type=_positive, help="seconds of polling")
    p.add_argument("--clients-per-process", type=int, help="Socket.IO clients per process")
    p.add_argument(
        "--clock-ms",
        type=int,
        help="fixed coalescing clock of the comparison bridge (default 50: the setting shipped "
        "before issue 19; 0: transport-driven only)",
    )
    p.add_argument("--out-dir", type=Path, help="where results go (default bench/results)")
    p.add_argument(
        "--profile", action="store_true", default=None, help="py-spy the bridge in each step"
    )
    return p


def from_args(args: argparse.Namespace) -> BenchConfig:
    base = QUICK if args.quick else BenchConfig()
    overrides: dict[str, Any] = {}
    for name in (
        "scenarios",
        "duration",
        "clients",
        "rates",
        "fanout",
        "ingest_clients",
        "push_rate",
        "relay_commands",
        "poll_interval",
        "poll_duration",
        "clients_per_process",
        "clock_ms",
        "out_dir",
        "profile",
    ):
        value = getattr(args, name)
        if value is not None:
            overrides[name] = value
    return replace(base, **overrides)
