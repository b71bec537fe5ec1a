"""``python -m scripts.bindings build|test``: build the Java and R bindings, or run their workflows.

``test`` runs the same workflow (experiment, run, params, metrics with steps, a batch, tags, a filtered
search, metric history, terminate, an error, then a registered model with a version got back by alias)
through the Java client and the R package against the server named by ``MLFLOW_TRACKING_URI``, starting
the bundled stub server when it is unset.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator

from . import java, r


@contextlib.contextmanager
def _server() -> Iterator[str]:
    url = os.environ.get("MLFLOW_TRACKING_URI", "")
    if url:
        yield url
        return
    from server_stub.server import StubServer

    with StubServer() as stub:
        print(f"MLFLOW_TRACKING_URI is unset: started the stub server at {stub.url}")
        yield stub.url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bindings", description=__doc__)
    parser.add_argument("action", choices=("build", "test"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    java.build()
    print(f"java: built in build/java ({time.perf_counter() - started:.1f} s)")
    started = time.perf_counter()
    lib = r.install()
    print(f"r: installed into {lib} ({time.perf_counter() - started:.1f} s)")
    if args.action == "build":
        return 0
    failed = 0
    with _server() as url:
        for name, run in (("java", java.run_workflow), ("r", r.run_workflow)):
            experiment = f"bindings-{name}-{int(time.time() * 1000)}"
            try:
                summary = run(url, experiment)
            except Exception as exc:  # report both languages before failing
                failed += 1
                print(f"{name}: FAILED against {url}: {exc}", file=sys.stderr)
            else:
                print(f"{name}: workflow passed against {url}: {json.dumps(summary)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
