"""The seam for authentication and authorisation (a later issue): who may do what.

``create_app`` takes an ``Authorize`` callable; it gets the WSGI environ of the HTTP request
or of the Socket.IO connection and an action (``read`` or ``set_relay``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeAlias

Action: TypeAlias = Literal["read", "set_relay"]
Authorize: TypeAlias = Callable[[Mapping[str, Any], Action], bool]


def allow_all(_environ: Mapping[str, Any], _action: Action) -> bool:
    return True
