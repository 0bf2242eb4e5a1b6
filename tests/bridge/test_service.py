"""The bridge as a service: start-up errors, TCP_NODELAY, CORS, slow clients, the dashboard."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import requests
from bridge_helpers import FakeGateway

from devtools.local_broker import REPO, free_port
from devtools.waits import wait_until


def run_bridge(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_invalid_settings_are_all_reported_at_once(tmp_path: Path):
    env_file = tmp_path / "bridge.env"
    env_file.write_text("FACTORY_COALESCE_MS=-5\n")
    result = run_bridge(
        {
            "FACTORY_HTTP_PORT": "http",
            "FACTORY_MQTT_URL": "tcp://broker",
            "FACTORY_CORS_ORIGINS": "example.com",
        },
        "--env-file",
        str(env_file),
    )
    assert result.returncode == 2
    for named in ("FACTORY_HTTP_PORT='http'", "FACTORY_MQTT_URL='tcp://broker'",
                  "FACTORY_CORS_ORIGINS='example.com'", "FACTORY_COALESCE_MS='-5'"):  # fmt: skip
        assert named in result.stderr
    assert "Traceback" not in result.stderr
    missing = run_bridge({"FACTORY_ENV_FILE": str(tmp_path / "nope.env")})
    assert missing.returncode == 2 and "nope.env" in missing.stderr


def test_taken_http_port_is_one_plain_line(broker, tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_bridge(
            {
                "FACTORY_MQTT_URL": broker.url,
                "FACTORY_HTTP_PORT": str(port),
                "FACTORY_STATE_DIR": str(tmp_path),
            }
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"factory-bridge: HTTP port 127.0.0.1:{port} is already in use (set FACTORY_HTTP_PORT)"
    ]


def test_accepted_connections_have_tcp_nodelay():
    # In a child process: gevent's monkey-patching must not leak into pytest.
    script = textwrap.dedent(
        """
        from gevent import monkey; monkey.patch_all()
        import socket, sys
        from bridge.server import make_server

        def app(environ, start_response):
            # The socket simple-websocket takes over for a WebSocket, found the same way.
            sock = environ["wsgi.input"].rfile.raw._sock
            flag = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [str(flag).encode()]

        server = make_server(app, "127.0.0.1", int(sys.argv[1]))
        server.serve_forever()
        """
    )
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", script, str(port)], cwd=REPO)
    try:
        answer = wait_until(lambda: _get_or_none(f"http://127.0.0.1:{port}/"), what="server up")
        assert answer.text == "1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _get_or_none(url: str) -> requests.Response | None:
    try:
        return requests.get(url, timeout=2)
    except requests.ConnectionError:
        return None


def test_websocket_compression_offered_by_browsers_is_declined(bridges):
    bridge = bridges()
    port = int(bridge.url.rsplit(":", 1)[1])
    handshake = (
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(handshake.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            assert chunk, f"connection closed during the handshake: {answer!r}"
            answer += chunk
    head = answer.split(b"\r\n\r\n")[0].decode().lower()
    assert head.startswith("http/1.1 101")
    assert "sec-websocket-extensions" not in head


def test_cors_allowlist_and_dashboard_files(bridges, tmp_path: Path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<h1>plant</h1>")
    (dist / "assets" / "app.js").write_text("console.log(1)")
    bridge = bridges(FACTORY_CORS_ORIGINS="http://ops.example", FACTORY_WEB_DIST=str(dist))
    allowed = bridge.get("/api/devices", headers={"Origin": "http://ops.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://ops.example"
    other = bridge.get("/api/devices", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert bridge.get("/").text == "<h1>plant</h1>"
    assert bridge.get("/assets/app.js").text == "console.log(1)"
    assert bridge.get("/assets/missing.js").status_code == 404


def test_without_a_build_the_root_says_run_make_and_the_api_works(bridges, tmp_path: Path):
    bridge = bridges(FACTORY_WEB_DIST=str(tmp_path / "nowhere"))
    root = bridge.get("/")
    assert root.status_code == 503 and "run `make`" in root.text
    assert root.headers["Content-Type"].startswith("text/plain")
    assert bridge.get("/api/state").status_code == 200


def test_a_client_that_stops_reading_is_disconnected(bridges, gateway: FakeGateway):
    bridge = bridges(FACTORY_CLIENT_STUCK_S="1", FACTORY_COALESCE_MS="0")
    base = f"{bridge.url}/socket.io/"
    # A raw Engine.IO polling client: open a session, join the namespace, then never poll.
    opened = requests.get(base, params={"EIO": "4", "transport": "polling"}, timeout=10)
    sid = opened.text[opened.text.index('"sid":"') + 7 :].split('"')[0]
    joined = requests.post(
        base,
        params={"EIO": "4", "transport": "polling", "sid": sid},
        data="40" + json.dumps({"token": bridge.tokens["viewer"]}),
        timeout=10,
    )
    assert joined.text == "OK"
    wait_until(lambda: bridge.metric("factory_bridge_clients_connected") == 1)
    for value in range(30):
        gateway.publish_device("temperature", value)
        time.sleep(0.05)
        if bridge.metric("factory_bridge_clients_disconnected_stuck_total") == 1:
            break
    wait_until(lambda: bridge.metric("factory_bridge_clients_disconnected_stuck_total") == 1)
    assert bridge.metric("factory_bridge_clients_connected") == 0
    assert "has not read" in bridge.proc.log()


def test_a_client_with_a_packet_still_queued_gets_the_next_push_as_soon_as_it_drains(
    bridges, gateway: FakeGateway
):
    """The confirming push must not wait behind an acknowledgement still queued for the
    client longer than it takes the client to read it (it once waited a whole coalescing
    interval: here, 10 s). A client is written to only when its queue is empty; the moment
    it has read, what arrived meanwhile goes out."""
    bridge = bridges(FACTORY_COALESCE_MS="10000")
    base = f"{bridge.url}/socket.io/"
    opened = requests.get(base, params={"EIO": "4", "transport": "polling"}, timeout=10)
    sid = opened.text[opened.text.index('"sid":"') + 7 :].split('"')[0]
    params = {"EIO": "4", "transport": "polling", "sid": sid}
    joined = requests.post(
        base, params=params, data="40" + json.dumps({"token": bridge.tokens["viewer"]}), timeout=10
    )
    assert joined.text == "OK"
    received = ""
    while '"state"' not in received:
        received += requests.get(base, params=params, timeout=40).text
    # A request's answers (acknowledgement and event) wait in its queue, unread, while the
    # change comes in; everything reaches the client as fast as it reads, never after the
    # 10 s interval.
    assert requests.post(base, params=params, data='421["request_devices"]', timeout=10).ok
    gateway.publish_device("temperature", 71.5)
    started = time.monotonic()
    received = ""
    while "71.5" not in received:
        received += requests.get(base, params=params, timeout=40).text
    assert "431[" in received and '"devices_update"' in received, received
    assert time.monotonic() - started < 5, "the push waited for the coalescing interval"
