"""The UI's HTML pages, rendered on the server: pure functions from entities to text.

Every value that comes from a store goes through ``_e`` (``html.escape``, quotes included) or, for URLs,
``urllib.parse.quote``/``urlencode`` and then ``_e``: names, tags and params are whatever a user logged.
Pages carry no inline script (the Content-Security-Policy forbids it); the charts' data comes from the JSON
route ``/ajax/metric-history`` and is drawn by ``static/ui.js`` with the vendored uPlot.
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    from ..entities import Experiment, FileInfo, Run, RunInfo
    from ._artifacts import Preview

__all__ = ["X_AXES", "error_page", "experiments_page", "run_page"]


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _layout(title: str, body: str, *, charts: bool = False, script: bool = False) -> str:
    scripts = (
        '<link rel="stylesheet" href="/static/uPlot.min.css">'
        '<script src="/static/uPlot.iife.min.js" defer></script><script src="/static/ui.js" defer></script>'
        if charts
        else '<script src="/static/ui.js" defer></script>'
        if script
        else ""
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)} - mlflow-client</title>"
        f'<link rel="stylesheet" href="/static/ui.css">{scripts}</head>'
        f'<body><header><a href="/">Experiments</a></header><main>{body}</main></body></html>'
    )


def _time(ms: int | None) -> str:
    if not ms:
        return ""
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(start: int | None, end: int | None) -> str:
    if not start or not end or end < start:
        return ""
    seconds = (end - start) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], table_id: str) -> str:
    """``rows`` hold HTML already escaped (cells may be links)."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    ident = f' id="{_e(table_id)}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def error_page(status: int, message: str) -> str:
    return _layout(f"Error {status}", f'<h1>Error {status}</h1><p class="error">{_e(message)}</p>')


def experiments_page(experiments: Sequence[Experiment], query: str) -> str:
    rows = [
        (
            _e(x.experiment_id),
            f'<a href="/experiments/{_e(quote(x.experiment_id, safe=""))}">{_e(x.name)}</a>',
            _time(x.creation_time),
        )
        for x in experiments
    ]
    search = (
        '<form method="get" action="/" role="search">'
        f'<input type="search" name="q" value="{_e(query)}" placeholder="Search experiments by name" '
        'aria-label="Search experiments by name"><button type="submit">Search</button></form>'
    )
    found = f"<p>{len(rows)} experiment{'s' if len(rows) != 1 else ''}</p>"
    return _layout(
        "Experiments", "<h1>Experiments</h1>" + search + found + _table(("ID", "Name", "Created"), rows, "experiments")
    )


def _pairs(title: str, values: dict[str, str], table_id: str) -> str:
    rows = [(_e(k), _e(v)) for k, v in sorted(values.items())]
    return f"<h2>{_e(title)}</h2>" + _table(("Key", "Value"), rows, table_id)


def _download_href(run_id: str, path: str) -> str:
    return "/get-artifact?" + urlencode({"run_id": run_id, "path": path})


def _size(n: int | None) -> str:
    if n is None:
        return ""
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MiB"


def _preview_html(run_id: str, info: FileInfo, shown: Preview) -> str:
    cut = '<p class="truncated">Preview cut; download the file for all of it.</p>' if shown.truncated else ""
    if shown.kind == "image":
        return f'<img class="preview" src="{_e(_download_href(run_id, info.path))}" alt="{_e(info.path)}">'
    if shown.kind == "csv":
        head, *rest = shown.rows or ((),)
        return '<div class="preview csv">' + _table(head, [[_e(c) for c in r] for r in rest], "") + cut + "</div>"
    if shown.kind == "none":
        return ""
    return f'<pre class="preview {_e(shown.kind)}">{_e(shown.text)}</pre>{cut}'


