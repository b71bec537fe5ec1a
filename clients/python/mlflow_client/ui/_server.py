"""The UI's HTTP side: routes over an ``MlflowClient``, served by the standard library's threaded server.

``UIApp`` answers a (method, path, query) with (status, content type, body) and knows nothing of sockets, so
the stub server can mount the same routes; ``UIServer`` runs it on ``host:port`` in a thread (tests, the CLI).
Read-only: GET and HEAD only, anything else 405. Static files come from a fixed list, never a path from the
request. Pages forbid inline script and any other origin through their Content-Security-Policy.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import _artifacts, _pages

if TYPE_CHECKING:
    from ..client import MlflowClient
    from ..entities import FileInfo

__all__ = ["PAGE_SIZE", "Response", "UIApp", "UIServer"]

#: Runs per page of an experiment's runs table.
PAGE_SIZE = 100

_STATIC_DIR = Path(__file__).resolve().parent / "static"
_STATIC_TYPES = {
    "uPlot.iife.min.js": "text/javascript; charset=utf-8",
    "uPlot.min.css": "text/css; charset=utf-8",
    "ui.js": "text/javascript; charset=utf-8",
    "ui.css": "text/css; charset=utf-8",
}
_HTML = "text/html; charset=utf-8"
_JSON = "application/json"
#: uPlot sets element styles from script (allowed); no inline <script>, no other origin, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

#: (status, content type, body, extra headers); a download's body is its chunks, streamed.
Response = tuple[int, str, "bytes | Iterable[bytes]", dict[str, str]]


def _page(status: int, body: str, content_type: str = _HTML) -> Response:
    return status, content_type, body.encode(), {}


class UIApp:
    """The UI's routes over ``client``; ``handle`` never raises for a store's error (it shows it)."""

    def __init__(self, client: MlflowClient) -> None:
        self.client = client

    def handle(self, method: str, target: str) -> Response:  # noqa: PLR0911 (one return per route)
        if method not in ("GET", "HEAD"):
            return _page(405, _pages.error_page(405, "The UI is read-only: only GET and HEAD."))
        parts = urlsplit(target)
        multi = parse_qs(parts.query, keep_blank_values=True)
        query = {k: v[-1] for k, v in multi.items()}
        path = parts.path
        from ..exceptions import MlflowException, ResourceNotFound

        try:
            if path == "/":
                return self._experiments(query.get("q", ""))
            if path.startswith("/static/"):
                return self._static(path[len("/static/") :])
            if path == "/compare":
                return self._compare(multi.get("runs", []))
            if path == "/get-artifact":
                return self._download(query.get("run_id", ""), query.get("path", ""))
            if path == "/ajax/metric-history":
                return self._history(query.get("run_id", ""), query.get("metric_key", ""))
            segments = path.strip("/").split("/")
            if len(segments) == 2 and segments[0] == "experiments":
                return self._experiment(unquote(segments[1]), query, multi.get("columns", []))
            if len(segments) == 2 and segments[0] == "runs":
                x_axis = query.get("x", "step")
                return self._run(
                    unquote(segments[1]), query.get("path", ""), x_axis if x_axis in _pages.X_AXES else "step"
                )
        except _artifacts.BadPath as err:
            return _page(400, _pages.error_page(400, str(err)))
        except ResourceNotFound as err:
            return _page(404, _pages.error_page(404, err.message))
        except MlflowException as err:
            status = err.http_status if err.http_status and 400 <= err.http_status < 600 else 500
            if err.error_code == "RESOURCE_DOES_NOT_EXIST":
                status = 404
            return _page(status, _pages.error_page(status, err.message))
        return _page(404, _pages.error_page(404, f"No page at {path}"))

    def _experiments(self, q: str) -> Response:
        needle = q.strip().lower()
        found = [x for x in self.client.iter_experiments() if needle in x.name.lower()]
        found.sort(key=lambda x: x.name.lower())
        return _page(200, _pages.experiments_page(found, q))

    def _experiment(self, experiment_id: str, query: dict[str, str], columns: list[str]) -> Response:
        from ..exceptions import MlflowException, ResourceNotFound
        from ._runs_table import experiment_page, parse_columns

        filter_string, token = query.get("filter", ""), query.get("page_token") or None
        order_by = query.get("order_by", "").strip()

        experiment = self.client.get_experiment(experiment_id)
        error = None
        try:
            page = self.client.search_runs(
                [experiment_id],
                filter_string,
                max_results=PAGE_SIZE,
                order_by=[order_by] if order_by else None,
                page_token=token,
            )
            runs, next_token = list(page), page.token
        except ResourceNotFound:
            raise
        except MlflowException as err:  # a bad filter or token: shown on the page, the form kept
            runs, next_token, error = [], None, err.message
        page_html = experiment_page(
            experiment, runs, filter_string, next_token, error, order_by, parse_columns(columns)
        )
        return _page(200, page_html)

    def _run(self, run_id: str, artifact_path: str, x_axis: str = "step") -> Response:
        from ..exceptions import MlflowException

        run = self.client.get_run(run_id)
        try:
            name: str | None = self.client.get_experiment(run.info.experiment_id).name
        except Exception:  # the page is about the run; a missing experiment only loses a name
            name = None
        entries: list[tuple[FileInfo, _artifacts.Preview | None]] = []
        error = None
        rel = _artifacts.check_path(artifact_path)
        try:
            found = _artifacts.listing(self.client, run_id, rel)
            if not found and rel:  # ?path= may name a file: its folder is shown, with that file's preview
                parent = rel.rpartition("/")[0]
                siblings = _artifacts.listing(self.client, run_id, parent)
                if any(f.path == rel and not f.is_dir for f in siblings):
                    rel, found = parent, [f for f in siblings if f.path == rel]
            for n, info in enumerate(found):
                wanted = not info.is_dir and n < _artifacts.PREVIEW_FILES
                entries.append((info, _artifacts.preview(self.client, run_id, info) if wanted else None))
        except MlflowException as err:  # the run's page stays useful when its artifact store is not
            error = err.message
        return _page(200, _pages.run_page(run, name, rel, entries, error, x_axis))

    def _compare(self, values: list[str]) -> Response:
        from ._compare import MAX_RUNS, compare_page, parse_runs

        ids = parse_runs(values)
        if not 1 <= len(ids) <= MAX_RUNS:
            return _page(400, _pages.error_page(400, f"Choose 1 to {MAX_RUNS} runs to compare, not {len(ids)}."))
        return _page(200, compare_page([self.client.get_run(run_id) for run_id in ids]))

    def _download(self, run_id: str, path: str) -> Response:
        self.client.get_run(run_id)  # an unknown run is a 404, before its artifacts are looked for
        content_type, headers, chunks = _artifacts.download(self.client, run_id, path)
        return 200, content_type, chunks, headers

    def _history(self, run_id: str, key: str) -> Response:
        history = sorted(self.client.get_metric_history(run_id, key), key=lambda m: (m.step, m.timestamp))
        body = {
            "steps": [m.step for m in history],
            "values": [m.value if math.isfinite(m.value) else None for m in history],
            "timestamps": [m.timestamp for m in history],
        }
        return 200, _JSON, json.dumps(body, separators=(",", ":")).encode(), {}

    def _static(self, name: str) -> Response:
        content_type = _STATIC_TYPES.get(name)
        if content_type is None:
            return _page(404, _pages.error_page(404, "No such static file"))
        return 200, content_type, (_STATIC_DIR / name).read_bytes(), {}


class _Handler(BaseHTTPRequestHandler):
    server: _UIHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "mlflow-client-ui"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:  # a read-only UI reads no bodies; drain a small one so the connection stays usable
            if length > 1 << 16:
                self.close_connection = True
            else:
                self.rfile.read(length)
        status, content_type, body, extra = self.server.app.handle(self.command, self.path)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if isinstance(body, bytes):
            self.send_header("Content-Length", str(len(body)))
        else:  # streamed: its end is the connection's
            self.send_header("Connection", "close")
            self.close_connection = True
        self.send_header("Cache-Control", "no-store" if not self.path.startswith("/static/") else "max-age=3600")
        if status == 405:
            self.send_header("Allow", "GET, HEAD")
        for name, value in {**SECURITY_HEADERS, **extra}.items():
            self.send_header(name, value)
        self.end_headers()
        if isinstance(body, bytes):
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        for block in body if self.command != "HEAD" else ():
            self.wfile.write(block)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # every method reaches the app, which answers 405 to all but GET/HEAD
            return self._answer
        raise AttributeError(name)


class _UIHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: UIApp) -> None:
        super().__init__(address, _Handler)
        self.app = app


class UIServer:
    """The UI over ``tracking_uri`` (an ``mlruns`` folder, a ``file:`` URI or an http(s) server; ``None``:
    MLFLOW_TRACKING_URI, else ./mlruns) on ``host:port`` (``port=0``: a free one). ``.url`` says where."""

    def __init__(self, tracking_uri: str | None = None, host: str = "127.0.0.1", port: int = 5000) -> None:
        from ..client import MlflowClient

        self.client = MlflowClient(tracking_uri)
        try:
            self.httpd = _UIHTTPServer((host, port), UIApp(self.client))
        except BaseException:
            self.client.close()
            raise
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        shown = host if isinstance(host, str) else host.decode()
        return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"

    def serve_forever(self) -> None:
        try:
            self.httpd.serve_forever()
        finally:
            self.httpd.server_close()
            self.client.close()

    def start(self) -> UIServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="mlflow-client-ui", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self.client.close()

    def __enter__(self) -> UIServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
