"""CPU use of the gateway on the simulated benchmark board (gateway/examples/bench.toml).

Target: under 5 % of one core at ~50 sensor updates/s. Not a test (timing thresholds do not
belong in tests); run by hand:  .venv/bin/python tests/gateway/bench_cpu.py [--seconds 20]
Prints the published update rate and the gateway process's CPU (user+sys delta / wall).
With ``--py-spy out.txt`` py-spy samples the gateway meanwhile (collapsed stacks, for
flame graph tools; needs ptrace rights, e.g. root or kernel.yama.ptrace_scope=0).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from devtools.local_broker import LocalBroker  # noqa: E402
from devtools.mqtt_probe import MqttProbe  # noqa: E402
from devtools.procs import ManagedProcess, python_module  # noqa: E402
from factory_core.contract import DeviceStateTopic, Topics  # noqa: E402

GW = "bench1"


def py_spy(pid: int, seconds: float, out: Path, log: Path) -> ManagedProcess:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    argv = [exe, "record", "--pid", str(pid), "--duration", str(int(seconds))]
    argv += ["--rate", "200", "--nonblocking", "--threads", "--format", "raw", "-o", str(out)]
    return ManagedProcess("py-spy", argv, log).start()


def measure(seconds: float, warmup: float, extra_args: list[str], profile: Path | None) -> None:
    topics = Topics()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with LocalBroker(work / "broker") as broker:
            probe = MqttProbe(broker.url, [topics.gateway_filter(GW)]).start()
            config = REPO / "gateway" / "examples" / "bench.toml"
            proc = ManagedProcess(
                "gateway",
                python_module("gateway", "--config", str(config), *extra_args),
                work / "gateway.log",
                env={"FACTORY_MQTT_URL": broker.url, "FACTORY_STATE_DIR": str(work / "state")},
                cwd=REPO,
            ).start()
            try:
                ps = psutil.Process(proc.pid)
                time.sleep(warmup)  # start-up (imports, config, connect) is not steady state
                probe.clear()
                spy = py_spy(proc.pid, seconds, profile, work / "py-spy.log") if profile else None
                t0, c0 = time.monotonic(), ps.cpu_times()
                time.sleep(seconds)
                t1, c1 = time.monotonic(), ps.cpu_times()
                if spy is not None:
                    assert spy.proc is not None
                    spy.proc.wait(timeout=30)
                    print(spy.log()[-500:])
                updates = sum(
                    isinstance(topics.parse(m.topic), DeviceStateTopic) for m in probe.messages
                )
                rss = ps.memory_info().rss
            finally:
                proc.stop()
                probe.stop()
    wall = t1 - t0
    user, system = c1.user - c0.user, c1.system - c0.system
    print(f"wall {wall:.1f} s, {updates} sensor updates = {updates / wall:.1f}/s")
    print(
        f"gateway CPU: user {user:.2f} s + sys {system:.2f} s = "
        f"{100 * (user + system) / wall:.2f} % of one core; RSS {rss / 2**20:.1f} MiB"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--py-spy", type=Path, default=None, metavar="OUT", help="profile to OUT")
    p.add_argument("extra", nargs="*", help="extra gateway arguments (after --)")
    args = p.parse_args()
    measure(args.seconds, args.warmup, args.extra, args.py_spy)


if __name__ == "__main__":
    main()
