"""fraudwatch.console: the analyst web console at ``/console`` on ``fraudwatch serve``
(docs/console.md).

The service starts it with ``start_console(app, service)`` and mounts
``fraudwatch.console.views.router``; ``fraudwatch demo --serve`` runs ``serve_demo``.
Names are imported on first use.
"""

from __future__ import annotations

import importlib

_EXPORTS = {"Console": "service", "start_console": "service", "serve_demo": "demo"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fraudwatch.console' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"fraudwatch.console.{module}"), name)
    globals()[name] = value
    return value
