"""What every artifact repository shares: safe local paths, atomic writes, a bounded pool, progress."""

from __future__ import annotations

import contextlib
import errno
import io
import itertools
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import BinaryIO, Generic, TypeVar
from urllib.parse import urlsplit

from ..exceptions import REDACTED, MlflowException

#: Bytes read or written at a time; files are never held whole in memory.
CHUNK_SIZE = 1024 * 1024
#: MLflow's number of files transferred at once: two per CPU, at most 20.
MLFLOW_MAX_WORKERS = min(2 * (os.cpu_count() or 10), 20)
#: Ours, at most: 16, or MLflow's where that is more. Not tied to the CPUs, because ``run_all`` measures how
#: much a transfer waits and runs only as many at once as that wait hides: a store on this machine gets two,
#: a store far away gets them all (on a 2-CPU machine, MLflow's 4 would leave most of that wait showing).
DEFAULT_MAX_WORKERS = max(16, MLFLOW_MAX_WORKERS)

#: Bytes per ``sendfile`` call when the kernel copies a local file (the progress bar moves between calls).
KERNEL_COPY_BYTES = 64 * 1024 * 1024
#: What ``sendfile`` says when it cannot copy between these two files (shutil falls back on the same).
_NO_KERNEL_COPY = frozenset(
    getattr(errno, name)
    for name in ("EINVAL", "ENOSYS", "EOPNOTSUPP", "ENOTSUP", "EXDEV", "ENOTSOCK")
    if hasattr(errno, name)
)

_DRIVE = re.compile(r"^[A-Za-z]:")


_temp_names = itertools.count()  # with the pid, unique in this process; O_EXCL guards against others
T = TypeVar("T")


#: Query parameters that carry a secret (SAS signatures, tokens, keys): their values never appear in messages.
_SECRET_QUERY = re.compile(r"(?i)^(sig|signature|token|.*key|.*secret|.*password|credential|x-amz-.*|se|sp|sv)$")


def redact_uri(uri: str) -> str:
    """``uri`` as it may be shown: a password in the user part and secret query values become ``***``.

    ``ftp://me:pw@host/p`` -> ``ftp://me:***@host/p``; ``https://a/b?sig=XYZ&x=1`` -> ``...?sig=***&x=1``.
    Something that does not parse as a URI is returned unchanged (it holds no user part to hide).
    """
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":" + REDACTED
        netloc = f"{userinfo}@{host}"
    query = parts.query
    if query:
        pairs = []
        for pair in query.split("&"):
            name, eq, value = pair.partition("=")
            pairs.append(f"{name}={REDACTED}" if eq and value and _SECRET_QUERY.match(name) else pair)
        query = "&".join(pairs)
    if netloc == parts.netloc and query == parts.query:
        return uri
    return parts._replace(netloc=netloc, query=query).geturl()


def unsafe_path_problem(path: str) -> str | None:
    """Why ``path`` (relative, "/"-separated) could escape the folder it is joined to, or ``None``."""
    if "\\" in path:
        return "contains a backslash"
    if path.startswith("/"):
        return "is absolute"
    if _DRIVE.match(path):
        return "starts with a drive letter"
    if "\x00" in path:
        return "contains a NUL byte"
    if ".." in path.split("/"):
        return "contains '..'"
    return None


def check_relative(path: str, store: str) -> str:
    """``path`` without redundant slashes or ``.``, refusing anything that could escape its root."""
    problem = unsafe_path_problem(path)
    if problem is not None:
        raise MlflowException(
            f"Refusing artifact path {path!r} from {store}: it {problem}", error_code="INVALID_PARAMETER_VALUE"
        )
    return "/".join(p for p in path.split("/") if p not in ("", "."))


