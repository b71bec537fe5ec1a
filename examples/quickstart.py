"""Demo: record a run with the fluent API, read it back with MlflowClient, then print it with the command line.

With no MLFLOW_TRACKING_URI the run goes to ./mlruns on local disk (MLflow's layout; no server needed,
and `mlflow ui` or `mlflow server --backend-store-uri ./mlruns` can show it). With MLFLOW_TRACKING_URI
set to a server's URL, it goes there.
"""

from __future__ import annotations

import os
import subprocess
import sys

import mlflow_client
from mlflow_client import MlflowClient


def main() -> None:
    uri = mlflow_client.get_tracking_uri()
    experiment = mlflow_client.set_experiment("quickstart")
    with mlflow_client.start_run(run_name="demo-run") as run:
        mlflow_client.log_params({"learning_rate": 0.01, "epochs": 5})
        for epoch in range(5):
            mlflow_client.log_metrics({"loss": 1.0 / (epoch + 1), "accuracy": 0.5 + epoch / 10}, step=epoch)
        mlflow_client.set_tag("purpose", "demo")
        mlflow_client.log_text("epochs: 5\nlearning_rate: 0.01\n", "config/train.yaml")
        mlflow_client.log_dict({"loss": 0.2, "accuracy": 0.9}, "results.json")

    with MlflowClient(uri) as client:
        got = client.get_run(run.info.run_id)
        history = client.get_metric_history(run.info.run_id, "loss")
        artifacts = [f.path for f in client.list_artifacts(run.info.run_id)]
        artifacts += [f.path for f in client.list_artifacts(run.info.run_id, "config")]
        tags = got.data.tags
        print(f"tracking URI: {uri}")
        print(f"experiment {experiment.name!r} ({experiment.experiment_id})")
        print(f"run {got.info.run_id} ({got.info.run_name}): {got.info.status}")
        print("  params   :", got.data.params)
        print("  metrics  :", {k: round(v, 3) for k, v in got.data.metrics.items()})
        print("  loss/step:", [(h.step, round(h.value, 3)) for h in history])
        print("  tags     :", {k: v for k, v in tags.items() if not k.startswith("mlflow.")})
        print("  source   :", tags.get("mlflow.source.name"), tags.get("mlflow.source.git.commit", ""))
        print("  artifacts:", sorted(artifacts))
        print(f"  stored at {got.info.artifact_uri}")

    # The same run through the command line, as a shell or CI script would see it (the tracking URI resolved
    # above, passed on explicitly so the command reads the same store).
    command = ["mlflow-client", "runs", "describe", "--run-id", run.info.run_id]
    print(f"\n$ {' '.join(command)}", flush=True)
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    subprocess.run([sys.executable, "-m", "mlflow_client", *command[1:]], env=env, check=True)


if __name__ == "__main__":
    main()
