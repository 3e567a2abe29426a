"""``is_disposable_email(s)`` and the updatable list of disposable e-mail domains."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Any

from fraudwatch.rules.functions.registry import Function, Param, register
from fraudwatch.rules.values import BOOL, STRING

# the shipped list; FRAUDWATCH_DISPOSABLE_EMAIL_DOMAINS names a file that replaces it
ENVIRONMENT = "FRAUDWATCH_DISPOSABLE_EMAIL_DOMAINS"
_cache: dict[tuple[str, float], frozenset[str]] = {}


def disposable_domains() -> frozenset[str]:
    """The domains of the list file: one per line, ``#`` starts a comment. Read again when the
    file changes (its modification time), so an updated file applies at the next rule load."""
    given = os.environ.get(ENVIRONMENT)
    path = Path(given) if given else Path(str(files("fraudwatch.rules") / "data" / "disposable_email_domains.txt"))
    key = (str(path), path.stat().st_mtime)
    domains = _cache.get(key)
    if domains is None:
        lines = path.read_text(encoding="utf-8").splitlines()
        domains = frozenset(d for line in lines if (d := line.split("#", 1)[0].strip().lower()))
        _cache.clear()
        _cache[key] = domains
    return domains


@register
class IsDisposableEmail(Function):
    """Whether the address (or a bare domain) belongs to a disposable e-mail service, or to a
    subdomain of one. Radar's ``:is_disposable_email:``. The list ships in
    ``fraudwatch/rules/data/disposable_email_domains.txt``; set
    ``FRAUDWATCH_DISPOSABLE_EMAIL_DOMAINS`` to a file of your own (one domain a line) to
    replace it. The file is read when the rules are loaded.

    ``review if is_disposable_email(event.email)``
    """

    name = "is_disposable_email"
    params = (Param("address", STRING),)
    returns = BOOL

    def bind(self, consts: tuple[Any, ...]) -> Any:
        domains = disposable_domains()

        def disposable(address: str) -> bool | None:
            domain = address.rpartition("@")[2].strip().rstrip(".").lower()
            if not domain:
                return None
            while True:
                if domain in domains:
                    return True
                _, dot, domain = domain.partition(".")
                if not dot:
                    return False

        return disposable

    def execute(self, address: Any) -> Any:  # pragma: no cover - bind gives the callable
        return self.bind(())(address)
