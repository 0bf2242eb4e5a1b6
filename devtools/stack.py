"""The whole system as real processes: Mosquitto, a simulated gateway and a bridge.

Used by the end-to-end and browser tests, the demo and the benchmarks, so that all of them
start the system the same way. The bridge needs a login: a Stack creates, in the bridge's state
dir, an operator user (``operator_credentials``, for the dashboard) and API tokens
(``api_token``: operator, for scripts and Socket.IO probes; ``admin_token``: audit log).
"""

from __future__ import annotations

import json
import secrets
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from bridge.security.accounts import Accounts
from devtools.local_broker import LocalBroker, free_port
from devtools.procs import ManagedProcess, python_module

OPERATOR = "operator"


def http_json(url: str, timeout: float = 5, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as r:
        return json.load(r)


class Stack:
    def __init__(
        self,
        workdir: Path,
        broker: LocalBroker | None = None,
        http_port: int | None = None,
        gateway_args: tuple[str, ...] = ("--simulate",),
        env: dict[str, str] | None = None,
        gateway_env: dict[str, str] | None = None,
        bridge_env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.owns_broker = broker is None
        self.broker = broker or LocalBroker(workdir / "broker")
        self.http_port = http_port or free_port()
        self.env = env or {}
        self.gateway = ManagedProcess(
            "gateway",
            python_module("gateway", *gateway_args),
            workdir / "gateway.log",
            {
                **self._service_env(),
                "FACTORY_STATE_DIR": str(workdir / "gateway-state"),
                **(gateway_env or {}),
            },
        )
        bridge_env = {
            **self._service_env(),
            "FACTORY_HTTP_PORT": str(self.http_port),
            "FACTORY_STATE_DIR": str(workdir / "bridge-state"),
            **(bridge_env or {}),
        }
        self.bridge_state = Path(bridge_env["FACTORY_STATE_DIR"])
        self.operator_credentials, self.api_token, self.admin_token = self._bootstrap_accounts()
        self.bridge = ManagedProcess(
            "bridge", python_module("bridge"), workdir / "bridge.log", bridge_env
        )

    def _bootstrap_accounts(self) -> tuple[tuple[str, str], str, str]:
        """A dashboard login (operator) and API tokens (operator, admin), made afresh."""
        accounts = Accounts(self.bridge_state)
        password = secrets.token_urlsafe(12)
        if accounts.user(OPERATOR) is not None:
            accounts.remove_user(OPERATOR)
        accounts.add_user(OPERATOR, "operator", password)
        tokens = []
        for role in ("operator", "admin"):
            if accounts.token_named(f"stack-{role}") is not None:
                accounts.revoke_token(f"stack-{role}")
            tokens.append(accounts.add_token(f"stack-{role}", role))
        return (OPERATOR, password), tokens[0], tokens[1]

    def _service_env(self) -> dict[str, str]:
        return {"FACTORY_MQTT_URL": self.broker.url, "FACTORY_HTTP_HOST": "127.0.0.1", **self.env}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def api(self, path: str) -> Any:
        """GET an API path as the operator token."""
        return http_json(self.base_url + path, token=self.api_token)

    @property
    def auth_header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_token}"}

    def start(self, gateway_id: str = "line1") -> Stack:
        if self.owns_broker:
            self.broker.start()
        self.gateway.start()
        self.bridge.start()
        self.bridge.wait_until(
            lambda: self.api("/api/gateways")["gateways"][gateway_id]["online"] is True,
            timeout=30,
            what=f"gateway {gateway_id} online in the bridge",
        )
        return self

    def stop(self) -> None:
        self.gateway.stop()
        self.bridge.stop()
        if self.owns_broker:
            self.broker.stop()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()
