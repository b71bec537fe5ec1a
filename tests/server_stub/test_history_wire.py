"""getMetricHistory answers from the points' stored JSON: byte for byte what encoding the message gives."""

from __future__ import annotations

import math
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from mlflow_client._generated import models as m
from mlflow_client._generated._runtime import decode, encode

from server_stub.errors import StubError
from server_stub.file_backend import FileBackend
from server_stub.handlers import HANDLERS, Store
from server_stub.histories import WireHistories
from server_stub.sql_store import SqlStore

# Logged out of order, with duplicates, NaN, infinities, -0.0, tiny and huge numbers, and keys that need escaping
# or contain "null" (the text the encoder checks for non-finite numbers).
_POINTS = [
    (3.5, 30, 2),
    (math.nan, 10, 1),
    (math.inf, 20, 0),
    (-math.inf, 20, 0),
    (-0.0, 5, 7),
    (1e-300, 40, 3),
    (123456789.125, 1_700_000_000_000, 2**40),
    (3.5, 30, 2),  # a duplicate
    (2.0, 30, 2),
    (0.1, 10, 1),
]
_KEYS = ['loss "quoted"/ünï\x01', "nullity", "plain"]


def _get_history(
    store: Store, run_id: str, key: str, max_results: int | None = None, page_token: str | None = None
) -> bytes:
    req = m.GetMetricHistory(run_id=run_id, metric_key=key, max_results=max_results, page_token=page_token)
    body = HANDLERS["getMetricHistory"](store, req)
    return body if isinstance(body, bytes) else encode(body)


def _new_run(store: Store, name: str) -> str:
    info = store.create_run(store.create_experiment(name, None, []), "u", "r", 1, []).info
    assert info is not None
    return str(info.run_id)


def _fill(store: Store) -> str:
    run_id = _new_run(store, "history-wire")
    metrics = [m.Metric(key=k, value=v, timestamp=ts, step=step) for k in _KEYS for v, ts, step in _POINTS]
    store.log_batch(run_id, metrics, [], [])
    return run_id


