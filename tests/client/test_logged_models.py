"""MLflow 3's logged models through ``MlflowClient`` and ``AsyncMlflowClient``, against a real ``mlflow server``
and the stub: create (params past one request's worth), finalize, tags, params, search with filters and
paging, ``log_outputs``, delete; results compared with MLflow's own ``MlflowClient``; typed errors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import mlflow
import mlflow.entities
import pytest
from mlflow_client import AsyncMlflowClient, MlflowClient
from mlflow_client.entities import LoggedModel, LoggedModelOutput, LoggedModelStatus
from mlflow_client.exceptions import FeatureNotImplemented, InvalidParameterValue, MlflowException


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _plain(model: Any) -> dict[str, Any]:
    """A logged model (ours or MLflow's) as plain data; metrics by their values."""
    out = {k: getattr(model, k) for k in model._properties() if k != "metrics"}
    out["status"] = str(out["status"])
    out["metrics"] = sorted((x.key, x.value, x.step, x.model_id) for x in model.metrics or [])
    return out


def test_logged_model_lifecycle_matches_mlflows_client(server_url: str) -> None:
    client, theirs = MlflowClient(server_url), mlflow.MlflowClient(server_url)
    exp_id = client.create_experiment(_unique("logged"))
    run_id = client.create_run(exp_id).info.run_id
    params = {f"p{i:03d}": i for i in range(150)}  # more than one request's 100

    model = client.create_logged_model(
        exp_id, name="clf", source_run_id=run_id, tags={"team": "ml"}, params=params, model_type="sklearn"
    )
    assert isinstance(model, LoggedModel)
    assert model.model_id.startswith("m-") and model.model_uri == f"models:/{model.model_id}"
    assert (model.name, model.experiment_id, model.source_run_id, model.model_type) == (
        "clf",
        exp_id,
        run_id,
        "sklearn",
    )
    assert model.status == LoggedModelStatus.PENDING and model.tags["team"] == "ml"
    assert model.params == {k: str(v) for k, v in params.items()}
    assert model.artifact_location

    ready = client.finalize_logged_model(model.model_id, "READY")
    assert ready.status is LoggedModelStatus.READY and LoggedModelStatus.is_finalized(ready.status)
    client.set_logged_model_tags(model.model_id, {"stage": "eval", "n": 3})
    client.delete_logged_model_tag(model.model_id, "team")
    client.log_model_params(model.model_id, {"extra": 1.5})
    client.log_metric(run_id, "acc", 0.75, step=2, model_id=model.model_id)

    got = client.get_logged_model(model.model_id)
    assert got.tags.get("stage") == "eval" and got.tags.get("n") == "3" and "team" not in got.tags
    assert got.params["extra"] == "1.5" and len(got.params) == 151
    assert [(x.key, x.value, x.step) for x in got.metrics or []] == [("acc", 0.75, 2)]
    assert _plain(got) == _plain(theirs.get_logged_model(model.model_id))
    assert got.to_dictionary()["status"] == theirs.get_logged_model(model.model_id).to_dictionary()["status"] == 2

    # log_outputs takes our entities and MLflow's.
    client.log_outputs(run_id, [LoggedModelOutput(model.model_id, 4)])
    other = client.create_logged_model(exp_id, name="other", source_run_id=run_id)
    client.log_outputs(run_id, [mlflow.entities.LoggedModelOutput(other.model_id, 5)])
    outputs = client.get_run(run_id).outputs
    assert outputs is not None
    assert sorted((o.model_id, o.step) for o in outputs.model_outputs) == sorted(
        [(model.model_id, 4), (other.model_id, 5)]
    )

    failed = client.finalize_logged_model(other.model_id, mlflow.entities.LoggedModelStatus.FAILED)
    assert failed.status == LoggedModelStatus.FAILED

    client.delete_logged_model(other.model_id)
    remaining = client.search_logged_models([exp_id])
    assert [x.model_id for x in remaining] == [model.model_id]
    with pytest.raises(MlflowException) as deleted:
        client.get_logged_model(other.model_id)
    assert deleted.value.error_code == "RESOURCE_DOES_NOT_EXIST" and deleted.value.http_status == 404


def test_search_filters_orders_and_pages(server_url: str) -> None:
    client, theirs = MlflowClient(server_url), mlflow.MlflowClient(server_url)
    exp_id = client.create_experiment(_unique("search-lm"))
    made = [client.create_logged_model(exp_id, name=f"m{i}", params={"depth": str(i)}) for i in range(4)]
    client.finalize_logged_model(made[1].model_id, "READY")

    by_name = client.search_logged_models([exp_id], filter_string="name = 'm2'")
    assert [x.model_id for x in by_name] == [made[2].model_id]
    oldest_first = client.search_logged_models(
        [exp_id], order_by=[{"field_name": "creation_timestamp", "ascending": True}]
    )
    # Creations within one millisecond tie (a fast server); MLflow breaks ties by model id.
    assert [(x.creation_timestamp, x.model_id) for x in oldest_first] == sorted(
        (x.creation_timestamp, x.model_id) for x in made
    )
    assert [_plain(x) for x in oldest_first] == [
        _plain(x)
        for x in theirs.search_logged_models(
            [exp_id], order_by=[{"field_name": "creation_timestamp", "ascending": True}]
        )
    ]
    by_param = client.search_logged_models([exp_id], filter_string="params.depth = '1'")
    assert [(x.name, x.status) for x in by_param] == [("m1", LoggedModelStatus.READY)]

    seen, token = [], None
    while True:
        page = client.search_logged_models([exp_id], max_results=3, page_token=token)
        assert len(page) <= 3
        seen += [x.model_id for x in page]
        token = page.token
        if not token:
            break
    assert sorted(seen) == sorted(x.model_id for x in made) and len(seen) == 4


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda c: c.get_logged_model(""), "model_id"),
        (lambda c: c.delete_logged_model(None), "model_id"),
        (lambda c: c.finalize_logged_model("m-1", "DONE"), "status"),
        (lambda c: c.search_logged_models("1"), "experiment_ids"),
        (lambda c: c.search_logged_models([1]), "experiment_ids"),
        (lambda c: c.create_logged_model("1", tags=["a"]), "tags"),
        (lambda c: c.log_model_params("m-1", {"bad key!": 1}), "key"),
        (lambda c: c.log_outputs("r", [object()]), "LoggedModelOutput"),
        (lambda c: c.log_outputs("", [LoggedModelOutput("m-1", 0)]), "run_id"),
        (lambda c: c.create_logged_model(None), "experiment_id"),
        (lambda c: c.search_logged_models(["1"], datasets=[{"name": "d"}]), "datasets"),
        (lambda c: c.search_logged_models(["1"], order_by=["name"]), "order_by"),
        (lambda c: c.search_logged_models(["1"], max_results=0), "max_results"),
        (lambda c: c.delete_logged_model_tag("m-1", ""), "key"),
    ],
)
def test_argument_errors_are_typed_and_name_the_argument(call: Any, named: str) -> None:
    with MlflowClient("http://127.0.0.1:9") as client, pytest.raises(InvalidParameterValue) as err:
        call(client)
    assert named.lower() in err.value.message.lower() and err.value.http_status is None


