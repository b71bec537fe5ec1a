"""The stub's store protocol over the client's local ``FileStore``: serve an ``mlruns`` folder over HTTP.

Only translation lives here: wire Structs to entities and back, and the client's exceptions to
``StubError`` (same error codes). The file store keeps MLflow's file-store semantics.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

from mlflow_client._file_store import FileStore
from mlflow_client._generated import models as m
from mlflow_client._generated._runtime import encode
from mlflow_client.entities import DatasetInput, Experiment, ExperimentTag, Metric, Param, Run, RunInfo, RunTag
from mlflow_client.exceptions import MlflowException

from .errors import StubError


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except MlflowException as err:
        raise StubError(err.error_code or m.ErrorCode.INTERNAL_ERROR, err.message) from None


class FileBackend:
    """A ``server_stub.handlers.Store`` that keeps everything in MLflow's ``mlruns`` layout under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.files = FileStore(root)

    def close(self) -> None:
        pass

    def reset(self) -> None:
        import shutil

        root = self.files.root
        for entry in list(root.iterdir()):
            if entry.is_dir():
                shutil.rmtree(entry)
        self.files = FileStore(root)

    # -- experiments ----------------------------------------------------------------------------

    def create_experiment(self, name: str, artifact_location: str | None, tags: list[m.ExperimentTag]) -> str:
        with _errors():
            return self.files.create_experiment(name, artifact_location, [ExperimentTag._from_wire(t) for t in tags])

    def get_experiment(self, experiment_id: str) -> m.Experiment:
        with _errors():
            return self.files.get_experiment(experiment_id)._to_wire()

    def get_experiment_by_name(self, name: str) -> m.Experiment:
        with _errors():
            return self.files.get_experiment_by_name(name)._to_wire()

    def list_experiments(self, view_type: str) -> list[m.Experiment]:
        with _errors():
            return [e._to_wire() for e in self._all_experiments(view_type)]

    def _all_experiments(self, view_type: str) -> Iterator[Experiment]:
        token: str | None = None
        while True:
            page = self.files.search_experiments(view_type, 50000, None, None, token)
            yield from page
            token = page.token
            if not token:
                return

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        with _errors():
            self.files.rename_experiment(experiment_id, new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        with _errors():
            self.files.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        with _errors():
            self.files.restore_experiment(experiment_id)

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        with _errors():
            self.files.set_experiment_tag(experiment_id, key, value)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        with _errors():
            self.files.delete_experiment_tag(experiment_id, key)

    # -- runs -----------------------------------------------------------------------------------

    def create_run(
        self, experiment_id: str, user_id: str, run_name: str, start_time: int, tags: list[m.RunTag]
    ) -> m.Run:
        with _errors():
            run = self.files.create_run(
                experiment_id, user_id, start_time, [RunTag._from_wire(t) for t in tags], run_name
            )
            return run._to_wire()

    def get_run(self, run_id: str) -> m.Run:
        with _errors():
            return self.files.get_run(run_id)._to_wire()

    def update_run(self, run_id: str, status: str | None, end_time: int | None, run_name: str | None) -> m.RunInfo:
        with _errors():
            info: RunInfo = self.files.update_run(run_id, status, end_time, run_name)
            return info._to_wire()

    def delete_run(self, run_id: str) -> None:
        with _errors():
            self.files.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        with _errors():
            self.files.restore_run(run_id)

    def log_batch(self, run_id: str, metrics: list[m.Metric], params: list[m.Param], tags: list[m.RunTag]) -> None:
        with _errors():
            self.files.log_batch(
                run_id,
                [Metric._from_wire(x) for x in metrics],
                [Param._from_wire(p) for p in params],
                [RunTag._from_wire(t) for t in tags],
            )

    def delete_tag(self, run_id: str, key: str) -> None:
        with _errors():
            self.files.delete_tag(run_id, key)

    def log_inputs(self, run_id: str, datasets: list[m.DatasetInput], models: list[m.ModelInput]) -> None:
        with _errors():
            self.files.log_inputs(
                run_id, [DatasetInput._from_wire(d) for d in datasets], [str(x.model_id) for x in models]
            )

    def list_runs(self, experiment_ids: Sequence[str], view_type: str) -> list[m.Run]:
        with _errors():
            runs: list[Run] = []
            token: str | None = None
            while True:
                page = self.files.search_runs(experiment_ids, None, view_type, 50000, None, token)
                runs.extend(page)
                token = page.token
                if not token:
                    return [r._to_wire() for r in runs]

    def metric_history(self, run_id: str, key: str) -> list[m.Metric]:
        with _errors():
            history = [x._to_wire() for x in self.files.iter_metric_history(run_id, key)]
        # the order the stub's SQL store answers in: timestamp, step, value (NaN last)
        history.sort(key=lambda x: (x.timestamp, x.step, math.isnan(x.value or 0.0), x.value))
        return history

    def metric_history_json(
        self, run_id: str, key: str, offset: int = 0, limit: int | None = None
    ) -> tuple[bytes, int]:
        history = self.metric_history(run_id, key)
        page = history[offset:] if limit is None else history[offset : offset + limit]
        return b",".join(encode(x) for x in page), len(history)

    def run_exists(self, run_id: str) -> bool:
        try:
            self.files.get_run(run_id)
        except MlflowException:
            return False
        return True