def _artifacts(
    run_id: str, path: str, entries: Sequence[tuple[FileInfo, Preview | None]], error: str | None, x_axis: str
) -> str:
    here = "/runs/" + quote(run_id, safe="")
    keep = {"x": x_axis} if x_axis != "step" else {}  # the charts' axis stays as chosen while browsing files
    crumbs = [f'<a href="{_e(here + ("?" + urlencode(keep) if keep else ""))}">artifacts</a>']
    sofar: list[str] = []
    for part in [p for p in path.split("/") if p]:
        sofar.append(part)
        crumbs.append(f'<a href="{_e(here + "?" + urlencode({**keep, "path": "/".join(sofar)}))}">{_e(part)}</a>')
    parts = [f'<h2>Artifacts</h2><nav id="artifact-path" aria-label="Artifact folder">{" / ".join(crumbs)}</nav>']
    if error is not None:
        parts.append(f'<p class="error" role="alert">{_e(error)}</p>')
    items = []
    for info, shown in entries:
        name = info.path.rsplit("/", 1)[-1]
        if info.is_dir:
            href = here + "?" + urlencode({**keep, "path": info.path})
            items.append(f'<li class="folder"><a href="{_e(href)}">{_e(name)}/</a></li>')
            continue
        link = f'<a class="download" href="{_e(_download_href(run_id, info.path))}" download>{_e(name)}</a>'
        body = _preview_html(run_id, info, shown) if shown is not None else ""
        items.append(
            f'<li class="file" data-path="{_e(info.path)}">{link} <span class="size">{_size(info.file_size)}</span>'
            f"{body}</li>"
        )
    parts.append(f'<ul id="artifacts">{"".join(items)}</ul>' if items else '<p id="artifacts">No artifacts here.</p>')
    return "".join(parts)


#: The charts' x axes: the value of ``?x=`` and its label.
X_AXES = {"step": "Step", "wall": "Wall time", "relative": "Relative time (s)"}


def _charts_section(info: RunInfo, charts: str, x_axis: str, artifact_path: str) -> str:
    here = "/runs/" + quote(info.run_id, safe="")
    links = []
    for key, label in X_AXES.items():
        query = urlencode({"x": key, **({"path": artifact_path} if artifact_path else {})})
        current = ' aria-current="true"' if key == x_axis else ""
        links.append(f'<a href="{_e(here + "?" + query)}"{current}>{_e(label)}</a>')
    return (
        f'<h2>Charts</h2><nav id="x-axis" aria-label="X axis">X axis: {" | ".join(links)}</nav>'
        f'<div id="charts" data-x="{_e(x_axis)}" data-x-label="{_e(X_AXES[x_axis])}" '
        f'data-start="{_e(info.start_time or 0)}">{charts}</div>'
    )


def run_page(
    run: Run,
    experiment_name: str | None,
    artifact_path: str = "",
    artifacts: Sequence[tuple[FileInfo, Preview | None]] = (),
    artifact_error: str | None = None,
    x_axis: str = "step",
) -> str:
    info = run.info
    exp_href = "/experiments/" + quote(info.experiment_id, safe="")
    exp_link = f'<a href="{_e(exp_href)}">{_e(experiment_name or info.experiment_id)}</a>'
    details = [
        ("Run ID", _e(info.run_id)),
        ("Experiment", exp_link),
        ("Status", _e(info.status)),
        ("Start time", _time(info.start_time)),
        ("Duration", _duration(info.start_time, info.end_time)),
        ("User", _e(info.user_id)),
    ]
    metrics = run.data.metrics
    charts = "".join(
        f'<figure class="chart" data-run-id="{_e(info.run_id)}" data-metric="{_e(key)}">'
        f"<figcaption>{_e(key)}</figcaption></figure>"
        for key in sorted(metrics)
    )
    body = (
        f"<h1>{_e(info.run_name or info.run_id)}</h1>"
        + _table(("Field", "Value"), details, "run-info")
        + _pairs("Parameters", run.data.params, "params")
        + _pairs("Metrics (latest)", {k: str(v) for k, v in metrics.items()}, "metrics")
        + _pairs("Tags", run.data.tags, "tags")
        + (_charts_section(info, charts, x_axis, artifact_path) if charts else "")
        + _artifacts(info.run_id, artifact_path, artifacts, artifact_error, x_axis)
    )
    return _layout(info.run_name or info.run_id, body, charts=bool(charts))
