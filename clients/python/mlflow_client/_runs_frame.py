"""``search_runs`` into a ``pandas.DataFrame``: the frame ``mlflow.search_runs`` returns, built column-wise.

MLflow (3.17.2, ``mlflow/tracking/fluent.py``) parses each page into protobuf, builds a ``Run`` entity per
row, converts each time with ``pd.to_datetime`` one scalar at a time and grows per-key lists row by row.
Here a page decodes (msgspec, in C) into lean structs holding only what the frame shows, each row's values
go into per-column index/value lists, and numpy fills whole columns at the end, for one ``pd.DataFrame``.

What must match MLflow's frame, and how:

- Columns: ``run_id, experiment_id, status, artifact_uri, start_time, end_time``, then ``metrics.*``,
  ``params.*``, ``tags.*``. Within each group, a row's new keys come in the iteration order of
  ``set(row keys) - keys seen so far``, as MLflow computes it: the same sets in the same process iterate
  the same way, so the column order is MLflow's, hash seed and all.
- Missing values: NaN for metrics, ``None`` for params and tags (pandas turns them into its string NA).
- Times: UTC datetimes at the resolution pandas infers from MLflow's ``Timestamp`` objects; an unset end
  time is NaT, and a column with no end time at all is what pandas makes of a list of NaT.
- Dtypes of string columns: the columns are handed to pandas as MLflow hands them, so it infers the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from ._store_ops import Op, rpc
from .exceptions import InvalidParameterValue

if TYPE_CHECKING:
    from .client import MlflowClient
    from .entities import Run

__all__ = ["SEARCH_MAX_RESULTS_PANDAS", "search_runs"]

logger = logging.getLogger("mlflow_client")

#: ``mlflow.search_runs``' default ``max_results`` and the page size it asks for (MLflow's names).
SEARCH_MAX_RESULTS_PANDAS = 100_000
NUM_RUNS_PER_PAGE_PANDAS = 10_000
_OUTPUT_FORMATS = ("pandas", "list")
PANDAS_MISSING = "mlflow_client.search_runs(output_format='pandas') needs pandas: pip install 'mlflow-client[pandas]'"


# -- lean wire types: only what the frame shows; every other field is skipped by the decoder ----------


class _Metric(msgspec.Struct, gc=False):
    key: str | None = None
    value: float | None = None


class _KeyValue(msgspec.Struct, gc=False):
    key: str | None = None
    value: str | None = None


class _Info(msgspec.Struct, gc=False):
    run_id: str | None = None
    run_uuid: str | None = None
    experiment_id: str | None = None
    status: str | None = None
    artifact_uri: str | None = None
    start_time: int | None = None
    end_time: int | None = None


class _Data(msgspec.Struct, gc=False):
    metrics: list[_Metric] = msgspec.field(default_factory=list)
    params: list[_KeyValue] = msgspec.field(default_factory=list)
    tags: list[_KeyValue] = msgspec.field(default_factory=list)


class _Run(msgspec.Struct, gc=False):
    info: _Info | None = None
    data: _Data | None = None


class _Page(msgspec.Struct, gc=False):
    runs: list[_Run] = msgspec.field(default_factory=list)
    next_page_token: str | None = None


_NO_INFO = _Info()
_NO_DATA = _Data()


# -- columns ----------------------------------------------------------------------------------------


class _Group:
    """The ``metrics.*``, ``params.*`` or ``tags.*`` columns: per key, the rows that have it and their values."""

    __slots__ = ("columns", "known")

    def __init__(self) -> None:
        self.known: set[str | None] = set()
        self.columns: dict[str | None, tuple[list[int], list[Any]]] = {}  # in MLflow's column order

    def add(self, row: int, values: Mapping[str | None, Any] | Mapping[str, Any]) -> None:
        columns = self.columns
        if not self.known.issuperset(values):
            # MLflow's order for the keys this row brings. Built from ``.keys()`` as MLflow builds it: a set
            # made from a dict itself is presized, so its (hash) order can differ from one grown key by key.
            for key in set(values.keys()) - self.known:
                columns[key] = ([], [])
            self.known.update(values)
        for key, value in values.items():
            rows, column = columns[key]
            rows.append(row)
            column.append(value)


class Columns:
    """What ``mlflow.search_runs`` puts in its frame, gathered column by column."""

    def __init__(self) -> None:
        self.rows = 0
        self.run_id: list[str] = []
        self.experiment_id: list[str] = []
        self.status: list[str] = []
        self.artifact_uri: list[str] = []
        self.start_time: list[int] = []
        self.end_time: list[int] = []  # 0: not ended (MLflow reads protobuf's 0 as None)
        self.metrics = _Group()
        self.params = _Group()
        self.tags = _Group()

    def add_page(self, runs: list[_Run]) -> None:
        """Rows from a decoded search-runs page; absent fields take protobuf's defaults, as in MLflow."""
        metrics, params, tags = self.metrics, self.params, self.tags
        row = self.rows
        for run in runs:
            info = run.info or _NO_INFO
            data = run.data or _NO_DATA
            self.run_id.append(info.run_id or info.run_uuid or "")
            self.experiment_id.append(info.experiment_id or "")
            self.status.append(info.status or "RUNNING")
            self.artifact_uri.append(info.artifact_uri or "")
            self.start_time.append(info.start_time or 0)
            self.end_time.append(info.end_time or 0)
            # One dict per row, as MLflow's RunData: a key sent twice keeps its first place and last value.
            if data.metrics:
                metrics.add(row, {m.key: m.value for m in data.metrics})
            if data.params:
                params.add(row, {p.key: p.value for p in data.params})
            if data.tags:
                tags.add(row, {t.key: t.value for t in data.tags})
            row += 1
        self.rows = row

    def add_runs(self, runs: Iterable[Run]) -> None:
        """Rows from ``Run`` entities (the local file store's search)."""
        row = self.rows
        for run in runs:
            info, data = run.info, run.data
            self.run_id.append(info.run_id)
            self.experiment_id.append(info.experiment_id)
            self.status.append(info.status)
            self.artifact_uri.append(info.artifact_uri or "")
            self.start_time.append(info.start_time or 0)
            self.end_time.append(info.end_time or 0)
            for group, values in ((self.metrics, data.metrics), (self.params, data.params), (self.tags, data.tags)):
                if values:
                    group.add(row, values)
            row += 1
        self.rows = row

    def frame(self) -> Any:
        """The one ``pandas.DataFrame``."""
        pd, np = _pandas()
        n = self.rows
        data: dict[str, Any] = {
            "run_id": self.run_id,
            "experiment_id": self.experiment_id,
            "status": self.status,
            "artifact_uri": self.artifact_uri,
        }
        if n == 0:  # what pandas makes of MLflow's empty lists
            data.update(start_time=[], end_time=[])
            return pd.DataFrame(data)
        # The resolution pandas infers from a Timestamp built as MLflow builds it.
        sample = pd.to_datetime(self.start_time[0], unit="ms", utc=True)
        dtype = pd.Series([sample]).dtype
        data["start_time"] = _times(pd, np, np.array(self.start_time, dtype="int64"), dtype)
        ends = np.array(self.end_time, dtype="int64")
        if ends.any():
            ends[ends == 0] = np.iinfo(np.int64).min  # NaT
            data["end_time"] = _times(pd, np, ends, dtype)
        else:
            data["end_time"] = [pd.NaT] * n
        for key, (rows, given) in self.metrics.columns.items():
            values = [0.0 if v is None else v for v in given] if None in given else given  # protobuf's default
            if len(rows) == n:
                column = np.array(values, dtype="float64")
            else:
                column = np.full(n, np.nan)
                column[rows] = values
            data["metrics." + _key(key)] = column
        for prefix, group in (("params.", self.params), ("tags.", self.tags)):
            for key, (rows, given) in group.columns.items():
                values = ["" if v is None else v for v in given] if None in given else given
                data[prefix + _key(key)] = values if len(rows) == n else _spread(n, rows, values)
        return pd.DataFrame(data)


