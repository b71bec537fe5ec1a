"""Artifact transfer benchmark: our MlflowClient vs the official one vs a raw floor (curl / cp).

Run with ``PYTHONPATH=. python -m bench.artifacts [--big-mb N]`` (default 1024). The stub server runs in a
subprocess with ``--artifacts-destination`` in a temporary folder; every measured transfer runs in a fresh
child process (``python -m bench.artifacts --worker JSON``) so its peak RSS growth can be read from
/proc/self/status (VmHWM, reset via /proc/self/clear_refs just before the transfer, minus VmRSS at that
point). Every transfer is verified (sha256 of the big file, count + sizes + sha256 of the small files).

Cases: one big file up/down through the artifact proxy (floor: ``curl -T`` / ``curl -o``), the same file
logged to a ``file:`` artifact location (floor: ``cp``), and a folder of 1000 x 10 KB files up/down.
Targets: big file >= 0.9 of the floor's throughput, many small files >= 3x faster than the official client,
peak RSS growth <= 64 MB for our client.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHUNK = 8 * 1024 * 1024
SMALL_FILES = 1000
SMALL_SIZE = 10 * 1024
BIG_NAME = "big.bin"
SMALL_DIR = "small"
PROXY_PREFIX = "/api/2.0/mlflow-artifacts/artifacts/"


# --------------------------------------------------------------------------- child side


def _status_kb(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    except OSError:
        return False
    return True


def _worker(spec: dict[str, Any]) -> None:
    """Run one transfer in this (fresh) process; print ``{"seconds": .., "rss_mb": .., "result": ..}``."""
    case: str = spec["case"]
    url: str = spec["url"]
    run_id: str = spec.get("run_id", "")
    src: str = spec.get("src", "")
    dst: str = spec.get("dst", "")
    name: str = spec.get("name", "")
    fn: Any
    if case.startswith("ours_"):
        from mlflow_client import MlflowClient

        ours = MlflowClient(url)
        fn = {
            "ours_up": lambda: ours.log_artifact(run_id, src),
            "ours_dir_up": lambda: ours.log_artifacts(run_id, src, SMALL_DIR),
            "ours_down": lambda: ours.download_artifacts(run_id, name, dst),
        }[case]
    elif case.startswith("theirs_"):
        import mlflow
        import mlflow.artifacts

        theirs = mlflow.MlflowClient(tracking_uri=url)
        uri: str = spec.get("artifact_uri", "")
        fn = {
            "theirs_up": lambda: theirs.log_artifact(run_id, src),
            "theirs_dir_up": lambda: theirs.log_artifacts(run_id, src, SMALL_DIR),
            "theirs_down": lambda: mlflow.artifacts.download_artifacts(
                artifact_uri=f"{uri}/{name}", dst_path=dst, tracking_uri=url
            ),
        }[case]
    elif case == "copyfile":
        fn = lambda: shutil.copyfile(src, dst)  # noqa: E731
    else:
        raise SystemExit(f"unknown case {case!r}")
    if case.endswith("_down"):
        os.makedirs(dst, exist_ok=True)
    reset = _reset_peak()
    base_kb = _status_kb("VmRSS") if reset else _status_kb("VmHWM")
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    growth_kb = max(0, _status_kb("VmHWM") - base_kb)
    out = {"seconds": seconds, "rss_mb": growth_kb / 1024, "result": str(result) if result else None}
    print("RESULT " + json.dumps(out), flush=True)


# --------------------------------------------------------------------------- parent side


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (os.getcwd(), os.environ.get("PYTHONPATH", "")) if p)
    return {
        **os.environ,
        "PYTHONPATH": path,
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    }


def run_case(**spec: Any) -> tuple[float, float, str | None]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.artifacts", "--worker", json.dumps(spec)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"case {spec['case']} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    out = json.loads(lines[-1][len("RESULT ") :])
    return float(out["seconds"]), float(out["rss_mb"]), out["result"]


def timed_cmd(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def tree(root: str | os.PathLike[str]) -> dict[str, tuple[int, str]]:
    """Relative path -> (size, sha256) of every file under ``root``."""
    out: dict[str, tuple[int, str]] = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            full = os.path.join(dirpath, f)
            data = Path(full).read_bytes()
            out[os.path.relpath(full, root)] = (len(data), hashlib.sha256(data).hexdigest())
    return out


def check_big(path: str | os.PathLike[str], want: str, what: str) -> None:
    got = sha256(path)
    if got != want:
        raise SystemExit(f"VERIFY FAILED: {what}: sha256 {got} != {want}")


def check_tree(root: str | os.PathLike[str], want: dict[str, tuple[int, str]], what: str) -> None:
    got = tree(root)
    if got != want:
        missing, extra = len(want.keys() - got.keys()), len(got.keys() - want.keys())
        bad = sum(1 for k in want.keys() & got.keys() if want[k] != got[k])
        raise SystemExit(f"VERIFY FAILED: {what}: {missing} missing, {extra} extra, {bad} differ")


def settle() -> None:
    """Flush dirty pages so one case's write-back does not land in the next case's timing."""
    os.sync()
    time.sleep(0.5)


@contextmanager
def stub_process(dest: Path) -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "server_stub", "--port", "0", "--artifacts-destination", str(dest)],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"stub server did not start: {line!r}")
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ensure_curl() -> str:
    found = shutil.which("curl")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "curl"], check=True, stdout=subprocess.DEVNULL)
        found = shutil.which("curl")
    if not found:
        raise SystemExit("curl is required for the floor measurements (apt-get install curl)")
    return found


def make_big(path: Path, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(CHUNK, left))
            h.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return h.hexdigest()


def make_small(root: Path) -> dict[str, tuple[int, str]]:
    root.mkdir()
    for i in range(SMALL_FILES):
        sub = root / f"d{i // 100:02d}"
        sub.mkdir(exist_ok=True)
        (sub / f"f{i:04d}.bin").write_bytes(os.urandom(SMALL_SIZE))
    return tree(root)


def proxy_dir(dest: Path, artifact_uri: str) -> Path:
    """Where the stub keeps a run's proxied artifacts: mlflow-artifacts:/1/<run>/artifacts -> dest/1/<run>/..."""
    assert artifact_uri.startswith("mlflow-artifacts:"), artifact_uri
    return dest / artifact_uri.split(":", 1)[1].lstrip("/")


