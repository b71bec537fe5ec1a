"""Demo: the generated REST layer talking to a real `mlflow server` started on a free loopback port.

Creates an experiment and a run, logs params, metrics with steps (one batch) and tags, finishes the
run, then reads it back and prints what the server recorded.
"""

from __future__ import annotations

import time

from mlflow_client._generated import endpoints as ep
from mlflow_client._generated import models as m
from mlflow_client._transport import HttpTransport

from tests.real_server import real_mlflow_server


def main() -> None:
    print("starting a real `mlflow server` (SQLite backend) ...", flush=True)
    with real_mlflow_server() as url, HttpTransport(url) as t:
        print(f"server ready at {url}")
        now = int(time.time() * 1000)
        exp_id = ep.create_experiment(t, m.CreateExperiment(name=f"demo-{now}")).experiment_id
        assert exp_id is not None
        created = ep.create_run(t, m.CreateRun(experiment_id=exp_id, run_name="demo-run", start_time=now)).run
        assert created is not None and created.info is not None and created.info.run_id is not None
        run_id = created.info.run_id
        ep.log_batch(
            t,
            m.LogBatch(
                run_id=run_id,
                params=[m.Param(key="learning_rate", value="0.01"), m.Param(key="epochs", value="5")],
                metrics=[m.Metric(key="loss", value=1.0 / (s + 1), timestamp=now + s, step=s) for s in range(5)],
                tags=[m.RunTag(key="purpose", value="demo")],
            ),
        )
        ep.update_run(t, m.UpdateRun(run_id=run_id, status=m.RunStatus.FINISHED, end_time=int(time.time() * 1000)))

        run = ep.get_run(t, m.GetRun(run_id=run_id)).run
        assert run is not None and run.info is not None and run.data is not None
        history = ep.get_metric_history(t, m.GetMetricHistory(run_id=run_id, metric_key="loss")).metrics
        print(f"\nexperiment {exp_id}, run {run_id} ({run.info.run_name}): {run.info.status}")
        print("  params :", {p.key: p.value for p in run.data.params})
        print("  tags   :", {tg.key: tg.value for tg in run.data.tags if not (tg.key or "").startswith("mlflow.")})
        print("  loss   :", [(h.step, round(h.value or 0.0, 3)) for h in sorted(history, key=lambda h: h.step or 0)])
        print(f"  artifacts at {run.info.artifact_uri}")


if __name__ == "__main__":
    main()
