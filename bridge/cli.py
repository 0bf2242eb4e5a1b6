"""``factory-bridge``: run the bridge until SIGTERM/SIGINT."""

from gevent import monkey

# Before anything else is imported: paho's thread and every socket must be gevent's.
monkey.patch_all()

import argparse  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402

from bridge.app import create_app  # noqa: E402
from bridge.server import PortInUseError, make_server  # noqa: E402
from bridge.settings import SettingsError, load_settings  # noqa: E402

log = logging.getLogger("bridge")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="factory-bridge",
        description="Serve the plant's MQTT state to browsers over Socket.IO and HTTP.",
        epilog="Settings come from FACTORY_* environment variables; see docs/configuration.md.",
    )
    parser.add_argument("--env-file", help="read FACTORY_* settings from this file too")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.env_file)
    except SettingsError as exc:
        print(f"factory-bridge: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    bridge = create_app(settings)
    try:
        server = make_server(bridge.app, settings.http_host, settings.http_port)
    except PortInUseError as exc:
        print(f"factory-bridge: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"factory-bridge: cannot listen on {settings.http_host}:{settings.http_port}: "
              f"{exc.strerror or exc}", file=sys.stderr)  # fmt: skip
        return 1
    for sig in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(sig, server.stop)
    bridge.start()
    log.info(
        "bridge %s on http://%s:%d, broker %s",
        bridge.mqtt.client_id,
        settings.http_host,
        settings.http_port,
        settings.broker,
    )
    try:
        server.serve_forever()
    finally:
        bridge.stop()
        log.info("bridge stopped")
    return 0
