"""fraudwatch.api: the decision service (``create_app(settings)``, ``fraudwatch serve``).

``create_app`` is imported on first use, so ``fraudwatch --help`` does not load FastAPI.
"""

__all__ = ["Admin", "Analyst", "Principal", "Reader", "create_app"]
_AUTH = ("Admin", "Analyst", "Principal", "Reader")  # for the routers of other domains


def __getattr__(name: str):
    if name == "create_app":
        from fraudwatch.api.app import create_app

        return create_app
    if name in _AUTH:
        from fraudwatch.api import auth

        return getattr(auth, name)
    raise AttributeError(f"module 'fraudwatch.api' has no attribute {name!r}")
