"""A small TCP proxy for fault tests: pass, drop, stall or delay the connections through it.

* ``pass_()``: forward both ways (the default).
* ``drop()``: close every connection now, and close new ones as soon as they are accepted
  (the peer sees a reset link and retries) until ``pass_()``.
* ``stall()``: stop forwarding but keep every socket open: bytes pile up in the kernel's
  buffers, as on a cable that went quiet; ``pass_()`` delivers them late, in order.
* ``delay(seconds)``: forward each chunk that much later (order kept).

Loopback only, and bounded: at most ``max_connections`` at a time, at most ``max_buffered``
bytes held per direction (reading pauses beyond it). Threads: one acceptor, two per
direction of each connection.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger(__name__)

Mode = Literal["pass", "drop", "stall"]
_EOF = b""


@dataclass
class Accepted:
    """One connection the proxy accepted: when, and whether it reached the target."""

    at: float  # time.time()
    upstream: bool


@dataclass
class _Link:
    client: socket.socket
    server: socket.socket
    closed: bool = False
    queues: dict[str, deque[tuple[float, bytes]]] = field(
        default_factory=lambda: {"up": deque(), "down": deque()}
    )
    held: dict[str, int] = field(default_factory=lambda: {"up": 0, "down": 0})


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class TcpProxy:
    def __init__(
        self,
        target_port: int,
        target_host: str = "127.0.0.1",
        *,
        port: int = 0,
        max_connections: int = 64,
        max_buffered: int = 4 * 1024 * 1024,
    ) -> None:
        if not _loopback(target_host):
            raise ValueError(
                f"target host {target_host!r} is not loopback: fault traffic stays local"
            )
        self.target = (target_host, target_port)
        self.max_connections = max_connections
        self.max_buffered = max_buffered
        self.mode: Mode = "pass"
        self.delay_s = 0.0
        self.accepted: list[Accepted] = []
        self._cond = threading.Condition()
        self._links: list[_Link] = []
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._running = False
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True, name="proxy")

    # ---------------------------------------------------------------- control

    def url(self, url: str) -> str:
        """``url`` (mqtt://, http://...) with host and port replaced by this proxy's."""
        parts = urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@" if credentials else ""
        return urlunsplit(parts._replace(netloc=f"{netloc}127.0.0.1:{self.port}"))

    def pass_(self) -> None:
        self._set("pass", 0.0)

    def delay(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"delay must not be negative, got {seconds}")
        self._set("pass", seconds)

    def stall(self) -> None:
        self._set("stall", self.delay_s)

    def drop(self) -> None:
        self._set("drop", self.delay_s)
        with self._cond:
            links = list(self._links)
        for link in links:
            self._close(link)

    def _set(self, mode: Mode, delay_s: float) -> None:
        with self._cond:
            self.mode, self.delay_s = mode, delay_s
            self._cond.notify_all()

    @property
    def connections(self) -> int:
        with self._cond:
            return len(self._links)

    def upstream_since(self, since: float) -> float | None:
        """When the first connection accepted after ``since`` (time.time) reached the target."""
        with self._cond:
            return next((a.at for a in self.accepted if a.at >= since and a.upstream), None)

    # -------------------------------------------------------------- lifecycle

    def start(self) -> TcpProxy:
        self._running = True
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._running = False
        self._acceptor.join(2)
        self._listener.close()
        with self._cond:
            links = list(self._links)
            self._cond.notify_all()
        for link in links:
            self._close(link)

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()

    # -------------------------------------------------------------- internals

    def _accept_loop(self) -> None:
        while self._running:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._cond:
                refuse = self.mode == "drop" or len(self._links) >= self.max_connections
            if refuse:
                self._record(upstream=False)
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=2)
            except OSError:
                self._record(upstream=False)
                client.close()
                continue
            self._record(upstream=True)
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.settimeout(0.1)
            link = _Link(client, server)
            with self._cond:
                self._links.append(link)
            for direction, src, dst in (("up", client, server), ("down", server, client)):
                threading.Thread(
                    target=self._reader, args=(link, direction, src), daemon=True
                ).start()
                threading.Thread(
                    target=self._writer, args=(link, direction, dst), daemon=True
                ).start()

    def _record(self, upstream: bool) -> None:
        with self._cond:
            self.accepted.append(Accepted(time.time(), upstream))
            del self.accepted[:-1000]  # bounded

    def _reader(self, link: _Link, direction: str, src: socket.socket) -> None:
        while True:
            with self._cond:
                while not link.closed and (
                    self.mode == "stall" or link.held[direction] >= self.max_buffered
                ):
                    self._cond.wait(0.2)
                if link.closed:
                    return
            try:
                data = src.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                data = _EOF
            with self._cond:
                link.queues[direction].append((time.monotonic() + self.delay_s, data))
                link.held[direction] += len(data)
                self._cond.notify_all()
            if data == _EOF:
                return

    def _writer(self, link: _Link, direction: str, dst: socket.socket) -> None:
        queue = link.queues[direction]
        while True:
            with self._cond:
                while True:
                    if link.closed:
                        return
                    wait = 0.2
                    if queue and self.mode == "pass":
                        wait = queue[0][0] - time.monotonic()
                        if wait <= 0:
                            break
                    self._cond.wait(min(wait, 0.2))
                _, data = queue.popleft()
                link.held[direction] -= len(data)
                self._cond.notify_all()
            if data == _EOF:
                self._close(link)
                return
            if not self._send_all(link, dst, data):
                self._close(link)
                return

    @staticmethod
    def _send_all(link: _Link, dst: socket.socket, data: bytes) -> bool:
        view = memoryview(data)
        while view:
            if link.closed:
                return False
            try:
                view = view[dst.send(view) :]
            except TimeoutError:  # the receiver is slow: keep trying until the link closes
                continue
            except OSError:
                return False
        return True

    def _close(self, link: _Link) -> None:
        with self._cond:
            if link.closed:
                return
            link.closed = True
            if link in self._links:
                self._links.remove(link)
            self._cond.notify_all()
        for s in (link.client, link.server):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
