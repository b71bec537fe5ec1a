"""Offline runs: a local store per server under the spool folder, and uploading it with ``sync``.

``MLFLOW_CLIENT_OFFLINE=true`` makes every client of an http(s) server work on its offline store and
never contact the server. ``auto`` keeps clients online, and the fluent ``start_run`` falls back to
the offline store when the server does not answer (one WARNING per process); those runs are uploaded
by a background thread once the server answers again, and by ``mlflow-client sync --offline``.

On disk: ``<spool>/offline/<host>_<port>-<hash>/`` holds ``server.json`` (the URL without
credentials), ``mlruns/`` (the runs, in the FileStore format) and ``uploads.jsonl`` (one line per
uploaded run: local id, server id; the last line for a run wins). ``upload.lock`` keeps two processes
from uploading the same store at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._delivery.spool import public_url, server_dirs, server_folder, server_folder_path

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ._settings import Settings
    from .client import MlflowClient
    from .sync import RunOutcome, SyncReport

__all__ = ["OfflineRun", "OfflineStore", "offline_stores", "store_for"]

_log = logging.getLogger("mlflow_client")
_UPLOADS = "uploads.jsonl"
_ENDED = ("FINISHED", "FAILED", "KILLED")


@dataclass
class OfflineRun:
    run_id: str
    run_name: str
    experiment: str
    status: str
    server_run_id: str | None  # set once uploaded

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class OfflineStore:
    """The offline store of one server: its folder, its runs, and what was uploaded of them."""

    def __init__(self, root: str, url: str) -> None:
        self.root, self.url = root, url

    @property
    def mlruns(self) -> str:
        return os.path.join(self.root, "mlruns")

    def uploads(self) -> dict[str, str]:
        """Local run id -> server run id, for every run uploaded so far."""
        out: dict[str, str] = {}
        try:
            with open(os.path.join(self.root, _UPLOADS), "rb") as f:
                for line in f:
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        item = json.loads(line)
                        out[str(item["local"])] = str(item["server"])
        except FileNotFoundError:
            pass
        return out

    def runs(self) -> list[OfflineRun]:
        from .client import MlflowClient
        from .entities import ViewType

        if not os.path.isdir(self.mlruns):
            return []
        client = MlflowClient(self.mlruns)
        uploaded = self.uploads()
        out = []
        for exp in client.iter_experiments(ViewType.ALL):
            for run in client.iter_runs([exp.experiment_id], "", ViewType.ALL):
                info = run.info
                out.append(
                    OfflineRun(info.run_id, info.run_name or "", exp.name, info.status, uploaded.get(info.run_id))
                )
        return out

    def upload(
        self,
        dst_uri: str,
        *,
        ended_only: bool = False,
        experiments: Iterable[str] | None = None,
        run_ids: Iterable[str] | None = None,
        on_run: Callable[[RunOutcome, int, int], None] | None = None,
        workers: int = 4,
    ) -> SyncReport | None:
        """Sync the store's runs (only those that ended, if ``ended_only``) to ``dst_uri`` and record the
        mapping. ``None`` when another process is uploading this store right now, or nothing is to go."""
        from ._delivery.journal import try_lock
        from .sync import sync

        fd = try_lock(os.path.join(self.root, "upload.lock"))
        if fd is None:
            return None
        try:
            wanted = set(run_ids or ())
            if ended_only:
                wanted = {r.run_id for r in self.runs() if r.status in _ENDED and (not run_ids or r.run_id in wanted)}
                if not wanted:
                    return None
            if not os.path.isdir(self.mlruns):
                return None
            report = sync(
                self.mlruns, dst_uri, experiments=experiments, run_ids=wanted or None, on_run=on_run, workers=workers
            )
            lines = [
                json.dumps({"local": r.src_run_id, "server": r.dst_run_id, "at": int(time.time() * 1000)}) + "\n"
                for r in report.runs
                if r.action != "failed" and r.dst_run_id is not None
            ]
            if lines:
                with open(os.path.join(self.root, _UPLOADS), "a", encoding="utf-8") as f:
                    f.write("".join(lines))
            return report
        finally:
            os.close(fd)

    def as_json(self) -> dict[str, Any]:
        return {"url": self.url, "folder": self.root, "runs": [r.as_json() for r in self.runs()]}


def _offline_dir(spool_dir: str) -> str:
    return os.path.join(spool_dir, "offline")


def store_for(settings: Settings, uri: str) -> OfflineStore:
    """The offline store of the server ``uri`` (created, 0700)."""
    return OfflineStore(server_folder(_offline_dir(settings.spool_folder), uri), public_url(uri))


def offline_stores(spool_dir: str) -> list[OfflineStore]:
    return [OfflineStore(folder, url) for folder, url in server_dirs(_offline_dir(spool_dir))]


# -- auto mode: falling back, and uploading in the background ------------------------------------------

_lock = threading.Lock()
_warned: set[str] = set()
_fallbacks: dict[str, MlflowClient] = {}
_uploaders: dict[str, _Uploader] = {}


def fallback_client(online: MlflowClient) -> MlflowClient:
    """This process's client of ``online``'s offline store."""
    from .client import MlflowClient

    uri = online.tracking_uri
    with _lock:
        client = _fallbacks.get(uri)
        if client is None:
            client = _fallbacks[uri] = MlflowClient(uri, offline="true")
        return client


def client_for_new_run(online: MlflowClient) -> MlflowClient:
    """In auto mode: ``online`` if its server answers, else its offline store (saying so once)."""
    from ._reachability import unreachable

    if online._settings.offline != "auto" or not online._remote:
        return online
    problem = unreachable(online._store.transport)
    if problem is None:
        _start_uploader_if_pending(online)
        return online
    offline = fallback_client(online)
    url = public_url(online.tracking_uri)
    with _lock:
        first = url not in _warned
        _warned.add(url)
    if first:
        _log.warning(
            "Tracking server %s cannot be reached (%s): recording runs offline in %s. They are uploaded when "
            "the server answers again, or with `mlflow-client sync --offline`.",
            url,
            problem,
            store_for(online._settings, online.tracking_uri).mlruns,
        )
    _uploader(online).poke()
    return offline


def offline_run_client(online: MlflowClient, run_id: str) -> MlflowClient | None:
    """In auto mode, the offline client when ``run_id`` is one of the server's offline runs."""
    from .exceptions import MlflowException

    if online._settings.offline != "auto" or not online._remote:
        return None
    offline = fallback_client(online)
    try:
        offline.get_run(run_id)
    except MlflowException:
        return None
    return offline


