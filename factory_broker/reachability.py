"""Can each edge reach its central broker? A TCP connect with a short timeout (I/O).

Run where the edge broker runs (the address is the central broker as that edge sees it),
before starting it: ``factory-broker check --plant plant.toml --connect``.
"""

from __future__ import annotations

import socket
from typing import Final

from factory_core.broker_admin import Plant

DEFAULT_TIMEOUT_S: Final = 3.0


def unreachable(plant: Plant, timeout_s: float = DEFAULT_TIMEOUT_S) -> list[str]:
    """One line per edge whose central broker does not accept a TCP connection."""
    problems: list[str] = []
    for edge in plant.edges:
        host, port = edge.host_port()
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                pass
        except TimeoutError:
            problems.append(
                f"edges.{edge.name}.address: central broker {host}:{port} unreachable "
                f"(no answer within {timeout_s:g} s)"
            )
        except OSError as exc:
            reason = exc.strerror or str(exc)
            problems.append(
                f"edges.{edge.name}.address: central broker {host}:{port} unreachable ({reason})"
            )
    return problems
