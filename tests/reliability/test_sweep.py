"""Stores made outside pytest: owner locks, and sweeping the folders of processes that died."""

from __future__ import annotations

import gc
import io
import json
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from pytest_tempstore import SqliteTempBackend, sweep
from pytest_tempstore.cli import main
from pytest_tempstore.repository import SandboxShaRepositoryBackend
from pytest_tempstore.sweep import (
    OwnerLock,
    lock_path_for,
    owner_is_alive,
    process_start_time,
    read_owner_lock,
    sweep_stale_sandboxes,
)

from .conftest import run_python, store_entries

if TYPE_CHECKING:
    from pathlib import Path

needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="process start times come from /proc")


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The pid of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def make_folder(root: Path, name: str, lock: object | None, *, raw: bytes | None = None) -> Path:
    """A ``name`` folder with one file in ``root``, and beside it a lock of ``lock`` (as JSON) or ``raw``."""
    folder = root / name
    folder.mkdir()
    (folder / "object").write_bytes(b"data")
    if raw is not None:
        (root / f"{name}.owner").write_bytes(raw)
    elif lock is not None:
        (root / f"{name}.owner").write_text(json.dumps(lock))
    return folder


@pytest.fixture
def fresh_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget which roots this process already swept."""
    monkeypatch.setattr(sweep, "_swept_roots", set())


# -- the lock ---------------------------------------------------------------------------------


def test_own_folder_has_a_lock_beside_it_naming_this_process(private_tmp):
    repository = SandboxShaRepositoryBackend()
    key = repository.put_object_from_filelike(io.BytesIO(b"content"))
    folder = repository.folder
    assert folder is not None
    assert os.listdir(folder) == [key], "the folder holds objects only"
    lock = read_owner_lock(lock_path_for(folder))
    assert lock == OwnerLock(os.getpid(), process_start_time(os.getpid()))
    assert store_entries(private_tmp) == {folder.name, f"{folder.name}.owner"}
    repository.erase()
    assert store_entries(private_tmp) == set()


def test_given_folder_gets_no_lock(tmp_path):
    repository = SandboxShaRepositoryBackend(tmp_path / "repo")
    repository.put_object_from_filelike(io.BytesIO(b"content"))
    assert sorted(os.listdir(tmp_path)) == ["repo"]
    repository.erase()


@pytest.mark.parametrize("how", ["close", "garbage collection"])
def test_a_store_removes_its_folder_and_lock(private_tmp, how):
    store = SqliteTempBackend(SqliteTempBackend.create_profile())
    store.get_repository().put_object_from_filelike(io.BytesIO(b"content"))
    assert len(store_entries(private_tmp)) == 2
    if how == "close":
        store.close()
    else:
        del store
        gc.collect()
    assert store_entries(private_tmp) == set()


@needs_proc
def test_liveness_tells_a_reused_pid_from_its_owner(dead_pid):
    parent = os.getppid()
    assert owner_is_alive(OwnerLock(os.getpid(), None))
    assert owner_is_alive(OwnerLock(parent, process_start_time(parent)))
    assert owner_is_alive(OwnerLock(parent, None)), "without a start time, a running pid counts as alive"
    assert not owner_is_alive(OwnerLock(parent, (process_start_time(parent) or 0) + 1))
    assert not owner_is_alive(OwnerLock(dead_pid, None))


# -- sweeping ---------------------------------------------------------------------------------


@needs_proc
def test_sweep_removes_only_dead_owners_folders(tmp_path, dead_pid):
    parent = os.getppid()
    dead = make_folder(tmp_path, "tempstore-dead", {"pid": dead_pid, "start": 1})
    reused = make_folder(tmp_path, "tempstore-reused", {"pid": parent, "start": -1})
    kept = {
        make_folder(
            tmp_path, "tempstore-mine", {"pid": os.getpid(), "start": process_start_time(os.getpid())}
        ),
        make_folder(tmp_path, "tempstore-parent", {"pid": parent, "start": process_start_time(parent)}),
        make_folder(tmp_path, "tempstore-unlocked", None),
        make_folder(tmp_path, "tempstore-garbage", None, raw=b"\xff not json"),
        make_folder(tmp_path, "tempstore-list", [dead_pid]),
        make_folder(tmp_path, "tempstore-negative", {"pid": -dead_pid, "start": None}),
        make_folder(tmp_path, "tempstore-text-pid", {"pid": str(dead_pid), "start": None}),
        make_folder(
            tmp_path, "tempstore-huge", None, raw=b" " * 5000 + json.dumps({"pid": dead_pid}).encode()
        ),
        make_folder(tmp_path, "other-dead", {"pid": dead_pid, "start": None}),
    }
    orphan_lock = tmp_path / "tempstore-orphan.owner"
    orphan_lock.write_text(json.dumps({"pid": dead_pid, "start": None}))

    assert sweep_stale_sandboxes(tmp_path, dry_run=True) == [dead, tmp_path / "tempstore-orphan", reused]
    assert dead.exists()
    assert reused.exists()

    assert sweep_stale_sandboxes(tmp_path) == [dead, tmp_path / "tempstore-orphan", reused]
    for gone in (dead, reused):
        assert not gone.exists()
        assert not os.path.lexists(lock_path_for(gone))
    assert not orphan_lock.exists()
    for folder in kept:
        assert (folder / "object").read_bytes() == b"data"
    assert sweep_stale_sandboxes(tmp_path) == []


def test_sweep_follows_no_links(tmp_path, dead_pid):
    victim = make_folder(tmp_path, "victim", None)
    (tmp_path / "tempstore-link").symlink_to(victim)
    (tmp_path / "tempstore-link.owner").write_text(json.dumps({"pid": dead_pid, "start": None}))
    real_lock = tmp_path / "lock-elsewhere"
    real_lock.write_text(json.dumps({"pid": dead_pid, "start": None}))
    make_folder(tmp_path, "tempstore-linked-lock", None)
    (tmp_path / "tempstore-linked-lock.owner").symlink_to(real_lock)
    assert sweep_stale_sandboxes(tmp_path) == []
    assert (victim / "object").exists()
    assert (tmp_path / "tempstore-linked-lock" / "object").exists()


def test_sweep_of_a_missing_root_sweeps_nothing(tmp_path):
    assert sweep_stale_sandboxes(tmp_path / "nowhere") == []


def test_first_own_folder_of_a_process_sweeps_once(private_tmp, dead_pid, fresh_sweep):
    first = make_folder(private_tmp, "tempstore-first", {"pid": dead_pid, "start": None})
    repository = SandboxShaRepositoryBackend()
    repository.put_object_from_filelike(io.BytesIO(b"x"))
    assert not first.exists()
    # Not on the hot path: later folders of the process do not sweep again.
    second = make_folder(private_tmp, "tempstore-second", {"pid": dead_pid, "start": None})
    other = SandboxShaRepositoryBackend()
    other.put_object_from_filelike(io.BytesIO(b"y"))
    assert second.exists()
    repository.erase()
    other.erase()


def test_clean_command_lists_what_it_removes(tmp_path, dead_pid, capsys):
    dead = make_folder(tmp_path, "tempstore-dead", {"pid": dead_pid, "start": None})
    make_folder(tmp_path, "tempstore-unlocked", None)
    assert main(["clean", "--dry-run", "--root", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"would remove {dead}\nwould remove 1 stale store folder\n"
    assert dead.exists()
    assert main(["clean", "--root", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"removed {dead}\nremoved 1 stale store folder\n"
    assert not dead.exists()
    assert main(["clean", "--root", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "removed 0 stale store folders\n"
    assert sorted(os.listdir(tmp_path)) == ["tempstore-unlocked"]


def test_clean_command_refuses_a_root_that_is_no_folder(tmp_path, capsys):
    assert main(["clean", "--root", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err


# -- a process killed while its store is open ---------------------------------------------------

_OPEN_STORE_AND_WAIT = """
import io, time
from pytest_tempstore import SqliteTempBackend
store = SqliteTempBackend(SqliteTempBackend.create_profile())
store.bulk_insert("node", [{"label": "x", "user_id": store.default_user_id}], allow_defaults=True)
print(store.get_repository().put_object_from_filelike(io.BytesIO(b"payload")), flush=True)
print(store.get_repository().folder, flush=True)
time.sleep(120)
"""

_NEXT_STORE = """
import io
from pytest_tempstore import SqliteTempBackend
store = SqliteTempBackend(SqliteTempBackend.create_profile())
store.get_repository().put_object_from_filelike(io.BytesIO(b"next"))
store.close()
"""


def kill_with_store_open(private_tmp: Path) -> Path:
    """Start a process with an open store holding an object, SIGKILL it; return the folder it left."""
    child = subprocess.Popen(
        [sys.executable, "-c", _OPEN_STORE_AND_WAIT],
        env={**os.environ, "TMPDIR": str(private_tmp)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        key = child.stdout.readline().strip()
        folder = private_tmp / os.path.basename(child.stdout.readline().strip())
        assert (folder / key).read_bytes() == b"payload"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()  # type: ignore[union-attr]
    assert child.returncode == -signal.SIGKILL
    assert folder.is_dir(), "a killed process cleans up nothing"
    assert lock_path_for(folder) in {str(private_tmp / name) for name in os.listdir(private_tmp)}
    return folder


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killed_process_folder_is_swept_by_the_next_store(private_tmp):
    kill_with_store_open(private_tmp)
    finished = run_python(_NEXT_STORE, env={"TMPDIR": str(private_tmp)})
    assert finished.returncode == 0, finished.stderr
    assert store_entries(private_tmp) == set()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killed_process_folder_is_swept_by_the_clean_command(private_tmp):
    folder = kill_with_store_open(private_tmp)
    finished = subprocess.run(
        [sys.executable, "-m", "pytest_tempstore", "clean"],
        env={**os.environ, "TMPDIR": str(private_tmp)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout == f"removed {folder}\nremoved 1 stale store folder\n"
    assert store_entries(private_tmp) == set()
