"""One error tree. Errors meant for the API carry their HTTP status as data."""

from typing import Any


class FraudwatchError(Exception):
    """Root of fraudwatch's errors."""

    status_code: int = 500


class ValidationFailed(FraudwatchError):
    """Input that does not fit: carries the field path and the reason."""

    status_code = 422

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class InvalidValue(ValidationFailed, ValueError):
    """A value that does not fit where it is given (a feature definition's field, a
    threshold, a key); a ``ValueError`` too, so callers that catch that keep working."""


class NotFound(FraudwatchError):
    status_code = 404


class Conflict(FraudwatchError):
    status_code = 409


class Unauthorized(FraudwatchError):
    status_code = 401


class Forbidden(FraudwatchError):
    status_code = 403


class StorageUnavailable(FraudwatchError):
    """The database cannot be reached (restarting, failing over): try again shortly."""

    status_code = 503
