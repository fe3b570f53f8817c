"""Tests of the sha256 sandbox repository, on real files."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pytest_tempstore.exceptions import CorruptStorage, UnreachableStorage
from pytest_tempstore.repository import CHUNK_SIZE, RepositorySnapshot, SandboxShaRepositoryBackend


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def put(repo: SandboxShaRepositoryBackend, content: bytes) -> str:
    return repo.put_object_from_filelike(io.BytesIO(content))


def files_in(folder: Path) -> set[str]:
    return set(os.listdir(folder)) if folder.exists() else set()


def temp_files(folder: Path) -> set[str]:
    return {name for name in files_in(folder) if name.startswith(".incoming-")}


@pytest.fixture
def repo(tmp_path: Path):
    repository = SandboxShaRepositoryBackend(tmp_path / "repo")
    yield repository
    repository.erase()


PATTERN = bytes(range(251)) * 300  # longer than any piece a ChunkStream hands out


class ChunkStream(io.RawIOBase):
    """A non-seekable raw stream handing out ``total`` bytes in short reads; may fail after ``fail_after``."""

    def __init__(self, total: int, *, fail_after: int | None = None, piece: int = 65536) -> None:
        self.total = total
        self.fail_after = fail_after
        self.piece = piece
        self.position = 0
        self.sizes: list[int] = []
        self.hasher = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def seek(self, offset: int, whence: int = 0) -> int:
        raise AssertionError("the repository must never seek")

    def tell(self) -> int:
        raise AssertionError("the repository must never tell")

    def readinto(self, buffer) -> int:
        if self.fail_after is not None and self.position >= self.fail_after:
            raise RuntimeError("stream broke")
        count = min(len(buffer), self.piece, self.total - self.position)
        start = self.position % 251
        data = PATTERN[start : start + count]
        buffer[:count] = data
        self.hasher.update(data)
        self.position += count
        return count

    def read(self, size: int = -1) -> bytes | None:
        self.sizes.append(size)
        return super().read(size)


# -- construction, folder, description ------------------------------------------------------


def test_nothing_written_on_construction(tmp_path):
    folder = tmp_path / "repo"
    repo = SandboxShaRepositoryBackend(folder)
    assert not folder.exists()
    assert repo.folder is None
    assert not repo.is_initialised
    assert repo.key_format == "sha256"
    assert repo.uuid is None
    # reads and deletes of nothing create nothing either
    assert repo.list_objects() == []
    assert not repo.has_object(sha(b"x"))
    repo.clear()
    repo.maintain(dry_run=False, live=False)
    assert not folder.exists()
    key = put(repo, b"first")
    assert folder.is_dir()
    assert repo.folder == folder
    assert repo.is_initialised
    assert files_in(folder) == {key}
    repo.erase()


def test_temporary_folder_made_lazily_and_removed_with_the_object(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    repo = SandboxShaRepositoryBackend()
    assert repo.folder is None
    assert not repo.is_initialised
    assert repo.list_objects() == []
    assert files_in(tmp_path) == set()
    key = put(repo, b"content")
    folder = repo.folder
    assert folder is not None
    assert folder.parent == tmp_path
    assert folder.name.startswith("tempstore-")
    assert (folder / key).read_bytes() == b"content"
    del repo
    gc.collect()
    assert not folder.exists()


def test_relative_filepath_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    repo = SandboxShaRepositoryBackend("relative")
    monkeypatch.chdir("/")
    put(repo, b"x")
    assert repo.folder == tmp_path / "relative"
    repo.erase()


def test_repr_and_str_name_the_folder(tmp_path):
    folder = tmp_path / "repo"
    repo = SandboxShaRepositoryBackend(folder)
    assert str(folder) in repr(repo)
    assert str(folder) in str(repo)
    assert "SandboxShaRepositoryBackend" in repr(repo)
    anonymous = SandboxShaRepositoryBackend()
    assert "not created" in str(anonymous)
    put(anonymous, b"x")
    assert str(anonymous.folder) in repr(anonymous)
    assert str(anonymous.folder) in str(anonymous)
    anonymous.erase()


def test_initialise_creates_folder_and_reset_erases(tmp_path):
    folder = tmp_path / "repo"
    repo = SandboxShaRepositoryBackend(folder)
    repo.initialise()
    assert folder.is_dir()
    assert repo.is_initialised
    key = put(repo, b"x")
    repo.initialise()
    assert repo.has_object(key)
    repo.initialise(reset=True)
    assert folder.is_dir()
    assert not repo.has_object(key)
    assert files_in(folder) == set()
    repo.erase()


def test_unusable_folder_raises_unreachable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a folder")
    repo = SandboxShaRepositoryBackend(blocker)
    with pytest.raises(UnreachableStorage, match="cannot create"):
        put(repo, b"x")
    assert repo.list_objects() == []


def test_folder_removed_behind_our_back_raises_unreachable(repo):
    key = put(repo, b"x")
    shutil.rmtree(repo.folder)
    assert put(repo, b"x") == key  # already stored: the fast path never touches the disk
    with pytest.raises(UnreachableStorage):
        put(repo, b"y")
    with pytest.raises(UnreachableStorage):
        put(repo, b"z" * (2 * CHUNK_SIZE))


# -- putting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"", b"hello", bytes(range(256)) * 3, b"\x00" * 10, os.urandom(CHUNK_SIZE), os.urandom(CHUNK_SIZE + 1)],
    ids=["empty", "short", "all-bytes", "zeros", "one-chunk", "chunk-plus-one"],
)
def test_put_round_trip(repo, content):
    key = put(repo, content)
    assert key == sha(content)
    assert repo.has_object(key)
    assert repo.get_object_content(key) == content
    assert repo.get_object_size(key) == len(content)
    assert repo.get_object_hash(key) == key
    assert (repo.folder / key).read_bytes() == content
    assert files_in(repo.folder) == {key}


def test_empty_content_key(repo):
    assert put(repo, b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize("size", [10, 2 * CHUNK_SIZE], ids=["small", "streamed"])
def test_put_replaces_a_file_no_index_knows_of(tmp_path, size):
    # e.g. the half-written file of a killed process: never trusted, never written into
    content = os.urandom(size)
    folder = tmp_path / "repo"
    folder.mkdir()
    stale = folder / sha(content)
    stale.write_bytes(content[: size // 2])
    stale_inode = os.stat(stale).st_ino
    repo = SandboxShaRepositoryBackend(folder)
    key = put(repo, content)
    assert repo.get_object_content(key) == content
    assert repo.get_object_hash(key) == key
    assert os.stat(stale).st_ino != stale_inode  # replaced by rename, not rewritten in place
    assert files_in(folder) == {key}


def test_put_reads_from_current_position(repo):
    stream = io.BytesIO(b"headerBODY")
    stream.read(6)
    assert repo.get_object_content(repo.put_object_from_filelike(stream)) == b"BODY"


def test_put_accepts_bytearray_and_memoryview_reads(repo):
    class ArrayStream:
        def __init__(self, chunks):
            self.chunks = list(chunks)

        def read(self, size=-1):
            return self.chunks.pop(0) if self.chunks else b""

    key = repo.put_object_from_filelike(ArrayStream([bytearray(b"ab"), memoryview(b"cd"), b"ef"]))
    assert key == sha(b"abcdef")
    assert repo.get_object_content(key) == b"abcdef"


def test_put_object_from_file(repo, tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"from a file")
    key = repo.put_object_from_file(source)
    assert key == sha(b"from a file")
    assert repo.get_object_content(key) == b"from a file"


def test_dedupe_keeps_the_stored_file(repo):
    key = put(repo, b"same")
    before = os.stat(repo.folder / key)
    # small and large objects: the stored file is neither replaced nor rewritten
    assert put(repo, b"same") == key
    big = os.urandom(3 * CHUNK_SIZE)
    big_key = put(repo, big)
    big_before = os.stat(repo.folder / big_key)
    assert put(repo, big) == big_key
    after = os.stat(repo.folder / key)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    big_after = os.stat(repo.folder / big_key)
    assert (big_after.st_ino, big_after.st_mtime_ns) == (big_before.st_ino, big_before.st_mtime_ns)
    assert sorted(repo.list_objects()) == sorted([key, big_key])
    assert files_in(repo.folder) == {key, big_key}


def test_non_seekable_raw_stream_read_in_bounded_chunks(repo):
    stream = ChunkStream(3 * CHUNK_SIZE + 12345)
    assert not stream.seekable()
    key = repo.put_object_from_filelike(stream)
    assert key == stream.hasher.hexdigest()
    assert repo.get_object_size(key) == 3 * CHUNK_SIZE + 12345
    # every read asked for a bounded chunk: never the whole stream at once
    assert stream.sizes
    assert all(0 < size <= CHUNK_SIZE for size in stream.sizes)
    assert repo.get_object_hash(key) == key


def test_short_raw_stream_takes_the_small_path(repo):
    stream = ChunkStream(1000, piece=7)
    key = repo.put_object_from_filelike(stream)
    assert key == stream.hasher.hexdigest()
    assert repo.get_object_size(key) == 1000


def test_pipe_with_writer_thread(repo):
    content = os.urandom(3 * CHUNK_SIZE + 5)
    read_fd, write_fd = os.pipe()

    def writer():
        with os.fdopen(write_fd, "wb") as sink:
            sink.write(content)

    thread = threading.Thread(target=writer)
    thread.start()
    with os.fdopen(read_fd, "rb", buffering=0) as source:
        assert not source.seekable()
        key = repo.put_object_from_filelike(source)
    thread.join()
    assert key == sha(content)
    assert repo.get_object_content(key) == content


def test_large_object_round_trip(repo):
    content = os.urandom(5 * 1024 * 1024)
    key = put(repo, content)
    assert key == sha(content)
    with repo.open(key) as handle:
        assert handle.read() == content
    assert repo.get_object_size(key) == len(content)


def test_stream_failing_half_way_leaves_nothing(repo):
    put(repo, b"existing")
    before = files_in(repo.folder)
    stream = ChunkStream(4 * CHUNK_SIZE, fail_after=CHUNK_SIZE + CHUNK_SIZE // 2)
    with pytest.raises(RuntimeError, match="stream broke"):
        repo.put_object_from_filelike(stream)
    assert stream.position > CHUNK_SIZE  # it really failed after the writing began
    assert files_in(repo.folder) == before
    assert temp_files(repo.folder) == set()
    assert repo.list_objects() == [sha(b"existing")]


@pytest.mark.parametrize("size", [4096, 2 * CHUNK_SIZE], ids=["small", "streamed"])
def test_failed_write_leaves_nothing(repo, size):
    resource = pytest.importorskip("resource")
    existing = put(repo, b"existing")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    # Files may not grow past 1,000 bytes: a short write, then EFBIG (Python ignores SIGXFSZ).
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, hard))
    try:
        with pytest.raises(UnreachableStorage, match="File too large"):
            put(repo, os.urandom(size))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert files_in(repo.folder) == {existing}
    assert repo.list_objects() == [existing]


def test_stream_failing_in_first_chunk_writes_nothing(tmp_path):
    folder = tmp_path / "repo"
    repo = SandboxShaRepositoryBackend(folder)
    stream = ChunkStream(CHUNK_SIZE // 2, fail_after=1000, piece=100)
    with pytest.raises(RuntimeError, match="stream broke"):
        repo.put_object_from_filelike(stream)
    assert not folder.exists()
    assert repo.list_objects() == []


class WriteOnly(io.RawIOBase):
    def writable(self) -> bool:
        return True


class RefusesRead:
    def read(self, size=-1):
        raise io.UnsupportedOperation("read")


class ReturnsText:
    def read(self, size=-1):
        return "text"


def _closed_stream():
    stream = io.BytesIO(b"x")
    stream.close()
    return stream


@pytest.mark.parametrize(
    "make_handle",
    [
        lambda folder: io.StringIO("text"),
        lambda folder: ReturnsText(),
        lambda folder: WriteOnly(),
        lambda folder: RefusesRead(),
        lambda folder: _closed_stream(),
        lambda folder: b"bytes are not a stream",
        lambda folder: None,
        lambda folder: 42,
    ],
    ids=["StringIO", "read-returns-str", "write-only", "read-unsupported", "closed", "bytes", "None", "int"],
)
def test_bad_handles_raise_type_error_before_writing(tmp_path, make_handle):
    folder = tmp_path / "repo"
    repo = SandboxShaRepositoryBackend(folder)
    with pytest.raises(TypeError):
        repo.put_object_from_filelike(make_handle(folder))
    assert not folder.exists()
    assert repo.list_objects() == []


def test_write_only_file_and_text_file_raise_type_error(tmp_path):
    folder = tmp_path / "repo"
    repo = SandboxShaRepositoryBackend(folder)
    with open(tmp_path / "out.bin", "wb") as handle, pytest.raises(TypeError):
        repo.put_object_from_filelike(handle)
    (tmp_path / "in.txt").write_text("text")
    with open(tmp_path / "in.txt") as handle:
        with pytest.raises(TypeError):
            repo.put_object_from_filelike(handle)
        assert handle.tell() == 0  # refused before reading anything
    assert not folder.exists()


def test_read_returning_text_later_leaves_no_temp_file(repo):
    class Turncoat:
        def __init__(self):
            self.calls = 0

        def read(self, size=-1):
            self.calls += 1
            return b"x" * CHUNK_SIZE if self.calls <= 2 else "now text"

    put(repo, b"existing")
    with pytest.raises(TypeError):
        repo.put_object_from_filelike(Turncoat())
    assert files_in(repo.folder) == {sha(b"existing")}


def test_non_blocking_stream_without_data(tmp_path):
    class Empty(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, buffer):
            return None

    repo = SandboxShaRepositoryBackend(tmp_path / "repo")
    with pytest.raises(BlockingIOError):
        repo.put_object_from_filelike(Empty())
    assert not (tmp_path / "repo").exists()


# -- keys -----------------------------------------------------------------------------------

BAD_KEYS = [
    "../x",
    "../" + "a" * 61,
    "A" * 64,
    "a" * 63,
    "a" * 65,
    "g" * 64,
    "a" * 63 + "\n",
    "",
    None,
    42,
    b"a" * 64,
]


def _key_calls(repo: SandboxShaRepositoryBackend, key):
    return {
        "has_object": lambda: repo.has_object(key),
        "has_objects": lambda: repo.has_objects([sha(b"ok"), key]),
        "open": lambda: repo.open(key),
        "get_object_content": lambda: repo.get_object_content(key),
        "get_object_size": lambda: repo.get_object_size(key),
        "get_object_hash": lambda: repo.get_object_hash(key),
        "iter_object_streams": lambda: repo.iter_object_streams([sha(b"ok"), key]),
        "delete_object": lambda: repo.delete_object(key),
        "delete_objects": lambda: repo.delete_objects([sha(b"ok"), key]),
    }


@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
@pytest.mark.parametrize("method", list(_key_calls(SandboxShaRepositoryBackend(), "x")))
def test_malformed_keys_raise_value_error(tmp_path, key, method):
    folder = tmp_path / "repo"
    repo = SandboxShaRepositoryBackend(folder)
    with pytest.raises(ValueError, match="malformed object key") as info:
        _key_calls(repo, key)[method]()
    assert repr(key) in str(info.value)
    assert not folder.exists()  # raised before touching the file system


def test_malformed_key_with_objects_stored(repo, tmp_path):
    key = put(repo, b"ok")
    (tmp_path / "x").write_bytes(b"outside")
    for call in _key_calls(repo, "../x").values():
        with pytest.raises(ValueError, match="malformed"):
            call()
    assert repo.list_objects() == [key]


@pytest.mark.parametrize(
    "method",
    [
        "open",
        "get_object_content",
        "get_object_size",
        "get_object_hash",
        "iter_object_streams",
        "delete_object",
    ],
)
def test_missing_key_raises_file_not_found_naming_it(repo, method):
    put(repo, b"present")
    missing = sha(b"absent")
    with pytest.raises(FileNotFoundError, match=missing):
        _key_calls(repo, missing)[method]()
    assert repo.list_objects() == [sha(b"present")]


# -- reading --------------------------------------------------------------------------------


def test_has_objects_and_list(repo):
    keys = [put(repo, bytes([i])) for i in range(5)]
    assert sorted(repo.list_objects()) == sorted(keys)
    assert repo.has_objects([keys[0], sha(b"no"), keys[4]]) == [True, False, True]
    assert repo.has_objects([]) == []


def test_open_is_a_context_manager_and_closes(repo):
    key = put(repo, b"content")
    with repo.open(key) as handle:
        assert handle.readable()
        assert handle.read(3) == b"con"
        assert handle.read() == b"tent"
    assert handle.closed


def test_iter_object_streams(repo):
    contents = [b"a", b"bb", b"", b"dddd"]
    keys = [put(repo, content) for content in contents]
    seen = []
    previous = None
    for key, handle in repo.iter_object_streams(keys):
        if previous is not None:
            assert previous.closed  # a handle lives until the next item
        seen.append((key, handle.read()))
        previous = handle
    assert seen == list(zip(keys, contents, strict=True))
    assert list(repo.iter_object_streams([])) == []


def test_iter_object_streams_checks_all_keys_first(repo):
    key = put(repo, b"a")
    absent = [sha(b"x"), sha(b"y")]
    with pytest.raises(FileNotFoundError) as info:
        repo.iter_object_streams([key, absent[0], absent[1]])
    assert all(missing in str(info.value) for missing in absent)


def test_get_object_hash_detects_tampering(repo):
    key = put(repo, b"original")
    (repo.folder / key).write_bytes(b"tampered")
    with pytest.raises(CorruptStorage, match=key):
        repo.get_object_hash(key)


def test_vanished_file_is_corrupt_storage(repo):
    key = put(repo, b"original")
    os.unlink(repo.folder / key)
    with pytest.raises(CorruptStorage, match=key):
        repo.get_object_hash(key)
    with pytest.raises(CorruptStorage, match=key):
        repo.get_object_content(key)
    assert repo.maintain()["corrupt"] == [key]


def test_get_info(repo):
    assert repo.get_info() == {"objects": {"count": 0}}
    put(repo, b"abc")
    put(repo, b"defgh")
    put(repo, b"abc")
    assert repo.get_info() == {"objects": {"count": 2}}
    detailed = repo.get_info(detailed=True)
    assert detailed == {
        "objects": {"count": 2, "size": 8},
        "garbage": {"count": 0},
        "folder": str(repo.folder),
    }
    repo.delete_object(sha(b"abc"))
    assert repo.get_info(detailed=True)["objects"] == {"count": 1, "size": 5}
    assert repo.get_info(detailed=True)["garbage"] == {"count": 1}


# -- deleting -------------------------------------------------------------------------------


def test_delete_objects_names_every_missing_key_and_deletes_nothing(repo):
    present = [put(repo, b"one"), put(repo, b"two")]
    missing = [sha(b"three"), sha(b"four")]
    with pytest.raises(FileNotFoundError) as info:
        repo.delete_objects([present[0], missing[0], present[1], missing[1]])
    message = str(info.value)
    assert all(key in message for key in missing)
    assert not any(key in message for key in present)
    assert sorted(repo.list_objects()) == sorted(present)
    assert repo.get_info(detailed=True)["garbage"]["count"] == 0


def test_delete_is_deferred_but_invisible(repo):
    keep = put(repo, b"keep")
    gone = put(repo, b"gone")
    repo.delete_objects([gone, gone])  # a repeated key is fine
    assert (repo.folder / gone).exists()  # the unlink is deferred...
    # ...but the object is gone for every call
    assert not repo.has_object(gone)
    assert repo.has_objects([gone, keep]) == [False, True]
    assert repo.list_objects() == [keep]
    for method in ["open", "get_object_content", "get_object_size", "get_object_hash", "iter_object_streams"]:
        with pytest.raises(FileNotFoundError):
            _key_calls(repo, gone)[method]()
    with pytest.raises(FileNotFoundError):
        repo.delete_object(gone)
    assert repo.get_info() == {"objects": {"count": 1}}
    report = repo.maintain(dry_run=False, live=False)
    assert report["removed"] == 1
    assert files_in(repo.folder) == {keep}


def test_put_revives_from_garbage_without_writing(repo):
    key = put(repo, b"revive me")
    inode = os.stat(repo.folder / key).st_ino
    repo.delete_object(key)
    assert not repo.has_object(key)
    assert put(repo, b"revive me") == key
    assert repo.has_object(key)
    assert os.stat(repo.folder / key).st_ino == inode
    assert temp_files(repo.folder) == set()
    assert repo.maintain(dry_run=False, live=False)["removed"] == 0
    assert repo.get_object_content(key) == b"revive me"


def test_large_put_revives_from_garbage(repo):
    content = os.urandom(2 * CHUNK_SIZE)
    key = put(repo, content)
    repo.delete_object(key)
    assert put(repo, content) == key
    assert repo.get_object_content(key) == content
    assert files_in(repo.folder) == {key}


def test_clear(repo):
    keys = [put(repo, bytes([i])) for i in range(10)]
    repo.clear()
    assert repo.list_objects() == []
    assert not any(repo.has_objects(keys))
    assert repo.get_info(detailed=True)["garbage"]["count"] == 10
    again = put(repo, b"after clear")
    assert repo.list_objects() == [again]
    assert put(repo, bytes([3])) == keys[3]  # revived
    repo.maintain(dry_run=False, live=False)
    assert files_in(repo.folder) == {again, keys[3]}


class SmallGarbage(SandboxShaRepositoryBackend):
    GARBAGE_THRESHOLD = 8


def test_garbage_is_purged_past_the_threshold(tmp_path):
    repo = SmallGarbage(tmp_path / "repo")
    keys = [put(repo, bytes([i])) for i in range(20)]
    repo.delete_objects(keys[:8])
    assert len(files_in(repo.folder)) == 20  # at the threshold: nothing unlinked yet
    repo.delete_object(keys[8])
    assert files_in(repo.folder) == set(keys[9:])
    repo.clear()
    assert files_in(repo.folder) == set()  # 11 > 8: purged at once


def test_pinned_garbage_does_not_purge_on_every_call(tmp_path):
    repo = SmallGarbage(tmp_path / "repo")
    keys = [put(repo, bytes([i])) for i in range(30)]
    snapshot = repo.snapshot()
    repo.delete_objects(keys[:10])  # 10 > 8 but all pinned: kept
    assert len(files_in(repo.folder)) == 30
    repo.delete_objects(keys[10:15])  # 15 - 10 pinned = 5 new: below the threshold again
    assert len(files_in(repo.folder)) == 30
    del snapshot
    gc.collect()
    repo.delete_object(keys[15])  # 16 <= 10 + 8: the threshold counts from the 10 kept last time
    assert len(files_in(repo.folder)) == 30
    repo.delete_objects(keys[16:19])  # 19 > 10 + 8: purge, nothing pinned any more
    assert files_in(repo.folder) == set(keys[19:])


# -- snapshots ------------------------------------------------------------------------------


def test_snapshot_is_a_frozen_record(repo):
    keys = {put(repo, b"a"), put(repo, b"bcd")}
    snapshot = repo.snapshot()
    assert isinstance(snapshot, RepositorySnapshot)
    assert snapshot.keys == frozenset(keys)
    assert dict(snapshot.sizes) == {sha(b"a"): 1, sha(b"bcd"): 3}
    assert snapshot.repository is repo
    with pytest.raises(AttributeError):
        snapshot.keys = frozenset()
    with pytest.raises(TypeError):
        snapshot.sizes[sha(b"a")] = 5
    put(repo, b"later")
    assert snapshot.keys == frozenset(keys)  # a copy, not a view
    assert "2 objects" in repr(snapshot)
    assert snapshot != repo.snapshot()  # identity: each snapshot is its own pin


def test_restore_within_one_repository(repo):
    a, b = put(repo, b"a"), put(repo, b"b")
    snapshot = repo.snapshot()
    c = put(repo, b"c")
    repo.delete_object(a)
    repo.restore(snapshot)
    assert sorted(repo.list_objects()) == sorted([a, b])
    assert repo.get_object_content(a) == b"a"
    assert not repo.has_object(c)
    assert repo.get_info(detailed=True)["objects"]["size"] == 2
    # restoring twice is a no-op
    repo.restore(snapshot)
    assert sorted(repo.list_objects()) == sorted([a, b])
    # and a later snapshot can be restored over an earlier one
    repo.clear()
    empty = repo.snapshot()
    repo.restore(snapshot)
    assert sorted(repo.list_objects()) == sorted([a, b])
    repo.restore(empty)
    assert repo.list_objects() == []


def test_restore_rejects_non_snapshots(repo):
    with pytest.raises(TypeError):
        repo.restore({"keys": frozenset()})


def test_pinned_objects_survive_maintain_until_the_snapshot_dies(repo):
    a, b = put(repo, b"a"), put(repo, b"b")
    snapshot = repo.snapshot()
    c = put(repo, b"c")
    repo.clear()
    report = repo.maintain(dry_run=False, live=False)
    assert report["garbage"] == 3
    assert report["pinned"] == 2
    assert report["removed"] == 1  # c is not pinned
    assert files_in(repo.folder) == {a, b}
    repo.restore(snapshot)
    assert repo.get_object_content(a) == b"a"
    assert not repo.has_object(c)
    repo.clear()
    del snapshot
    gc.collect()
    report = repo.maintain(dry_run=False, live=False)
    assert report["pinned"] == 0
    assert report["removed"] == 2
    assert files_in(repo.folder) == set()


def test_maintain_dry_run_or_live_removes_nothing(repo, caplog):
    keys = [put(repo, bytes([i])) for i in range(4)]
    repo.delete_objects(keys[:2])
    (repo.folder / keys[3]).write_bytes(b"tampered")
    for dry_run, live in [(True, True), (True, False), (False, True)]:
        report = repo.maintain(dry_run=dry_run, live=live)
        assert report == {"checked": 2, "corrupt": [keys[3]], "garbage": 2, "pinned": 0, "removed": 0}
        assert files_in(repo.folder) == set(keys)
    with caplog.at_level(logging.INFO, logger="pytest_tempstore.repository"):
        report = repo.maintain(dry_run=False, live=False, compress=True)
    assert report == {"checked": 2, "corrupt": [keys[3]], "garbage": 2, "pinned": 0, "removed": 2}
    assert files_in(repo.folder) == set(keys[2:])
    assert repo.has_object(keys[3])  # corrupt objects are reported, not removed
    assert any("2 removed" in record.getMessage() for record in caplog.records)
    assert any(keys[3] in record.getMessage() for record in caplog.records)


def test_restore_across_repositories_hard_links(tmp_path):
    source = SandboxShaRepositoryBackend(tmp_path / "source")
    target = SandboxShaRepositoryBackend(tmp_path / "target")
    a, b = put(source, b"a"), put(source, b"bb")
    snapshot = source.snapshot()
    extra = put(target, b"only in target")
    revived = put(target, b"bb")
    target.delete_object(revived)
    target.restore(snapshot)
    assert sorted(target.list_objects()) == sorted([a, b])
    assert target.get_object_content(a) == b"a"
    assert target.get_object_size(b) == 2
    assert os.stat(tmp_path / "target" / a).st_ino == os.stat(tmp_path / "source" / a).st_ino
    assert os.stat(tmp_path / "target" / b).st_ino != os.stat(tmp_path / "source" / b).st_ino  # revived
    assert not target.has_object(extra)
    # a key in the target's garbage is revived from there, even without a source file
    target.delete_object(b)
    os.unlink(tmp_path / "source" / b)
    target.restore(snapshot)
    assert target.get_object_content(b) == b"bb"
    # the two repositories are independent afterwards
    source.delete_object(a)
    source.maintain(dry_run=False, live=False)
    assert target.get_object_content(a) == b"a"
    assert target.get_object_hash(a) == a
    source.erase()
    target.erase()


def test_restore_into_a_fresh_repository_creates_its_folder(tmp_path):
    source = SandboxShaRepositoryBackend(tmp_path / "source")
    key = put(source, b"x")
    target = SandboxShaRepositoryBackend(tmp_path / "target")
    target.restore(source.snapshot())
    assert target.folder == tmp_path / "target"
    assert target.get_object_content(key) == b"x"
    empty_target = SandboxShaRepositoryBackend(tmp_path / "empty")
    empty_target.restore(SandboxShaRepositoryBackend(tmp_path / "nothing").snapshot())
    assert not (tmp_path / "empty").exists()


def test_restore_replaces_a_file_no_index_knows_of(tmp_path):
    source = SandboxShaRepositoryBackend(tmp_path / "source")
    key = put(source, b"the real content")
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / key).write_bytes(b"half")
    target = SandboxShaRepositoryBackend(tmp_path / "target")
    target.restore(source.snapshot())
    assert target.get_object_content(key) == b"the real content"
    assert os.stat(tmp_path / "target" / key).st_ino == os.stat(tmp_path / "source" / key).st_ino
    assert files_in(tmp_path / "target") == {key}


def test_restore_between_two_backends_on_one_folder(tmp_path):
    first = SandboxShaRepositoryBackend(tmp_path / "shared")
    keys = {put(first, b"a"), put(first, b"b")}
    second = SandboxShaRepositoryBackend(tmp_path / "shared")
    second.restore(first.snapshot())
    assert set(second.list_objects()) == keys
    assert second.get_object_content(sha(b"a")) == b"a"
    assert files_in(tmp_path / "shared") == keys


def test_restore_across_devices_copies(tmp_path):
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs a second file system at /dev/shm")
    source_folder = Path(tempfile.mkdtemp(dir=shm))
    try:
        source = SandboxShaRepositoryBackend(source_folder / "repo")
        key = put(source, b"elsewhere")
        target = SandboxShaRepositoryBackend(tmp_path / "target")
        target.restore(source.snapshot())
        assert target.get_object_content(key) == b"elsewhere"
        assert os.stat(tmp_path / "target" / key).st_dev != os.stat(source_folder / "repo" / key).st_dev
        assert temp_files(tmp_path / "target") == set()
    finally:
        shutil.rmtree(source_folder)


def test_restore_with_missing_source_file_changes_nothing(tmp_path):
    source = SandboxShaRepositoryBackend(tmp_path / "source")
    target = SandboxShaRepositoryBackend(tmp_path / "target")
    a, b, c = put(source, b"a"), put(source, b"b"), put(source, b"c")
    snapshot = source.snapshot()
    mine = put(target, b"mine")
    os.unlink(tmp_path / "source" / a)
    os.unlink(tmp_path / "source" / c)
    with pytest.raises(CorruptStorage) as info:
        target.restore(snapshot)
    assert a in str(info.value)
    assert c in str(info.value)
    assert b not in str(info.value)
    assert target.list_objects() == [mine]
    assert files_in(tmp_path / "target") == {mine}  # b was not linked either


def test_restore_of_a_snapshot_taken_before_erase(repo):
    key = put(repo, b"x")
    snapshot = repo.snapshot()
    repo.erase()
    other = put(repo, b"y")
    with pytest.raises(CorruptStorage, match=key):
        repo.restore(snapshot)
    assert repo.list_objects() == [other]
    put(repo, b"x")
    repo.restore(snapshot)  # the files are there again
    assert repo.list_objects() == [key]


# -- erase ----------------------------------------------------------------------------------


def test_erase_removes_the_folder_and_stays_usable(tmp_path):
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "unrelated").write_bytes(b"the caller's file")
    repo = SandboxShaRepositoryBackend(folder)
    key = put(repo, b"x")
    repo.delete_object(put(repo, b"y"))
    repo.erase()
    assert not folder.exists()
    assert repo.folder is None
    assert not repo.is_initialised
    assert repo.list_objects() == []
    assert repo.get_info(detailed=True) == {
        "objects": {"count": 0, "size": 0},
        "garbage": {"count": 0},
        "folder": None,
    }
    repo.erase()  # idempotent
    assert put(repo, b"x") == key
    assert folder.is_dir()
    assert files_in(folder) == {key}
    repo.erase()


def test_erase_of_temporary_repository_gives_a_new_folder():
    repo = SandboxShaRepositoryBackend()
    put(repo, b"x")
    first = repo.folder
    repo.erase()
    assert first is not None
    assert not first.exists()
    put(repo, b"x")
    second = repo.folder
    assert second is not None
    assert second.is_dir()
    repo.erase()
    assert not second.exists()
    repo.erase()


# -- threads --------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [4096, 16])
def test_threads_put_and_delete_concurrently(tmp_path, threshold):
    class Repo(SandboxShaRepositoryBackend):
        GARBAGE_THRESHOLD = threshold

    repo = Repo(tmp_path / "repo")
    threads_count, steps = 8, 200
    shared = [f"shared-{i}".encode() * (1 + i * 500) for i in range(10)]
    barrier = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            barrier.wait()
            mine: list[str] = []
            for step in range(steps):
                if step % 4 == 3:
                    repo.delete_object(mine.pop(0))  # a distinct object: always ours to delete
                elif step % 4 == 2:
                    key = put(repo, shared[step % 10])
                    assert key == sha(shared[step % 10])
                    if step % 8 == 2:
                        # shared objects may be deleted by another thread meanwhile
                        with contextlib.suppress(FileNotFoundError):
                            repo.delete_object(key)
                else:
                    content = f"worker {worker} step {step}".encode() * (1 + step % 7 * 300)
                    key = put(repo, content)
                    assert key == sha(content)
                    mine.append(key)
            barrier.wait()
            for content in shared:  # after every delete: all shared objects must end up live
                put(repo, content)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads_count)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert errors == []
    distinct_left = threads_count * (steps // 2 - steps // 4)  # 100 puts, 50 deletes each
    assert len(repo.list_objects()) == distinct_left + len(shared)
    for key in repo.list_objects():
        assert repo.get_object_hash(key) == key
    assert temp_files(repo.folder) == set()
    repo.maintain(dry_run=False, live=False)
    assert files_in(repo.folder) == set(repo.list_objects())
    repo.erase()


# -- a model-based test ---------------------------------------------------------------------

CONTENTS = st.one_of(st.sampled_from([b"", b"a", b"b", b"abc", bytes(range(256))]), st.binary(max_size=40))


class RepositoryMachine(RuleBasedStateMachine):
    """Drive the repository and a dict model side by side."""

    def __init__(self) -> None:
        super().__init__()
        self.repo = SmallGarbage()  # a low threshold, so purges happen during the run
        self.model: dict[str, bytes] = {}
        self.snapshots: list[tuple[RepositorySnapshot, dict[str, bytes]]] = []

    @rule(content=CONTENTS)
    def put(self, content):
        key = put(self.repo, content)
        assert key == sha(content)
        self.model[key] = content

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def delete(self, data):
        keys = data.draw(st.lists(st.sampled_from(sorted(self.model)), min_size=1, max_size=4))
        self.repo.delete_objects(keys)
        for key in keys:
            self.model.pop(key, None)

    @rule(content=CONTENTS, data=st.data())
    def delete_with_a_missing_key(self, content, data):
        absent = sha(content + b"-absent")
        present = data.draw(st.lists(st.sampled_from(sorted(self.model)), max_size=2)) if self.model else []
        with pytest.raises(FileNotFoundError, match=absent):
            self.repo.delete_objects([*present, absent])

    @rule()
    def clear(self):
        self.repo.clear()
        self.model.clear()

    @rule()
    def snapshot(self):
        self.snapshots.append((self.repo.snapshot(), dict(self.model)))
        if len(self.snapshots) > 4:
            del self.snapshots[0]  # the oldest snapshot dies and stops pinning

    @precondition(lambda self: self.snapshots)
    @rule(data=st.data())
    def restore(self, data):
        snapshot, model = data.draw(st.sampled_from(self.snapshots))
        self.repo.restore(snapshot)
        self.model = dict(model)

    @precondition(lambda self: self.snapshots)
    @rule(data=st.data())
    def drop_snapshot(self, data):
        index = data.draw(st.integers(0, len(self.snapshots) - 1))
        del self.snapshots[index]
        gc.collect()

    @precondition(lambda self: self.snapshots)
    @rule(data=st.data())
    def restore_into_another_repository(self, data):
        snapshot, model = data.draw(st.sampled_from(self.snapshots))
        other = SandboxShaRepositoryBackend()
        try:
            put(other, b"something else")
            other.restore(snapshot)
            assert sorted(other.list_objects()) == sorted(model)
            for key, content in model.items():
                assert other.get_object_content(key) == content
        finally:
            other.erase()

    @rule(dry_run=st.booleans(), live=st.booleans())
    def maintain(self, dry_run, live):
        garbage_before = self.repo.get_info(detailed=True)["garbage"]["count"]
        report = self.repo.maintain(dry_run=dry_run, live=live)
        assert report["checked"] == len(self.model)
        assert report["corrupt"] == []
        assert report["garbage"] == garbage_before
        if dry_run or live:
            assert report["removed"] == 0
        else:
            assert report["removed"] == garbage_before - report["pinned"]
            folder = self.repo.folder
            if folder is not None:
                # only live objects and pinned objects remain on disk
                pinned = set().union(*(snapshot.keys for snapshot, _ in self.snapshots))
                assert files_in(folder) <= set(self.model) | pinned

    @invariant()
    def matches_the_model(self):
        assert sorted(self.repo.list_objects()) == sorted(self.model)
        assert self.repo.get_info() == {"objects": {"count": len(self.model)}}
        for key, content in self.model.items():
            assert self.repo.has_object(key)
            assert self.repo.get_object_content(key) == content
            assert self.repo.get_object_size(key) == len(content)

    @invariant()
    def pinned_files_stay_on_disk(self):
        folder = self.repo.folder
        for snapshot, _ in self.snapshots:
            for key in snapshot.keys:
                assert folder is not None
                assert (folder / key).is_file()

    def teardown(self):
        folder = self.repo.folder
        self.repo.erase()
        assert folder is None or not folder.exists()


RepositoryMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)
TestRepositoryMachine = RepositoryMachine.TestCase