def test_tags_or_params_for_a_missing_model_fail_as_in_mlflow(server_url: str) -> None:
    client = MlflowClient(server_url)
    calls: list[Callable[[], None]] = [
        lambda: client.set_logged_model_tags("m-" + "0" * 32, {"a": "b"}),
        lambda: client.log_model_params("m-" + "0" * 32, {"a": "b"}),
    ]
    for call in calls:
        with pytest.raises(InvalidParameterValue, match=r"Failed to get logged model with ID m-0+") as err:
            call()
        assert isinstance(err.value.__cause__, MlflowException)


def test_async_client_logged_models(server_url: str) -> None:
    exp_id = MlflowClient(server_url).create_experiment(_unique("async-lm"))

    async def go() -> tuple[LoggedModel, LoggedModel, list[str]]:
        async with AsyncMlflowClient(server_url) as client:
            made = await client.create_logged_model(exp_id, name="a", tags={"t": "1"}, params={"p": "q"})
            await client.set_logged_model_tags(made.model_id, {"u": "2"})
            await client.delete_logged_model_tag(made.model_id, "t")
            await client.log_model_params(made.model_id, {"r": "s"})
            done = await client.finalize_logged_model(made.model_id, LoggedModelStatus.READY)
            run = await client.create_run(exp_id)
            await client.log_outputs(run.info.run_id, [LoggedModelOutput(made.model_id, 1)])
            found = await client.search_logged_models([exp_id])
            got = await client.get_logged_model(made.model_id)
            await client.delete_logged_model(made.model_id)
            return done, got, [x.model_id for x in found]

    done, got, found = asyncio.run(go())
    assert done.status == LoggedModelStatus.READY
    assert got.tags == {"u": "2"} and got.params == {"p": "q", "r": "s"}
    assert found == [got.model_id]


def test_local_store_has_no_logged_models(tmp_path: Any) -> None:
    client = MlflowClient(str(tmp_path / "mlruns"))
    with pytest.raises(FeatureNotImplemented, match="tracking server") as err:
        client.create_logged_model("0")
    assert err.value.error_code == "FEATURE_DISABLED"

    async def go() -> None:
        async with AsyncMlflowClient(str(tmp_path / "mlruns")) as aclient:
            await aclient.get_logged_model("m-1")

    with pytest.raises(FeatureNotImplemented):
        asyncio.run(go())
