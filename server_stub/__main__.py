"""``python -m server_stub``: run the stub server until interrupted; prints its URL when ready."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from .app import MLFLOW_VERSION
from .faults import FaultRule
from .server import StubServer


def _user_pass(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user:
        raise argparse.ArgumentTypeError("expected USER:PASS")
    return user, password


def _fault(text: str) -> FaultRule:
    try:
        return FaultRule.parse(text)
    except (ValueError, TypeError) as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m server_stub", description="The mlflow-client reference stub server.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000, help="0 picks a free port")
    p.add_argument(
        "--backend-store-uri",
        help="sqlite:///path.db or an mlruns folder (path, file: URI) to persist; memory when unset",
    )
    p.add_argument("--artifacts-destination", help="folder for proxied artifacts (default: a temporary folder)")
    p.add_argument(
        "--default-artifact-root",
        help="where new experiments keep artifacts, e.g. file:///data/artifacts or a path (clients write there "
        "directly); default: mlflow-artifacts: (the proxy), or ./mlruns with --no-serve-artifacts",
    )
    p.add_argument(
        "--serve-artifacts",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="serve the artifact proxy (mlflow-artifacts routes); on by default, as in mlflow server",
    )
    p.add_argument("--basic-auth", type=_user_pass, metavar="USER:PASS", help="require HTTP Basic auth")
    p.add_argument("--bearer-token", metavar="TOKEN", help="require this bearer token")
    p.add_argument("--tls-cert", help="PEM certificate chain: serve HTTPS")
    p.add_argument("--tls-key", help="PEM private key for --tls-cert")
    p.add_argument("--tls-client-ca", help="require client certificates signed by this CA (mutual TLS)")
    p.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="SPEC",
        help="inject faults, e.g. kind=503,rpc=logMetric,p=0.2,count=5,retry_after=1 "
        "(kinds: 429 500 502 503 504 reset drop latency); repeatable",
    )
    p.add_argument("--fault-seed", type=int, default=0, help="seed for probabilistic faults")
    p.add_argument(
        "--multipart",
        action="store_true",
        help="offer multipart uploads (parts go to the stub itself); off by default, like MLflow on local storage",
    )
    p.add_argument(
        "--mlflow-version",
        default=MLFLOW_VERSION,
        help=f"the MLflow version GET /version answers (default {MLFLOW_VERSION}, the release the stub follows)",
    )
    args = p.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        p.error("--tls-cert and --tls-key go together")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = StubServer(
        args.port,
        args.host,
        backend_store_uri=args.backend_store_uri,
        artifacts_destination=args.artifacts_destination,
        basic_auth=args.basic_auth,
        bearer_token=args.bearer_token,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_client_ca=args.tls_client_ca,
        faults=args.fault,
        fault_seed=args.fault_seed,
        multipart=args.multipart,
        mlflow_version=args.mlflow_version,
        default_artifact_root=args.default_artifact_root,
        serve_artifacts=args.serve_artifacts,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with server:
        print(f"stub server listening on {server.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
