"""Alarm notifications outside the browser: a webhook (JSON POST) and e-mail (SMTP).

``NotificationPlan`` (pure) decides which alarms to announce: a new alarm of a chosen priority
(active, unacknowledged, neither shelved nor suppressed), and the same again every
``resend_s`` while it stays unacknowledged. ``Notifications`` is the I/O: a greenlet that asks
the plan every second and sends each message on a greenlet of its own, so a slow receiver
holds nothing up. Secrets (the webhook token, the SMTP password) come from settings and are
never logged: failures name the receiver's host only.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import gevent

from bridge.state.store import Entry
from factory_core.ratelimited_log import RateLimitedLog

log = logging.getLogger(__name__)

TICK_S: Final = 1.0
SEND_TIMEOUT_S: Final = 10.0
Reason = Literal["new", "reminder"]


@dataclass(frozen=True, slots=True)
class Notice:
    key: str
    alarm: Entry
    reason: Reason


class NotificationPlan:
    def __init__(self, priorities: Iterable[str], resend_s: float | None) -> None:
        self.priorities = frozenset(priorities)
        self.resend_s = resend_s
        # Per alarm: when it was raised (an episode) and when it was last announced.
        self._sent: dict[str, tuple[float | None, float]] = {}

    def due(self, alarms: Mapping[str, Entry], now: float) -> list[Notice]:
        notices: list[Notice] = []
        for key, alarm in alarms.items():
            if not self._owed(alarm, now):
                continue
            sent = self._sent.get(key)
            if sent is None or sent[0] != alarm.get("raised"):
                notices.append(Notice(key, alarm, "new"))
            elif self.resend_s is not None and now - sent[1] >= self.resend_s:
                notices.append(Notice(key, alarm, "reminder"))
            else:
                continue
            self._sent[key] = (alarm.get("raised"), now)
        return notices

    def _owed(self, alarm: Entry, now: float) -> bool:
        shelf = alarm.get("shelved_until")
        return (
            bool(alarm.get("active"))
            and not alarm.get("acked")
            and not alarm.get("suppressed")
            and not (isinstance(shelf, int | float) and shelf > now)
            and alarm.get("priority") in self.priorities
        )


def subject(notice: Notice) -> str:
    a = notice.alarm
    what = a.get("message") or f"{a['source']}/{a['condition']}"
    again = "still unacknowledged" if notice.reason == "reminder" else "raised"
    return f"[Factory IoT] {str(a['priority']).upper()} alarm {again}: {what} ({a['gateway']})"


def body(notice: Notice) -> dict[str, Any]:
    return {"reason": notice.reason, "key": notice.key, "alarm": notice.alarm}


@dataclass(frozen=True, slots=True)
class Smtp:
    host: str
    port: int
    sender: str
    to: list[str]
    user: str | None = None
    password: str | None = None
    starttls: bool = False


class Notifications:
    def __init__(
        self,
        plan: NotificationPlan,
        alarms: Callable[[], Mapping[str, Entry]],
        webhook: str | None,
        webhook_token: str | None,
        smtp: Smtp | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.plan = plan
        self.alarms = alarms
        self.webhook = webhook
        self.webhook_token = webhook_token
        self.smtp = smtp
        self.clock = clock
        self.failures = RateLimitedLog(log, clock=clock)
        self._running = False

    @property
    def enabled(self) -> bool:
        return self.webhook is not None or self.smtp is not None

    def run(self) -> None:
        self._running = True
        while self._running:
            gevent.sleep(TICK_S)
            for notice in self.plan.due(self.alarms(), self.clock()):
                if self.webhook is not None:
                    gevent.spawn(self._post, notice)
                if self.smtp is not None:
                    gevent.spawn(self._mail, notice)

    def stop(self) -> None:
        self._running = False

    def _post(self, notice: Notice) -> None:
        assert self.webhook is not None
        headers = {"Content-Type": "application/json"}
        if self.webhook_token:
            headers["Authorization"] = f"Bearer {self.webhook_token}"
        host = urlsplit(self.webhook).netloc.rpartition("@")[2]
        data = json.dumps(body(notice)).encode()
        # The standard library's client (sockets patched by gevent): no extra dependency.
        post = urllib.request.Request(self.webhook, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(post, timeout=SEND_TIMEOUT_S):
                pass
        except urllib.error.HTTPError as exc:
            self.failures.warning("webhook", "alarm webhook to %s answered HTTP %d", host, exc.code)
        except (OSError, ValueError) as exc:
            self.failures.warning(
                "webhook", "alarm webhook to %s failed: %s", host, type(exc).__name__
            )

    def _mail(self, notice: Notice) -> None:
        smtp = self.smtp
        assert smtp is not None
        message = EmailMessage()
        message["Subject"] = subject(notice)
        message["From"] = smtp.sender
        message["To"] = ", ".join(smtp.to)
        a = notice.alarm
        lines = [
            subject(notice).removeprefix("[Factory IoT] "),
            "",
            f"Gateway: {a['gateway']}",
            f"Source: {a['source']} ({a['condition']})",
            f"Value: {a.get('value')}  Limit: {a.get('limit')}",
            f"Raised: {a.get('raised')} (Unix time)",
        ]
        message.set_content("\n".join(lines) + "\n")
        try:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=SEND_TIMEOUT_S) as client:
                if smtp.starttls:
                    client.starttls(context=ssl.create_default_context())
                if smtp.user and smtp.password:
                    client.login(smtp.user, smtp.password)
                client.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            # The exception's text may quote the server's answer to our login: not logged.
            self.failures.warning(
                "smtp", "alarm e-mail via %s:%d failed: %s", smtp.host, smtp.port,
                type(exc).__name__,
            )  # fmt: skip
