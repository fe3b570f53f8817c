"""Faults: interrupts, killed workers, streams that fail half-way, a full disk and an unusable folder.

After each, the store holds no partial object, is consistent and usable, and
nothing is left behind once the next run (or store) has started. Tests run as
root here, where permission bits do not stop writes, so unwritable targets are
made with what stops root too: a path under a regular file (``ENOTDIR``) and a
file-size limit (``RLIMIT_FSIZE``, ``EFBIG``) in a child process.
"""

from __future__ import annotations

import io
import json
import os
import sys
from typing import TYPE_CHECKING

import pytest

from pytest_tempstore.archive import create_archive
from pytest_tempstore.exceptions import UnreachableStorage
from pytest_tempstore.repository import CHUNK_SIZE

from .conftest import fingerprint, plugin_leftovers, run_python, store_entries

if TYPE_CHECKING:
    from pathlib import Path


class Interrupted(io.RawIOBase):
    """A stream that yields ``size`` bytes, then raises ``error`` on the next read."""

    def __init__(self, size: int, error: BaseException) -> None:
        self.remaining = size
        self.error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if self.remaining <= 0:
            raise self.error
        count = min(len(buffer), self.remaining)
        buffer[:count] = b"x" * count
        self.remaining -= count
        return count


def incoming_files(store) -> list[str]:  # type: ignore[no-untyped-def]
    folder = store.get_repository().folder
    return [] if folder is None else [name for name in os.listdir(folder) if name.startswith(".incoming-")]


@pytest.mark.parametrize("error", [OSError("connection reset"), KeyboardInterrupt()], ids=repr)
@pytest.mark.parametrize(
    "size", [100, CHUNK_SIZE + 100, 3 * CHUNK_SIZE], ids=["small", "one-chunk", "streamed"]
)
def test_stream_failing_half_way_through_a_put_stores_nothing(store, size, error):
    store.get_repository().put_object_from_filelike(io.BytesIO(b"before"))
    before = fingerprint(store)
    with pytest.raises(type(error)):
        store.get_repository().put_object_from_filelike(Interrupted(size, error))
    assert fingerprint(store) == before
    assert incoming_files(store) == []
    key = store.get_repository().put_object_from_filelike(io.BytesIO(b"after"))
    assert store.get_repository().get_object_content(key) == b"after"


def test_keyboard_interrupt_inside_nested_transactions_rolls_everything_back(store):
    before = fingerprint(store)
    with pytest.raises(KeyboardInterrupt), store.transaction():
        store.bulk_insert("node", [{"label": "outer", "user_id": store.default_user_id}], allow_defaults=True)
        with store.transaction():
            store.set_global_variable("inner", 1)
            raise KeyboardInterrupt
    assert not store.in_transaction
    assert fingerprint(store) == before
    store.set_global_variable("after", 2)
    assert store.get_global_variable("after") == 2


