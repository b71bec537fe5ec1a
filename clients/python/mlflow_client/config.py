"""Process-wide switches set from code, as ``mlflow.config``: ``enable_async_logging``.

A switch set here wins over the environment (``MLFLOW_ENABLE_ASYNC_LOGGING``) for every client of the
process; ``synchronous=`` on a call wins over both.
"""

from __future__ import annotations

__all__ = ["async_logging_enabled", "enable_async_logging"]

_async_logging: bool | None = None


def enable_async_logging(enable: bool = True) -> None:
    """Make logging calls asynchronous by default (``enable=False``: synchronous by default)."""
    global _async_logging
    if not isinstance(enable, bool):
        raise TypeError(f"enable must be a bool, got {enable!r}")
    _async_logging = enable


def async_logging_enabled() -> bool | None:
    """What ``enable_async_logging`` set, or ``None`` if it was never called."""
    return _async_logging
