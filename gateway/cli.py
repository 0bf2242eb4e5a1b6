"""``factory-gateway``: run the gateway until SIGTERM/SIGINT.

Exit codes: 0 clean stop, 1 hardware could not be set up, 2 configuration errors.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from factory_core.logs import LOG_FORMATS, log_format_from_env, setup_logging
from gateway.config import DEMO_CONFIG, ConfigError, GatewayConfig, load_config
from gateway.hardware.base import HardwareError
from gateway.hardware.factory import make_backend
from gateway.sdnotify import Notifier
from gateway.service import Gateway

log = logging.getLogger("gateway")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="factory-gateway",
        description="Factory IoT gateway: sensors, inputs and relays on MQTT.",
        epilog="Environment: FACTORY_MQTT_URL (mqtt://user:pass@host:port), "
        "FACTORY_TOPIC_PREFIX, FACTORY_GATEWAY_ID, FACTORY_STATE_DIR and any other top-level "
        "config key as FACTORY_<KEY> override the file; FACTORY_LOG_FORMAT=json is "
        "--log-format json.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", type=Path, metavar="FILE", help="gateway TOML config")
    source.add_argument(
        "--simulate", action="store_true", help=f"the simulated demo board ({DEMO_CONFIG.name})"
    )
    p.add_argument("--check", action="store_true", help="validate the config and exit")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=None,
        help="text (default) or json: one object per line (env FACTORY_LOG_FORMAT)",
    )
    return p


def load(args: argparse.Namespace) -> GatewayConfig:
    return load_config(DEMO_CONFIG if args.simulate else args.config)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        log_format = args.log_format or log_format_from_env()
    except ValueError as exc:
        parser.error(str(exc))
    setup_logging(args.log_level, log_format)
    try:
        config = load(args)
    except ConfigError as exc:
        print(f"factory-gateway: configuration errors in {exc.source}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{config.gateway_id}: configuration OK")
        return 0

    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        backend = make_backend(config.hardware)
        gateway = Gateway(config, backend, notifier=Notifier())
        gateway.start()
    except (HardwareError, OSError) as exc:
        print(f"factory-gateway: cannot start: {exc}", file=sys.stderr)
        return 1
    try:
        while not stop.wait(1):
            pass
    finally:
        gateway.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
