"""The stub serves mlflow-client's UI (``mlflow_client.ui``) at ``/``, as ``mlflow server`` serves MLflow's.

The UI reads through an ``MlflowClient`` of the stub's own URL (built on first use, with the stub's own
credentials, so its pages see exactly what any client sees); the stub's RPC routes answer those reads in
other threads of the same server. Credentials stay on the server: pages never carry them.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow_client.ui import UIApp

    from .app import RequestHandler, StubHTTPServer

__all__ = ["close", "is_ui_path", "serve_ui"]

_PREFIXES = ("/static/", "/experiments/", "/runs/")
_PATHS = ("/", "/ajax/metric-history", "/get-artifact", "/compare")
_lock = threading.Lock()
_apps: weakref.WeakKeyDictionary[StubHTTPServer, UIApp] = weakref.WeakKeyDictionary()


def is_ui_path(path: str) -> bool:
    return path in _PATHS or path.startswith(_PREFIXES)


def serve_ui(handler: RequestHandler) -> None:
    from mlflow_client.ui._server import SECURITY_HEADERS

    status, content_type, body, extra = _app(handler.server).handle(handler.command, handler.path)
    if not isinstance(body, bytes):  # a download: the stub's responses carry a length, so it is read whole
        body = b"".join(body)
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-store", **extra}
    if status == 405:
        headers["Allow"] = "GET, HEAD"
    handler._send(status, body, content_type, headers)


def _app(server: StubHTTPServer) -> UIApp:
    with _lock:
        app = _apps.get(server)
        if app is None:
            from mlflow_client import MlflowClient
            from mlflow_client.ui import UIApp

            cfg = server.config
            user, password = cfg.basic_auth or (None, None)
            client = MlflowClient(
                server.url,
                username=user,
                password=password,
                token=cfg.bearer_token,
                insecure_tls=cfg.tls_context is not None,  # our own certificate, on our own socket
            )
            app = UIApp(client)
            _apps[server] = app
        return app


def close(server: StubHTTPServer) -> None:
    """Release the UI's client of ``server``, if its pages were ever served."""
    with _lock:
        app = _apps.pop(server, None)
    if app is not None:
        app.client.close()
