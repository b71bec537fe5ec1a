"""Asynchronous logging that never blocks the caller and never loses what it logged.

One ``Delivery`` per process, server and spool folder (``delivery_for``), made on first use. It
journals each call to disk before the call returns, and its sender delivers in the background,
replaying the journals of processes that died. Process-wide hooks live here:

- at interpreter exit, pending data gets ``MLFLOW_CLIENT_DRAIN_TIMEOUT`` seconds (shared by the runs
  the fluent API still has open and the final flush); what is left stays in the spool, said in one
  line per server;
- in a forked child, the parent's deliveries are let go of (their files untouched) and the child
  makes its own on first use, with a journal of its own.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from typing import TYPE_CHECKING

from .operations import RunOperations

if TYPE_CHECKING:
    from .._settings import Settings
    from .delivery import Delivery

__all__ = [
    "RunOperations",
    "delivery_for",
    "existing_delivery",
    "exit_time_left",
    "flush_all",
    "generation",
    "replay_if_pending",
    "shutdown_all",
]

_lock = threading.Lock()
_deliveries: dict[tuple[str, str], Delivery] = {}
_exit_deadline: float | None = None
_atexit_registered = False
#: Bumped in a forked child, so objects that cache a delivery know to look it up again.
generation = 0


def _key(uri: str, settings: Settings) -> tuple[str, str]:
    from .spool import public_url

    return public_url(uri), settings.spool_folder


def delivery_for(uri: str, settings: Settings) -> Delivery:
    """This process's delivery to the server at ``uri`` (made, and its sender started, on first use)."""
    global _atexit_registered
    key = _key(uri, settings)
    delivery = _deliveries.get(key)
    if delivery is not None and not delivery.closed:
        return delivery
    from .delivery import Delivery

    with _lock:
        delivery = _deliveries.get(key)
        if delivery is None or delivery.closed:
            try:
                delivery = _deliveries[key] = Delivery(uri, settings)
            except OSError as err:
                from ..exceptions import ConfigurationError

                raise ConfigurationError(
                    f"cannot use the spool folder {settings.spool_folder} for asynchronous logging: {err}; set "
                    "MLFLOW_CLIENT_SPOOL_DIR to a folder of your own on a local disk"
                ) from err
            if not _atexit_registered:
                atexit.register(_at_exit)
                _atexit_registered = True
    return delivery


def existing_delivery(uri: str, settings: Settings) -> Delivery | None:
    delivery = _deliveries.get(_key(uri, settings))
    return delivery if delivery is not None and not delivery.closed else None


def replay_if_pending(uri: str, settings: Settings) -> None:
    """Start the server's delivery if the spool holds journals for it (a process died with data)."""
    if _deliveries.get(_key(uri, settings)) is not None:
        return
    from .spool import has_journals, server_folder_path

    try:
        pending = has_journals(server_folder_path(settings.spool_folder, uri))
    except OSError:  # an unreadable spool folder must not stop a synchronous client; async use says why
        return
    if pending:
        delivery_for(uri, settings)


def flush_all(timeout: float | None = None) -> None:
    """Flush every delivery of this process (``mlflow_client.flush_async_logging``)."""
    errors = []
    for delivery in list(_deliveries.values()):
        if delivery.closed or delivery.pid != os.getpid():
            continue
        try:
            delivery.flush(timeout)
        except Exception as err:
            errors.append(err)
    if errors:
        raise errors[0]


def shutdown_all(timeout: float) -> None:
    """Close every delivery, giving pending data ``timeout`` seconds in all."""
    deadline = time.monotonic() + timeout
    with _lock:
        deliveries = list(_deliveries.values())
        _deliveries.clear()
    for delivery in deliveries:
        delivery.close(max(0.0, deadline - time.monotonic()))


def begin_exit(timeout: float) -> None:
    """Interpreter exit has begun: waits for pending data from now on share one deadline."""
    global _exit_deadline
    if _exit_deadline is None:
        _exit_deadline = time.monotonic() + timeout


def exit_time_left(timeout: float) -> float:
    """``timeout``, or less once the exit deadline is nearer."""
    if _exit_deadline is None:
        return timeout
    return max(0.0, min(timeout, _exit_deadline - time.monotonic()))


def _at_exit() -> None:
    timeout = max((d.settings.drain_timeout for d in _deliveries.values()), default=0.0)
    begin_exit(timeout)
    fluent = sys.modules.get("mlflow_client.fluent")
    if fluent is not None:
        fluent._end_runs_at_exit()
    shutdown_all(exit_time_left(timeout))


def _after_fork_in_child() -> None:
    global _lock, generation
    _lock = threading.Lock()
    generation += 1
    for delivery in list(_deliveries.values()):
        delivery.abandon()
    _deliveries.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
