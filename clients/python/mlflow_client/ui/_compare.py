"""The compare page: ``/compare?runs=<id>,<id>,...`` (or ``runs`` repeated, as the runs table's form sends).

One chart per metric key with one series per run (drawn by ``static/ui.js`` from ``/ajax/metric-history``),
and a table of the runs' params where a row whose values differ is marked ``class="differs"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote

from ._pages import _e, _layout

if TYPE_CHECKING:
    from ..entities import Run

__all__ = ["MAX_RUNS", "compare_page", "parse_runs"]

#: Runs one compare page shows; more are refused with a 400 rather than drawn unreadably.
MAX_RUNS = 20
#: Series colours, one per run in order (after the tenth they repeat).
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def parse_runs(values: Iterable[str]) -> list[str]:
    ids: list[str] = []
    for value in values:
        for item in value.split(","):
            run_id = item.strip()
            if run_id and run_id not in ids:
                ids.append(run_id)
    return ids


def compare_page(runs: Sequence[Run]) -> str:
    names = [r.info.run_name or r.info.run_id for r in runs]
    legend = "".join(
        f'<li data-run-id="{_e(r.info.run_id)}" data-name="{_e(name)}" data-colour="{COLOURS[i % len(COLOURS)]}">'
        f'<a href="/runs/{_e(quote(r.info.run_id, safe=""))}">{_e(name)}</a></li>'
        for i, (r, name) in enumerate(zip(runs, names, strict=True))
    )
    keys = sorted({k for r in runs for k in r.data.metrics})
    charts = "".join(
        f'<figure class="compare-chart" data-metric="{_e(k)}"><figcaption>{_e(k)}</figcaption></figure>' for k in keys
    )
    head = "<th>Param</th>" + "".join(f"<th>{_e(n)}</th>" for n in names)
    rows = []
    for key in sorted({k for r in runs for k in r.data.params}):
        values = [r.data.params.get(key) for r in runs]
        differs = len(set(values)) > 1
        cells = "".join(f"<td>{_e(v) if v is not None else '<em>missing</em>'}</td>" for v in values)
        mark = ' class="differs"' if differs else ""
        rows.append(f'<tr data-param="{_e(key)}"{mark}><th scope="row">{_e(key)}</th>{cells}</tr>')
    body = (
        f"<h1>Comparing {len(runs)} runs</h1>"
        f'<ol id="compare-runs">{legend}</ol>'
        + (f'<h2>Metrics</h2><div id="compare-charts">{charts}</div>' if charts else "<p>No metrics.</p>")
        + '<h2>Params</h2><p class="legend"><span class="differs">Highlighted</span>: values differ.</p>'
        + f'<table id="param-diff"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )
    return _layout("Compare runs", body, charts=bool(charts))
