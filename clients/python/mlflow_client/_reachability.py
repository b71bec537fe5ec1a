"""Whether a tracking server answers at all, asked once with at most one retry (``sync``, offline mode)."""

from __future__ import annotations

from typing import Any

from .exceptions import MlflowConnectionError, MlflowException

__all__ = ["unreachable"]


def unreachable(transport: Any) -> str | None:
    """``None`` when the server answers, else why not. Any answer, even an error, says it is there: a
    server that is down is known after one short try instead of after the whole retry schedule."""
    policy = transport.retry_policy.with_changes(max_retries=min(1, transport.retry_policy.max_retries))
    try:
        transport.request(
            "GET", "/api/2.0/mlflow/experiments/get", params=[("experiment_id", "0")], retry_policy=policy
        )
    except MlflowConnectionError as err:
        return err.message
    except MlflowException:
        pass
    return None
