"""Error messages that name the bad key and value, and never show a secret."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError

HIDDEN_FIELDS: Final = frozenset(
    {"password", "secret_key", "token", "notify_webhook_token", "notify_smtp_password"}
)
_MAX_SHOWN: Final = 60


def redact_url(url: str) -> str:
    """``mqtt://user:secret@host`` → ``mqtt://user:***@host``; anything else unchanged."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password:
        return url
    netloc = parts.netloc.replace(f":{password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def shown(value: object, field: str = "", hidden: Collection[str] = HIDDEN_FIELDS) -> str:
    """A bad value as it may appear in a message or a log: short, and without secrets."""
    if field in hidden:
        return "<hidden>"
    if isinstance(value, str) and "@" in value and "://" in value:
        value = redact_url(value)
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def dotted(loc: Sequence[int | str]) -> str:
    """``("relays", 0, "pin")`` → ``relays[0].pin``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def problems(
    exc: ValidationError,
    where: Callable[[Sequence[int | str]], str] = dotted,
    hidden: Collection[str] = HIDDEN_FIELDS,
) -> list[str]:
    """One line per problem: where, what is wrong, and the value that was given.

    A model-level check (no location) already names its keys: its message stands alone.
    """
    out = []
    for err in exc.errors(include_url=False):
        msg = err["msg"].removeprefix("Value error, ")
        if not err["loc"] and err["type"] == "value_error":
            out.extend(msg.split("; "))
            continue
        field = str(err["loc"][-1]) if err["loc"] else ""
        value = shown(err.get("input"), field, hidden)
        out.append(f"{where(err['loc']) or '(top level)'}: {msg} (got {value})")
    return out
