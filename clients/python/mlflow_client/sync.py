"""``sync``: copy experiments and runs from one tracking store to another, again and again, safely.

Any two tracking URIs the client reads work: a local ``mlruns`` folder to a server, a server to a
server, a server to a local folder (a backup). What is copied:

- experiments: name, tags, lifecycle. An experiment of the same name in the destination is merged
  into (its tags are kept; missing ones are added);
- runs: name, status, start and end time, user, params, every tag (MLflow's system tags included),
  full metric histories (timestamps and steps), dataset inputs, and artifacts, streamed through a
  temporary folder. Parent ids are remapped; deleted runs stay deleted.

Each copied run carries two tags: ``mlflow_client.source_run_id`` (the run it was copied from) and
``mlflow_client.sync_state`` ("incomplete" until the copy ends, then "complete <fingerprint of the
source run>"). So a second sync copies only what changed: an unchanged run is skipped, a run still
being written gets its new data (params, tags, metric points, files that are missing), a run whose
copy failed half-way is finished. A run is never marked complete unless all of it was copied.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .client import MlflowClient
from .entities import Experiment, Metric, Param, Run, RunTag, ViewType
from .exceptions import InvalidParameterValue, MlflowConnectionError, MlflowException

if TYPE_CHECKING:
    from .entities import DatasetInput

__all__ = ["SOURCE_RUN_TAG", "SYNC_STATE_TAG", "RunOutcome", "SyncReport", "sync"]

#: On a copied run: the id of the run it was copied from.
SOURCE_RUN_TAG = "mlflow_client.source_run_id"
#: On a copied run: "incomplete", or "complete <fingerprint>" once everything of the source was copied.
SYNC_STATE_TAG = "mlflow_client.sync_state"
_OURS = "mlflow_client."  # tags about the entity itself (creation id, sync state): never copied
_PARENT = "mlflow.parentRunId"
_TERMINAL = ("FINISHED", "FAILED", "KILLED")


@dataclass
class RunOutcome:
    """What happened to one source run: ``copied``, ``updated``, ``skipped``, ``would copy`` or ``failed``."""

    src_run_id: str
    experiment: str
    action: str
    dst_run_id: str | None = None
    points: int = 0
    files: int = 0
    error: str | None = None


@dataclass
class SyncReport:
    runs: list[RunOutcome] = field(default_factory=list)
    experiments_created: list[str] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for r in self.runs if r.action == action)

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0

    def summary(self) -> str:
        points = sum(r.points for r in self.runs)
        files = sum(r.files for r in self.runs)
        parts = [
            f"{self.count('copied')} runs copied",
            f"{self.count('updated')} updated",
            f"{self.count('skipped')} unchanged",
            f"{self.count('failed')} failed",
        ]
        if self.count("would copy"):
            parts.insert(0, f"{self.count('would copy')} runs to copy (dry run)")
        return f"{', '.join(parts)}; {points} metric points, {files} files"


class SyncError(MlflowException):
    """The sync could not start: a store is not a store, or cannot be reached. Nothing was marked."""


def _store_client(uri: str, role: str) -> MlflowClient:
    from .client import _local_path

    local = None if uri.lower().startswith(("http://", "https://")) else _local_path(uri)
    if role == "SRC" and local is not None:
        has_experiment = os.path.isdir(local) and any(
            os.path.isfile(os.path.join(local, name, "meta.yaml")) for name in os.listdir(local)
        )
        if not has_experiment:
            raise SyncError(f"SRC {uri} is not a tracking store: no experiment folder (with meta.yaml) in it")
    client = MlflowClient(uri, offline="false")  # the store itself, even with MLFLOW_CLIENT_OFFLINE set
    transport = getattr(client._store, "transport", None)
    if local is None and transport is not None:
        from ._reachability import unreachable

        problem = unreachable(transport)
        if problem is not None:
            raise SyncError(f"cannot reach {role} {client}: {problem}")
    return client


def _ours(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if not k.startswith(_OURS)}


def fingerprint(run: Run, files: list[tuple[str, int | None]], tags: dict[str, str] | None = None) -> str:
    """What a copy must match: status, times, lifecycle, params, tags (``tags``: as the copy should have
    them, parent id remapped), latest metrics, inputs, files."""
    inputs = run.inputs.dataset_inputs if run.inputs is not None else []
    state = {
        "status": run.info.status,
        "end_time": run.info.end_time,
        "lifecycle": run.info.lifecycle_stage,
        "params": run.data.params,
        "tags": _ours(run.data.tags) if tags is None else tags,
        "metrics": sorted(run.data.metrics.items()),
        "inputs": sorted((d.dataset.name, d.dataset.digest) for d in inputs),
        "files": files,
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()[:20]


class _Sync:
    def __init__(self, src: MlflowClient, dst: MlflowClient, dry_run: bool) -> None:
        self.src, self.dst, self.dry_run = src, dst, dry_run
        self.report = SyncReport()
        self.mapping: dict[str, str] = {}  # source run id -> destination run id
        self._lock = threading.Lock()
        self._restore: str | None = None

    # -- experiments ---------------------------------------------------------------------------------

    def experiment(self, src_exp: Experiment) -> str | None:
        """The destination experiment's id (``None``: it does not exist yet, dry run). A deleted one is
        restored when a run must be written into it (``_writable``)."""
        self._restore = None
        found = self.dst.get_experiment_by_name(src_exp.name)
        if found is not None:
            if found.lifecycle_stage == "deleted":
                self._restore = found.experiment_id
            missing = {k: v for k, v in _ours(src_exp.tags).items() if k not in found.tags}
            if missing and not self.dry_run:
                self._writable()
                for key, value in missing.items():
                    self.dst.set_experiment_tag(found.experiment_id, key, value)
            return found.experiment_id
        if self.dry_run:
            return None
        exp_id = self.dst.create_experiment(src_exp.name, tags=_ours(src_exp.tags))
        self.report.experiments_created.append(src_exp.name)
        return exp_id

    def _writable(self) -> None:
        with self._lock:  # several runs may be copied at once
            if self._restore is not None:
                self.dst.restore_experiment(self._restore)
                self._restore = None

    def copies_in(self, dst_exp_id: str | None) -> dict[str, Run]:
        """The destination's runs copied from somewhere, by source run id."""
        if dst_exp_id is None:
            return {}
        runs = self.dst.iter_runs([dst_exp_id], "", ViewType.ALL)
        return {r.data.tags[SOURCE_RUN_TAG]: r for r in runs if SOURCE_RUN_TAG in r.data.tags}

    # -- runs -----------------------------------------------------------------------------------------

    def run(self, src_run: Run, exp_name: str, dst_exp_id: str | None, copy: Run | None) -> RunOutcome:
        src_id = src_run.info.run_id
        outcome = RunOutcome(src_id, exp_name, "skipped", copy.info.run_id if copy is not None else None)
        files = self.src.list_artifact_files(src_id)
        # The remapped parent is part of it: a run copied before its parent is fixed once the parent is.
        wanted = "complete " + fingerprint(src_run, files, self._tags_for(src_run))
        if copy is not None and copy.data.tags.get(SYNC_STATE_TAG) == wanted:
            self.mapping[src_id] = copy.info.run_id
            return outcome
        if self.dry_run or dst_exp_id is None:
            outcome.action = "would copy"
            return outcome
        outcome.action = "copied" if copy is None else "updated"
        self._writable()
        if copy is None:
            copy = self._create(src_run, dst_exp_id)
        elif copy.info.lifecycle_stage == "deleted":
            self.dst.restore_run(copy.info.run_id)
        dst_id = outcome.dst_run_id = copy.info.run_id
        self.mapping[src_id] = dst_id
        fresh = outcome.action == "copied"
        self._params_and_tags(src_run, copy)
        outcome.points = self._metrics(src_run, dst_id, fresh)
        self._inputs(src_run, copy)
        outcome.files = self._files(src_id, dst_id, files, fresh)
        status = src_run.info.status
        if status in _TERMINAL:
            self.dst.set_terminated(dst_id, status, src_run.info.end_time or None)
        elif status != copy.info.status:
            self.dst.update_run(dst_id, status=status)
        self.dst.set_tag(dst_id, SYNC_STATE_TAG, wanted)
        if src_run.info.lifecycle_stage == "deleted":
            self.dst.delete_run(dst_id)
        return outcome

    def _tags_for(self, src_run: Run) -> dict[str, str]:
        tags = _ours(src_run.data.tags)
        parent = tags.get(_PARENT)
        if parent is not None and parent in self.mapping:
            tags[_PARENT] = self.mapping[parent]
        return tags

    def _create(self, src_run: Run, dst_exp_id: str) -> Run:
        tags = self._tags_for(src_run)
        tags[SOURCE_RUN_TAG] = src_run.info.run_id
        tags[SYNC_STATE_TAG] = "incomplete"
        info = src_run.info
        return self.dst._create_run_as(dst_exp_id, info.user_id or "", info.start_time or 0, tags, info.run_name)

    def _params_and_tags(self, src_run: Run, copy: Run) -> None:
        params = [Param(k, v) for k, v in src_run.data.params.items() if copy.data.params.get(k) != v]
        have = copy.data.tags
        tags = [RunTag(k, v) for k, v in self._tags_for(src_run).items() if have.get(k) != v]
        self.dst.log_batch(copy.info.run_id, params=params, tags=tags)

    def _metrics(self, src_run: Run, dst_id: str, fresh: bool) -> int:
        copied = 0
        for key in sorted(src_run.data.metrics):
            history = self.src.get_metric_history(src_run.info.run_id, key)
            if not fresh:
                have = Counter(_point(m) for m in self.dst.get_metric_history(dst_id, key))
                missing = []
                for m in history:
                    if have[_point(m)] > 0:
                        have[_point(m)] -= 1
                    else:
                        missing.append(m)
                history = missing
            batch = [
                Metric(key, m.value, m.timestamp, m.step, dataset_name=m.dataset_name, dataset_digest=m.dataset_digest)
                for m in history
            ]
            self.dst.log_batch(dst_id, metrics=batch)
            copied += len(batch)
        return copied

    def _inputs(self, src_run: Run, copy: Run) -> None:
        def ids(inputs: Iterable[DatasetInput]) -> set[tuple[str, str]]:
            return {(d.dataset.name, d.dataset.digest) for d in inputs}

        src_inputs = src_run.inputs.dataset_inputs if src_run.inputs is not None else []
        have = ids(copy.inputs.dataset_inputs) if copy.inputs is not None else set()
        missing = [d for d in src_inputs if (d.dataset.name, d.dataset.digest) not in have]
        if missing:
            self.dst.log_inputs(copy.info.run_id, missing)

    def _files(self, src_id: str, dst_id: str, files: list[tuple[str, int | None]], fresh: bool) -> int:
        have = set() if fresh else set(self.dst.list_artifact_files(dst_id))
        missing = [path for path, size in files if (path, size) not in have]
        if not missing:
            return 0
        folder = tempfile.mkdtemp(prefix="mlflow-client-sync-")
        try:
            if len(missing) == len(files):
                self.src.download_artifacts(src_id, "", folder)  # the whole tree, several files at a time
            else:
                for path in missing:
                    self.src.download_artifacts(src_id, path, folder)
            self.dst.log_artifacts(dst_id, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return len(missing)


def _point(m: Metric) -> tuple[int, int, float | str]:
    from ._delivery.batching import history_key  # NaN equals NaN; +-Infinity equals what SQL stores for it

    return history_key(m.timestamp, m.step or 0, m.value)


def _parents_first(runs: list[Run]) -> list[list[Run]]:
    """The runs in levels: top-level runs, then their children, ... (a level is copied after the one
    above it, so that parent ids can be remapped)."""
    by_id = {r.info.run_id: r for r in runs}

    def depth(run: Run) -> int:
        seen: set[str] = set()
        level = 0
        parent = run.data.tags.get(_PARENT)
        while parent in by_id and parent not in seen:
            seen.add(parent)
            level += 1
            parent = by_id[parent].data.tags.get(_PARENT)
        return level

    levels: dict[int, list[Run]] = {}
    for run in sorted(runs, key=lambda r: (r.info.start_time or 0, r.info.run_id)):
        levels.setdefault(depth(run), []).append(run)
    return [levels[d] for d in sorted(levels)]


def _plan(
    src: MlflowClient, experiments: Iterable[str] | None, run_ids: Iterable[str] | None
) -> list[tuple[Experiment, list[list[Run]]]]:
    """The source's experiments and their runs in levels, narrowed as asked."""
    wanted_names = set(experiments or ())
    wanted_runs = set(run_ids or ())
    plan = []
    for exp in src.iter_experiments(ViewType.ALL):
        if wanted_names and exp.name not in wanted_names:
            continue
        runs = [
            r
            for r in src.iter_runs([exp.experiment_id], "", ViewType.ALL)
            if not wanted_runs or r.info.run_id in wanted_runs
        ]
        if runs or (not wanted_runs):
            plan.append((exp, _parents_first(runs)))
    return plan


class _Workers:
    """Up to ``n`` runs copied at once. One worker runs in the calling thread, with no pool: that works at
    interpreter exit too (the offline uploader's last pass), where no new thread or future may start."""

    def __init__(self, n: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.n = n
        self.pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="mlflow-client-sync") if n > 1 else None

    def submit(self, fn: Callable[..., RunOutcome], *args: Any) -> Future[RunOutcome]:
        if self.pool is not None:
            return self.pool.submit(fn, *args)
        future: Future[RunOutcome] = Future()
        try:
            future.set_result(fn(*args))
        except Exception as err:
            future.set_exception(err)
        return future

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def sync(
    src: str,
    dst: str,
    *,
    experiments: Iterable[str] | None = None,
    run_ids: Iterable[str] | None = None,
    dry_run: bool = False,
    on_run: Callable[[RunOutcome, int, int], None] | None = None,
    workers: int = 4,
) -> SyncReport:
    """Copy what ``src`` holds into ``dst`` (tracking URIs: server URLs, local folders, ``file:`` URIs).

    ``experiments`` (names) and ``run_ids`` narrow what is copied; ``dry_run`` only reports. ``on_run``
    is called after each run with its outcome, the runs done and the runs in all. A run that fails is
    reported (``action="failed"``) and the others go on; it is finished by the next sync. Raises
    ``SyncError`` before copying anything when a store is not one or cannot be reached. ``workers`` runs
    are copied at once (reading the source of one while the destination stores another).
    """
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise InvalidParameterValue(f"workers must be a whole number >= 1, got {workers!r}")
    src_client, dst_client = _store_client(src, "SRC"), _store_client(dst, "DST")
    job = _Sync(src_client, dst_client, dry_run)
    plan = _plan(src_client, experiments, run_ids)
    total = sum(len(level) for _, levels in plan for level in levels)
    pool = _Workers(workers)
    try:
        for src_exp, levels in plan:
            dst_exp_id = job.experiment(src_exp)
            copies = job.copies_in(dst_exp_id)
            job.mapping.update({src_id: run.info.run_id for src_id, run in copies.items()})
            for level in levels:
                for outcome in _copy_level(job, pool, level, src_exp.name, dst_exp_id, copies):
                    job.report.runs.append(outcome)
                    if on_run is not None:
                        on_run(outcome, len(job.report.runs), total)
            if not dry_run and dst_exp_id is not None and src_exp.lifecycle_stage == "deleted":
                current = dst_client.get_experiment(dst_exp_id)
                if current.lifecycle_stage != "deleted":
                    dst_client.delete_experiment(dst_exp_id)
    finally:
        pool.close()
    return job.report


def _copy_level(
    job: _Sync, pool: _Workers, level: list[Run], exp_name: str, dst_exp_id: str | None, copies: dict[str, Run]
) -> Iterator[RunOutcome]:
    """Copy the runs of one level, ``pool.n`` at a time, yielding each outcome as it comes."""
    from concurrent.futures import FIRST_COMPLETED, wait

    pending: dict[Future[RunOutcome], Run] = {}
    queue = list(reversed(level))
    while queue or pending:
        while queue and len(pending) < pool.n:  # a bounded window: no run waits in memory
            src_run = queue.pop()
            copy = copies.get(src_run.info.run_id)
            pending[pool.submit(job.run, src_run, exp_name, dst_exp_id, copy)] = src_run
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            src_run = pending.pop(future)
            try:
                yield future.result()
            except MlflowConnectionError as err:
                for other in pending:
                    other.cancel()
                wait(pending)  # the runs in flight end (they are resumable) before the error
                raise SyncError(f"lost DST {job.dst} while copying run {src_run.info.run_id}: {err.message}") from err
            except MlflowException as err:
                yield RunOutcome(src_run.info.run_id, exp_name, "failed", error=err.message)
