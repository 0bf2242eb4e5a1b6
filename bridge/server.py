"""The HTTP server: gevent's WSGIServer, with TCP_NODELAY on every accepted connection and
no WebSocket compression.

Without TCP_NODELAY, Nagle's algorithm holds a small WebSocket frame back until the previous
one is acknowledged — up to ~40 ms per push with delayed ACKs.
"""

from __future__ import annotations

import socket
from typing import Any

from gevent.pywsgi import WSGIHandler, WSGIServer


class NoDelayHandler(WSGIHandler):  # type: ignore[misc]
    def __init__(self, sock: socket.socket, address: Any, server: Any, rfile: Any = None) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().__init__(sock, address, server, rfile)

    def run_application(self) -> None:
        super().run_application()
        if self.environ.get("HTTP_UPGRADE", "").lower() == "websocket":
            # The WebSocket owned this connection (simple-websocket reads a dup of the socket);
            # reading on as HTTP would swallow the client's close frame and stall its close.
            self.close_connection = True


class WithoutWebSocketCompression:
    """Declines permessage-deflate, which every browser offers and simple-websocket accepts.

    A push is encoded once for all clients, but each compressed connection deflates it again
    with its own zlib state: bench, 500 clients at 10 pushes/s, bridge CPU 37 % with
    compression vs 19 % without, 127 vs 57 KiB per client, p99 62 vs 27 ms. The deltas are
    a few hundred bytes; the plant network does not need them smaller. (Socket.IO's own
    server turned it off by default for the same reason.)
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return self.app(environ, start_response)


class PortInUseError(OSError):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"HTTP port {host}:{port} is already in use (set FACTORY_HTTP_PORT)")


def make_server(app: Any, host: str, port: int, access_log: Any = None) -> WSGIServer:
    """A bound (listening) server; raise PortInUseError when the port is taken."""
    server = WSGIServer(
        (host, port),
        WithoutWebSocketCompression(app),
        handler_class=NoDelayHandler,
        log=access_log,
    )
    try:
        server.init_socket()
    except OSError as exc:
        if exc.errno == 98 or "in use" in str(exc).lower():
            raise PortInUseError(host, port) from None
        raise
    return server