def _spread(n: int, rows: list[int], values: list[Any]) -> list[Any]:
    """A column of ``n`` rows holding ``values`` at ``rows`` and ``None`` (MLflow's missing value) elsewhere."""
    column: list[Any] = [None] * n
    for row, value in zip(rows, values, strict=True):
        column[row] = value
    return column


def _key(key: str | None) -> str:
    return key or ""


def _times(pd: Any, np: Any, millis: Any, dtype: Any) -> Any:
    return pd.DatetimeIndex(millis.view("M8[ms]")).tz_localize("UTC").astype(dtype)


def _pandas() -> tuple[Any, Any]:
    try:
        import numpy as np
        import pandas as pd
    except ImportError as err:
        raise ImportError(PANDAS_MISSING) from err
    return pd, np


# -- the search ---------------------------------------------------------------------------------------


def _page_op(
    experiment_ids: list[str],
    filter_string: str | None,
    run_view_type: int | str | None,
    max_results: int,
    order_by: list[str],
    page_token: str | None,
) -> Op[_Page]:
    from ._store_ops import search_runs_request

    request = search_runs_request(experiment_ids, filter_string, run_view_type, max_results, order_by, page_token)
    return (yield from rpc("searchRuns", request, _Page))


def _page_size(max_results: int | None, have: int) -> int:
    return NUM_RUNS_PER_PAGE_PANDAS if max_results is None else min(NUM_RUNS_PER_PAGE_PANDAS, max_results - have)


