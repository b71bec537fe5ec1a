"""How pending items of one run become requests: pure functions, no I/O.

Items of a run are taken in order. Metrics, params and tags coalesce into one ``log-batch`` within the
server's limits (1000 metrics, 100 params, 100 tags, 1000 entities); ``log-inputs`` and the run's
termination go alone, in their place. Within one request:

- a param logged twice with the same value is sent once (MLflow refuses repeated keys in a batch);
  the same key with another value ends the request, so the conflict fails on its own;
- a tag set twice is sent with its last value (the order of a run's tags is last-write-wins);
- an exact duplicate metric (key, value, timestamp, step) is sent once, as MLflow's SQL store keeps
  one (its file store would keep both).

``split`` halves a refused batch so that the one bad item can be found and the rest still lands.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from typing import Any

from .records import BARRIER_KINDS, Item

__all__ = [
    "MAX_ENTITIES",
    "MAX_METRICS",
    "MAX_PARAMS_TAGS",
    "Batch",
    "history_key",
    "log_batch_request",
    "split",
    "take_batch",
]

MAX_METRICS = 1000
MAX_PARAMS_TAGS = 100
MAX_ENTITIES = 1000

#: What MLflow's SQL store returns for +-Infinity.
_FLOAT_MAX = 1.7976931348623157e308


class Batch:
    """Items of one run sent as one request: ``kind`` is ``"b"`` (log-batch), ``"i"`` or ``"u"``.

    ``ambiguous`` says that the server may hold some of it already (an earlier attempt may have been
    applied), so what it holds is checked before sending.
    """

    __slots__ = ("ambiguous", "items", "kind", "run_id")

    def __init__(self, run_id: str, kind: str, items: list[Item], ambiguous: bool = False) -> None:
        self.run_id = run_id
        self.kind = kind
        self.items = items
        self.ambiguous = ambiguous or any(item.maybe_sent for item in items)

    @property
    def last_seq(self) -> int:
        return max(item.seq for item in self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"Batch({self.run_id!r}, {self.kind!r}, {len(self.items)} items, ambiguous={self.ambiguous})"


def take_batch(queue: deque[Item]) -> Batch | None:
    """Take the next request's items off the front of one run's queue (``None`` if it is empty)."""
    if not queue:
        return None
    head = queue[0]
    if head.kind in BARRIER_KINDS:
        return Batch(head.run_id, head.kind, [queue.popleft()])
    items: list[Item] = []
    n_metrics = 0
    params: dict[str, Any] = {}
    tags: set[str] = set()
    while queue:
        item = queue[0]
        kind = item.kind
        if kind in BARRIER_KINDS:
            break
        entities = n_metrics + len(params) + len(tags)
        if kind == "m":
            if n_metrics >= MAX_METRICS or entities >= MAX_ENTITIES:
                break
            n_metrics += 1
        elif kind == "p":
            key, value = item.fields[0], item.fields[1]
            if key in params:
                if params[key] != value:
                    break  # a conflicting value: it fails on its own, in the next request
            elif len(params) >= MAX_PARAMS_TAGS or entities >= MAX_ENTITIES:
                break
            else:
                params[key] = value
        else:
            key = item.fields[0]
            if key not in tags:
                if len(tags) >= MAX_PARAMS_TAGS or entities >= MAX_ENTITIES:
                    break
                tags.add(key)
        items.append(queue.popleft())
    return Batch(head.run_id, "b", items)


def split(batch: Batch) -> tuple[Batch, Batch]:
    """The two halves of a batch of two or more items, in order."""
    half = len(batch.items) // 2
    return (
        Batch(batch.run_id, batch.kind, batch.items[:half], batch.ambiguous),
        Batch(batch.run_id, batch.kind, batch.items[half:], batch.ambiguous),
    )


def _normal(value: float) -> float | str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value) or abs(value) == _FLOAT_MAX:
        return "inf" if value > 0 else "-inf"
    return value


def history_key(timestamp: int, step: int, value: float) -> tuple[int, int, float | str]:
    """What identifies a point of a metric's history when comparing ours with the server's (NaN equals
    NaN; +-Infinity equals the largest float, as MLflow's SQL store returns it)."""
    return (int(timestamp), int(step), _normal(value))


def log_batch_request(run_id: str, items: Iterable[Item]) -> dict[str, Any]:
    """The fields of a ``LogBatch`` request for ``items``: metrics, params and tags, deduplicated."""
    metrics: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    params: dict[str, str] = {}
    tags: dict[str, str] = {}
    for item in items:
        f = item.fields
        if item.kind == "m":
            extras = f[4]
            ident = (f[0], *history_key(f[2], f[3], f[1]), tuple(sorted(extras.items())) if extras else ())
            if ident in seen:
                continue
            seen.add(ident)
            metric: dict[str, Any] = {"key": f[0], "value": f[1], "timestamp": f[2], "step": f[3]}
            if extras:
                metric.update(extras)
            metrics.append(metric)
        elif item.kind == "p":
            params.setdefault(f[0], f[1])
        else:
            tags.pop(f[0], None)  # last value wins, and it goes where the last one was set
            tags[f[0]] = f[1]
    return {
        "run_id": run_id,
        "metrics": metrics,
        "params": [{"key": k, "value": v} for k, v in params.items()],
        "tags": [{"key": k, "value": v} for k, v in tags.items()],
    }