Row = tuple[str, float | None, float | None, float | None, float | None, float | None]


def fmt(v: float | None, spec: str) -> str:
    return format(v, spec) if v is not None else "-".rjust(int(spec.split(".", maxsplit=1)[0]))


VERBOSE = False


def interleaved(repeat: int, cases: dict[str, Callable[[], tuple[float, float]]]) -> dict[str, tuple[float, float]]:
    """Fastest time and largest RSS growth per case over ``repeat`` rounds (each run a fresh process, verified,
    cleaned up). Every round runs every case, in an order that rotates, so that a slow spell of the machine (disk
    write-back, a noisy neighbour) falls on all of them rather than on whichever case ran then."""
    times: dict[str, list[float]] = {label: [] for label in cases}
    rss: dict[str, list[float]] = {label: [] for label in cases}
    labels = list(cases)
    for round_ in range(repeat):
        for label in labels[round_ % len(labels) :] + labels[: round_ % len(labels)]:
            settle()
            t, r = cases[label]()
            times[label].append(t)
            rss[label].append(r)
    if VERBOSE:
        for label in labels:
            runs = " ".join(f"{t:.2f}s" for t in times[label])
            print(f"  {label}: {runs} rss {max(rss[label]):.1f} MB", file=sys.stderr)
    return {label: (min(times[label]), max(rss[label])) for label in labels}