def _fill(
    client: MlflowClient,
    experiment_ids: list[str],
    filter_string: str | None,
    run_view_type: int | str | None,
    max_results: int | None,
    order_by: list[str],
    columns: Columns,
) -> None:
    """Page through the search as ``mlflow.search_runs`` does (up to 10,000 runs a request), into ``columns``."""
    store: Any = client._store
    token: str | None = None
    while max_results is None or columns.rows < max_results:
        size = _page_size(max_results, columns.rows)
        if hasattr(store, "run_op"):  # a server: decode the page's bytes straight into the lean types
            page = store.run_op(_page_op(experiment_ids, filter_string, run_view_type, size, order_by, token))
            columns.add_page(page.runs)
            token = page.next_page_token
        else:
            runs = client.search_runs(experiment_ids, filter_string or "", run_view_type, size, order_by, token)  # type: ignore[arg-type]
            columns.add_runs(runs)
            token = runs.token
        if not token:
            return


def _runs(
    client: MlflowClient,
    experiment_ids: list[str],
    filter_string: str | None,
    run_view_type: int | str | None,
    max_results: int | None,
    order_by: list[str],
) -> list[Run]:
    out: list[Run] = []
    token: str | None = None
    while max_results is None or len(out) < max_results:
        size = _page_size(max_results, len(out))
        page = client.search_runs(experiment_ids, filter_string or "", run_view_type, size, order_by, token)  # type: ignore[arg-type]
        out += page
        token = page.token
        if not token:
            break
    return out


def _names(value: Any, argument: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, int)) or v is None for v in value):
        raise InvalidParameterValue(f"{argument} must be a list of strings, got {value!r}")
    return [str(v) for v in value if v is not None]


def resolve_experiment_ids(
    client: MlflowClient,
    experiment_ids: Sequence[str] | str | None,
    experiment_names: Sequence[str] | str | None,
    search_all_experiments: bool,
    default_experiment_id: Callable[[], str],
) -> list[str]:
    """The experiments ``mlflow.search_runs`` would search: the ids, else the names found (a missing name is
    skipped with a warning, as MLflow does), else every active experiment if asked, else the active one."""
    ids = _names(experiment_ids, "experiment_ids")
    names = _names(experiment_names, "experiment_names")
    if ids and names:
        raise InvalidParameterValue(
            "Only experiment_ids or experiment_names can be used, but not both "
            f"(experiment_ids={ids!r}, experiment_names={names!r})"
        )
    if ids:
        return ids
    if names:
        found = []
        for name in names:
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                logger.warning("Cannot retrieve experiment by name %s", name)
            else:
                found.append(experiment.experiment_id)
        return found
    if search_all_experiments:
        return [e.experiment_id for e in client.iter_experiments()]
    return [default_experiment_id()]


def search_runs(
    client: MlflowClient,
    default_experiment_id: Callable[[], str],
    experiment_ids: Sequence[str] | str | None,
    filter_string: str | None,
    run_view_type: int | str | None,
    max_results: int | None,
    order_by: Sequence[str] | None,
    output_format: str,
    search_all_experiments: bool,
    experiment_names: Sequence[str] | str | None,
) -> Any:
    """``mlflow.search_runs`` over ``client``'s store: a DataFrame (``"pandas"``) or ``Run`` entities (``"list"``)."""
    if output_format not in _OUTPUT_FORMATS:
        raise InvalidParameterValue(
            f"Unsupported output_format: {output_format!r}. Supported string values are 'pandas' or 'list'"
        )
    if max_results is not None:
        from .client import _check_int

        max_results = _check_int(max_results, "max_results")
    if isinstance(order_by, str):
        raise InvalidParameterValue(f"order_by must be a list of strings, got the string {order_by!r}")
    if filter_string is not None and not isinstance(filter_string, str):
        raise InvalidParameterValue(f"filter_string must be a string, got {filter_string!r}")
    clauses = list(order_by or [])
    if output_format == "pandas":
        _pandas()  # before any request: a missing extra is the first thing to hear about
    ids = resolve_experiment_ids(
        client, experiment_ids, experiment_names, search_all_experiments, default_experiment_id
    )
    if output_format == "list":
        return _runs(client, ids, filter_string, run_view_type, max_results, clauses) if ids else []
    columns = Columns()
    if ids:
        _fill(client, ids, filter_string, run_view_type, max_results, clauses, columns)
    return columns.frame()
