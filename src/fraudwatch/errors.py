"""One error tree. Errors meant for the API carry their HTTP status as data."""


class FraudwatchError(Exception):
    """Root of fraudwatch's errors."""

    status_code: int = 500


class ValidationFailed(FraudwatchError):
    """Input that does not fit: carries the field path and the reason."""

    status_code = 422

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.errors = errors or []


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
