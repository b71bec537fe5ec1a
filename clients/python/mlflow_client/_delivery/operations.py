"""``RunOperations``: what an asynchronous logging call returns, as in MLflow."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .delivery import Delivery

__all__ = ["RunOperations", "get_combined_run_operations"]


class RunOperations:
    """Asynchronous operations on runs; ``wait()`` blocks until the server has them all.

    ``wait`` raises ``AsyncLoggingError`` for operations the server refused for good (they are kept in
    the spool's dead-letter file), and ``DeliveryTimeout`` when ``timeout`` runs out first (the data
    stays spooled and is still sent). Operations logged to a local store are done when the call
    returns.
    """

    __slots__ = ("_operations",)

    def __init__(self, operations: Iterable[tuple[Delivery, int]] | None = None) -> None:
        self._operations = list(operations or ())

    def wait(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        for delivery, seq in self._operations:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            delivery.wait_for(seq, left)

    def done(self) -> bool:
        """Whether every operation is settled (delivered, or refused for good)."""
        return all(delivery.settled >= seq for delivery, seq in self._operations)

    # MLflow 2.x's name for ``wait``.
    await_completion = wait

    def __repr__(self) -> str:
        return f"RunOperations({len(self._operations)} operation(s), done={self.done()})"


def get_combined_run_operations(operations: Iterable[RunOperations | None]) -> RunOperations | None:
    """One ``RunOperations`` for several (``None`` for none), as MLflow's helper of that name."""
    ops = [op for op in operations if op is not None]
    if not ops:
        return None
    if len(ops) == 1:
        return ops[0]
    return RunOperations(pair for op in ops for pair in op._operations)
