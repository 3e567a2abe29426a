"""Console sessions: an API key with the ``analyst`` or ``admin`` scope is exchanged once
for a session cookie (HttpOnly, SameSite=Strict, Secure over TLS, expiring); the key
itself is never kept. Only the SHA-256 of the cookie's token is stored, in the console's
file, so a copy of that file gives no working session. A session ends when it expires,
when its owner signs out, or within a second of its key being revoked.

Every form carries the session's CSRF token (the sign-in form a token of its own, from a
short-lived cookie); a POST without the right one is refused with 403.

>>> import os, tempfile
>>> from fraudwatch.console.store import ConsoleDB
>>> from fraudwatch.storage.sqlite import MemoryStore
>>> from fraudwatch.api import Authenticator, create_key
>>> storage = MemoryStore()
>>> with storage.unit() as uow:
...     clear, _ = create_key(uow, name="aiko", scopes=["analyst"], pepper=b"p", actor="test")
>>> sessions = Sessions(ConsoleDB(os.path.join(tempfile.mkdtemp(), "c.db")), storage, Authenticator(storage.keys, b"p"))
>>> token, session = sessions.sign_in(clear)
>>> session.name, session.role, session.is_admin
('aiko', 'analyst', False)
>>> sessions.find(token).key_id == session.key_id
True
>>> sessions.sign_out(token); sessions.find(token) is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from fraudwatch.console.store import ConsoleDB
from fraudwatch.errors import Forbidden, Unauthorized
from fraudwatch.storage import Store

COOKIE = "fw_console"
SIGNIN_COOKIE = "fw_console_signin"  # holds the sign-in form's CSRF token
COOKIE_PATH = "/console"
LIFETIME = 8 * 3600.0  # a working day; then sign in again
KEYS_CACHE_SECONDS = 1.0
ROLES = ("admin", "analyst")  # in order of precedence


@dataclass(frozen=True, slots=True)
class Session:
    token_hash: bytes
    key_id: str
    name: str
    role: str
    csrf: str
    created: float
    expires: float
    language: str | None = None
    timezone: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def csrf_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; a missing token never matches.

    >>> csrf_matches("abc", "abc"), csrf_matches("abc", "abd"), csrf_matches("abc", None), csrf_matches(None, None)
    (True, False, False, False)
    """
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


class Sessions:
    """Sign-in, look-up and sign-out, over the console's file and the service's keys."""

    def __init__(self, db: ConsoleDB, storage: Store, authenticator, lifetime: float = LIFETIME):
        self.db = db
        self.storage = storage
        self.authenticator = authenticator
        self.lifetime = lifetime
        self._active: tuple[float, frozenset[str]] = (0.0, frozenset())

    def sign_in(self, key: str, *, timezone: str | None = None) -> tuple[str, Session]:
        """Exchange an API key for a session; returns the cookie's token and the session.
        Raises Unauthorized for an unknown or revoked key, Forbidden for a key with neither
        the analyst nor the admin scope."""
        principal = self.authenticator.principal(key.strip() if key else None, "read")
        role = next((r for r in ROLES if r in principal.scopes), None)
        if role is None:
            raise Forbidden(f"the key {principal.name!r} has neither the analyst nor the admin scope")
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE expires < ?", (now,))
            conn.execute(
                "INSERT INTO sessions(token_hash, key_id, name, role, csrf, created, expires)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_digest(token), principal.key_id, principal.name, role, new_csrf_token(), now, now + self.lifetime),
            )
            if timezone:
                conn.execute(
                    "INSERT INTO preferences(key_id, timezone) VALUES (?, ?)"
                    " ON CONFLICT DO UPDATE SET timezone = coalesce(timezone, excluded.timezone)",
                    (principal.key_id, timezone),
                )
        session = self.find(token)
        assert session is not None
        return token, session

    def find(self, token: str | None) -> Session | None:
        """The live session of a cookie's token, or None."""
        if not token or len(token) > 128:
            return None
        row = (
            self.db.connection()
            .execute(
                "SELECT s.token_hash, s.key_id, s.name, s.role, s.csrf, s.created, s.expires, p.language, p.timezone"
                " FROM sessions s LEFT JOIN preferences p ON p.key_id = s.key_id WHERE s.token_hash = ?",
                (_digest(token),),
            )
            .fetchone()
        )
        if row is None or row[6] < time.time():
            return None
        if row[1] not in self._active_keys() and row[1] not in self._active_keys(fresh=True):
            return None  # revoked (or made after the cached list: looked up again)
        return Session(*row)

    def sign_out(self, token: str | None) -> None:
        if token:
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM sessions WHERE token_hash = ?", (_digest(token),))

    def set_preferences(self, session: Session, *, language: str | None, timezone: str | None) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO preferences(key_id, language, timezone) VALUES (?, ?, ?)"
                " ON CONFLICT DO UPDATE SET language = excluded.language, timezone = excluded.timezone",
                (session.key_id, language, timezone),
            )

    def _active_keys(self, fresh: bool = False) -> frozenset[str]:
        at, keys = self._active
        now = time.monotonic()
        if fresh or now - at > KEYS_CACHE_SECONDS:
            keys = frozenset(k.key_id for k in self.storage.keys.all() if k.revoked_at is None)
            self._active = (now, keys)
        return keys


def require_admin(session: Session) -> None:
    if not session.is_admin:
        raise Forbidden("only an admin can change rules, lists and models")


__all__ = [
    "COOKIE",
    "COOKIE_PATH",
    "SIGNIN_COOKIE",
    "Session",
    "Sessions",
    "Unauthorized",
    "csrf_matches",
    "new_csrf_token",
    "require_admin",
]