def main(argv: list[str] | None = None) -> None:  # noqa: PLR0915 - one linear script
    p = argparse.ArgumentParser(prog="python -m bench.artifacts")
    p.add_argument("--big-mb", type=int, default=1024, help="size of the big file in MiB (default 1024)")
    p.add_argument("--repeat", type=int, default=5, help="runs per case, best time kept (default 5)")
    p.add_argument("--verbose", action="store_true", help="print every run's time to stderr")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        _worker(json.loads(args.worker))
        return
    global VERBOSE
    VERBOSE = args.verbose

    curl = ensure_curl()
    big_bytes = args.big_mb * 1024 * 1024
    n = max(1, args.repeat)
    t0 = time.perf_counter()
    from mlflow_client import MlflowClient

    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-artifacts-") as tmp_s:
        tmp = Path(tmp_s)
        dest, out = tmp / "dest", tmp / "out"
        dest.mkdir()
        out.mkdir()
        big = tmp / BIG_NAME
        big_sha = make_big(big, big_bytes)
        small = tmp / "small-src"
        small_tree = make_small(small)
        mb = big_bytes / 2**20

        with stub_process(dest) as url:
            client = MlflowClient(url)
            exp = client.create_experiment("bench-artifacts")
            local_exp = client.create_experiment("bench-artifacts-local", artifact_location=str(tmp / "local-store"))

            def new_run(experiment: str = exp) -> tuple[str, str]:
                info = client.create_run(experiment).info
                return info.run_id, info.artifact_uri or ""

            def proxy_url(artifact_uri: str, name: str) -> str:
                return url + PROXY_PREFIX + artifact_uri.split(":", 1)[1].lstrip("/") + "/" + name

            def local_dir(artifact_uri: str) -> Path:
                return Path(artifact_uri.removeprefix("file://"))

            # ---- big file upload through the proxy
            def up(case: str) -> tuple[float, float]:
                run_id, uri = new_run()
                seconds, rss, _ = run_case(case=case, url=url, run_id=run_id, src=str(big))
                check_big(proxy_dir(dest, uri) / BIG_NAME, big_sha, f"{case} upload")
                shutil.rmtree(proxy_dir(dest, uri))
                return seconds, rss

            def curl_up_once() -> tuple[float, float]:
                _, uri = new_run()
                seconds = timed_cmd([curl, "-sS", "--fail", "-o", os.devnull, "-T", str(big), proxy_url(uri, BIG_NAME)])
                check_big(proxy_dir(dest, uri) / BIG_NAME, big_sha, "curl upload")
                shutil.rmtree(proxy_dir(dest, uri))
                return seconds, 0.0

            got = interleaved(
                n,
                {
                    "ours upload": lambda: up("ours_up"),
                    "official upload": lambda: up("theirs_up"),
                    "curl": curl_up_once,
                },
            )
            (ours_up, ours_up_rss), (theirs_up, theirs_up_rss), (curl_up, _) = got.values()
            rows.append(
                (f"big file {mb:.0f} MiB upload (proxy)", ours_up, theirs_up, curl_up, ours_up_rss, theirs_up_rss)
            )

            # ---- big file download through the proxy, from a run filled once by curl
            src_run, src_uri = new_run()
            subprocess.run(
                [curl, "-sS", "--fail", "-o", os.devnull, "-T", str(big), proxy_url(src_uri, BIG_NAME)], check=True
            )
            check_big(proxy_dir(dest, src_uri) / BIG_NAME, big_sha, "download source")

            # Trees of many small files are removed only after their case, not between its runs: ext4 skips
            # inodes freed in the last ~30 s when it allocates new ones, so a run right after deleting 1000 files
            # spends its time in the kernel's inode search (seen with perf: recently_deleted, find_inode_bit).
            later: list[Path] = []
            runs = itertools.count()

            def remove_later() -> None:
                for tree in later:
                    shutil.rmtree(tree)
                later.clear()

            def down(case: str, name: str, check: Callable[[str], None], *, keep: bool = False) -> tuple[float, float]:
                dst = out / f"{case}-{next(runs)}"
                spec = {"run_id": src_run} if case.startswith("ours") else {"artifact_uri": src_uri}
                seconds, rss, got = run_case(case=case, url=url, name=name, dst=str(dst), **spec)
                check(got or str(dst / name))
                if keep:
                    later.append(dst)
                else:
                    shutil.rmtree(dst)
                return seconds, rss

            def check_big_down(path: str) -> None:
                check_big(path, big_sha, "download")

            def curl_down_once() -> tuple[float, float]:
                target = out / "curl.bin"
                seconds = timed_cmd([curl, "-sS", "--fail", "-o", str(target), proxy_url(src_uri, BIG_NAME)])
                check_big(target, big_sha, "curl download")
                target.unlink()
                return seconds, 0.0

            got = interleaved(
                n,
                {
                    "ours download": lambda: down("ours_down", BIG_NAME, check_big_down),
                    "official download": lambda: down("theirs_down", BIG_NAME, check_big_down),
                    "curl download": curl_down_once,
                },
            )
            (ours_down, ours_down_rss), (theirs_down, theirs_down_rss), (curl_down, _) = got.values()
            (proxy_dir(dest, src_uri) / BIG_NAME).unlink(missing_ok=True)
            rows.append(
                (
                    f"big file {mb:.0f} MiB download (proxy)",
                    ours_down,
                    theirs_down,
                    curl_down,
                    ours_down_rss,
                    theirs_down_rss,
                )
            )

            # ---- big file into a file: artifact location (local disk)
            def local_up(case: str) -> tuple[float, float]:
                run_id, uri = new_run(local_exp)
                seconds, rss, _ = run_case(case=case, url=url, run_id=run_id, src=str(big))
                check_big(local_dir(uri) / BIG_NAME, big_sha, f"{case} file: store")
                shutil.rmtree(local_dir(uri))
                return seconds, rss

            cp_dst = out / "cp.bin"

            def cp_once() -> tuple[float, float]:
                seconds = timed_cmd(["cp", str(big), str(cp_dst)])
                check_big(cp_dst, big_sha, "cp")
                cp_dst.unlink()
                return seconds, 0.0

            def copyfile_once() -> tuple[float, float]:
                seconds, rss, _ = run_case(case="copyfile", url=url, src=str(big), dst=str(cp_dst))
                check_big(cp_dst, big_sha, "shutil.copyfile")
                cp_dst.unlink()
                return seconds, rss

            got = interleaved(
                n,
                {
                    "ours file: store": lambda: local_up("ours_up"),
                    "official file: store": lambda: local_up("theirs_up"),
                    "cp": cp_once,
                    "copyfile": copyfile_once,
                },
            )
            (
                (ours_local, ours_local_rss),
                (theirs_local, theirs_local_rss),
                (cp_time, _),
                (copyfile_time, copyfile_rss),
            ) = got.values()
            rows.append(
                (
                    f"big file {mb:.0f} MiB log_artifact (file: store)",
                    ours_local,
                    theirs_local,
                    cp_time,
                    ours_local_rss,
                    theirs_local_rss,
                )
            )
            notes.append(
                f"file: store floors: cp {cp_time:.2f} s, shutil.copyfile {copyfile_time:.2f} s "
                f"(RSS +{copyfile_rss:.1f} MB); copyfile/ours = {copyfile_time / ours_local:.2f}"
            )
            big.unlink()

            # ---- 1000 x 10 KB: log_artifacts / download_artifacts of the whole folder through the proxy
            def dir_up(case: str) -> tuple[float, float]:
                run_id, uri = new_run()
                seconds, rss, _ = run_case(case=case, url=url, run_id=run_id, src=str(small))
                check_tree(proxy_dir(dest, uri) / SMALL_DIR, small_tree, f"{case} log_artifacts")
                later.append(proxy_dir(dest, uri))
                return seconds, rss

            got = interleaved(
                n,
                {
                    "ours log_artifacts": lambda: dir_up("ours_dir_up"),
                    "official log_artifacts": lambda: dir_up("theirs_dir_up"),
                },
            )
            (ours_sup, ours_sup_rss), (theirs_sup, theirs_sup_rss) = got.values()
            rows.append(
                (
                    f"{SMALL_FILES} x {SMALL_SIZE // 1024} KB log_artifacts (proxy)",
                    ours_sup,
                    theirs_sup,
                    None,
                    ours_sup_rss,
                    theirs_sup_rss,
                )
            )
            shutil.copytree(small, proxy_dir(dest, src_uri) / SMALL_DIR)

            def check_small_down(path: str) -> None:
                check_tree(path, small_tree, "download_artifacts (folder)")

            got = interleaved(
                n,
                {
                    "ours dir download": lambda: down("ours_down", SMALL_DIR, check_small_down, keep=True),
                    "official dir download": lambda: down("theirs_down", SMALL_DIR, check_small_down, keep=True),
                },
            )
            remove_later()
            (ours_sdown, ours_sdown_rss), (theirs_sdown, theirs_sdown_rss) = got.values()
            rows.append(
                (
                    f"{SMALL_FILES} x {SMALL_SIZE // 1024} KB download_artifacts (proxy)",
                    ours_sdown,
                    theirs_sdown,
                    None,
                    ours_sdown_rss,
                    theirs_sdown_rss,
                )
            )
            client.close()

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; stub server in a subprocess; best of {n},")
    print("one fresh process per measured transfer; every transfer verified (sha256 / count + sizes + sha256)")
    print()
    header = (
        f"{'case':<46} {'ours s':>8} {'official s':>10} {'floor s':>8} "
        f"{'floor/ours':>10} {'off/ours':>8} {'ours RSS MB':>11} {'off RSS MB':>10}"
    )
    print(header)
    print("-" * len(header))
    for case, ours_s, theirs_s, floor_s, ours_rss, theirs_rss in rows:
        frac = floor_s / ours_s if floor_s is not None and ours_s else None
        speedup = theirs_s / ours_s if theirs_s is not None and ours_s else None
        print(
            f"{case:<46} {fmt(ours_s, '8.2f')} {fmt(theirs_s, '10.2f')} {fmt(floor_s, '8.2f')} "
            f"{fmt(frac, '10.2f')} {fmt(speedup, '7.1f')}x {fmt(ours_rss, '11.1f')} {fmt(theirs_rss, '10.1f')}"
        )
    print()
    print(
        "floor: curl -T / curl -o against the proxy (download source uploaded once by curl), cp for the file: store row"
    )
    print("floor/ours = fraction of the floor's throughput (target >= 0.9 for the big file)")
    print("off/ours = official time / our time (target >= 3x for many small files)")
    print("RSS MB = peak RSS growth during the transfer, VmHWM - VmRSS at start (target <= 64 MB for ours)")
    for n in notes:
        print(n)
    print(f"total wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
