"""How a run's pending items become requests: limits, order, duplicates, splitting."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import msgspec
from mlflow_client._delivery.batching import history_key, log_batch_request, split, take_batch
from mlflow_client._delivery.records import (
    Item,
    encode_batch,
    encode_inputs,
    encode_metric,
    encode_param,
    encode_tag,
    encode_terminate,
    items_of,
)

RUN = "r1"


def _items(*bodies: bytes) -> deque[Item]:
    out: deque[Item] = deque()
    for seq, body in enumerate(bodies, start=1):
        record = msgspec.json.decode(b"[%d," % seq + body[1:])
        out.extend(items_of(None, record, maybe_sent=False))
    return out


def _metrics(n: int, key: str = "loss") -> list[bytes]:
    return [encode_metric(RUN, key, i / 3, 1000 + i, i) for i in range(n)]


def test_metrics_fill_requests_of_at_most_1000() -> None:
    queue = _items(*_metrics(2500))
    sizes = []
    while queue:
        batch = take_batch(queue)
        assert batch is not None and batch.kind == "b"
        sizes.append(len(batch))
    assert sizes == [1000, 1000, 500]


def test_params_and_tags_at_most_100_each_and_1000_entities_in_all() -> None:
    bodies = [encode_param(RUN, f"p{i}", "v") for i in range(150)]
    bodies += [encode_tag(RUN, f"t{i}", "v") for i in range(150)]
    bodies += _metrics(1000)
    queue = _items(*bodies)
    first = take_batch(queue)
    assert first is not None
    assert [i.kind for i in first.items].count("p") == 100 and len(first) == 100  # the 101st param ends it
    requests = []
    while queue:
        batch = take_batch(queue)
        assert batch is not None
        request = log_batch_request(RUN, batch.items)
        assert len(request["params"]) <= 100 and len(request["tags"]) <= 100 and len(request["metrics"]) <= 1000
        assert len(request["params"]) + len(request["tags"]) + len(request["metrics"]) <= 1000
        requests.append(request)
    assert sum(len(r["params"]) for r in requests) == 50
    assert sum(len(r["tags"]) for r in requests) == 150
    assert sum(len(r["metrics"]) for r in requests) == 1000


def test_inputs_and_termination_go_alone_in_their_place() -> None:
    queue = _items(
        encode_metric(RUN, "a", 1.0, 1, 0),
        encode_inputs(RUN, [{"dataset": {"name": "d", "digest": "x"}}], []),
        encode_metric(RUN, "a", 2.0, 2, 1),
        encode_terminate(RUN, "FINISHED", 99),
    )
    kinds = []
    while queue:
        batch = take_batch(queue)
        assert batch is not None
        kinds.append((batch.kind, len(batch)))
    assert kinds == [("b", 1), ("i", 1), ("b", 1), ("u", 1)]


def test_same_param_twice_is_sent_once_and_a_conflict_goes_alone() -> None:
    queue = _items(encode_param(RUN, "lr", "0.1"), encode_param(RUN, "lr", "0.1"), encode_param(RUN, "lr", "0.2"))
    first = take_batch(queue)
    assert first is not None and len(first) == 2
    assert log_batch_request(RUN, first.items)["params"] == [{"key": "lr", "value": "0.1"}]
    second = take_batch(queue)
    assert second is not None and log_batch_request(RUN, second.items)["params"] == [{"key": "lr", "value": "0.2"}]


def test_a_tag_set_twice_is_sent_with_its_last_value() -> None:
    queue = _items(encode_tag(RUN, "state", "a"), encode_tag(RUN, "other", "x"), encode_tag(RUN, "state", "b"))
    batch = take_batch(queue)
    assert batch is not None and len(batch) == 3
    assert log_batch_request(RUN, batch.items)["tags"] == [
        {"key": "other", "value": "x"},
        {"key": "state", "value": "b"},
    ]


def test_exact_duplicate_metrics_are_sent_once_but_other_values_at_the_same_step_are_kept() -> None:
    queue = _items(
        encode_metric(RUN, "m", 1.0, 5, 1),
        encode_metric(RUN, "m", 1.0, 5, 1),
        encode_metric(RUN, "m", 2.0, 5, 1),
        encode_metric(RUN, "m", math.nan, 6, 1),
        encode_metric(RUN, "m", math.nan, 6, 1),
    )
    batch = take_batch(queue)
    assert batch is not None
    metrics: list[dict[str, Any]] = log_batch_request(RUN, batch.items)["metrics"]
    assert [(x["value"], x["timestamp"]) for x in metrics[:2]] == [(1.0, 5), (2.0, 5)]
    assert len(metrics) == 3 and math.isnan(metrics[2]["value"])


def test_non_finite_values_and_extras_survive_the_journal() -> None:
    bodies = [
        encode_metric(RUN, "m", math.inf, 1, 0, model_id="m-1"),
        encode_metric(RUN, "m", -math.inf, 2, 0, dataset_name="train", dataset_digest="abc"),
        encode_batch(RUN, [("n", math.nan, 3, 4, None, None, None)], [("p", "v")], [("t", "w")]),
    ]
    items = list(_items(*bodies))
    assert items[0].fields[1] == math.inf and items[0].fields[4] == {"model_id": "m-1"}
    assert items[1].fields[1] == -math.inf and items[1].fields[4] == {"dataset_name": "train", "dataset_digest": "abc"}
    assert math.isnan(items[2].fields[1]) and [i.kind for i in items[2:]] == ["m", "p", "t"]
    assert {i.seq for i in items[2:]} == {3}  # one record, three items
    request = log_batch_request(RUN, items[:2])
    assert request["metrics"][0] == {"key": "m", "value": math.inf, "timestamp": 1, "step": 0, "model_id": "m-1"}


def test_split_keeps_order_and_halves() -> None:
    queue = _items(*_metrics(5))
    batch = take_batch(queue)
    assert batch is not None
    first, second = split(batch)
    assert [i.fields[3] for i in first.items] == [0, 1] and [i.fields[3] for i in second.items] == [2, 3, 4]


def test_history_key_matches_what_servers_send_back() -> None:
    assert history_key(1, 2, math.inf) == history_key(1, 2, 1.7976931348623157e308)
    assert history_key(1, 2, -math.inf) == history_key(1, 2, -1.7976931348623157e308)
    assert history_key(1, 2, math.nan) == history_key(1, 2, float("nan"))
    assert history_key(1, 2, 0.1) != history_key(1, 3, 0.1)
