"""fraudwatch.api: the decision service (``create_app(settings)``, ``fraudwatch serve``).

Other domains (the console) use the service's parts through these names: API keys and
their principals, the versioned rules with their activation and rollback, the named lists
and the model registry, each change audited as the API audits it.

Names are imported on first use, so ``fraudwatch --help`` does not load FastAPI.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "create_app": "app",
    # keys, principals and the scopes' dependencies (for the routers of other domains)
    "Admin": "auth",
    "Analyst": "auth",
    "Authenticator": "auth",
    "Principal": "auth",
    "Reader": "auth",
    "create_key": "auth",
    "JSONResponse": "body",
    "RULES": "definitions",
    "activate": "definitions",
    "create_version": "definitions",
    "engine_factory": "definitions",
    "parse_rules": "definitions",
    "previous_version": "definitions",
    "change_list": "lists",
    "change_models": "ml_models",
    "registry": "ml_models",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fraudwatch.api' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"fraudwatch.api.{module}"), name)
    globals()[name] = value
    return value
