"""``python -m conformance_tests``: run the suite against a server and report."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from conformance_tests._settings import _bool

PACKAGE_DIR = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m conformance_tests", description=__doc__)
    p.add_argument("--url", help="server under test (default: start the bundled stub and test it)")
    p.add_argument("--junit-xml", help="write JUnit XML results here")
    p.add_argument("--report", help="write a Markdown report (RPC group x behaviour x result) here")
    p.add_argument("-k", dest="keyword", help="only tests matching this pytest -k expression")
    p.add_argument("--username", help="HTTP Basic user (default: $MLFLOW_TRACKING_USERNAME)")
    p.add_argument("--password", help="HTTP Basic password (default: $MLFLOW_TRACKING_PASSWORD)")
    p.add_argument("--token", help="Bearer token (default: $MLFLOW_TRACKING_TOKEN)")
    p.add_argument(
        "--insecure", action="store_true", default=None, help="skip TLS verification ($MLFLOW_TRACKING_INSECURE_TLS)"
    )
    p.add_argument("--ca-bundle", help="CA bundle to verify TLS with ($MLFLOW_TRACKING_SERVER_CERT_PATH)")
    p.add_argument("-q", "--quiet", action="store_true", help="less pytest output")
    return p.parse_args(argv)


def pytest_args(ns: argparse.Namespace) -> list[str]:
    args = [str(PACKAGE_DIR), "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", str(PACKAGE_DIR)]
    if ns.url:
        args += ["--conformance-url", ns.url]
    for opt in ("username", "token", "ca_bundle"):
        if getattr(ns, opt):
            args += [f"--conformance-{opt.replace('_', '-')}", getattr(ns, opt)]
    if ns.insecure:
        args.append("--conformance-insecure")
    if ns.report:
        args += ["--conformance-report", ns.report]
    if ns.junit_xml:
        args += ["--junitxml", ns.junit_xml]
    if ns.keyword:
        args += ["-k", ns.keyword]
    args += ["-q"] if ns.quiet else ["-rfs"]
    return args


def main(argv: list[str] | None = None) -> int:
    ns = parse_args(argv)
    if ns.insecure is None:
        ns.insecure = _bool("MLFLOW_TRACKING_INSECURE_TLS", os.environ.get("MLFLOW_TRACKING_INSECURE_TLS"))
    if ns.password:  # through the environment, so it never shows in argument lists
        os.environ["MLFLOW_TRACKING_PASSWORD"] = ns.password
    return int(pytest.main(pytest_args(ns)))
