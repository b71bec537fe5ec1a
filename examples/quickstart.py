"""Demo: the fluent API and MlflowClient logging a run to a tracking server, then reading it back.

With MLFLOW_TRACKING_URI set, it logs to that server; otherwise it starts the bundled stub server
in-process on a free loopback port (local ./mlruns tracking without any server is not built yet).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import mlflow_client
from mlflow_client import MlflowClient


@contextlib.contextmanager
def tracking_server() -> Iterator[str]:
    url = os.environ.get("MLFLOW_TRACKING_URI")
    if url:
        yield url
        return
    from server_stub import StubServer

    with StubServer(port=0) as stub:
        print(f"no MLFLOW_TRACKING_URI: started the stub server at {stub.url}")
        yield stub.url


def main() -> None:
    with tracking_server() as url:
        mlflow_client.set_tracking_uri(url)
        experiment = mlflow_client.set_experiment("quickstart")
        with mlflow_client.start_run(run_name="demo-run") as run:
            mlflow_client.log_params({"learning_rate": 0.01, "epochs": 5})
            for epoch in range(5):
                mlflow_client.log_metrics({"loss": 1.0 / (epoch + 1), "accuracy": 0.5 + epoch / 10}, step=epoch)
            mlflow_client.set_tag("purpose", "demo")

        with MlflowClient(url) as client:
            got = client.get_run(run.info.run_id)
            history = client.get_metric_history(run.info.run_id, "loss")
            print(f"\nexperiment {experiment.name!r} ({experiment.experiment_id}) at {url}")
            print(f"run {got.info.run_id} ({got.info.run_name}): {got.info.status}")
            print("  params :", got.data.params)
            print("  metrics:", {k: round(v, 3) for k, v in got.data.metrics.items()})
            print("  tags   :", {k: v for k, v in got.data.tags.items() if not k.startswith("mlflow.")})
            print(
                "  source :", got.data.tags.get("mlflow.source.name"), got.data.tags.get("mlflow.source.git.commit", "")
            )
            print("  loss by step:", [(h.step, round(h.value, 3)) for h in history])
            print(f"  artifacts go to {got.info.artifact_uri}")


if __name__ == "__main__":
    main()