def test_folder_under_a_regular_file_is_unreachable_and_changes_nothing(new_store, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    store = new_store(filepath=blocker / "store")
    store.bulk_insert("node", [{"label": "row", "user_id": store.default_user_id}], allow_defaults=True)
    before = fingerprint(store)
    with pytest.raises(UnreachableStorage, match=r"cannot create the repository folder.*Not a directory"):
        store.get_repository().put_object_from_filelike(io.BytesIO(b"data"))
    assert fingerprint(store) == before
    with pytest.raises(UnreachableStorage, match="cannot write the database to"):
        store.write_database(blocker / "db.sqlite3")
    with pytest.raises(OSError, match="a-file"):
        create_archive(store, blocker / "archive.aiida")
    assert sorted(os.listdir(tmp_path)) == ["a-file"]
    store.close()  # a folder that could never be made is no reason to fail a close


_FULL_DISK = """
import io, json, os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so a write past the limit fails with EFBIG, not a signal
from pytest_tempstore import SqliteTempBackend
from pytest_tempstore.archive import create_archive
from pytest_tempstore.exceptions import UnreachableStorage

store = SqliteTempBackend(SqliteTempBackend.create_profile())
repository = store.get_repository()
stored = repository.put_object_from_filelike(io.BytesIO(os.urandom(300_000)))
store.bulk_insert("node", [{"label": "n", "user_id": store.default_user_id,
                            "repository_metadata": {"o": {"f": {"k": stored}}}}], allow_defaults=True)
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
errors = []
for size in (200_000, 3 << 20):
    try:
        repository.put_object_from_filelike(io.BytesIO(os.urandom(size)))
    except UnreachableStorage as error:
        errors.append(str(error))
for archive_format in ("zip", "folder"):
    try:
        target = os.path.join(sys.argv[1], "out." + archive_format)
        create_archive(store, target, archive_format=archive_format)
    except UnreachableStorage as error:
        errors.append(str(error))
print(json.dumps({
    "errors": errors,
    "files": sorted(os.listdir(repository.folder)),
    "objects": repository.list_objects(),
    "stored": stored,
    "nodes": store.get_info()["entities"]["Nodes"]["count"],
    "targets": os.listdir(sys.argv[1]),
}))
store.close()
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_full_disk_fails_cleanly_with_unreachable_storage(tmp_path, private_tmp):
    target = tmp_path / "archives"
    target.mkdir()
    finished = run_python(
        _FULL_DISK.replace("sys.argv[1]", repr(str(target))), env={"TMPDIR": str(private_tmp)}
    )
    assert finished.returncode == 0, finished.stderr
    result = json.loads(finished.stdout)
    assert len(result["errors"]) == 4
    assert all("File too large" in error for error in result["errors"][:2])
    assert all("cannot write the database" in error for error in result["errors"][2:])
    assert result["files"] == result["objects"] == [result["stored"]], "no partial object, no temporary file"
    assert result["nodes"] == 1
    assert result["targets"] == [], "no partial archive"
    assert store_entries(private_tmp) == set(), "the store and the archive's work folders are gone"


SUITE_INTERRUPTED = """
    import pytest

    def fill(store, label):
        store.bulk_insert("node", [{"label": label, "user_id": store.default_user_id}], allow_defaults=True)

    def test_first(tempstore, tempstore_module, tempstore_session, tempstore_factory):
        for store in (tempstore, tempstore_module, tempstore_session, tempstore_factory()):
            fill(store, "first")

    def test_interrupted(tempstore, tempstore_session):
        fill(tempstore, "interrupted")
        raise KeyboardInterrupt

    def test_never_runs(tempstore):
        raise AssertionError("runs after the interrupt")
"""


def test_keyboard_interrupt_in_a_test_closes_every_store(pytester, runpytest_subprocess, basetemp):
    pytester.makepyfile(test_interrupted=SUITE_INTERRUPTED)
    result = runpytest_subprocess("-p", "no:randomly")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*"])
    result.stdout.no_fnmatch_line("*runs after the interrupt*")
    assert plugin_leftovers(basetemp) == []


SUITE_CRASHING_WORKER = """
    import os
    import pytest

    @pytest.mark.parametrize("run", range(8))
    def test_sees_only_its_own(tempstore, run):
        assert tempstore.get_info()["entities"]["Nodes"]["count"] == 0
        tempstore.bulk_insert("node", [{"label": str(run), "user_id": tempstore.default_user_id}], True)

    def test_crash(tempstore, tempstore_session):
        tempstore.set_global_variable("crash", True)
        os._exit(1)
"""


def test_killed_xdist_worker_fails_its_test_only_and_the_next_run_leaves_nothing(
    pytester, runpytest_subprocess, basetemp: Path
):
    pytester.makepyfile(test_crashing=SUITE_CRASHING_WORKER)
    result = runpytest_subprocess("-n", "2", "-p", "no:randomly")
    result.assert_outcomes(passed=8, failed=1)
    result.stdout.fnmatch_lines(["*worker 'gw*' crashed while running 'test_crashing.py::test_crash'*"])
    # Only the dead worker's folders can remain, inside pytest's base folder for this run...
    leftovers = plugin_leftovers(basetemp)
    assert all(path.startswith("popen-gw") for path in leftovers)
    # ...which the next run starts by removing; that run leaves nothing of its own.
    pytester.makepyfile(test_crashing=SUITE_CRASHING_WORKER.replace("os._exit(1)", "pass"))
    runpytest_subprocess("-n", "2", "-p", "no:randomly").assert_outcomes(passed=9)
    assert plugin_leftovers(basetemp) == []
