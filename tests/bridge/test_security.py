"""Issue 6 against real bridge processes and a real Mosquitto: login, roles, tokens, origins,
CSRF, rate limits, logout, the audit log, and the users/tokens CLI."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from bridge_helpers import PASSWORD, FakeGateway, LiveClient, RunningBridge

from devtools.local_broker import REPO
from devtools.mqtt_probe import MqttProbe

COMMAND = {"gateway": "line1", "relay": "relay_1", "on": True}


def relay_known(client: LiveClient) -> bool:
    return (client.item("relays", "line1/relay_1") or {}).get("on") is False


def refused_connect(url: str, **kw: Any) -> tuple[str, Any]:
    """Connect a Socket.IO client that must be refused; what it was told."""
    client = socketio.Client(reconnection=False)
    told: list[Any] = []
    client.on("connect_error", told.append)
    with pytest.raises(socketio.exceptions.ConnectionError) as refused:
        client.connect(url, wait_timeout=10, **kw)
    client.disconnect()
    return str(refused.value), told[0] if told else None


def audit(bridge: RunningBridge, **query: Any) -> list[dict[str, Any]]:
    answer = bridge.get("/api/audit", params=query)
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()["entries"]
    return entries


def cookie_header(session: requests.Session) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{c.name}={c.value}" for c in session.cookies)}


def test_a_viewers_command_is_refused_audited_and_never_published(
    bridges, gateway: FakeGateway, clients, probe: MqttProbe
):
    bridge = bridges()
    bridge.add_user("vera", "viewer")
    viewer = clients(bridge, role="viewer")
    viewer.wait(lambda: relay_known(viewer), "relays known")
    outcome = viewer.call("set_relay", COMMAND)
    assert outcome["ok"] is False and outcome["error"] == "forbidden"
    assert "viewer" in outcome["detail"]

    vera = bridge.login("vera")
    answer = vera.post(f"{bridge.url}/api/relays/line1/relay_1", json={"on": True}, timeout=15)
    assert answer.status_code == 403 and answer.json()["error"] == "forbidden"
    assert vera.get(f"{bridge.url}/api/relays", timeout=15).status_code == 200  # may read

    # A witness: the operator's command goes out on the bridge's one command connection, after
    # anything the viewer's attempts would have published; once it is seen, it is the only one.
    operator = clients(bridge, role="operator")
    witness = operator.call("set_relay", COMMAND)
    assert witness["ok"] is True
    probe.wait_for(lambda m: witness["id"] in m.text, 30, "the operator's command")
    sent = [m for m in probe.messages if m.topic.endswith("/set")]
    assert len(sent) == 1 and len(gateway.commands) == 1
    entries = audit(bridge, outcome="forbidden")
    assert [(e["user"], e["role"], e["via"]) for e in entries] == [
        ("vera", "viewer", "http"),
        ("token:test-viewer", "viewer", "socketio"),
    ]
    for entry in entries:
        assert entry["gateway"] == "line1" and entry["relay"] == "relay_1" and entry["on"] is True
        assert entry["ok"] is False and entry["id"] is None and entry["remote"] == "127.0.0.1"
    assert bridge.metric('factory_bridge_commands_total{outcome="forbidden"}') == 2


def test_sockets_need_a_valid_token_or_session_and_an_allowed_origin(bridges):
    bridge = bridges(FACTORY_CORS_ORIGINS="http://ops.example")
    message, told = refused_connect(bridge.url, transports=["websocket"])
    assert told["message"] == "unauthorized" and "token" in told["data"]["detail"]
    _, told = refused_connect(bridge.url, auth={"token": "fiot_forged"})
    assert told["message"] == "unauthorized"
    # A valid token does not help a page from a foreign origin.
    foreign = {"Origin": "http://evil.example"}
    token = {"token": bridge.tokens["admin"]}
    message, _ = refused_connect(bridge.url, transports=["polling"], headers=foreign, auth=token)
    assert "400" in message
    listed = socketio.Client(reconnection=False)
    listed.connect(
        bridge.url, transports=["polling"], headers={"Origin": "http://ops.example"}, auth=token
    )
    listed.disconnect()


def test_http_needs_a_login_and_cookie_posts_need_the_csrf_token(bridges, gateway: FakeGateway):
    bridge = bridges()
    for path in ("/api/state", "/api/relays", "/metrics", "/api/auth/me"):
        answer = bridge.get(path, role=None)
        assert answer.status_code == 401, path
        assert answer.json()["error"] == "unauthorized"
    assert bridge.post("/api/relays/line1/relay_1", role=None, json={"on": True}).status_code == 401
    assert bridge.get("/api/health", role=None).status_code == 200

    bridge.add_user("olga", "operator")
    wrong = bridge.post(
        "/api/auth/login", role=None, json={"username": "olga", "password": "guess-guess"}
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "bad_credentials"
    junk = bridge.post("/api/auth/login", role=None, json={"username": "olga"})
    assert junk.status_code == 400 and "password" in junk.json()["detail"]

    olga = requests.Session()
    login = olga.post(
        f"{bridge.url}/api/auth/login", json={"username": "olga", "password": PASSWORD}, timeout=15
    )
    assert login.status_code == 200
    assert login.json()["user"] == {"name": "olga", "role": "operator"}
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    me = olga.get(f"{bridge.url}/api/auth/me", timeout=15).json()
    assert me["csrf_token"] == login.json()["csrf_token"] and me["via"] == "session"

    url = f"{bridge.url}/api/relays/line1/relay_1"
    missing = olga.post(url, json={"on": True}, timeout=15)
    assert missing.status_code == 403 and missing.json()["error"] == "csrf_failed"
    forged = olga.post(url, json={"on": True}, headers={"X-CSRF-Token": "nope"}, timeout=15)
    assert forged.status_code == 403
    csrf = {"X-CSRF-Token": me["csrf_token"]}
    foreign = olga.post(url, json={"on": True}, headers={**csrf, "Origin": "http://evil.example"})
    assert foreign.status_code == 403 and foreign.json()["error"] == "forbidden_origin"
    same = olga.post(url, json={"on": True}, headers={**csrf, "Origin": bridge.url}, timeout=15)
    assert same.status_code == 200 and same.json()["ok"] is True
    assert gateway.commands[-1].by == "olga via http"
    assert len(gateway.commands) == 1

    behind_tls = bridges(FACTORY_TRUST_PROXY="true")
    behind_tls.add_user("olga", "operator")
    proxied = behind_tls.post(
        "/api/auth/login",
        role=None,
        json={"username": "olga", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "Secure" in proxied.headers["Set-Cookie"]


def test_logout_disconnects_that_sessions_sockets_and_kills_the_cookie(bridges, gateway):
    bridge = bridges()
    bridge.add_user("olga", "operator")
    olga = bridge.login("olga")
    gone = threading.Event()
    sio = socketio.Client(reconnection=False)
    sio.on("disconnect", lambda *_a: gone.set())
    sio.connect(bridge.url, transports=["websocket"], headers=cookie_header(olga), wait_timeout=10)
    ack = sio.call("set_relay", COMMAND, timeout=15)
    assert ack["ok"] is True, ack
    cookies = cookie_header(olga)

    assert olga.post(f"{bridge.url}/api/auth/logout", timeout=15).json() == {"ok": True}
    assert gone.wait(10), "the socket of the session that logged out stays connected"
    assert requests.get(f"{bridge.url}/api/state", headers=cookies, timeout=15).status_code == 401
    _, told = refused_connect(bridge.url, headers=cookies)
    assert told["message"] == "unauthorized"


def test_command_rate_limits_over_socketio_and_http(bridges, gateway: FakeGateway, clients):
    bridge = bridges(FACTORY_COMMAND_BURST="2", FACTORY_COMMAND_RATE="0.01")
    client = clients(bridge)
    client.wait(lambda: relay_known(client), "relays known")
    outcomes = [client.call("set_relay", {**COMMAND, "on": on}) for on in (True, False, True)]
    assert [o["ok"] for o in outcomes] == [True, True, False]
    assert outcomes[2]["error"] == "rate_limited" and "retry in" in outcomes[2]["detail"]
    answer = bridge.post("/api/relays/line1/relay_1", role="operator", json={"on": True})
    assert answer.status_code == 429 and answer.json()["error"] == "rate_limited"
    assert int(answer.headers["Retry-After"]) >= 1
    assert len(gateway.commands) == 2
    # Per user: another caller still has its own budget.
    assert bridge.post("/api/relays/line1/relay_1", json={"on": True}).json()["ok"] is True
    # A flood's first refusal is written at once per caller and way in; the rest are merged
    # (test_refusal_audit.py follows the counts).
    limited = audit(bridge, outcome="rate_limited")
    assert [(e["via"], e["count"]) for e in limited] == [("http", 1), ("socketio", 1)]


def test_http_requests_and_logins_are_rate_limited(bridges):
    bridge = bridges(FACTORY_HTTP_RATE_LIMIT="4/minute", FACTORY_LOGIN_RATE_LIMIT="3/minute")
    statuses = [bridge.get("/api/devices", role="viewer").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    limited = bridge.get("/api/devices", role="viewer")
    assert limited.json()["error"] == "rate_limited" and "Retry-After" in limited.headers
    assert bridge.get("/api/devices", role="operator").status_code == 200  # another caller
    body = {"username": "nobody", "password": "wrong-password"}
    logins = [bridge.post("/api/auth/login", role=None, json=body).status_code for _ in range(4)]
    assert logins == [401, 401, 401, 429]


def test_the_audit_log_is_complete_pageable_exportable_and_survives_a_restart(
    bridges, gateway: FakeGateway, clients
):
    bridge = bridges()
    client = clients(bridge)
    client.wait(lambda: relay_known(client), "relays known")
    ok = client.call("set_relay", COMMAND)
    client.call("set_relay", {"gateway": "line1", "relay": "relay_1", "on": "yes"})
    client.call("set_relay", {"gateway": "line1", "relay": "relay_9", "on": False})
    bridge.proc.stop()

    again = bridges(state_dir=bridge.state_dir)
    again.post("/api/relays/line1/relay_2", json={"on": True})
    entries = audit(again)
    assert [e["outcome"] for e in entries] == ["ok", "unknown_relay", "invalid", "ok"]
    first = entries[-1]
    assert first["id"] == ok["id"] and first["user"] == "token:test-operator"
    assert set(first) >= {"time", "ts", "user", "role", "via", "remote", "gateway", "relay"}
    assert first["time"].endswith("Z") and first["on"] is True and first["ok"] is True
    assert entries[0]["user"] == "token:test-admin" and entries[0]["via"] == "http"

    page = again.get("/api/audit", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 4 and page["next_offset"] == 3
    assert [e["outcome"] for e in page["entries"]] == ["unknown_relay", "invalid"]
    assert [e["relay"] for e in audit(again, relay="relay_9")] == ["relay_9"]
    bad = again.get("/api/audit", params={"limit": "lots"})
    assert bad.status_code == 400 and "limit" in bad.json()["detail"]
    assert again.get("/api/audit", role="operator").status_code == 403

    exported = again.get("/api/audit.csv", params={"user": "token:test-operator"})
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["outcome"] for r in rows] == ["ok", "invalid", "unknown_relay"]
    assert rows[0]["id"] == ok["id"] and rows[0]["on"] == "true" and rows[1]["on"] == ""


def cli(state: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", "--state-dir", str(state), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def test_users_and_tokens_cli_with_a_script_using_its_token(bridges, tmp_path: Path):
    state = tmp_path / "cli-state"
    added = cli(state, "users", "add", "olga", "--role", "operator", "--password-stdin",
                stdin="s3cret-enough\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert (
        cli(state, "users", "add", "adam", "--role", "admin", "--generate-password").returncode == 0
    )
    listed = cli(state, "users", "list").stdout.splitlines()
    assert [line.split()[:2] for line in listed] == [["adam", "admin"], ["olga", "operator"]]
    assert (state / "users.json").stat().st_mode & 0o777 == 0o600
    assert "s3cret-enough" not in (state / "users.json").read_text()

    duplicate = cli(state, "users", "add", "olga", "--role", "viewer", "--password-stdin",
                    stdin="another-one\n")  # fmt: skip
    assert duplicate.returncode == 1 and "'olga' already exists" in duplicate.stderr
    short = cli(state, "users", "add", "vic", "--role", "viewer", "--password-stdin", stdin="x\n")
    assert short.returncode == 1 and "8 to 1024 characters" in short.stderr
    bad_role = cli(state, "users", "add", "vic", "--role", "boss")
    assert bad_role.returncode == 2 and "invalid choice: 'boss'" in bad_role.stderr
    bad_name = cli(state, "users", "remove", "Robert'); DROP")
    assert bad_name.returncode == 1 and "no user" in bad_name.stderr
    assert "Traceback" not in bad_name.stderr + bad_role.stderr + short.stderr

    made = cli(state, "tokens", "add", "scada", "--role", "operator")
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("fiot_") and secret not in (state / "tokens.json").read_text()
    bridge = bridges(state_dir=state)
    script = {"Authorization": f"Bearer {secret}"}
    assert bridge.get("/api/auth/me", role=None, headers=script).json()["user"]["name"] == (
        "token:scada"
    )
    sio = socketio.Client(reconnection=False)
    gone = threading.Event()
    sio.on("disconnect", lambda *_a: gone.set())
    sio.connect(bridge.url, headers=script, transports=["websocket"], wait_timeout=10)

    assert cli(state, "tokens", "revoke", "scada").returncode == 0
    assert bridge.get("/api/state", role=None, headers=script).status_code == 401
    assert gone.wait(10), "a socket whose token was revoked stays connected"
    assert cli(state, "users", "remove", "olga").returncode == 0
    assert [line.split()[0] for line in cli(state, "users", "list").stdout.splitlines()] == ["adam"]