def run_ended(client: MlflowClient) -> None:
    """An offline run ended: try to upload it now (auto mode)."""
    uploader = _uploaders.get(public_url(client.tracking_uri))
    if uploader is not None:
        uploader.poke()


def _start_uploader_if_pending(online: MlflowClient) -> None:
    url = public_url(online.tracking_uri)
    if url in _uploaders:
        return
    folder = server_folder_path(_offline_dir(online._settings.spool_folder), online.tracking_uri)
    if not os.path.isdir(os.path.join(folder, "mlruns")):
        return  # the usual case: nothing was ever recorded offline for this server
    store = OfflineStore(folder, url)
    uploaded = store.uploads()
    if any(r.status in _ENDED and r.run_id not in uploaded for r in store.runs()):
        _uploader(online).poke()


def _uploader(online: MlflowClient) -> _Uploader:
    url = public_url(online.tracking_uri)
    with _lock:
        uploader = _uploaders.get(url)
        if uploader is None:
            uploader = _uploaders[url] = _Uploader(online)
            uploader.start()
        return uploader


class _Uploader(threading.Thread):
    """Uploads the ended runs of one offline store whenever poked, and retries (1 s doubling to 60 s)
    while the server does not answer or a run failed to copy."""

    def __init__(self, online: MlflowClient) -> None:
        super().__init__(name="mlflow-client-offline-upload", daemon=True)
        self.uri = online.tracking_uri
        self.store = store_for(online._settings, online.tracking_uri)
        self._cond = threading.Condition()
        self._requested = 0
        self._served = 0
        self.last_report: SyncReport | None = None
        self.last_error: str | None = None

    def poke(self) -> int:
        with self._cond:
            self._requested += 1
            self._cond.notify_all()
            return self._requested

    def wait_for(self, request: int, timeout: float) -> bool:
        """Wait until a pass that began after poke number ``request`` has ended."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._served < request:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def run(self) -> None:
        from ._reachability import unreachable
        from .client import MlflowClient

        probe = MlflowClient(self.uri, offline="false")  # its own connections, not the caller's
        delay: float | None = None  # None: wait to be poked
        while True:
            with self._cond:
                if self._served >= self._requested:
                    self._cond.wait(delay)
                request = self._requested
            retry = False
            try:
                problem = unreachable(probe._store.transport)
                if problem is not None:
                    self.last_error, retry = problem, True
                else:
                    # One worker, in this thread: its last pass runs at interpreter exit, where no thread may start.
                    report = self.store.upload(self.uri, ended_only=True, workers=1)
                    if report is not None:
                        self.last_report = report
                        if not report.ok:
                            self.last_error, retry = "some runs failed to upload; retrying", True
                            _log.warning("Offline runs of %s: %s", self.store.url, report.summary())
                        else:
                            self.last_error = None
            except Exception as err:  # a background thread: never die, retry later
                self.last_error, retry = str(err), True
                _log.debug("offline upload to %s failed", self.store.url, exc_info=True)
            with self._cond:
                self._served = max(self._served, request)
                self._cond.notify_all()
            delay = min(60.0, (delay or 0.5) * 2) if retry else None


def at_exit(timeout: float) -> None:
    """Interpreter exit: one last upload pass per server, waited for at most ``timeout`` seconds."""
    for uploader in list(_uploaders.values()):
        with contextlib.suppress(Exception):
            uploader.wait_for(uploader.poke(), timeout)
