"""The journal on disk: records, marks, segments, torn lines, the cap, permissions, locks."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from mlflow_client._delivery import journal
from mlflow_client._delivery.journal import JournalReader, JournalWriter, ensure_private_dir, read_marks, try_lock
from mlflow_client._delivery.records import encode_metric
from mlflow_client.exceptions import ConfigurationError, SpoolFull


def _writer(tmp_path: Path, max_bytes: int = 2**30) -> JournalWriter:
    return JournalWriter(str(tmp_path / "w"), max_bytes)


def test_records_come_back_in_order_with_their_numbers(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    seqs = [writer.append(encode_metric("r", "k", float(i), i, i)) for i in range(10)]
    assert seqs == list(range(1, 11))
    reader = JournalReader(writer.folder, writer=writer)
    records = reader.read(100)
    assert [r[0] for r in records] == seqs
    assert records[3] == [4, "m", "r", "k", 3.0, 3, 3]
    assert reader.read(100) == [] and not reader.has_more()
    writer.append(encode_metric("r", "k", 1.0, 1, 1))
    assert reader.has_more() and [r[0] for r in reader.read(100)] == [11]


def test_segments_roll_over_and_settled_ones_are_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "SEGMENT_BYTES", 1000)
    writer = _writer(tmp_path)
    for i in range(200):
        writer.append(encode_metric("r", "k", float(i), i, i))
    segments = journal.list_segments(writer.folder)
    assert len(segments) > 5 and segments[0] == 1
    reader = JournalReader(writer.folder, writer=writer)
    assert [r[0] for r in reader.read(1000)] == list(range(1, 201))
    before = writer.pending_bytes
    reader.mark_settled(150)
    left = journal.list_segments(writer.folder)
    assert left[0] > 1 and left[0] <= 151 and writer.pending_bytes < before
    assert read_marks(writer.folder) == (150, 150)


def test_a_dead_journal_is_replayed_from_its_mark_and_knows_what_may_have_been_sent(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    for i in range(10):
        writer.append(encode_metric("r", "k", float(i), i, i))
    first = JournalReader(writer.folder, writer=writer)
    first.read(100)
    first.mark_sent(7)
    first.mark_settled(4)
    writer.abandon()  # the process dies: lock released, nothing more written
    first.abandon()
    fd = try_lock(os.path.join(writer.folder, "lock"))
    assert fd is not None
    replay = JournalReader(writer.folder, lock_fd=fd)
    records = replay.read(100)
    assert [r[0] for r in records] == [5, 6, 7, 8, 9, 10]
    assert [replay.maybe_sent(r[0]) for r in records] == [True, True, True, False, False, False]
    assert replay.exhausted
    replay.mark_settled(10)
    assert replay.finished()
    replay.remove()
    assert not os.path.exists(writer.folder)


def test_a_torn_last_line_of_a_dead_writer_is_ignored(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    writer.append(encode_metric("r", "k", 1.0, 1, 1))
    segment = os.path.join(writer.folder, "000000000001.jsonl")
    writer.abandon()
    with open(segment, "ab") as f:
        f.write(b'[2,"m","r","k",2.0,2')  # killed in the middle of a write: that call never returned
    reader = JournalReader(writer.folder, lock_fd=try_lock(os.path.join(writer.folder, "lock")))
    assert [r[0] for r in reader.read(10)] == [1]
    assert reader.exhausted and reader.corrupt_lines == 0


def test_the_cap_raises_and_takes_nothing(tmp_path: Path) -> None:
    writer = _writer(tmp_path, max_bytes=500)
    n = 0
    with pytest.raises(SpoolFull, match="MLFLOW_CLIENT_SPOOL_MAX_MB"):
        while True:
            writer.append(encode_metric("r", "k", 1.0, n, n))
            n += 1
    reader = JournalReader(writer.folder, writer=writer)
    assert len(reader.read(1000)) == n == writer.last_seq  # every accepted record is there, nothing more
    reader.mark_settled(n)  # the server took everything: room again after the segment goes...
    assert writer.pending_bytes <= 500


def test_folders_are_0700_and_files_0600(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b" / "spool"
    old = os.umask(0o022)
    try:
        ensure_private_dir(str(root))
        writer = JournalWriter(str(root / "w"), 2**20)
        writer.append(encode_metric("r", "k", 1.0, 1, 1))
        reader = JournalReader(writer.folder, writer=writer)
        reader.read(10)
        reader.mark_settled(1)
    finally:
        os.umask(old)
    for folder in (root.parent.parent, root.parent, root, Path(writer.folder)):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for file in Path(writer.folder).iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_a_spool_folder_of_another_user_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "spool"
    folder.mkdir()
    monkeypatch.setattr(os, "getuid", lambda: os.stat(folder).st_uid + 1)
    with pytest.raises(ConfigurationError, match="belongs to another user"):
        ensure_private_dir(str(folder))


def test_a_live_journal_cannot_be_claimed(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    assert try_lock(os.path.join(writer.folder, "lock")) is None
    writer.close()
    fd = try_lock(os.path.join(writer.folder, "lock"))
    assert fd is not None
    os.close(fd)


def test_a_reader_following_a_writer_across_many_segments_misses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer appends from another thread and rolls over every few records while the reader reads and
    settles: every record comes back once, in order (lines written just before a roll-over included)."""
    import threading

    monkeypatch.setattr(journal, "SEGMENT_BYTES", 300)
    writer = _writer(tmp_path)
    reader = JournalReader(writer.folder, writer=writer)
    total = 20_000

    def write() -> None:
        for i in range(total):
            writer.append(encode_metric("r", "k", float(i), i, i))

    thread = threading.Thread(target=write)
    thread.start()
    seen: list[int] = []
    while len(seen) < total:
        records = reader.read(37)
        seen += [r[0] for r in records]
        if records:
            reader.mark_settled(records[-1][0])
        elif not thread.is_alive() and not reader.has_more():
            break
    thread.join()
    seen += [r[0] for r in reader.read(total)]
    assert seen == list(range(1, total + 1))
    assert len(journal.list_segments(writer.folder)) <= 2  # settled segments are gone
