"""Which tracking URI is in force: explicit argument > ``set_tracking_uri()`` > MLFLOW_TRACKING_URI > local.

The registry URI the same way: explicit > ``set_registry_uri()`` > MLFLOW_REGISTRY_URI > the tracking URI."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._settings import Settings

DEFAULT_LOCAL_URI = "./mlruns"

_lock = threading.Lock()
_set_uri: str | None = None
_set_registry_uri: str | None = None


def set_tracking_uri(uri: str | os.PathLike[str] | None) -> None:
    """Set the URI used when none is passed explicitly (``None`` clears it)."""
    global _set_uri
    with _lock:
        _set_uri = None if uri is None else os.fspath(uri)


def resolve(explicit: str | None, settings: Settings) -> str:
    if explicit:
        return explicit
    with _lock:
        if _set_uri:
            return _set_uri
    return settings.tracking_uri or DEFAULT_LOCAL_URI


def set_registry_uri(uri: str | os.PathLike[str] | None) -> None:
    """Set the registry URI used when none is passed explicitly (``None`` clears it)."""
    global _set_registry_uri
    with _lock:
        _set_registry_uri = None if uri is None else os.fspath(uri)


def registry_uri_set() -> str | None:
    """The URI given to ``set_registry_uri()``, if any."""
    with _lock:
        return _set_registry_uri
