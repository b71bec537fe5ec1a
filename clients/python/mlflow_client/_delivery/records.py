"""What one asynchronous call writes to the spool, and how the sender reads it back.

A record is one line of JSON, an array: ``[seq, kind, run_id, ...]``. The kinds:

====  ==========================================  ===========================================
kind  fields after the run id                     from
====  ==========================================  ===========================================
m     key, value, timestamp, step[, extras]       ``log_metric``
p     key, value                                  ``log_param``
t     key, value                                  ``set_tag``
b     metrics, params, tags                       ``log_batch``, ``log_metrics``, ``log_params``, ``set_tags``
i     datasets, model ids                         ``log_inputs``
u     status, end time                            ``set_terminated`` / ``end_run`` after asynchronous data
====  ==========================================  ===========================================

Metric values that JSON cannot hold are written as MLflow's wire does: ``"NaN"``, ``"Infinity"``,
``"-Infinity"``. ``extras`` is an object with ``model_id``, ``dataset_name``, ``dataset_digest`` when a
metric has any. A ``b`` record holds its metrics as ``[key, value, timestamp, step, extras?]`` arrays and
its params and tags as ``[key, value]`` arrays. No record holds credentials: they are never passed here.

A record is expanded into ``Item``s, one per metric, param, tag or other operation; the sender batches
items and settles a record once all its items are settled.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

__all__ = [
    "BARRIER_KINDS",
    "Item",
    "encode_batch",
    "encode_inputs",
    "encode_metric",
    "encode_param",
    "encode_tag",
    "encode_terminate",
    "items_of",
    "metric_value",
]

#: Kinds sent on their own, in order with the rest: they are not log-batch entities.
BARRIER_KINDS = frozenset({"i", "u"})

_encode = msgspec.json.Encoder().encode
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}
_FROM_TEXT = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _value(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else _NON_FINITE[value]


def metric_value(raw: float | str | int) -> float:
    """A metric value as read back from a record."""
    if isinstance(raw, str):
        return _FROM_TEXT[raw]
    return float(raw)


def _extras(model_id: str | None, dataset_name: str | None, dataset_digest: str | None) -> dict[str, str] | None:
    if model_id is None and dataset_name is None and dataset_digest is None:
        return None
    extras = {"model_id": model_id, "dataset_name": dataset_name, "dataset_digest": dataset_digest}
    return {k: v for k, v in extras.items() if v is not None}


def encode_metric(
    run_id: str,
    key: str,
    value: float,
    timestamp: int,
    step: int,
    model_id: str | None = None,
    dataset_name: str | None = None,
    dataset_digest: str | None = None,
) -> bytes:
    fields: list[Any] = ["m", run_id, key, _value(value), timestamp, step]
    extras = _extras(model_id, dataset_name, dataset_digest)
    if extras:
        fields.append(extras)
    return _encode(fields)


def encode_param(run_id: str, key: str, value: str) -> bytes:
    return _encode(["p", run_id, key, value])


def encode_tag(run_id: str, key: str, value: str) -> bytes:
    return _encode(["t", run_id, key, value])


def encode_batch(
    run_id: str,
    metrics: Iterable[tuple[str, float, int, int, str | None, str | None, str | None]],
    params: Iterable[tuple[str, str]],
    tags: Iterable[tuple[str, str]],
) -> bytes:
    """``metrics`` as (key, value, timestamp, step, model_id, dataset_name, dataset_digest) tuples."""
    wire_metrics: list[list[Any]] = []
    for key, value, timestamp, step, model_id, dataset_name, dataset_digest in metrics:
        row: list[Any] = [key, _value(value), timestamp, step]
        extras = _extras(model_id, dataset_name, dataset_digest)
        if extras:
            row.append(extras)
        wire_metrics.append(row)
    return _encode(["b", run_id, wire_metrics, [list(p) for p in params], [list(t) for t in tags]])


def encode_inputs(run_id: str, datasets: Sequence[Any], models: Sequence[str]) -> bytes:
    """``datasets`` as JSON-ready objects (the wire form of ``DatasetInput``)."""
    return _encode(["i", run_id, list(datasets), list(models)])


def encode_terminate(run_id: str, status: str, end_time: int) -> bytes:
    return _encode(["u", run_id, status, end_time])


class Item:
    """One thing to deliver: a metric, a param, a tag (log-batch entities), or a whole i/u operation.

    ``source`` is the journal reader the record came from and ``seq`` its number there; ``fields`` are
    the kind's fields (for ``m``: key, value, timestamp, step, extras-or-None).
    """

    __slots__ = ("fields", "kind", "maybe_sent", "run_id", "seq", "source")

    def __init__(self, source: Any, seq: int, kind: str, run_id: str, fields: tuple[Any, ...], maybe_sent: bool):
        self.source = source
        self.seq = seq
        self.kind = kind
        self.run_id = run_id
        self.fields = fields
        self.maybe_sent = maybe_sent

    @property
    def key(self) -> str:
        key: str = self.fields[0]
        return key

    def describe(self) -> dict[str, Any]:
        """The item as a JSON object, for the dead-letter file and messages."""
        names = {
            "m": ("key", "value", "timestamp", "step", "extras"),
            "p": ("key", "value"),
            "t": ("key", "value"),
            "i": ("datasets", "models"),
            "u": ("status", "end_time"),
        }[self.kind]
        op = {"m": "metric", "p": "param", "t": "tag", "i": "inputs", "u": "terminate"}[self.kind]
        out: dict[str, Any] = {"op": op, "run_id": self.run_id, "seq": self.seq}
        for name, value in zip(names, self.fields, strict=True):
            if value is not None:
                out[name] = _value(value) if name == "value" and isinstance(value, float) else value
        return out

    def __repr__(self) -> str:
        return f"Item({self.describe()!r})"


def items_of(source: Any, record: list[Any], maybe_sent: bool) -> list[Item]:
    """Expand one decoded record into its items (a ``b`` record gives one item per entity)."""
    seq, kind, run_id = record[0], record[1], sys.intern(record[2])
    if kind == "m":
        extras = record[7] if len(record) > 7 else None
        fields = (sys.intern(record[3]), metric_value(record[4]), record[5], record[6], extras)
        return [Item(source, seq, "m", run_id, fields, maybe_sent)]
    if kind in ("p", "t"):
        return [Item(source, seq, kind, run_id, (record[3], record[4]), maybe_sent)]
    if kind == "b":
        out = [
            Item(
                source,
                seq,
                "m",
                run_id,
                (sys.intern(m[0]), metric_value(m[1]), m[2], m[3], m[4] if len(m) > 4 else None),
                maybe_sent,
            )
            for m in record[3]
        ]
        out += [Item(source, seq, "p", run_id, (p[0], p[1]), maybe_sent) for p in record[4]]
        out += [Item(source, seq, "t", run_id, (t[0], t[1]), maybe_sent) for t in record[5]]
        return out
    if kind in BARRIER_KINDS:
        return [Item(source, seq, kind, run_id, (record[3], record[4]), maybe_sent)]
    raise ValueError(f"unknown record kind {kind!r}")
