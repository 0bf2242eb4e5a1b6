"""Home Assistant's template engine, as far as our discovery templates reach into it.

Mirrors ``homeassistant/helpers/template.py`` (``TemplateEnvironment``, unchanged in what
matters here from 2024.8 to 2025.x): Jinja's ``ImmutableSandboxedEnvironment`` (``range``
capped at 100,000 items, no attribute writes), the ``loopcontrols`` extension, the globals
``now``/``utcnow``/``as_timestamp`` and HA's ``random`` filter (``random.choice`` on every
render) and ``int``/``float`` filters (which raise rather than default). The real package
needs Python 3.13, so it cannot run in this 3.11 tree; the sandbox itself is Jinja's own.

HA renders an MQTT ``command_template`` with ``value`` (the switch's ``payload_on``/
``payload_off``), ``entity_id`` and ``name``, and a ``value_template`` with ``value`` and
``value_json``. Undefined names render empty in HA (with a warning); here they raise, so a
template that leans on something HA lacks fails the test instead of sending garbage.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

import jinja2
from jinja2.filters import do_float, do_int
from jinja2.sandbox import ImmutableSandboxedEnvironment

_MISSING = object()


def _as_timestamp(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value)).timestamp()


def _random_every_time(values: Any) -> Any:
    return random.choice(values)


def _forgiving_int(value: Any, default: Any = _MISSING, base: int = 10) -> Any:
    result = do_int(value, default=default, base=base)
    if result is _MISSING:
        raise ValueError(f"int got invalid input {value!r} and no default was specified")
    return result


def _forgiving_float(value: Any, default: Any = _MISSING) -> Any:
    result = do_float(value, default=default)
    if result is _MISSING:
        raise ValueError(f"float got invalid input {value!r} and no default was specified")
    return result


class HomeAssistantTemplates(ImmutableSandboxedEnvironment):
    def __init__(self) -> None:
        super().__init__(undefined=jinja2.StrictUndefined)
        self.add_extension("jinja2.ext.loopcontrols")
        self.globals["now"] = lambda: datetime.now().astimezone()
        self.globals["utcnow"] = lambda: datetime.now(UTC)
        self.globals["as_timestamp"] = _as_timestamp
        self.filters["as_timestamp"] = _as_timestamp
        self.filters["random"] = _random_every_time
        self.filters["int"] = _forgiving_int
        self.filters["float"] = _forgiving_float

    def render_command(self, template: str, value: str, entity_id: str, name: str) -> str:
        """What HA's MQTT entity publishes for ``value`` (a string: HA does not parse it)."""
        variables = {"value": value, "entity_id": entity_id, "name": name}
        return self.from_string(template).render(variables)

    def render_value(self, template: str, payload: bytes) -> str:
        """The state HA derives from a message on the entity's state topic."""
        value = payload.decode()
        return self.from_string(template).render(value=value, value_json=json.loads(value))
