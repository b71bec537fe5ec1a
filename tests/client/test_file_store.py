"""The local file store: MlflowClient with no server, in MLflow's ``mlruns`` layout, read and written
interchangeably with MLflow's own file store, and safe with several processes on one run."""

from __future__ import annotations

import importlib
import math
import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow_client import MlflowClient
from mlflow_client._file_store import FileStore
from mlflow_client.entities import Metric, Param, RunTag, ViewType
from mlflow_client.exceptions import InvalidParameterValue, MlflowException, ResourceAlreadyExists, ResourceNotFound

from tests.client.test_client import _workflow


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "mlruns"


@pytest.fixture
def client(root: Path) -> Iterator[MlflowClient]:
    with MlflowClient(root.as_uri()) as c:
        yield c


@pytest.fixture
def mlflow_store(root: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """MLflow's own file store on the same folder (created lazily, after ours wrote)."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow.store.tracking.file_store import FileStore as MlflowFileStore

    return lambda: MlflowFileStore(str(root))  # type: ignore[no-untyped-call]


# -- through the client -------------------------------------------------------------------------------


def test_local_uris_choose_the_file_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    with MlflowClient() as default:
        assert isinstance(default._store, FileStore)
        assert default._store.root == tmp_path / "mlruns"
    assert (tmp_path / "mlruns" / "0" / "meta.yaml").is_file()
    for uri in ("other", str(tmp_path / "abs"), (tmp_path / "uri").as_uri()):
        with MlflowClient(uri) as c:
            assert c.get_experiment("0").name == "Default"
    with pytest.raises(MlflowException, match="mlflow server --backend-store-uri"):
        MlflowClient("postgresql://u@h/db")
    with pytest.raises(MlflowException, match="not supported"):
        MlflowClient("ftp://host/x")


def test_full_workflow(client: MlflowClient, root: Path, tmp_path: Path) -> None:
    exp_id = client.create_experiment("exp", tags={"team": "core"})
    assert (root / exp_id / "meta.yaml").is_file() and (root / exp_id / "tags" / "team").read_text() == "core"
    with pytest.raises(ResourceAlreadyExists):
        client.create_experiment("exp")
    assert client.get_experiment_by_name("exp").experiment_id == exp_id  # type: ignore[union-attr]
    assert client.get_experiment_by_name("nope") is None

    run = client.create_run(exp_id, run_name="r1", tags={"k": "v"})
    run_id = run.info.run_id
    assert run.info.artifact_uri == f"{(root / exp_id).as_uri()}/{run_id}/artifacts"
    assert (run.info.run_name, run.info.status, run.data.tags["mlflow.runName"]) == ("r1", "RUNNING", "r1")
    client.log_param(run_id, "lr", 0.01)
    client.log_param(run_id, "lr", 0.01)  # the same value again is fine
    with pytest.raises(InvalidParameterValue, match="Changing param values is not allowed"):
        client.log_param(run_id, "lr", 0.02)
    for step, value in enumerate([3.0, 1.0, 2.0]):
        client.log_metric(run_id, "loss", value, timestamp=100 + step, step=step)
    client.log_metric(run_id, "acc/top1", float("nan"), timestamp=5, step=1)
    client.log_metric(run_id, "acc/top1", 0.5, timestamp=4, step=1)
    client.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)], params=[Param("bs", "32")], tags=[RunTag("t", "x\ny")])
    client.set_tag(run_id, "gone", "soon")
    client.delete_tag(run_id, "gone")
    with pytest.raises(ResourceNotFound):
        client.delete_tag(run_id, "gone")
    client.update_run(run_id, name="renamed")
    client.set_terminated(run_id, "FINISHED", end_time=999)

    got = client.get_run(run_id)
    assert got.data.params == {"lr": "0.01", "bs": "32"}
    assert got.data.metrics["loss"] == 2.0 and got.data.metrics["m"] == 1.0
    assert math.isnan(got.data.metrics["acc/top1"])  # same step: the later timestamp wins, NaN or not
    assert got.data.tags["t"] == "x\ny" and "gone" not in got.data.tags
    assert (got.info.run_name, got.info.status, got.info.end_time) == ("renamed", "FINISHED", 999)
    assert got.data.tags["mlflow.runName"] == "renamed"
    history = client.get_metric_history(run_id, "loss")
    assert [(h.step, h.value, h.timestamp) for h in history] == [(0, 3.0, 100), (1, 1.0, 101), (2, 2.0, 102)]
    assert client.get_metric_history(run_id, "missing") == []

    other = client.create_run(exp_id, run_name="r2").info.run_id
    client.log_metric(other, "loss", 0.5)
    found = client.search_runs([exp_id], "metrics.loss < 1", order_by=["metrics.loss ASC"])
    assert [r.info.run_id for r in found] == [other]
    page = client.search_runs([exp_id], max_results=1, order_by=["attributes.run_name ASC"])
    assert [r.info.run_name for r in page] == ["r2"] and page.token
    assert [r.info.run_name for r in client.iter_runs([exp_id])] == ["r2", "renamed"]
    with pytest.raises(InvalidParameterValue):
        client.search_runs([exp_id], "metrics.loss <<< 1")

    client.log_text(run_id, "hello", "notes/a.txt")
    client.log_dict(run_id, {"a": 1}, "d.json")
    assert sorted(f.path for f in client.list_artifacts(run_id)) == ["d.json", "notes"]
    assert [f.path for f in client._store.list_artifacts(run_id, "notes")] == ["notes/a.txt"]
    local = client.download_artifacts(run_id, "notes/a.txt", tmp_path)
    assert Path(local).read_text() == "hello"

    client.delete_run(other)
    with pytest.raises(MlflowException, match="must be in the 'active' state"):
        client.log_metric(other, "loss", 1.0)
    assert [r.info.run_id for r in client.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY)] == [other]
    client.restore_run(other)
    client.log_metric(other, "loss", 1.0)

    client.rename_experiment(exp_id, "exp2")
    client.set_experiment_tag(exp_id, "a/b", "c")
    assert client.get_experiment(exp_id).tags == {"team": "core", "a/b": "c"}
    client.delete_experiment_tag(exp_id, "a/b")
    client.delete_experiment(exp_id)
    assert (root / ".trash" / exp_id).is_dir() and not (root / exp_id).exists()
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert [e.name for e in client.search_experiments()] == ["Default"]
    assert [e.name for e in client.search_experiments(ViewType.DELETED_ONLY)] == ["exp2"]
    with pytest.raises(MlflowException, match="non-active experiment"):
        client.create_run(exp_id)
    client.restore_experiment(exp_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"
    assert client.get_run(other).info.lifecycle_stage == "active"
    with pytest.raises(ResourceNotFound):
        client.get_run("0" * 32)
    with pytest.raises(ResourceNotFound):
        client.get_experiment("12345")
    with pytest.raises(InvalidParameterValue):
        client.delete_experiment("0")


# -- interop with MLflow's own file store ------------------------------------------------------------


def test_same_results_as_mlflows_file_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow import MlflowClient as OfficialClient

    theirs = _workflow(OfficialClient(tracking_uri=str(tmp_path / "theirs")), "wf")
    with MlflowClient(str(tmp_path / "ours")) as ours_client:
        ours = _workflow(ours_client, "wf")
    assert ours == theirs
    assert ours["metrics"]["weird"] == math.inf  # a file store keeps infinities (the SQL store clips them)


def _write_sample(client: Any) -> tuple[str, str, str]:
    """A run with odd keys and values, a deleted experiment: written through either client."""
    exp_id = client.create_experiment("interop é", tags={"multi": "line1\n\nline3", "n/ested": "v"})
    long_name = "a run name " * 12  # PyYAML folds it over several lines
    run = client.create_run(exp_id, start_time=1700000000000, run_name=long_name.strip(), tags={"k": 'it\'s: "q"'})
    run_id = run.info.run_id
    client.log_param(run_id, "lr", "0.01")
    client.log_param(run_id, "nested/p", "x")
    for step in range(5):
        client.log_metric(run_id, "loss/train", 1.0 / (step + 1), timestamp=1700000000000 + step, step=step)
    client.log_metric(run_id, "nan", float("nan"), timestamp=7, step=0)
    client.log_metric(run_id, "inf", float("-inf"), timestamp=8, step=2)
    client.set_tag(run_id, "stage", "dev ü 😀")
    client.log_text(run_id, "hi", "dir/file.txt")
    entities: Any = __import__("mlflow_client.entities" if isinstance(client, MlflowClient) else "mlflow.entities")
    entities = entities.entities
    dataset = entities.Dataset("ds", "abc123", "local", '{"uri": "/data"}', '{"mlflow_colspec": []}', None)
    client.log_inputs(run_id, [entities.DatasetInput(dataset, [entities.InputTag("mlflow.data.context", "train")])])
    client.set_terminated(run_id, "FAILED", end_time=1700000009999)
    gone = client.create_experiment("gone")
    client.create_run(gone, run_name="in-gone")
    client.delete_experiment(gone)
    return exp_id, run_id, gone


_INFO_FIELDS = [
    "run_id",
    "experiment_id",
    "run_name",
    "status",
    "start_time",
    "end_time",
    "lifecycle_stage",
    "artifact_uri",
    "user_id",
]


def _pairs(tags: Any) -> list[tuple[str, str]]:
    return [(t.key, t.value) for t in tags]


def _nan(value: float) -> float | str:
    return "nan" if math.isnan(value) else value


def _observe(client: Any, exp_id: str, run_id: str, gone: str) -> dict[str, Any]:
    run = client.get_run(run_id)
    exp = client.get_experiment(exp_id)
    histories = {
        key: [
            (h.timestamp, h.step, "nan" if math.isnan(h.value) else h.value)
            for h in client.get_metric_history(run_id, key)
        ]
        for key in run.data.metrics
    }
    gone_exp = client.get_experiment(gone)
    gone_runs = client.search_runs([gone], run_view_type=ViewType.ALL)
    return {
        "experiment": (exp.experiment_id, exp.name, exp.lifecycle_stage, exp.artifact_location, exp.tags),
        "experiments": sorted(e.name for e in client.search_experiments(view_type=ViewType.ALL)),
        "info": tuple(getattr(run.info, f) for f in _INFO_FIELDS),
        "inputs": [
            (
                d.dataset.name,
                d.dataset.digest,
                d.dataset.source_type,
                d.dataset.source,
                d.dataset.schema,
                _pairs(d.tags),
            )
            for d in run.inputs.dataset_inputs
        ],
        "params": run.data.params,
        "metrics": {k: _nan(v) for k, v in run.data.metrics.items()},
        "tags": run.data.tags,
        "histories": histories,
        "artifacts": [(f.path, f.is_dir) for f in client.list_artifacts(run_id)]
        + [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id, "dir")],
        "found": [r.info.run_id for r in client.search_runs([exp_id], "params.lr = '0.01' and tags.stage LIKE 'dev%'")],
        "gone": (gone_exp.lifecycle_stage, [(r.info.run_name, r.info.lifecycle_stage) for r in gone_runs]),
    }


def test_mlflow_reads_what_we_write(client: MlflowClient, root: Path, mlflow_store: Any) -> None:
    from mlflow import MlflowClient as OfficialClient

    ids = _write_sample(client)
    ours = _observe(client, *ids)
    theirs = _observe(OfficialClient(tracking_uri=str(root)), *ids)
    assert ours == theirs
    assert ours["inputs"][0][:2] == ("ds", "abc123") and ours["inputs"][0][5] == [("mlflow.data.context", "train")]
    assert ours["info"][3] == "FAILED" and ours["gone"] == ("deleted", [("in-gone", "deleted")])
    store = mlflow_store()
    assert store.get_experiment("0").name == "Default"
    assert [m.value for m in store.get_metric_history(ids[1], "loss/train")] == [1.0, 0.5, 1 / 3, 0.25, 0.2]


def test_we_read_what_mlflow_writes(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow import MlflowClient as OfficialClient

    official = OfficialClient(tracking_uri=str(root))
    ids = _write_sample(official)
    theirs = _observe(official, *ids)
    with MlflowClient(str(root)) as ours_client:
        assert _observe(ours_client, *ids) == theirs
        # and we can keep writing to what MLflow created, MLflow reading it back
        ours_client.restore_experiment(ids[2])
        ours_client.rename_experiment(ids[0], "renamed")
        run = ours_client.create_run(ids[0], run_name="ours")
        ours_client.log_metric(run.info.run_id, "loss/train", 0.1, step=9)
    assert official.get_experiment(ids[2]).lifecycle_stage == "active"
    assert official.get_experiment_by_name("renamed").experiment_id == ids[0]  # type: ignore[union-attr]
    assert official.get_run(run.info.run_id).data.metrics == {"loss/train": 0.1}


# -- several writers, crashes ------------------------------------------------------------------------


def _log_from_another_process(root: str, run_id: str, worker: int, count: int) -> list[str]:
    errors = []
    with MlflowClient(root) as c:
        for i in range(count):
            c.log_metric(run_id, "shared", float(worker * 1000 + i), timestamp=i, step=i)
            c.log_param(run_id, f"w{worker}-{i % 10}", str(i % 10))
            c.set_tag(run_id, f"tag{worker}", str(i))
        c.log_batch(run_id, metrics=[Metric(f"own{worker}", float(i), i, i) for i in range(count)])
        try:
            c.log_param(run_id, "contested", f"worker-{worker}")
        except InvalidParameterValue as err:
            errors.append(str(err))
    return errors


def test_several_processes_lose_nothing(client: MlflowClient, root: Path) -> None:
    run_id = client.create_run("0").info.run_id
    workers, count = 4, 150
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers) as pool:
        results = pool.starmap(_log_from_another_process, [(str(root), run_id, w, count) for w in range(workers)])
    history = client.get_metric_history(run_id, "shared")
    assert sorted(h.value for h in history) == sorted(float(w * 1000 + i) for w in range(workers) for i in range(count))
    run = client.get_run(run_id)
    for w in range(workers):
        assert len(client.get_metric_history(run_id, f"own{w}")) == count
        assert run.data.tags[f"tag{w}"] == str(count - 1)
        assert all(run.data.params[f"w{w}-{i}"] == str(i) for i in range(10))
    assert sum(len(r) for r in results) == workers - 1  # one value of the contested param won, the rest failed
    assert run.data.params["contested"].startswith("worker-")
    assert not [p for p in root.rglob("*.tmp")]


def test_a_crash_mid_write_does_not_break_reads(client: MlflowClient, root: Path, mlflow_store: Any) -> None:
    run = client.create_run("0", run_name="r")
    run_id, run_dir = run.info.run_id, root / "0" / run.info.run_id
    client.log_metric(run_id, "m", 1.0, timestamp=1, step=0)
    client.log_param(run_id, "p", "v")
    # a writer died after writing its temporary file, and another in the middle of a metric line
    (run_dir / ".meta.yaml.123.abcd.tmp").write_text("artifact_uri: broken\nrun_")
    (run_dir / ".p.123.abcd.tmp").write_text("half")
    (root / "0" / ".meta.yaml.9.x.tmp").write_text("name: ")
    with open(run_dir / "metrics" / "m", "a") as f:
        f.write("2 2.")
    got = client.get_run(run_id)
    assert got.data.metrics == {"m": 1.0} and got.data.params == {"p": "v"} and got.info.run_name == "r"
    assert [h.value for h in client.get_metric_history(run_id, "m")] == [1.0]
    client.log_metric(run_id, "m", 3.0, timestamp=3, step=1)  # the torn line stays torn; later lines are whole
    assert [h.value for h in client.get_metric_history(run_id, "m")][-1] == 3.0
    assert [e.name for e in client.search_experiments()] == ["Default"]
    theirs = mlflow_store().get_run(run_id)
    assert theirs.data.params == {"p": "v"} and theirs.info.run_name == "r"


def test_meta_yaml_matches_pyyaml() -> None:
    yaml = importlib.import_module("yaml")
    from mlflow_client import _meta_yaml

    values = ["plain", "two words", "x\ny", "  lead", "trail  ", "'q'", '"dq"', "yes", "null", "123", "1.5", "", "é 😀"]
    values += ["tab\tx", "a: b", "- x", "#c", "file:///tmp/a b/c", "word " * 40, "l1\n\nl3\n", "back\\slash", "\x7f"]
    data: dict[str, object] = {f"k{i}": v for i, v in enumerate(values)}
    data |= {"none": None, "int": -17, "empty": []}
    assert yaml.safe_load(_meta_yaml.dumps(data)) == data
    for options in ({}, {"allow_unicode": True, "width": 40}):
        assert _meta_yaml.loads(yaml.safe_dump(data, **options)) == data
    assert _meta_yaml.loads("tags:\n  a: b\n  c/d: 'e'\nname: x\n") == {"tags": {"a": "b", "c/d": "e"}, "name": "x"}


def test_file_store_refuses_keys_that_escape(root: Path) -> None:
    store = FileStore(root)
    run_id = store.create_run("0", "me", 1, [], "r").info.run_id
    for key in ("../x", "a//b", "/abs", "a/./b"):
        with pytest.raises(InvalidParameterValue):
            store.log_param(run_id, Param(key, "v"))
    assert not (root / "0" / "x").exists()
    assert os.listdir(root / "0" / run_id / "params") == []


@pytest.mark.mlflow_server
def test_mlflow_server_serves_what_we_write(client: MlflowClient, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`mlflow server --backend-store-uri <our mlruns>` answers our client over HTTP with what we wrote."""
    from tests.real_server import real_mlflow_server

    ids = _write_sample(client)
    local = _observe(client, *ids)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    with real_mlflow_server(("--backend-store-uri", str(root))) as url, MlflowClient(url) as remote:
        assert _observe(remote, *ids) == local
        run_id = remote.create_run(ids[0], run_name="from-server").info.run_id
        remote.log_metric(run_id, "x", 1.5, step=3)
    assert client.get_run(run_id).data.metrics == {"x": 1.5}


def test_the_latest_metric_of_a_file_is_the_one_a_full_parse_ranks_highest() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from mlflow_client._file_layout import latest_metric_line, parse_metric_lines

    def latest_metric(history: Any) -> Any:  # the plain reading: MLflow's max by (step, timestamp, value)
        return max(
            history, key=lambda x: (x.step, x.timestamp, -math.inf if math.isnan(x.value) else x.value), default=None
        )

    values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 1.0, math.nan]))
    line = st.tuples(st.integers(0, 5), values, st.integers(-2, 3), st.booleans()).map(
        lambda t: f"{t[0]} {t[1]!r} {t[2]}" + (" ds dig" if t[3] else "")
    )

    @settings(max_examples=300, deadline=None)
    @given(st.lists(line, max_size=12), st.sampled_from(["", "7 1.0", "9 2.0 1 x"]))
    def check(lines: list[str], tail: str) -> None:
        text = "".join(x.replace("inf", "Infinity").replace("nan", "NaN") + "\n" for x in lines) + tail
        expected = latest_metric(parse_metric_lines("k", text, "r"))
        got = latest_metric_line("k", text, "r")
        assert repr(got) == repr(expected)

    check()
