"""A light, read-only tracking UI over any store the client reads (``mlflow-client ui``).

Nothing here is imported by ``import mlflow_client``; the CLI and the tests import it when they need it.
"""

from __future__ import annotations

from ._server import PAGE_SIZE, UIApp, UIServer

__all__ = ["PAGE_SIZE", "UIApp", "UIServer"]
