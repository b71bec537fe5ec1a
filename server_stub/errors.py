"""The stub's one exception: an MLflow error code with a message, answered with MLflow's status."""

from __future__ import annotations

from mlflow_client._generated.models import ErrorCode


class StubError(Exception):
    """Raised anywhere in the stub; the HTTP layer turns it into ``{"error_code", "message"}``."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message

    @property
    def http_status(self) -> int:
        return ErrorCode.HTTP_STATUS.get(self.error_code, 500)


def invalid(message: str) -> StubError:
    return StubError(ErrorCode.INVALID_PARAMETER_VALUE, message)


def not_found(message: str) -> StubError:
    return StubError(ErrorCode.RESOURCE_DOES_NOT_EXIST, message)


def already_exists(message: str) -> StubError:
    return StubError(ErrorCode.RESOURCE_ALREADY_EXISTS, message)
