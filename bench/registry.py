"""The Model Registry and logged models: our MlflowClient vs the official one against the same stub server.

Run with ``make bench`` or ``python -m bench.registry``. Both clients run in this process, the stub in a
subprocess (its CPU does not count). Cases are what a service does most: resolve ``name@alias`` (the "load
the champion" call), register versions, page through a model's versions and an experiment's logged models,
and download a registered model's files by ``models:/name@alias``. Printed as ours, theirs and the ratio
theirs/ours (>1: we are faster). No targets are asserted; the numbers go into the notes.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.client import stub_process, timed

ALIAS_LOOKUPS = 300
VERSIONS = 200
LOGGED_MODELS = 500
MODEL_FILES = 100  # files of 10 KB in the registered model's folder


def _per_call(fn: Any, calls: int) -> float:
    return timed(fn) / calls * 1000


def main() -> None:
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # one "waiting for creation" line per version
    import mlflow
    from mlflow import MlflowClient as Theirs
    from mlflow_client import MlflowClient as Ours

    rows: list[tuple[str, float, float]] = []
    with stub_process() as url, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ours, theirs = Ours(url), Theirs(tracking_uri=url, registry_uri=url)
        mlflow.set_tracking_uri(url)  # mlflow.artifacts.download_artifacts resolves models:/ with the globals
        mlflow.set_registry_uri(url)
        exp_id = ours.create_experiment(f"bench-registry-{uuid.uuid4().hex[:6]}")
        run_id = ours.create_run(exp_id).info.run_id
        model_dir = tmp / "model"
        model_dir.mkdir()
        for i in range(MODEL_FILES):
            (model_dir / f"part-{i:03}.bin").write_bytes(os.urandom(10_000))
        ours.log_artifacts(run_id, str(model_dir), "model")

        name = f"bench-{uuid.uuid4().hex[:6]}"
        ours.create_registered_model(name)
        version = ours.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id).version
        ours.set_registered_model_alias(name, "champion", version)
        assert ours.get_model_version_by_alias(name, "champion").version == version
        assert theirs.get_model_version_by_alias(name, "champion").version == version

        def our_alias() -> None:
            for _ in range(ALIAS_LOOKUPS):
                ours.get_model_version_by_alias(name, "champion")

        def their_alias() -> None:
            for _ in range(ALIAS_LOOKUPS):
                theirs.get_model_version_by_alias(name, "champion")

        rows.append(
            (
                f"get_model_version_by_alias x{ALIAS_LOOKUPS} (per call, ms)",
                _per_call(our_alias, ALIAS_LOOKUPS),
                _per_call(their_alias, ALIAS_LOOKUPS),
            )
        )

        rows += _version_rows(ours, theirs, name, run_id)
        rows += _logged_rows(ours, theirs)
        rows += _download_rows(url, tmp, name)
        ours.close()

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; stub server in a subprocess; {time.ctime()}")
    print(f"{'case':<52}{'ours':>11}{'mlflow':>11}{'mlflow/ours':>13}")
    for case, a, b in rows:
        print(f"{case:<52}{a:>11.2f}{b:>11.2f}{b / a:>12.1f}x")


def _version_rows(ours: Any, theirs: Any, name: str, run_id: str) -> list[tuple[str, float, float]]:
    rows: list[tuple[str, float, float]] = []

    def register(client: Any, model: str) -> None:
        for _ in range(VERSIONS // 2):
            client.create_model_version(model, f"runs:/{run_id}/model", run_id=run_id)

    many = [f"{name}-many-{i}" for i in range(7)]  # a fresh model per timed round (timed() repeats 3x)
    for model in many:
        ours.create_registered_model(model)
    rounds = iter(many[1:])
    rows.append(
        (
            f"create_model_version x{VERSIONS // 2} (per call, ms)",
            _per_call(lambda: register(ours, next(rounds)), VERSIONS // 2),
            _per_call(lambda: register(theirs, next(rounds)), VERSIONS // 2),
        )
    )
    register(ours, many[0])
    register(ours, many[0])
    found = f"name = '{many[0]}'"
    assert len(ours.search_model_versions(found, max_results=VERSIONS)) == VERSIONS
    assert len(theirs.search_model_versions(found, max_results=VERSIONS)) == VERSIONS
    rows.append(
        (
            f"search_model_versions returning {VERSIONS} (ms)",
            timed(lambda: ours.search_model_versions(found, max_results=VERSIONS)) * 1000,
            timed(lambda: theirs.search_model_versions(found, max_results=VERSIONS)) * 1000,
        )
    )
    return rows


def _logged_rows(ours: Any, theirs: Any) -> list[tuple[str, float, float]]:
    rows: list[tuple[str, float, float]] = []
    lm_exp = ours.create_experiment(f"bench-logged-{uuid.uuid4().hex[:6]}")
    for i in range(LOGGED_MODELS):
        ours.create_logged_model(lm_exp, name=f"m{i}", params={"lr": "0.1"}, tags={"k": "v"})

    def our_logged() -> int:
        return len(ours.search_logged_models([lm_exp], max_results=LOGGED_MODELS))

    def their_logged() -> int:
        return len(theirs.search_logged_models([lm_exp], max_results=LOGGED_MODELS))

    assert our_logged() == their_logged() == LOGGED_MODELS
    rows.append(
        (
            f"search_logged_models returning {LOGGED_MODELS} (ms)",
            timed(our_logged) * 1000,
            timed(their_logged) * 1000,
        )
    )
    return rows


def _download_rows(url: str, tmp: Path, name: str) -> list[tuple[str, float, float]]:
    import mlflow.artifacts
    from mlflow_client.artifacts import download_artifacts

    rows: list[tuple[str, float, float]] = []
    uri = f"models:/{name}@champion"
    targets = iter(range(100))

    def our_download() -> None:
        out = download_artifacts(artifact_uri=uri, dst_path=str(tmp / f"ours-{next(targets)}"), tracking_uri=url)
        assert len(os.listdir(out)) == MODEL_FILES

    def their_download() -> None:
        out = mlflow.artifacts.download_artifacts(
            artifact_uri=uri, dst_path=str(tmp / f"theirs-{next(targets)}"), tracking_uri=url
        )
        assert len(os.listdir(out)) == MODEL_FILES

    rows.append(
        (
            f"download models:/name@alias, {MODEL_FILES} x 10 KB (ms)",
            timed(our_download) * 1000,
            timed(their_download) * 1000,
        )
    )
    return rows


if __name__ == "__main__":
    main()
