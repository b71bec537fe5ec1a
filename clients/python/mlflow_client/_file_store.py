"""The tracking store with no server: MLflow's ``mlruns`` folder layout on local disk.

Runs written here are read by MLflow's own file store and the other way round. The layout (facts from
MLflow 3.x's ``mlflow/store/tracking/file_store.py``)::

    <root>/<experiment_id>/meta.yaml                  experiment fields, lifecycle_stage
    <root>/<experiment_id>/tags/<key>                 experiment tags (keys with "/" are subfolders)
    <root>/<experiment_id>/<run_id>/meta.yaml         run info; status as a number, lifecycle_stage
    <root>/<experiment_id>/<run_id>/metrics/<key>     one "timestamp value step" line per value
    <root>/<experiment_id>/<run_id>/params/<key>      the value, whole file
    <root>/<experiment_id>/<run_id>/tags/<key>        the value, whole file
    <root>/<experiment_id>/<run_id>/artifacts/        the run's artifact root (a file: URI)
    <root>/.trash/<experiment_id>/...                 deleted experiments, moved whole

Several processes may write one run at once and lose nothing; ``_file_layout`` says how.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

from . import _meta_yaml, _search
from ._file_layout import (
    append_lines,
    create_once,
    key_path,
    latest_metric_line,
    metric_line,
    parse_metric_lines,
    read_text,
    walk_files,
    write_atomically,
)
from .entities import (
    Dataset,
    DatasetInput,
    Experiment,
    ExperimentTag,
    FileInfo,
    InputTag,
    LifecycleStage,
    LoggedModelInput,
    Metric,
    PagedList,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    RunTag,
    ViewType,
)
from .exceptions import (
    InvalidParameterValue,
    MlflowException,
    ResourceAlreadyExists,
    ResourceNotFound,
)

__all__ = ["FileStore"]

TRASH = ".trash"
META = "meta.yaml"
DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
RUN_NAME_TAG = "mlflow.runName"
SEARCH_MAX_RESULTS = 50000
# Folders of an experiment that are not runs (MLflow's RESERVED_EXPERIMENT_FOLDERS).
_RESERVED = frozenset({"tags", "datasets", "traces", "models"})
_SOURCE_TYPE_LOCAL = 4  # MLflow still writes these retired run fields, for old readers
_ADJECTIVES = ("able", "bold", "calm", "deft", "eager", "fair", "glad", "keen", "lucid", "merry", "neat", "quiet")
_NOUNS = ("ant", "bee", "cat", "doe", "eel", "fox", "gnu", "hen", "jay", "owl", "ram", "yak")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _view(view_type: int | str | None) -> int:
    if view_type is None:
        return ViewType.ACTIVE_ONLY
    if isinstance(view_type, str):
        return ViewType.from_string(view_type.lower())
    return view_type


def _stages(view_type: int | str | None) -> tuple[str, ...]:
    view = _view(view_type)
    return {
        ViewType.ACTIVE_ONLY: (LifecycleStage.ACTIVE,),
        ViewType.DELETED_ONLY: (LifecycleStage.DELETED,),
    }.get(view, (LifecycleStage.ACTIVE, LifecycleStage.DELETED))


def _run_id_ok(run_id: str) -> bool:
    return bool(run_id) and all(c.isalnum() or c in "-_" for c in run_id) and len(run_id) <= 256


class FileStore:
    """MLflow's ``mlruns`` layout under ``root``, with the methods (and semantics) of ``RestStore``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(os.path.abspath(root))
        self.trash = self.root / TRASH
        self.transport = None  # no server: the client closes nothing and proxies no artifacts
        self._run_dirs: dict[str, Path] = {}
        if (
            not (self.root / DEFAULT_EXPERIMENT_ID / META).exists()
            and not (self.trash / DEFAULT_EXPERIMENT_ID).exists()
        ):
            self.root.mkdir(parents=True, exist_ok=True)
            self._write_experiment_dir(DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, None, (), exist_ok=True)
        self.trash.mkdir(exist_ok=True)

    def __repr__(self) -> str:
        return f"FileStore({str(self.root)!r})"

    # -- experiments: files ---------------------------------------------------------------------

    def _experiment_dir(self, experiment_id: str) -> Path:
        experiment_id = str(experiment_id)
        if not experiment_id or not experiment_id.isdigit():
            raise ResourceNotFound(f"No Experiment with id={experiment_id} exists")
        for parent in (self.root, self.trash):
            folder = parent / experiment_id
            if (folder / META).is_file():
                return folder
        raise ResourceNotFound(f"No Experiment with id={experiment_id} exists")

    def _write_experiment_dir(
        self,
        experiment_id: str,
        name: str,
        artifact_location: str | None,
        tags: Sequence[ExperimentTag],
        *,
        exist_ok: bool,
    ) -> None:
        folder = self.root / experiment_id
        folder.mkdir(exist_ok=exist_ok)  # atomic: two creators never share an id
        now = _now_ms()
        meta: dict[str, object] = {
            "artifact_location": artifact_location or folder.as_uri(),
            "creation_time": now,
            "experiment_id": experiment_id,
            "last_update_time": now,
            "lifecycle_stage": LifecycleStage.ACTIVE,
            "name": name,
        }
        for tag in tags:
            write_atomically(key_path(folder / "tags", tag.key), tag.value or "", folder)
        write_atomically(folder / META, _meta_yaml.dumps(meta), folder)

    def _read_experiment(self, folder: Path) -> Experiment:
        meta = _meta_yaml.loads(read_text(folder / META))
        tags = [ExperimentTag(k, read_text(p)) for k, p in walk_files(folder / "tags")]
        return Experiment(
            experiment_id=str(meta.get("experiment_id", folder.name)),
            name=str(meta.get("name") or ""),
            artifact_location=str(meta.get("artifact_location") or ""),
            lifecycle_stage=str(meta.get("lifecycle_stage") or LifecycleStage.ACTIVE),
            tags=tags,
            creation_time=_int_or_none(meta.get("creation_time")),
            last_update_time=_int_or_none(meta.get("last_update_time")),
        )

    def _update_experiment_meta(self, folder: Path, **changes: object) -> None:
        meta: dict[str, object] = dict(_meta_yaml.loads(read_text(folder / META)))
        meta = {k: v for k, v in meta.items() if not isinstance(v, dict | list) or not v}
        meta.pop("tags", None)  # MLflow's copy of the tags, stale once moved; the tags/ folder holds them
        meta.update(changes, last_update_time=_now_ms())
        write_atomically(folder / META, _meta_yaml.dumps(meta), folder)

    def _experiments(self, view_type: int | str | None) -> Iterator[Experiment]:
        stages = _stages(view_type)
        for parent in (self.root, self.trash):
            if not parent.is_dir():
                continue
            for entry in os.scandir(parent):
                if entry.name == TRASH or not entry.is_dir() or not os.path.isfile(os.path.join(entry.path, META)):
                    continue
                try:
                    experiment = self._read_experiment(Path(entry.path))
                except (OSError, ValueError):
                    continue  # malformed or half-deleted: MLflow skips it with a warning too
                if experiment.lifecycle_stage in stages:
                    yield experiment

    # -- experiments: RPCs ----------------------------------------------------------------------

    def create_experiment(self, name: str, artifact_location: str | None, tags: Sequence[ExperimentTag]) -> str:
        if not name:
            raise InvalidParameterValue("Invalid experiment name: ''")
        self._check_name_free(name)
        while True:
            experiment_id = str(random.SystemRandom().randrange(10**17, 10**18))  # MLflow's unique integer ids
            try:
                self._write_experiment_dir(experiment_id, name, artifact_location, tags, exist_ok=False)
            except FileExistsError:
                continue
            return experiment_id

    def _check_name_free(self, name: str) -> None:
        for experiment in self._experiments(ViewType.ALL):
            if experiment.name == name:
                if experiment.lifecycle_stage == LifecycleStage.DELETED:
                    raise ResourceAlreadyExists(
                        f"Experiment {name!r} already exists in deleted state. You can restore the experiment, "
                        "or permanently delete the experiment from the .trash folder in order to use this "
                        "experiment name again."
                    )
                raise ResourceAlreadyExists(f"Experiment '{name}' already exists.")

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._read_experiment(self._experiment_dir(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment:
        for experiment in self._experiments(ViewType.ALL):
            if experiment.name == name:
                return experiment
        raise ResourceNotFound(f"Could not find experiment with name '{name}'")

    def search_experiments(
        self,
        view_type: int | str | None,
        max_results: int,
        filter_string: str | None,
        order_by: Sequence[str] | None,
        page_token: str | None,
    ) -> PagedList[Experiment]:
        _check_max_results(max_results)
        wire = [e._to_wire() for e in self._experiments(view_type)]
        try:
            page, token = _search.search_experiments(wire, filter_string, order_by, max_results, page_token)
        except _search.SearchError as err:
            raise InvalidParameterValue(str(err)) from None
        return PagedList([Experiment._from_wire(e) for e in page], token)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        if not new_name:
            raise InvalidParameterValue("The experiment name cannot be empty.")
        folder = self._experiment_dir(experiment_id)
        if folder.parent == self.trash:
            raise InvalidParameterValue("Cannot rename experiment in non-active lifecycle stage.")
        self._check_name_free(new_name)
        self._update_experiment_meta(folder, name=new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        if str(experiment_id) == DEFAULT_EXPERIMENT_ID:
            raise InvalidParameterValue(
                "Cannot delete the default experiment '0'. This is an internally reserved experiment."
            )
        folder = self._experiment_dir(experiment_id)
        if folder.parent == self.trash:
            raise ResourceNotFound(f"Could not find experiment with ID {experiment_id}")
        now = _now_ms()
        for run_dir in self._run_dirs_of(folder):
            changes: dict[str, object] = {"lifecycle_stage": LifecycleStage.DELETED, "deleted_time": now}
            self._update_run_meta(run_dir, changes, only_if=LifecycleStage.ACTIVE)
        self._update_experiment_meta(folder, lifecycle_stage=LifecycleStage.DELETED)
        os.replace(folder, self.trash / folder.name)
        self._run_dirs.clear()

    def restore_experiment(self, experiment_id: str) -> None:
        folder = self.trash / str(experiment_id)
        if not (folder / META).is_file():
            raise ResourceNotFound(f"Could not find deleted experiment with ID {experiment_id}")
        if (self.root / folder.name).exists():
            raise ResourceAlreadyExists(
                f"Cannot restore experiment with ID {experiment_id}. An experiment with same ID already exists."
            )
        os.replace(folder, self.root / folder.name)
        self._run_dirs.clear()
        folder = self.root / folder.name
        for run_dir in self._run_dirs_of(folder):
            changes: dict[str, object] = {"lifecycle_stage": LifecycleStage.ACTIVE, "deleted_time": None}
            self._update_run_meta(run_dir, changes, only_if=LifecycleStage.DELETED)
        self._update_experiment_meta(folder, lifecycle_stage=LifecycleStage.ACTIVE)

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        folder = self._experiment_dir(experiment_id)
        if folder.parent == self.trash:
            raise MlflowException(
                f"The experiment {experiment_id} must be in the 'active' state. Current state is deleted.",
                error_code="INVALID_STATE",
            )
        write_atomically(key_path(folder / "tags", key), value or "", folder)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        folder = self._experiment_dir(experiment_id)
        if folder.parent == self.trash:
            raise MlflowException(
                f"The experiment {experiment_id} must be in the 'active' state. Current state is deleted.",
                error_code="INVALID_STATE",
            )
        try:
            key_path(folder / "tags", key).unlink()
        except FileNotFoundError:
            raise ResourceNotFound(f"No tag with name: {key} in experiment with id {experiment_id}") from None

    # -- runs: files ----------------------------------------------------------------------------

    def _run_dirs_of(self, experiment_dir: Path) -> Iterator[Path]:
        for entry in os.scandir(experiment_dir):
            if entry.name not in _RESERVED and entry.is_dir() and os.path.isfile(os.path.join(entry.path, META)):
                yield Path(entry.path)

    def _run_dir(self, run_id: str) -> Path:
        cached = self._run_dirs.get(run_id)
        if cached is not None and (cached / META).is_file():
            return cached
        if _run_id_ok(run_id):
            for parent in (self.root, self.trash):
                if not parent.is_dir():
                    continue
                for entry in os.scandir(parent):
                    if entry.name == TRASH or not entry.is_dir():
                        continue
                    folder = Path(entry.path, run_id)
                    if (folder / META).is_file() and (folder / "metrics").is_dir():
                        self._run_dirs[run_id] = folder
                        return folder
        raise ResourceNotFound(f"Run '{run_id}' not found")

    def _read_run_info(self, run_dir: Path) -> RunInfo:
        meta = _meta_yaml.loads(read_text(run_dir / META))
        status = meta.get("status", RunStatus.RUNNING)
        return RunInfo(
            run_id=str(meta.get("run_id") or meta.get("run_uuid") or run_dir.name),
            experiment_id=str(meta.get("experiment_id", run_dir.parent.name)),
            user_id=str(meta.get("user_id") or ""),
            status=RunStatus.to_string(status) if isinstance(status, int) else str(status),
            start_time=_int_or_none(meta.get("start_time")) or 0,
            end_time=_int_or_none(meta.get("end_time")),
            lifecycle_stage=str(meta.get("lifecycle_stage") or LifecycleStage.ACTIVE),
            artifact_uri=_str_or_none(meta.get("artifact_uri")),
            run_name=_str_or_none(meta.get("run_name")),
        )

    def _update_run_meta(self, run_dir: Path, changes: dict[str, object], only_if: str | None = None) -> None:
        meta: dict[str, object] = dict(_meta_yaml.loads(read_text(run_dir / META)))
        if only_if is not None and meta.get("lifecycle_stage", LifecycleStage.ACTIVE) != only_if:
            return
        meta = {k: v for k, v in meta.items() if not isinstance(v, dict | list) or not v}
        meta.update(changes)
        write_atomically(run_dir / META, _meta_yaml.dumps(meta), run_dir)

    def _read_run(self, run_dir: Path) -> Run:
        info = self._read_run_info(run_dir)
        metrics = []
        for key, path in walk_files(run_dir / "metrics"):
            latest = latest_metric_line(key, read_text(path), info.run_id)
            if latest is not None:
                metrics.append(latest)
        params = [Param(k, read_text(p)) for k, p in walk_files(run_dir / "params")]
        tags = [RunTag(k, read_text(p)) for k, p in walk_files(run_dir / "tags")]
        if not info.run_name:
            name = next((t.value for t in tags if t.key == RUN_NAME_TAG), None)
            if name:
                info = RunInfo(
                    info.run_id, info.experiment_id, info.user_id, info.status, info.start_time,
                    info.end_time, info.lifecycle_stage, info.artifact_uri, name,
                )  # fmt: skip
        return Run(info, RunData(metrics, params, tags), self._read_inputs(run_dir))

    def _active_run_dir(self, run_id: str) -> Path:
        run_dir = self._run_dir(run_id)
        meta = _meta_yaml.loads(read_text(run_dir / META))
        if meta.get("lifecycle_stage", LifecycleStage.ACTIVE) != LifecycleStage.ACTIVE:
            raise MlflowException(
                f"The run {run_id} must be in the 'active' state. Current state is {meta.get('lifecycle_stage')}.",
                error_code="INVALID_PARAMETER_VALUE",
            )
        return run_dir

    # -- runs: RPCs -----------------------------------------------------------------------------

    def create_run(
        self, experiment_id: str, user_id: str, start_time: int, tags: Sequence[RunTag], run_name: str | None
    ) -> Run:
        experiment_id = str(experiment_id or DEFAULT_EXPERIMENT_ID)
        folder = self._experiment_dir(experiment_id)
        if folder.parent == self.trash:
            raise MlflowException(
                f"Could not create run under non-active experiment with ID {experiment_id}.", error_code="INVALID_STATE"
            )
        tags = list(tags)
        tag_name = next((t.value for t in tags if t.key == RUN_NAME_TAG), None)
        if run_name and tag_name and run_name != tag_name:
            raise InvalidParameterValue(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values "
                f"(run_name='{run_name}', mlflow.runName='{tag_name}')."
            )
        name = run_name or tag_name or f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(0, 999)}"
        if tag_name is None:
            tags.append(RunTag(RUN_NAME_TAG, name))
        run_id = uuid.uuid4().hex
        run_dir = folder / run_id
        experiment_uri = str(_meta_yaml.loads(read_text(folder / META)).get("artifact_location") or folder.as_uri())
        meta: dict[str, object] = {
            "artifact_uri": f"{experiment_uri.rstrip('/')}/{run_id}/artifacts",
            "deleted_time": None,
            "end_time": None,
            "entry_point_name": "",
            "experiment_id": experiment_id,
            "lifecycle_stage": LifecycleStage.ACTIVE,
            "run_id": run_id,
            "run_name": name,
            "source_name": "",
            "source_type": _SOURCE_TYPE_LOCAL,
            "source_version": "",
            "start_time": start_time,
            "status": RunStatus.RUNNING,
            "tags": [],
            "user_id": user_id or "",
        }
        run_dir.mkdir()
        for sub in ("metrics", "params", "artifacts", "tags"):
            (run_dir / sub).mkdir()
        for tag in tags:
            write_atomically(key_path(run_dir / "tags", tag.key), tag.value or "", run_dir)
        write_atomically(run_dir / META, _meta_yaml.dumps(meta), run_dir)
        self._run_dirs[run_id] = run_dir
        info = RunInfo(
            run_id, experiment_id, user_id or "", "RUNNING", start_time, None, LifecycleStage.ACTIVE,
            str(meta["artifact_uri"]), name,
        )  # fmt: skip
        return Run(info, RunData([], [], [RunTag(t.key, t.value or "") for t in tags]))  # what a re-read would give

    def get_run(self, run_id: str) -> Run:
        return self._read_run(self._run_dir(run_id))

    def update_run(self, run_id: str, status: str | None, end_time: int | None, run_name: str | None) -> RunInfo:
        run_dir = self._active_run_dir(run_id)
        changes: dict[str, object] = {}
        if status is not None:
            changes["status"] = RunStatus.from_string(status)
        if end_time is not None:
            changes["end_time"] = end_time
        if run_name:
            changes["run_name"] = run_name
            write_atomically(run_dir / "tags" / RUN_NAME_TAG, run_name, run_dir)
        if changes:
            self._update_run_meta(run_dir, changes)
        return self._read_run_info(run_dir)

    def delete_run(self, run_id: str) -> None:
        changes: dict[str, object] = {"lifecycle_stage": LifecycleStage.DELETED, "deleted_time": _now_ms()}
        self._update_run_meta(self._run_dir(run_id), changes)

    def restore_run(self, run_id: str) -> None:
        self._update_run_meta(self._run_dir(run_id), {"lifecycle_stage": LifecycleStage.ACTIVE, "deleted_time": None})

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None,
        run_view_type: int | str | None,
        max_results: int,
        order_by: Sequence[str] | None,
        page_token: str | None,
    ) -> PagedList[Run]:
        _check_max_results(max_results)
        stages = _stages(run_view_type)
        wire = []
        for experiment_id in experiment_ids:
            try:
                folder = self._experiment_dir(str(experiment_id))
            except ResourceNotFound:
                continue
            for run_dir in self._run_dirs_of(folder):
                try:
                    run = self._read_run(run_dir)
                except (OSError, ValueError):
                    continue
                if run.info.lifecycle_stage in stages:
                    wire.append(run._to_wire())
        try:
            page, token = _search.search_runs(wire, filter_string, order_by, max_results, page_token)
        except _search.SearchError as err:
            raise InvalidParameterValue(str(err)) from None
        return PagedList([Run._from_wire(r) for r in page], token)

    # -- logging --------------------------------------------------------------------------------

    def log_batch(
        self, run_id: str, metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
    ) -> None:
        run_dir = self._active_run_dir(run_id)
        seen: set[str] = set()
        for param in params:
            if param.key in seen:
                raise InvalidParameterValue(
                    f"Duplicate parameter keys have been submitted: ['{param.key}']. Please ensure the request "
                    "contains only one param value per param key."
                )
            seen.add(param.key)
        for param in params:
            self._log_param(run_dir, run_id, param)
        lines: dict[str, list[str]] = {}
        for metric in metrics:
            if metric.timestamp is None or metric.timestamp < 0:
                raise InvalidParameterValue(f"Metric timestamp must be non-negative, got {metric.timestamp}.")
            lines.setdefault(metric.key, []).append(metric_line(metric))
        for key, chunk in lines.items():
            append_lines(key_path(run_dir / "metrics", key), "".join(chunk).encode())
        for tag in tags:
            write_atomically(key_path(run_dir / "tags", tag.key), tag.value or "", run_dir)
            if tag.key == RUN_NAME_TAG:
                self._update_run_meta(run_dir, {"run_name": tag.value})

    def _log_param(self, run_dir: Path, run_id: str, param: Param) -> None:
        value = param.value or ""
        path = key_path(run_dir / "params", param.key)
        if create_once(path, value, run_dir):
            return
        current = read_text(path)
        if current != value:
            raise InvalidParameterValue(
                f"Changing param values is not allowed. Param with key='{param.key}' was already logged with "
                f"value='{current}' for run ID='{run_id}'. Attempted logging new value '{value}'."
            )

    def log_metric(self, run_id: str, metric: Metric) -> None:
        self.log_batch(run_id, [metric], [], [])

    def log_param(self, run_id: str, param: Param) -> None:
        self.log_batch(run_id, [], [param], [])

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        self.log_batch(run_id, [], [], [tag])

    def delete_tag(self, run_id: str, key: str) -> None:
        run_dir = self._active_run_dir(run_id)
        try:
            key_path(run_dir / "tags", key).unlink()
        except FileNotFoundError:
            raise ResourceNotFound(f"No tag with name: {key} in run with id {run_id}") from None

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput], models: Sequence[str]) -> None:
        """Datasets go to ``<experiment>/datasets/<md5(name, digest)>/``, links to ``<run>/inputs/<id>/``."""
        run_dir = self._active_run_dir(run_id)
        experiment_dir = run_dir.parent
        for item in datasets:
            ds = item.dataset
            dataset_id = _md5(ds.name, ds.digest)
            dataset_meta: dict[str, object] = {
                "name": ds.name, "digest": ds.digest, "source_type": ds.source_type, "source": ds.source,
                "schema": ds.schema, "profile": ds.profile,
            }  # fmt: skip
            dataset_dir = experiment_dir / "datasets" / dataset_id
            dataset_dir.mkdir(parents=True, exist_ok=True)
            create_once(dataset_dir / META, _meta_yaml.dumps(dataset_meta), experiment_dir)
            link: dict[str, object] = {"source_type": "DATASET", "source_id": dataset_id, "destination_type": "RUN"}
            link |= {"destination_id": dataset_id, "tags": {t.key: t.value for t in item.tags}}  # sic: MLflow's
            self._write_input(run_dir, _md5(dataset_id, run_id), link)
        for model_id in models:
            model_link: dict[str, object] = {"source_type": "MODEL", "source_id": model_id, "destination_type": "RUN"}
            model_link |= {"destination_id": model_id, "tags": {}}
            self._write_input(run_dir, _md5(model_id, run_id), model_link)

    def _write_input(self, run_dir: Path, input_id: str, link: dict[str, object]) -> None:
        folder = run_dir / "inputs" / input_id
        folder.mkdir(parents=True, exist_ok=True)
        create_once(folder / META, _meta_yaml.dumps(link), run_dir)

    def _read_inputs(self, run_dir: Path) -> RunInputs | None:
        inputs = run_dir / "inputs"
        if not inputs.is_dir():
            return None
        datasets, models = [], []
        for entry in sorted(os.scandir(inputs), key=lambda e: e.name):
            try:
                link = _meta_yaml.loads(read_text(Path(entry.path, META)))
                source = str(link.get("source_id"))
                if link.get("source_type") == "MODEL":
                    models.append(LoggedModelInput(source))
                    continue
                ds = _meta_yaml.loads(read_text(run_dir.parent / "datasets" / source / META))
            except (OSError, ValueError):
                continue  # a link or dataset still being written, or damaged: MLflow skips it too
            raw_tags = link.get("tags")
            tags = [InputTag(str(k), str(v)) for k, v in raw_tags.items()] if isinstance(raw_tags, dict) else []
            dataset = Dataset(
                str(ds.get("name") or ""), str(ds.get("digest") or ""), str(ds.get("source_type") or ""),
                str(ds.get("source") or ""), _str_or_none(ds.get("schema")), _str_or_none(ds.get("profile")),
            )  # fmt: skip
            datasets.append(DatasetInput(dataset, tags))
        return RunInputs(datasets, models)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return list(self.iter_metric_history(run_id, key))

    def iter_metric_history(self, run_id: str, key: str) -> Iterator[Metric]:
        path = key_path(self._run_dir(run_id) / "metrics", key)
        try:
            text = read_text(path)
        except (FileNotFoundError, IsADirectoryError):
            return
        yield from parse_metric_lines(key, text, run_id)

    def list_artifacts(self, run_id: str, path: str | None) -> list[FileInfo]:
        from .artifacts._local import LocalArtifactRepository

        uri = self.get_run(run_id).info.artifact_uri
        if not uri:
            raise MlflowException(f"Run {run_id} has no artifact URI", error_code="INVALID_STATE")
        return LocalArtifactRepository(uri).list_artifacts(path)


def _md5(*parts: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for part in parts:
        digest.update(part.encode("utf-8"))
    return digest.hexdigest()


def _check_max_results(max_results: int) -> None:
    if not 1 <= max_results <= SEARCH_MAX_RESULTS:
        raise InvalidParameterValue(
            f"Invalid value {max_results} for parameter 'max_results' supplied. It must be at most "
            f"{SEARCH_MAX_RESULTS}, and at least 1."
        )


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