@pytest.fixture(params=["sql", "files"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s: SqlStore | FileBackend = SqlStore(":memory:") if request.param == "sql" else FileBackend(tmp_path / "mlruns")
    yield s
    s.close()


@pytest.mark.parametrize("key", _KEYS)
def test_whole_history_is_the_encoded_message(store: Store, key: str) -> None:
    run_id = _fill(store)
    expected = encode(m.GetMetricHistoryResponse(metrics=store.metric_history(run_id, key)))
    body = _get_history(store, run_id, key)
    assert body == expected
    values = [x.value for x in decode(body, m.GetMetricHistoryResponse).metrics]
    # MLflow's SQL store collapses the duplicate point, its file store keeps every line
    assert len(values) == (9 if isinstance(store, SqlStore) else 10)
    assert sum(v is not None and math.isnan(v) for v in values) == 1


@pytest.mark.parametrize("size", [1, 2, 4, 9, 10])
def test_pages_join_up_to_the_whole_history(store: Store, size: int) -> None:
    run_id = _fill(store)
    whole = store.metric_history(run_id, "plain")
    pages, token, seen = [], None, 0
    while True:
        body = _get_history(store, run_id, "plain", max_results=size, page_token=token)
        page = msgspec.json.decode(body)
        pages.append(page)
        token = page.get("next_page_token")
        seen += 1
        if token is None:
            break
    assert seen == math.ceil(len(whole) / size)  # a page that ends exactly at the end carries no token
    got = [x for page in pages for x in decode(msgspec.json.encode(page), m.GetMetricHistoryResponse).metrics]
    assert [(x.timestamp, x.step) for x in got] == [(x.timestamp, x.step) for x in whole]
    assert encode(m.GetMetricHistoryResponse(metrics=got)) == encode(m.GetMetricHistoryResponse(metrics=whole))


def test_empty_history_and_unknown_run_answer_an_empty_object(store: Store) -> None:
    run_id = _fill(store)
    assert _get_history(store, run_id, "never logged") == b"{}"
    assert _get_history(store, "f" * 32, "plain") == b"{}"


def test_database_from_before_the_wire_column_is_filled_in(tmp_path: Path) -> None:
    path = str(tmp_path / "old.db")
    store = SqlStore(path)
    run_id = _fill(store)
    expected = {k: encode(m.GetMetricHistoryResponse(metrics=store.metric_history(run_id, k))) for k in _KEYS}
    store.close()
    with sqlite3.connect(path) as db:  # the schema as it was before
        db.execute("ALTER TABLE metrics DROP COLUMN wire")
    store = SqlStore(path)
    try:
        assert {k: _get_history(store, run_id, k) for k in _KEYS} == expected
        store.log_batch(run_id, [m.Metric(key="plain", value=9.0, timestamp=2_000_000_000_000, step=9)], [], [])
        assert msgspec.json.decode(_get_history(store, run_id, "plain"))["metrics"][-1]["value"] == 9.0
    finally:
        store.close()


def _whole(store: SqlStore, run_id: str, key: str) -> tuple[bytes, bytes]:
    """What the stub answers, and what encoding the SQL-ordered history as a message gives."""
    return _get_history(store, run_id, key), encode(
        m.GetMetricHistoryResponse(metrics=store.metric_history(run_id, key))
    )


def test_kept_histories_follow_every_kind_of_write() -> None:
    """Batches in order, out of order, with duplicates and NaN ties; reads in between and not: the answer is always
    what the database holds, in its order."""
    rng = random.Random(7)
    store = SqlStore(":memory:")
    run_id = _new_run(store, "kept")
    ts = 0
    for round_ in range(300):
        kind = rng.choice(["next", "next", "next", "back", "dup", "tie"])
        batch = []
        for _ in range(rng.randint(1, 5)):
            key = rng.choice(["a", "b"])
            if kind == "next":
                ts += rng.randint(0, 2)
                point = (ts, rng.randint(0, 3), rng.choice([0.0, 1.5, math.nan, math.inf]))
            elif kind == "back":
                point = (rng.randint(0, max(ts, 1)), rng.randint(0, 3), rng.random())
            elif kind == "dup":
                point = (ts, 0, 1.5)
            else:  # a NaN and a zero at the same place: NaN ranks as 0, after the real zero
                point = (ts, 3, rng.choice([0.0, math.nan]))
            batch.append(m.Metric(key=key, value=point[2], timestamp=point[0], step=point[1]))
        store.log_batch(run_id, batch, [], [])
        if round_ % 3:
            for key in ("a", "b"):
                got, expected = _whole(store, run_id, key)
                assert got == expected, (round_, kind)
    store.close()


def test_a_batch_that_fails_leaves_the_kept_history_as_it_was() -> None:
    store = SqlStore(":memory:")
    run_id = _new_run(store, "rollback")
    store.log_batch(run_id, [m.Metric(key="k", value=1.0, timestamp=1, step=0)], [m.Param(key="p", value="1")], [])
    before = _get_history(store, run_id, "k")
    with pytest.raises(StubError):
        store.log_batch(run_id, [m.Metric(key="k", value=2.0, timestamp=2, step=1)], [m.Param(key="p", value="2")], [])
    assert _get_history(store, run_id, "k") == before == _whole(store, run_id, "k")[1]
    store.close()


def test_a_write_through_another_connection_is_seen(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    one, two = SqlStore(path), SqlStore(path)
    try:
        run_id = _new_run(one, "shared")
        one.log_batch(run_id, [m.Metric(key="k", value=1.0, timestamp=1, step=0)], [], [])
        assert len(msgspec.json.decode(_get_history(one, run_id, "k"))["metrics"]) == 1  # now kept by `one`
        two.log_batch(run_id, [m.Metric(key="k", value=2.0, timestamp=2, step=1)], [], [])
        assert [p["value"] for p in msgspec.json.decode(_get_history(one, run_id, "k"))["metrics"]] == [1.0, 2.0]
    finally:
        one.close()
        two.close()


def test_histories_over_the_budget_are_dropped_least_recently_used_first() -> None:
    kept = WireHistories(budget=100)
    point = '{"key":"k","value":1.0,"timestamp":1,"step":1}'  # 48 bytes
    kept.extend("r", {"a": [((1, 1, 1.0, 0), point)]}, {"a"})
    kept.extend("r", {"b": [((1, 1, 1.0, 0), point)]}, {"b"})
    assert kept.get("r", "a") == (point.encode(), 1)  # "a" is now the more recently used
    kept.extend("r", {"c": [((1, 1, 1.0, 0), point)]}, {"c"})
    assert kept.get("r", "b") is None and kept.get("r", "a") is not None and kept.get("r", "c") is not None
    kept.extend("r", {"a": [((2, 1, 1.0, 0), point)]}, set())  # "a" grows to 97 bytes: only it fits
    assert len(kept) == 1 and kept.get("r", "a") == (f"{point},{point}".encode(), 2)
    kept.extend("r", {"z": [((1, 1, 1.0, 0), point)]}, set())  # not kept, not new: nothing to extend
    assert kept.get("r", "z") is None


def test_points_out_of_order_drop_the_history_until_it_is_read_again() -> None:
    kept = WireHistories()
    kept.extend("r", {"a": [((5, 0, 1.0, 0), "x")]}, {"a"})
    kept.extend("r", {"a": [((6, 0, 1.0, 0), "y"), ((6, 0, 1.0, 0), "y")]}, set())
    assert kept.get("r", "a") == (b"x,y", 2)
    kept.extend("r", {"a": [((6, 0, 1.0, 0), "y")]}, set())  # a duplicate the database ignores
    assert kept.get("r", "a") is None
    kept.put("r", "a", b"x,y", 2, (6, 0, 1.0, 0))
    kept.extend("r", {"a": [((4, 0, 1.0, 0), "w")]}, set())
    assert kept.get("r", "a") is None
