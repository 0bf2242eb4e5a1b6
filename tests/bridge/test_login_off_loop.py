"""Checking a password (scrypt, 100-150 ms of CPU by design) must not stop the bridge's event
loop: every push to every client would wait for each login. The check runs on a thread; while
it runs, the loop serves others. Ordering, not timing: a greenlet started after the login
request runs before that request has its answer only if the login let the loop go."""

from __future__ import annotations

from pathlib import Path

import gevent

from bridge.app import create_app
from bridge.security.accounts import Accounts
from bridge.settings import BridgeSettings


def test_the_event_loop_runs_while_a_login_is_checked(tmp_path: Path) -> None:
    password = "a long enough password"
    Accounts(tmp_path).add_user("olga", "operator", password)
    bridge = create_app(BridgeSettings(state_dir=tmp_path))
    http = bridge.app.test_client()
    order: list[str] = []

    def log_in(secret: str) -> None:
        answer = http.post("/api/auth/login", json={"username": "olga", "password": secret})
        order.append(f"login answered {answer.status_code}")

    for secret, status in ((password, 200), ("wrong password", 401)):
        order.clear()
        login = gevent.spawn(log_in, secret)
        gevent.sleep(0)  # the login request starts and reaches the password check
        other = gevent.spawn(order.append, "another greenlet ran")
        gevent.joinall([login, other], timeout=60, raise_error=True)
        assert order == ["another greenlet ran", f"login answered {status}"]