def local_target(dst_root: str, rel_path: str, store: str) -> str:
    """The local file for ``rel_path`` under ``dst_root``, refused if it (or a symlink on the way) leaves it."""
    rel = check_relative(rel_path, store)
    root = os.path.realpath(dst_root)
    target = os.path.join(root, *rel.split("/")) if rel else root
    # realpath resolves every existing symlink on the way, so a link pointing out is caught here.
    resolved = os.path.realpath(target)
    if resolved != root and not resolved.startswith(root.rstrip(os.sep) + os.sep):
        raise MlflowException(
            f"Refusing artifact path {rel_path!r} from {store}: it resolves to {resolved}, outside {root}",
            error_code="INVALID_PARAMETER_VALUE",
        )
    return target


def join_remote(*parts: str | None) -> str:
    """Join "/"-separated remote paths, skipping empty parts."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def write_atomically(target: str, fill: Callable[[BinaryIO], None], failure: str) -> None:
    """Write ``target`` via a temporary file in the same folder, renamed only when ``fill`` succeeds.

    A failure raises an ``MlflowException`` starting with ``failure`` (which names the file and store).
    The temporary file is created with mode 0666 less the umask, as a plain ``open`` would, so that no
    chmod is needed: a download of many small files spends much of its time in such metadata calls.
    """
    try:
        fd, tmp = _create_temp(target)
    except OSError as err:
        raise MlflowException(f"{failure}: {err}", error_code="INTERNAL_ERROR") from err
    try:
        # A buffered writer over the raw file: no isatty probe, as open(fd, "wb") would make.
        with io.BufferedWriter(io.FileIO(fd, "wb"), buffer_size=CHUNK_SIZE) as f:
            fill(f)
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, Exception):
            code = err.error_code if isinstance(err, MlflowException) else "INTERNAL_ERROR"
            raise MlflowException(f"{failure}: {err}", error_code=code) from err
        raise


def _create_temp(target: str) -> tuple[int, str]:
    """A new file beside ``target`` (its folder created if missing), open for writing."""
    folder = os.path.dirname(target) or "."
    prefix = os.path.join(folder, f".{os.path.basename(target)}.{os.getpid()}.")
    made_folder = False
    while True:
        tmp = f"{prefix}{next(_temp_names)}.part"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue  # left by another process with our pid before: take the next name
        except FileNotFoundError:
            if made_folder:
                raise
            os.makedirs(folder, exist_ok=True)
            made_folder = True


def read_small(path: str, limit: int) -> tuple[int, bytes | None]:
    """The size of a file and, when it is at most ``limit`` bytes, its contents (else ``None``).

    Four system calls (open, fstat, read, close) where ``open(path, "rb").read()`` makes nine. A file
    that grows past ``limit`` while read gives ``None`` and is streamed instead.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            return size, None
        # Asking for one byte more than the size tells, in the same call, whether the file ended there.
        data = os.read(fd, size + 1)
        if len(data) != size:  # read in pieces, or changed since fstat: read on to the end
            while len(data) <= limit and (more := os.read(fd, limit + 1 - len(data))):
                data += more
        if len(data) > limit:
            return len(data), None
        return len(data), data
    finally:
        os.close(fd)


def copy_in_kernel(src: BinaryIO, out: BinaryIO, progress: Progress | None = None) -> bool:
    """Copy the rest of ``src`` to ``out`` with ``os.sendfile``, as ``shutil.copyfile`` does on Linux: the
    bytes never pass through Python. ``False`` (nothing copied) where the kernel cannot do it."""
    if not sys.platform.startswith("linux"):
        return False
    out.flush()
    src_fd, out_fd = src.fileno(), out.fileno()
    copied = 0
    while True:
        try:
            sent = os.sendfile(out_fd, src_fd, None, KERNEL_COPY_BYTES)
        except OSError as err:
            if copied == 0 and err.errno in _NO_KERNEL_COPY:
                return False
            raise
        if sent == 0:
            return True
        copied += sent
        if progress is not None:
            progress.add(sent)


