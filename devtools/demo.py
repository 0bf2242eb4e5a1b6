"""`make demo`: Mosquitto with the project's config, a simulated gateway and the bridge.

Runs in the foreground; Ctrl-C (or SIGTERM) stops all three, the gateway first so that it
publishes `offline` and drives its relays to their safe state.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
import urllib.request
from pathlib import Path
from types import FrameType

from bridge.security.accounts import Accounts
from bridge.security.private_files import write_atomic
from devtools.local_broker import (
    DEMO_BRIDGE,
    DEMO_GATEWAY,
    DEMO_READER,
    REPO,
    BrokerError,
    LocalBroker,
    demo_credentials,
    port_is_free,
)
from devtools.procs import ManagedProcess, ProcessError, python_module

DEMO_OPERATOR = "operator"


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        sys.exit(f"{name}={raw!r} is not a TCP port (1-65535)")
    return int(raw)


LOGIN_FILE = "demo-login.txt"


def demo_login(bridge_state: Path) -> tuple[str, str]:
    """The dashboard's demo operator, created with a random password on the first run."""
    saved = bridge_state / LOGIN_FILE
    if saved.is_file():
        name, _, password = saved.read_text().strip().partition(":")
        return name, password
    accounts = Accounts(bridge_state)
    password = secrets.token_urlsafe(12)
    if accounts.user(DEMO_OPERATOR) is not None:
        accounts.remove_user(DEMO_OPERATOR)
    accounts.add_user(DEMO_OPERATOR, "operator", password)
    write_atomic(saved, f"{DEMO_OPERATOR}:{password}\n".encode())
    return DEMO_OPERATOR, password


def main() -> int:
    mqtt_port = _port("FACTORY_MQTT_PORT", 1883)
    http_port = _port("FACTORY_HTTP_PORT", 5000)
    taken = [
        f"{what} port {port} is already in use (set {var} to use another)"
        for what, port, var in (
            ("MQTT", mqtt_port, "FACTORY_MQTT_PORT"),
            ("HTTP", http_port, "FACTORY_HTTP_PORT"),
        )
        if not port_is_free(port)
    ]
    if taken:
        print("Cannot start the demo:\n  " + "\n  ".join(taken), file=sys.stderr)
        return 1

    state = REPO / ".demo"
    state.mkdir(exist_ok=True)
    # Each service logs in as its own broker user; the passwords are generated on the first
    # run and kept in .demo/credentials.env.
    plant, passwords = demo_credentials(state)
    broker = LocalBroker(
        state / "broker",
        port=mqtt_port,
        plant=plant,
        passwords=passwords,
        admin=None,
        bind_client_ids=True,
    )
    env = {
        "FACTORY_HTTP_HOST": os.environ.get("FACTORY_HTTP_HOST", "127.0.0.1"),
        "FACTORY_HTTP_PORT": str(http_port),
        "FACTORY_STATE_DIR": str(state / "gateway"),
    }
    gateway = ManagedProcess(
        "gateway",
        python_module("gateway", "--simulate"),
        state / "gateway.log",
        {**env, "FACTORY_MQTT_URL": broker.url_for(DEMO_GATEWAY)},
    )
    bridge_state = state / "bridge"
    login = demo_login(bridge_state)
    bridge = ManagedProcess(
        "bridge",
        python_module("bridge"),
        state / "bridge.log",
        {
            **env,
            "FACTORY_MQTT_URL": broker.url_for(DEMO_BRIDGE),
            "FACTORY_STATE_DIR": str(bridge_state),
        },
    )

    stopping = False

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        broker.start()
        print(f"Mosquitto  mqtt://127.0.0.1:{mqtt_port}   (log: {broker.log_path})")
        print(
            f"  read-only login: mosquitto_sub -h 127.0.0.1 -p {mqtt_port} -u {DEMO_READER}"
            f" -P '{passwords[DEMO_READER]}' -t 'factory/#' -v"
            f"\n  (all demo broker passwords: {state / 'credentials.env'})"
        )
        gateway.start()
        bridge.start()
        bridge.wait_until(
            lambda: (
                urllib.request.urlopen(f"http://127.0.0.1:{http_port}/api/health").status == 200
            ),
            timeout=30,
            what="HTTP health",
        )
        print(f"Gateway    simulated board 'line1'         (log: {gateway.log_path})")
        print(f"Bridge                                     (log: {bridge.log_path})")
        print(
            f"\n  Dashboard: http://127.0.0.1:{http_port}/"
            f"\n  Login:     {login[0]} / {login[1]}   (kept in {bridge_state / LOGIN_FILE})"
            "\n\nPress Ctrl-C to stop."
        )
        while not stopping:
            for proc in (gateway, bridge):
                if not proc.running():
                    print(f"{proc.name} stopped unexpectedly:\n{proc.log()[-2000:]}")
                    stopping = True
            time.sleep(0.2)
    except (BrokerError, ProcessError) as exc:
        print(f"Demo failed to start: {exc}", file=sys.stderr)
        return 1
    finally:
        print("Stopping…")
        gateway.stop()
        bridge.stop()
        broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
