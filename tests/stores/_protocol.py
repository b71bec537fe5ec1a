"""What each ``tests/stores/<store>_server.py`` provides: ``running(folder)``, a context manager yielding a
``StoreServer`` (the bench and the tests use only this)."""

from __future__ import annotations

from typing import Protocol


class StoreServer(Protocol):
    #: Variables both clients (ours and MLflow's) need to reach the server: endpoint, credentials, known hosts.
    env: dict[str, str]

    def new_root(self) -> str:
        """A fresh, empty artifact root URI on the server (a new container, bucket or folder)."""
        ...
