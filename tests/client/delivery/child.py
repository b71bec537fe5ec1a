"""A training process for the crash, fork and exit tests: ``python -m tests.client.delivery.child MODE URL RUN N``.

It logs ``N`` metric points (step i, value i / 2, timestamp T0 + i) to ``RUN`` asynchronously, prints
``logged`` on its own line, then, by ``MODE``:

- ``hang``: waits to be killed;
- ``exit``: returns, so interpreter exit drains what it can;
- ``fork``: forks a child that logs ``N`` points to the run named by ``CHILD_RUN`` and leaves with
  ``os._exit`` (as multiprocessing's workers do, so no exit hook runs), then logs ``N`` more points of
  its own, waits for the child and flushes.
"""

from __future__ import annotations

import os
import sys
import time

T0 = 1_700_000_000_000


def log_points(client: object, run_id: str, start: int, n: int) -> None:
    from mlflow_client import MlflowClient

    assert isinstance(client, MlflowClient)
    for step in range(start, start + n):
        client.log_metric(run_id, "loss", step / 2, timestamp=T0 + step, step=step, synchronous=False)


def main() -> None:
    mode, url, run_id, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    from mlflow_client import MlflowClient, flush_async_logging

    client = MlflowClient(url)
    log_points(client, run_id, 0, n)
    print("logged", flush=True)
    if mode == "hang":
        while True:
            time.sleep(3600)
    elif mode == "fork":
        pid = os.fork()
        if pid == 0:
            log_points(client, os.environ["CHILD_RUN"], 0, n)
            if os.environ.get("CHILD_FLUSH") == "1":
                flush_async_logging()
            os._exit(0)
        log_points(client, run_id, n, n)
        _, code = os.waitpid(pid, 0)
        assert code == 0, code
        flush_async_logging()
        print("flushed", flush=True)


if __name__ == "__main__":
    main()
