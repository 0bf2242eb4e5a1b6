"""Alarm notifications outside the browser, to real receivers: a local HTTP server for the
webhook and a local SMTP sink (aiosmtpd). The alarms come from a field device on the wire
that is not our gateway, publishing by the contract."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from bridge_helpers import RunningBridge

from devtools.local_broker import LocalBroker, free_port
from devtools.mqtt_probe import MqttProbe
from devtools.waits import wait_until
from factory_core.contract import AlarmState, GatewayMeta, Topics

topics = Topics()
DEV = "boiler-7"
TOKEN = "webhook-token-0f9e8d7c6b5a"
PASSWORD = "smtp-password-1a2b3c4d"


class Receiver:
    """What the webhook and the SMTP sink received, in order."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.mails: list[Any] = []
        self.cond = threading.Condition()

    def wait(self, check: Callable[[], Any], what: str, timeout: float = 20) -> Any:
        with self.cond:
            if not self.cond.wait_for(check, timeout):
                raise TimeoutError(f"not within {timeout} s: {what}")
            return check()


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str, int]]:
    got = Receiver()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with got.cond:
                got.posts.append((dict(self.headers), data))
                got.cond.notify_all()
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    class Sink:
        async def handle_DATA(  # noqa: N802 - the name aiosmtpd calls
            self, _server: Any, _session: Session, envelope: Envelope
        ) -> str:
            with got.cond:
                got.mails.append(message_from_bytes(envelope.content))  # type: ignore[arg-type]
                got.cond.notify_all()
            return "250 OK"

    def authenticate(
        _server: Any, _session: Any, _envelope: Any, _mechanism: str, auth: Any
    ) -> AuthResult:
        ok = isinstance(auth, LoginPassword) and auth.password == PASSWORD.encode()
        return AuthResult(success=ok)

    http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    smtp_port = free_port()
    smtp = Controller(
        Sink(),
        hostname="127.0.0.1",
        port=smtp_port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    smtp.start()
    yield got, f"http://127.0.0.1:{http.server_address[1]}/hook", smtp_port
    smtp.stop()
    http.shutdown()


def alarm(priority: str, raised: float, **over: Any) -> bytes:
    fields: dict[str, Any] = {
        "priority": priority, "active": True, "acked": False, "state": "unacked",
        "since": raised, "raised": raised, "value": 95.0, "limit": 90.0,
        "message": "Water temperature: hi", "ts": raised, **over,
    }  # fmt: skip
    return AlarmState(**fields).to_bytes()


def test_new_alarms_of_chosen_priorities_are_posted_and_mailed_and_reminded_until_acked(
    broker: LocalBroker,
    bridges: Callable[..., RunningBridge],
    receiver: tuple[Receiver, str, int],
) -> None:
    got, hook, smtp_port = receiver
    bridge = bridges(
        FACTORY_NOTIFY_WEBHOOK_URL=hook,
        FACTORY_NOTIFY_WEBHOOK_TOKEN=TOKEN,
        FACTORY_NOTIFY_SMTP_HOST="127.0.0.1",
        FACTORY_NOTIFY_SMTP_PORT=str(smtp_port),
        FACTORY_NOTIFY_SMTP_STARTTLS="false",
        FACTORY_NOTIFY_SMTP_USER="alarms",
        FACTORY_NOTIFY_SMTP_PASSWORD=PASSWORD,
        FACTORY_NOTIFY_EMAIL_TO="ops@example.com",
        FACTORY_NOTIFY_RESEND_S="2",
    )
    hi = topics.alarm_state(DEV, "water_temp", "hi")
    now = time.time()
    with MqttProbe(broker.url) as device:
        device.publish(topics.status(DEV), "online", retain=True)
        device.publish(topics.meta(DEV), GatewayMeta(version="fw-2").to_bytes(), retain=True)
        device.publish(hi, alarm("critical", now), retain=True)
        # Not announced: a priority not chosen, and a shelved one.
        device.publish(topics.alarm_state(DEV, "water_temp", "lo"), alarm("low", now), retain=True)
        device.publish(
            topics.alarm_state(DEV, "pressure", "hi"),
            alarm("high", now, shelved_until=now + 600, shelved_by="ann", shelve_reason="valve"),
            retain=True,
        )

        headers, first = got.wait(lambda: got.posts and got.posts[0], "the webhook")
        assert headers["Authorization"] == f"Bearer {TOKEN}"
        assert (first["reason"], first["key"]) == ("new", f"{DEV}/water_temp/hi")
        assert first["alarm"]["priority"] == "critical" and first["alarm"]["value"] == 95.0
        mail = got.wait(lambda: got.mails and got.mails[0], "the e-mail")
        assert mail["To"] == "ops@example.com"
        assert mail["Subject"] == (
            f"[Factory IoT] CRITICAL alarm raised: Water temperature: hi ({DEV})"
        )
        # Still unacknowledged: announced again.
        got.wait(lambda: any(p["reason"] == "reminder" for _, p in got.posts), "a reminder")
        assert any("still unacknowledged" in m["Subject"] for m in got.wait(
            lambda: [m for m in got.mails if "still" in m["Subject"]], "a reminder e-mail"
        ))  # fmt: skip

        device.publish(hi, alarm("critical", now, acked=True, state="acked", acked_by="ann"),
                       retain=True)  # fmt: skip
        acked_at = time.monotonic()
        later = topics.alarm_state(DEV, "level", "hihi")
        device.publish(later, alarm("high", time.time()), retain=True)
        # Two reminder periods of the new one pass; the acknowledged one is not announced.
        got.wait(
            lambda: sum(p["key"] == f"{DEV}/level/hihi" for _, p in got.posts) >= 2,
            "the new alarm and its reminder",
        )
        assert time.monotonic() - acked_at >= 2
        with got.cond:
            keys = [p["key"] for _, p in got.posts]
        assert f"{DEV}/water_temp/lo" not in keys and f"{DEV}/pressure/hi" not in keys
        tail = keys[keys.index(f"{DEV}/level/hihi") :]
        assert f"{DEV}/water_temp/hi" not in tail[1:], "acknowledged: no more reminders"
        for topic in (hi, later, topics.alarm_state(DEV, "water_temp", "lo"),
                      topics.alarm_state(DEV, "pressure", "hi")):  # fmt: skip
            device.publish(topic, b"", retain=True)
    log = bridge.proc.log()
    assert TOKEN not in log and PASSWORD not in log


def test_a_failing_receiver_is_logged_without_its_secrets(
    broker: LocalBroker,
    bridges: Callable[..., RunningBridge],
    receiver: tuple[Receiver, str, int],
) -> None:
    got, _hook, smtp_port = receiver
    wrong = "wrong-password-9z8y7x"
    bridge = bridges(
        FACTORY_NOTIFY_WEBHOOK_URL=f"http://127.0.0.1:{free_port()}/nobody-listens",
        FACTORY_NOTIFY_WEBHOOK_TOKEN=TOKEN,
        FACTORY_NOTIFY_SMTP_HOST="127.0.0.1",
        FACTORY_NOTIFY_SMTP_PORT=str(smtp_port),
        FACTORY_NOTIFY_SMTP_STARTTLS="false",
        FACTORY_NOTIFY_SMTP_USER="alarms",
        FACTORY_NOTIFY_SMTP_PASSWORD=wrong,
        FACTORY_NOTIFY_EMAIL_TO="ops@example.com",
    )
    topic = topics.alarm_state(DEV, "water_temp", "hihi")
    with MqttProbe(broker.url) as device:
        device.publish(topics.status(DEV), "online", retain=True)
        device.publish(topic, alarm("critical", time.time()), retain=True)
        wait_until(
            lambda: (
                "alarm e-mail via 127.0.0.1" in bridge.proc.log()
                and "alarm webhook to 127.0.0.1" in bridge.proc.log()
            ),
            what="both failures logged",
        )
        device.publish(topic, b"", retain=True)
    log = bridge.proc.log()
    assert "alarm e-mail via 127.0.0.1" in log and "failed: SMTP" in log
    assert "failed: URLError" in log
    assert TOKEN not in log and wrong not in log
    assert got.mails == []


def test_bad_notification_settings_are_all_named_at_once() -> None:
    from bridge.settings import SettingsError, parse_settings

    with pytest.raises(SettingsError) as err:
        parse_settings(
            {
                "FACTORY_NOTIFY_PRIORITIES": "critical,urgent",
                "FACTORY_NOTIFY_WEBHOOK_URL": "ftp://example.com/x",
                "FACTORY_NOTIFY_SMTP_PASSWORD": "",
                "FACTORY_NOTIFY_RESEND_S": "-1",
            }
        )
    text = "\n".join(err.value.problems)
    assert "FACTORY_NOTIFY_PRIORITIES='critical,urgent': 'urgent' not among" in text
    assert "FACTORY_NOTIFY_WEBHOOK_URL" in text and "http" in text
    assert "FACTORY_NOTIFY_RESEND_S" in text
