"""fraudwatch.api: the decision service (``create_app(settings)``, ``fraudwatch serve``).

``create_app`` is imported on first use, so ``fraudwatch --help`` does not load FastAPI.
"""

__all__ = ["create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from fraudwatch.api.app import create_app

        return create_app
    raise AttributeError(f"module 'fraudwatch.api' has no attribute {name!r}")
