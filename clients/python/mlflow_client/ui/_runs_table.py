"""An experiment's runs table: chosen param/metric/tag columns, sorting by a header, nested runs under their
parents, and checkboxes feeding the compare page. All of its state is in the URL:

``?filter=...&order_by=metrics.loss ASC&columns=metrics.loss,params.lr&page_token=...``

``columns`` may also come repeated (``columns=a&columns=b``, what the chooser's form sends); links are always
written in the comma form. A key holding a comma cannot be a column (the comma separates them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from ._pages import _duration, _e, _layout, _time

if TYPE_CHECKING:
    from ..entities import Experiment, Run

__all__ = ["PARENT_TAG", "column_value", "experiment_page", "nest", "order_key", "parse_columns"]

PARENT_TAG = "mlflow.parentRunId"
_ENTITIES = {"metrics": "metrics", "params": "params", "tags": "tags"}
#: Fixed columns that can be sorted, with the order_by identifier of each.
_SORTABLE = {"Run name": "attributes.run_name", "Start time": "attributes.start_time"}


def parse_columns(values: Iterable[str]) -> list[str]:
    """``entity.key`` columns, in the order given, duplicates and unknown entities dropped."""
    chosen: list[str] = []
    for value in values:
        for item in value.split(","):
            entity, dot, key = item.strip().partition(".")
            column = f"{entity}.{key}"
            if dot and key and entity in _ENTITIES and column not in chosen:
                chosen.append(column)
    return chosen


def order_key(column: str) -> str:
    """The order_by identifier of a column: the key in backticks unless it is a plain word."""
    entity, _, key = column.partition(".")
    # MLflow's grammar has no escape for a backtick inside backticks: such a key cannot be sorted by
    return f"{entity}.{key}" if re.fullmatch(r"\w+", key) else f"{entity}.`{key}`"


def column_value(run: Run, column: str) -> str:
    entity, _, key = column.partition(".")
    data = run.data
    value = (
        data.metrics.get(key) if entity == "metrics" else (data.params if entity == "params" else data.tags).get(key)
    )
    return "" if value is None else str(value)


def nest(runs: Sequence[Run]) -> list[tuple[Run, int]]:
    """The runs in page order, each child right under its parent (when the parent is on the page), with depth."""
    on_page = {r.info.run_id for r in runs}
    children: dict[str, list[Run]] = {}
    roots: list[Run] = []
    for run in runs:
        parent = run.data.tags.get(PARENT_TAG)
        if parent and parent in on_page and parent != run.info.run_id:
            children.setdefault(parent, []).append(run)
        else:
            roots.append(run)
    placed: list[tuple[Run, int]] = []
    seen: set[str] = set()

    def place(run: Run, depth: int) -> None:
        if run.info.run_id in seen:
            return
        seen.add(run.info.run_id)
        placed.append((run, depth))
        for child in children.get(run.info.run_id, []):
            place(child, depth + 1)

    for run in roots:
        place(run, 0)
    for run in runs:  # a cycle of parents leaves runs unplaced: shown flat rather than lost
        place(run, 0)
    return placed


def _keys(runs: Sequence[Run]) -> list[str]:
    found: set[str] = set()
    for run in runs:
        found.update(f"metrics.{k}" for k in run.data.metrics)
        found.update(f"params.{k}" for k in run.data.params)
        found.update(f"tags.{k}" for k in run.data.tags if not k.startswith("mlflow."))
    return sorted(k for k in found if "," not in k)


class _State:
    def __init__(self, path: str, filter_string: str, order_by: str, columns: Sequence[str]) -> None:
        self.path, self.filter_string, self.order_by, self.columns = path, filter_string, order_by, columns

    def url(self, **changes: str | None) -> str:
        values: dict[str, str | None] = {
            "filter": self.filter_string,
            "order_by": self.order_by,
            "columns": ",".join(self.columns),
        }
        values.update(changes)
        query = urlencode({k: v for k, v in values.items() if v})
        return self.path + ("?" + query if query else "")


def _header(state: _State, label: str, key: str | None) -> str:
    if key is None:
        return f"<th>{_e(label)}</th>"
    ascending, descending = f"{key} ASC", f"{key} DESC"
    current = state.order_by.strip()
    if current in (ascending, key):
        arrow, sort, following = " ▲", "ascending", descending
    elif current == descending:
        arrow, sort, following = " ▼", "descending", ascending
    else:
        arrow, sort, following = "", "none", ascending
    href = state.url(order_by=following, page_token=None)
    return f'<th aria-sort="{sort}"><a class="sort" href="{_e(href)}">{_e(label)}</a>{arrow}</th>'


def _chooser(state: _State, keys: Sequence[str]) -> str:
    boxes = "".join(
        f'<label><input type="checkbox" name="columns" value="{_e(k)}"{" checked" if k in state.columns else ""}>'
        f"{_e(k)}</label>"
        for k in keys
    )
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{_e(value)}">'
        for name, value in (("filter", state.filter_string), ("order_by", state.order_by))
        if value
    )
    return (
        f'<details id="column-chooser"><summary>Columns</summary>'
        f'<form method="get" action="{_e(state.path)}" data-join="columns">'
        f"{hidden}{boxes or '<p>No params, metrics or tags on this page.</p>'}"
        '<button type="submit">Show columns</button></form></details>'
    )


def experiment_page(
    experiment: Experiment,
    runs: Sequence[Run],
    filter_string: str,
    next_token: str | None,
    error: str | None,
    order_by: str = "",
    columns: Sequence[str] = (),
) -> str:
    state = _State(f"/experiments/{quote(experiment.experiment_id, safe='')}", filter_string, order_by, columns)
    heads = [
        "<th>Select</th>",
        _header(state, "Run name", _SORTABLE["Run name"]),
        "<th>Status</th>",
        _header(state, "Start time", _SORTABLE["Start time"]),
        "<th>Duration</th>",
        "<th>User</th>",
        *(_header(state, c, order_key(c)) for c in columns),
    ]
    rows = []
    for run, depth in nest(runs):
        info = run.info
        name = info.run_name or info.run_id
        box = (
            f'<input type="checkbox" name="runs" value="{_e(info.run_id)}" form="compare" '
            f'aria-label="Select {_e(name)}">'
        )
        link = f'<a href="/runs/{_e(quote(info.run_id, safe=""))}">{_e(name)}</a>'
        cells = [
            box,
            f'<span class="nest">{"↳ " if depth else ""}</span>{link}',  # indented by ui.css, per data-depth
            _e(info.status),
            _time(info.start_time),
            _duration(info.start_time, info.end_time),
            _e(info.user_id),
            *(_e(column_value(run, c)) for c in columns),
        ]
        attrs = f' class="child" data-depth="{min(depth, 6)}"' if depth else ""
        rows.append(f'<tr data-run-id="{_e(info.run_id)}"{attrs}>' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    form = (
        f'<form method="get" action="{_e(state.path)}" role="search">'
        f'<input type="search" name="filter" value="{_e(filter_string)}" size="60" '
        'placeholder="metrics.loss &lt; 0.3 and params.lr = \'0.01\'" aria-label="Filter runs">'
        + "".join(
            f'<input type="hidden" name="{n}" value="{_e(v)}">'
            for n, v in (("order_by", order_by), ("columns", ",".join(columns)))
            if v
        )
        + '<button type="submit">Filter</button></form>'
    )
    parts = [f"<h1>{_e(experiment.name)}</h1>", form, _chooser(state, _keys(runs))]
    if error is not None:
        parts.append(f'<p class="error" role="alert">{_e(error)}</p>')
    parts.append(f'<p id="run-count">{len(rows)} run{"s" if len(rows) != 1 else ""} on this page</p>')
    parts.append(
        '<form id="compare" method="get" action="/compare" data-join="runs">'
        '<button type="submit">Compare</button></form>'
    )
    parts.append(f'<table id="runs"><thead><tr>{"".join(heads)}</tr></thead><tbody>{"".join(rows)}</tbody></table>')
    if next_token:
        href = state.url(page_token=next_token)
        parts.append(f'<p><a id="next-page" href="{_e(href)}">Next page</a></p>')
    return _layout(experiment.name, "".join(parts), script=True)
