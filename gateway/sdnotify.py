"""systemd's sd_notify protocol: one datagram to $NOTIFY_SOCKET (READY, WATCHDOG, STOPPING).

It is a single sendto(); the PyPI packages for it are unmaintained, so it lives here. The
send never blocks: the watchdog ping runs on the thread that switches the relays, and a
manager that stops reading (the kernel queues only ``net.unix.max_dgram_qlen`` datagrams,
10 by default) must not stall a relay command. A ping that cannot be queued is dropped.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

from factory_core.ratelimited_log import RateLimitedLog

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        # A leading '@' names a socket in the abstract namespace.
        self.address = "\0" + address[1:] if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        for_us = not pid or pid == str(os.getpid())
        self.watchdog_interval_s = int(usec) / 1e6 if usec.isdigit() and for_us else None
        self._dropped = RateLimitedLog(log)

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def notify(self, *states: str) -> bool:
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto("\n".join(states).encode(), socket.MSG_DONTWAIT, self.address)
        except BlockingIOError:
            self._dropped.warning(
                "full", "sd_notify to %r dropped: the service manager is not reading", self.address
            )
            return False
        except OSError as exc:
            log.warning("sd_notify to %r failed: %s", self.address, exc)
            return False
        return True
