"""Logging set-up shared by the services: plain text for people, JSON lines for collectors.

JSON is one object per line with ``ts`` (ISO 8601, UTC), ``level``, ``logger``, ``message``
and, when there is one, ``exception`` (the formatted traceback). A small stdlib formatter:
these five fields do not justify a dependency in the core every service installs.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final, Literal, TextIO, get_args

LogFormat = Literal["text", "json"]
LOG_FORMATS: Final[tuple[str, ...]] = get_args(LogFormat)
LOG_FORMAT_ENV: Final = "FACTORY_LOG_FORMAT"
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: a message argument that is not JSON-serialisable must not lose the line.
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_format_from_env(environ: Mapping[str, str] | None = None) -> LogFormat:
    """``FACTORY_LOG_FORMAT`` (text or json), ``text`` when unset; ValueError names a bad one."""
    value = (os.environ if environ is None else environ).get(LOG_FORMAT_ENV, "text")
    value = value.strip().lower() or "text"
    if value == "json":
        return "json"
    if value == "text":
        return "text"
    raise ValueError(f"{LOG_FORMAT_ENV}={value!r} is not one of {', '.join(LOG_FORMATS)}")


def setup_logging(
    level: str = "INFO", fmt: LogFormat = "text", stream: TextIO | None = None
) -> None:
    """Configure the root logger (replacing earlier handlers) to write to stderr."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format {fmt!r} is not one of {', '.join(LOG_FORMATS)}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
