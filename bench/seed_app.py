"""The seed's design, as a reference for the bench (issue 19, item 4): not part of the product.

What the project began as, and what a user would write first: a Flask-SocketIO app (gevent)
whose paho-mqtt client, run by ``loop_start``, emits every MQTT device state to every
connected client as it arrives — no store of versions, no coalescing, no batching. A client
gets the devices it has not seen yet as ``state`` after connecting (so bench/receivers.mjs
knows when it is ready) and every change as ``devices_update`` ``{"devices": {key: state}}``.

    python -m bench.seed_app --url mqtt://user:pass@127.0.0.1:1883 --port 8100
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

import paho.mqtt.client as paho  # noqa: E402
from flask import Flask, request  # noqa: E402
from flask_socketio import SocketIO  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from factory_core.settings import parse_mqtt_url  # noqa: E402


def create(url: str, prefix: str) -> tuple[Flask, SocketIO, paho.Client]:
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode="gevent", cors_allowed_origins="*", always_connect=True)
    devices: dict[str, Any] = {}

    def on_message(_client: paho.Client, _userdata: Any, msg: paho.MQTTMessage) -> None:
        parts = msg.topic.split("/")  # <prefix>/<gateway>/devices/<device>/state
        key = f"{parts[-4]}/{parts[-2]}"
        try:
            state = json.loads(msg.payload)
        except ValueError:
            return
        devices[key] = state
        socketio.emit("devices_update", {"devices": {key: state}})

    def on_connect(client: paho.Client, *_args: Any) -> None:
        client.subscribe(f"{prefix}/+/devices/+/state", qos=0)

    def connected(_auth: Any = None) -> None:
        socketio.emit("state", {"devices": dict(devices)}, to=request.sid)  # type: ignore[attr-defined]

    def request_devices(*_args: Any) -> dict[str, Any]:
        return {"devices": dict(devices)}

    socketio.on_event("connect", connected)
    socketio.on_event("request_devices", request_devices)

    @app.get("/health")
    def health() -> str:
        return "ok"

    broker = parse_mqtt_url(url)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-seed-app")
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    client.on_message = on_message
    client.on_connect = on_connect
    client.connect(broker.host, broker.port)
    return app, socketio, client


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.seed_app", description=__doc__)
    p.add_argument("--url", required=True, help="mqtt://user:pass@host:port")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--prefix", default="factory")
    args = p.parse_args(argv)
    app, socketio, client = create(args.url, args.prefix)
    client.loop_start()
    socketio.run(app, host="127.0.0.1", port=args.port, log_output=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