def iter_file(
    path: str, start: int = 0, length: int | None = None, progress: Progress | None = None
) -> Iterator[bytes]:
    """The bytes of a file (or of ``length`` bytes from ``start``) in chunks of at most ``CHUNK_SIZE``."""
    with open(path, "rb") as f:
        f.seek(start)
        left = length
        while left is None or left > 0:
            block = f.read(CHUNK_SIZE if left is None else min(CHUNK_SIZE, left))
            if not block:
                return
            if left is not None:
                left -= len(block)
            if progress is not None:
                progress.add(len(block))
            yield block


#: Tasks run one after another before ``run_all`` decides how many to run at once.
PROBE_TASKS = 2
#: Never fewer at once: a second transfer keeps going while one stalls (a file system's journal commit,
#: a lost packet), which the probe cannot foresee.
MIN_WORKERS = 2
#: Tasks started between two looks at how busy this process is (at least; more when more run at once).
GROWTH_WINDOW = 32
#: Below this share of the wall time spent on this process's CPU, the pool doubles (up to its bound): the
#: transfers are waiting on something (a server in another process, a disk) that more at once would hide.
BUSY = 0.85
#: A doubling that brings fewer than this many times the tasks per second before is undone, for good: a
#: store that is itself the bottleneck (a CPU-bound server, a connection per worker) only slows with more.
GAIN = 1.0


def run_all(tasks: Iterable[Callable[[], T]], max_workers: int, *, probe: bool = True) -> list[T]:
    """Run the tasks, at most ``max_workers`` at once; the first failure stops new starts and is raised.

    ``probe=False``: all at once (up to ``max_workers``), for tasks known to wait, such as the parts of one
    file on sessions of their own. Otherwise:

    Running more at once only helps while tasks wait (on the network, the server, a disk); with nothing
    to hide, extra threads only fight over the GIL and add CPU. So the first ``PROBE_TASKS`` run one
    after another, timed: ``wall`` their shortest wall time, ``cpu`` the CPU time this thread spent in
    it. About ``wall / cpu`` tasks at once keep one Python thread busy, and that many run the rest,
    between ``MIN_WORKERS`` and ``max_workers``. Tasks that wait on a server far away get every
    worker; a server on this machine that answers at once gets two.

    That guess assumes the waits line up; they do not (a server on this machine shares its CPUs with us,
    and answers in bursts). So while the rest run, every ``GROWTH_WINDOW`` tasks or more the pool looks at
    the CPU time this whole process spent in that window: under ``BUSY`` of the wall time, our threads
    sat idle, and the pool doubles, up to ``max_workers``. If the next window then finishes fewer than
    ``GAIN`` times the tasks per second, the store is what limits, and the pool goes back to the count
    before and stays there. Work done elsewhere in the process (a training loop) counts as busy, so it is not
    crowded out.
    """
    task_list = list(tasks)
    if len(task_list) <= 1 or max_workers <= 1:
        return [task() for task in task_list]
    results: list[T] = []
    best = (float("inf"), 0.0)
    for task in task_list[:PROBE_TASKS] if probe else ():
        wall, cpu = time.perf_counter(), time.thread_time()
        results.append(task())
        best = min(best, (time.perf_counter() - wall, time.thread_time() - cpu))
    rest = task_list[len(results) :]
    workers = concurrency(*best, max_workers=max_workers) if probe else max_workers
    if workers <= 1 or len(rest) <= 1:
        return results + [task() for task in rest]
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="mlflow-artifacts") as pool:
        return results + _Pool(pool, rest, workers, max_workers if probe else workers).run()


def concurrency(wall: float, cpu: float, *, max_workers: int) -> int:
    """How many tasks to run at once when one takes ``wall`` seconds, ``cpu`` of them on this thread."""
    return max(MIN_WORKERS, min(max_workers, round(wall / max(cpu, 1e-6))))


