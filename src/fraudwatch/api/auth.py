"""API keys with scopes. A key is shown once at creation; only its HMAC-SHA256 under the
configured pepper is stored, so a stolen database does not give working keys.

Scopes: ``ingest`` (send events), ``read`` (decisions, events, definitions), ``analyst``
(read, and work cases and disputes: claim, notes, verdicts; no configuration change),
``admin`` (change rules, lists, features, models; read the audit log). ``admin`` implies
``analyst`` and ``read``; ``analyst`` implies ``read``.

>>> key = generate_key()
>>> key.startswith("fw_"), len(hash_key(key, b"pepper"))
(True, 32)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fraudwatch.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from fraudwatch.storage import ApiKey, AuditRecord, Keys, UnitOfWork

SCOPES = ("ingest", "read", "analyst", "admin")
IMPLIED = {
    "admin": {"admin", "analyst", "read"},
    "analyst": {"analyst", "read"},
    "read": {"read"},
    "ingest": {"ingest"},
}
CACHE_SECONDS = 1.0  # a revoked key stops working within this long


def generate_key() -> str:
    return "fw_" + secrets.token_urlsafe(30)


def hash_key(key: str, pepper: bytes) -> bytes:
    return hmac.new(pepper, key.encode(), hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    name: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        """Who did it, for the audit log: the key's id (unique) and its name (not unique)."""
        return f"key:{self.key_id} ({self.name})"


def create_key(uow: UnitOfWork, *, name: str, scopes: list[str], pepper: bytes, actor: str) -> tuple[str, ApiKey]:
    """Create a key inside the caller's unit of work; returns the clear key (shown once)."""
    bad = [s for s in scopes if s not in SCOPES]
    if not scopes or bad:
        raise ValidationFailed("unknown scope", [{"loc": "scope", "msg": f"expected some of {', '.join(SCOPES)}"}])
    if not name.strip():
        raise ValidationFailed("name is empty", [{"loc": "name", "msg": "a key needs a name"}])
    clear = generate_key()
    key = ApiKey(
        key_id=secrets.token_hex(6),
        name=name.strip(),
        scopes=tuple(sorted(set(scopes))),
        hash=hash_key(clear, pepper),
        created_at=time.time(),
    )
    uow.keys.add(key)
    uow.audit.add(AuditRecord(time.time(), actor, "keys.create", f"keys/{key.key_id}", None, key_view(key)))
    return clear, key


def revoke_key(uow: UnitOfWork, *, key_id: str, actor: str) -> ApiKey:
    """Revoke a key inside the caller's unit of work."""
    before = next((k for k in uow.keys.all() if k.key_id == key_id), None)
    if before is None:
        raise NotFound(f"no key {key_id!r}")
    after = uow.keys.revoke(key_id, time.time())
    uow.audit.add(AuditRecord(time.time(), actor, "keys.revoke", f"keys/{key_id}", key_view(before), key_view(after)))
    return after


def key_view(key: ApiKey) -> dict:
    return {
        "key_id": key.key_id,
        "name": key.name,
        "scopes": list(key.scopes),
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }


class Authenticator:
    """Looks keys up by hash, with a short cache so the hot path costs one HMAC."""

    def __init__(self, keys: Keys, pepper: bytes):
        self._keys = keys
        self._pepper = pepper
        self._cache: dict[bytes, tuple[float, Principal | None]] = {}

    def forget(self) -> None:
        """Drop the cache, e.g. after a revocation through the API."""
        self._cache.clear()

    def principal(self, key: str | None, scope: str) -> Principal:
        if not key:
            raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
        digest = hash_key(key, self._pepper)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is None or now - cached[0] > CACHE_SECONDS:
            if len(self._cache) > 10_000:
                self._cache.clear()
            cached = self._cache[digest] = (now, self._load(digest))
        principal = cached[1]
        if principal is None:
            raise Unauthorized("unknown or revoked API key")
        if scope not in principal.scopes:
            raise Forbidden(f"the key {principal.name!r} lacks the scope {scope!r}")
        return principal

    def _load(self, digest: bytes) -> Principal | None:
        key = self._keys.by_hash(digest)
        if key is None or key.revoked_at is not None:
            return None
        granted = frozenset().union(*(IMPLIED.get(s, ()) for s in key.scopes))
        return Principal(key.key_id, key.name, granted)


_bearer = HTTPBearer(auto_error=False, description="an API key: `fraudwatch keys create --scope ...`")


def require(scope: str):
    """Dependency: the caller's principal, 401 without a valid key, 403 without ``scope``."""

    async def dependency(  # async: a plain def would run in a worker thread
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Principal:
        return request.app.state.auth.principal(credentials.credentials if credentials else None, scope)

    dependency.__name__ = f"require_{scope}"
    return dependency


Ingest = Annotated[Principal, Depends(require("ingest"))]
Reader = Annotated[Principal, Depends(require("read"))]
Analyst = Annotated[Principal, Depends(require("analyst"))]
Admin = Annotated[Principal, Depends(require("admin"))]