class _Pool(Generic[T]):
    """Runs ``tasks`` on ``executor``, ``workers`` at once, doubling up to ``limit`` while this process
    idles, and back (for good) when a doubling brought no more tasks per second (see ``run_all``). Each
    worker is a loop that takes the next task until none are left, or until its slot is above the count."""

    def __init__(self, executor: ThreadPoolExecutor, tasks: list[Callable[[], T]], workers: int, limit: int):
        self._executor = executor
        self._tasks = tasks
        self._results: list[T] = [None] * len(tasks)  # type: ignore[list-item]
        self._limit = limit
        self._lock = threading.Lock()
        self._next = 0
        self._error: BaseException | None = None
        self._loops: list[Future[None]] = []
        self._workers = 0
        self._before: tuple[int, float] | None = None  # the count and its rate before the last doubling
        self._settled = False
        self._resize(workers)

    def run(self) -> list[T]:
        while True:
            with self._lock:
                loops = list(self._loops)
            wait(loops)
            with self._lock:
                if len(self._loops) == len(loops):
                    break
        if self._error is not None:
            raise self._error
        return self._results

    def _resize(self, workers: int) -> None:
        """Run ``workers`` at once from here on, in a fresh window (with the lock held, or before any start)."""
        self._workers = workers
        # The window opens once each new loop has its first task (a new thread, maybe a new connection).
        self._window_from = self._next + workers
        self._window_end = self._window_from + max(GROWTH_WINDOW, 8 * workers)
        self._window = (self._window_from, 0.0, 0.0)
        while len(self._loops) < workers:
            self._loops.append(self._executor.submit(self._loop, len(self._loops)))

    def _look(self) -> None:
        """At a window's end: double, keep, or undo the last doubling for good (with the lock held)."""
        first, wall, cpu = self._window
        elapsed = max(time.perf_counter() - wall, 1e-9)
        rate = (self._next - first) / elapsed
        if self._before is not None and rate < self._before[1] * GAIN:
            self._settled = True
            self._resize(self._before[0])
        elif (time.process_time() - cpu) / elapsed < BUSY and self._workers < self._limit:
            self._before = (self._workers, rate)
            self._resize(min(self._limit, 2 * self._workers))
        else:
            self._before = None
            self._resize(self._workers)

    def _loop(self, slot: int) -> None:
        while True:
            with self._lock:
                if self._error is not None or self._next >= len(self._tasks) or slot >= self._workers:
                    return
                if self._next == self._window_from:
                    self._window = (self._next, time.perf_counter(), time.process_time())
                elif self._next >= self._window_end and not self._settled:
                    self._look()
                index = self._next
                self._next += 1
            try:
                self._results[index] = self._tasks[index]()
            except BaseException as e:
                with self._lock:
                    if self._error is None:
                        self._error = e
                return


class Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal; silent otherwise."""

    def __init__(self, label: str, total_bytes: int, *, enabled: bool | None = None) -> None:
        self.label = label
        self.total = total_bytes
        self.done = 0
        self._lock = threading.Lock()
        self._last = -1
        self.enabled = _stderr_is_tty() if enabled is None else enabled

    def add(self, n: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            self.done += n
            if self.total <= 0:
                # Size unknown beforehand (a single file's download): the bytes so far, redrawn per MiB.
                step = self.done >> 20
                if step != self._last:
                    self._last = step
                    sys.stderr.write(f"\r{self.label} {_human(self.done)}")
                    sys.stderr.flush()
                return
            percent = min(100, self.done * 100 // self.total)
            if percent != self._last:
                self._last = percent
                bar = "#" * (percent // 5)
                sys.stderr.write(f"\r{self.label} [{bar:<20}] {percent:3d}% of {_human(self.total)}")
                sys.stderr.flush()

    def finish(self) -> None:
        """The last figure of a bar of unknown size (the total, once all of it has arrived)."""
        if self.enabled and self.total <= 0 and self.done:
            sys.stderr.write(f"\r{self.label} {_human(self.done)}")

    def close(self) -> None:
        self.finish()
        if self.enabled and self._last >= 0:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover
