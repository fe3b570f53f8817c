"""Hostile and broken archives: each is refused with a message naming the problem, and changes nothing."""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import stat
import struct
import tempfile
import zipfile
from typing import TYPE_CHECKING

import pytest

from pytest_tempstore.archive import ArchiveLimits, create_archive, import_archive, inspect_archive
from pytest_tempstore.archive.limits import ByteBudget, LimitedReader
from pytest_tempstore.exceptions import ArchiveError, InputValidationError

if TYPE_CHECKING:
    from pathlib import Path

METADATA = json.dumps({"export_version": "main_0001", "aiida_version": "2.9.4", "key_format": "sha256"})


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path, monkeypatch):
    """Route the temporary folders of the code under test to a folder the tests can check."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def valid_zip(graph_store, tmp_path) -> Path:
    """A valid archive of the sample graph, as a zip file."""
    return create_archive(graph_store[0], tmp_path / "valid.aiida")


def rewrite_zip(
    source: Path, target: Path, replace: dict[str, bytes | None], add: dict[str, bytes] | None = None
):
    """Copy a zip, replacing (or, with ``None``, dropping) some entries and adding others."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename in replace:
                content = replace[info.filename]
                if content is not None:
                    new.writestr(info.filename, content)
            else:
                new.writestr(info, old.read(info))
        for name, content in (add or {}).items():
            new.writestr(name, content)
    return target


def assert_refused(archive: Path, store, match: str, *, limits: ArchiveLimits | None = None) -> None:
    """Import is refused with ``match`` in the message; the store and the temporary folder stay empty."""
    with store.transaction() as session:
        before = session.connection().exec_driver_sql("SELECT COUNT(*) FROM db_dbnode").scalar_one()
    with pytest.raises(ArchiveError, match=match):
        import_archive(archive, store, limits=limits)
    with store.transaction() as session:
        assert session.connection().exec_driver_sql("SELECT COUNT(*) FROM db_dbnode").scalar_one() == before
        assert session.connection().exec_driver_sql("SELECT COUNT(*) FROM db_dbgroup").scalar_one() == 0
    assert store.get_repository().list_objects() == []
    leftovers = [name for name in os.listdir(tempfile.gettempdir()) if name.startswith("tempstore-archive-")]
    assert leftovers == [], "the archive's temporary folders are removed"


def test_missing_archive_names_the_path(store, tmp_path):
    missing = tmp_path / "nowhere.aiida"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        import_archive(missing, store)


def test_file_that_is_neither_zip_nor_folder(store, tmp_path):
    path = tmp_path / "text.aiida"
    path.write_text("just some text, no archive")
    assert_refused(path, store, "neither a zip file nor a folder")


def test_zip_without_metadata(store, valid_zip, tmp_path):
    archive = rewrite_zip(valid_zip, tmp_path / "x.aiida", {"metadata.json": None})
    assert_refused(archive, store, "no metadata.json")


@pytest.mark.parametrize(
    ("metadata", "match"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"{}", "no 'export_version'"),
        (b'{"export_version": 1}', "not a string"),
        (b'{"export_version": "main_9999"}', "unknown export_version 'main_9999'"),
        (b'{"export_version": "main_0001", "key_format": "md5"}', "md5"),
    ],
)
def test_bad_metadata(store, valid_zip, tmp_path, metadata, match):
    archive = rewrite_zip(valid_zip, tmp_path / "x.aiida", {"metadata.json": metadata})
    assert_refused(archive, store, match)


def test_missing_database(store, valid_zip, tmp_path):
    archive = rewrite_zip(valid_zip, tmp_path / "x.aiida", {"db.sqlite3": None})
    assert_refused(archive, store, "has no db.sqlite3")


def test_corrupt_database(store, valid_zip, tmp_path):
    archive = rewrite_zip(valid_zip, tmp_path / "x.aiida", {"db.sqlite3": os.urandom(8192)})
    assert_refused(archive, store, "not a valid SQLite database")


def test_truncated_database(store, valid_zip, tmp_path):
    with zipfile.ZipFile(valid_zip) as handle:
        database = handle.read("db.sqlite3")
    archive = rewrite_zip(valid_zip, tmp_path / "x.aiida", {"db.sqlite3": database[: len(database) // 2]})
    assert_refused(archive, store, "db.sqlite3")


@pytest.mark.parametrize(
    ("statement", "match"),
    [
        ("DROP TABLE db_dblog", "has no table db_dblog"),
        ("ALTER TABLE db_dbnode DROP COLUMN extras", r"db_dbnode lacks the columns \['extras'\]"),
    ],
)
def test_database_missing_a_table_or_column(store, graph_store, tmp_path, statement, match):
    folder = create_archive(graph_store[0], tmp_path / "folder", archive_format="folder")
    connection = sqlite3.connect(folder / "db.sqlite3")
    connection.execute("DROP INDEX IF EXISTS ix_db_dbnode_extras")
    connection.execute(statement)
    connection.commit()
    connection.close()
    assert_refused(folder, store, match)


def zip_with_entry(path: Path, name: str, *, mode: int | None = None, content: bytes = b"x") -> Path:
    """A zip whose first entry has ``name`` (and unix ``mode``), followed by a valid archive's entries."""
    with zipfile.ZipFile(path, "w") as handle:
        info = zipfile.ZipInfo(name)
        if mode is not None:
            info.external_attr = mode << 16
            info.create_system = 3
        handle.writestr(info, content)
        handle.writestr("metadata.json", METADATA)
    return path


@pytest.mark.parametrize(
    "name",
    [
        "../evil",
        "repo/../../evil",
        "/etc/evil",
        "\\evil",
        "repo\\..\\evil",
        "C:/evil",
        "c:evil",
        "./evil",
        "a//b",
        "",
    ],
)
def test_escaping_entry_names_are_refused_before_extracting(store, tmp_path, name):
    archive = zip_with_entry(tmp_path / "evil.aiida", name)
    assert_refused(archive, store, "refusing the entry")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["evil.aiida", "system-tmp"]
    assert not (tmp_path.parent / "evil").exists()


def test_symlink_entry_is_refused(store, tmp_path):
    archive = zip_with_entry(
        tmp_path / "link.aiida", "repo/" + "a" * 64, mode=stat.S_IFLNK | 0o777, content=b"/"
    )
    assert_refused(archive, store, "symbolic link")


def test_device_entry_is_refused(store, tmp_path):
    archive = zip_with_entry(tmp_path / "dev.aiida", "db.sqlite3", mode=stat.S_IFCHR | 0o600)
    assert_refused(archive, store, "not a regular file")


def test_duplicate_entries_are_refused(store, valid_zip, tmp_path):
    with pytest.warns(UserWarning, match="Duplicate name"):
        archive = rewrite_zip(valid_zip, tmp_path / "dup.aiida", {}, add={"metadata.json": METADATA})
    assert_refused(archive, store, "more than once")


def test_encrypted_entry_is_refused(store, valid_zip, tmp_path):
    content = bytearray(valid_zip.read_bytes())
    # Set the "encrypted" flag of the first central directory record (metadata.json).
    record = content.index(b"PK\x01\x02")
    flags = struct.unpack_from("<H", content, record + 8)[0]
    struct.pack_into("<H", content, record + 8, flags | 0x1)
    archive = tmp_path / "encrypted.aiida"
    archive.write_bytes(bytes(content))
    assert_refused(archive, store, "encrypted")


@pytest.mark.parametrize("kind", ["repo", "db", "metadata"])
def test_symlinks_in_an_archive_folder_are_refused(store, graph_store, tmp_path, kind):
    folder = create_archive(graph_store[0], tmp_path / "folder", archive_format="folder")
    secret = tmp_path / "secret"
    secret.write_bytes(b"outside the archive")
    if kind == "repo":
        victim = next((folder / "repo").iterdir())
    else:
        victim = folder / ("db.sqlite3" if kind == "db" else "metadata.json")
    victim.unlink()
    victim.symlink_to(secret)
    assert_refused(folder, store, "symbolic link")


def test_symlinked_repo_folder_is_refused(store, graph_store, tmp_path):
    folder = create_archive(graph_store[0], tmp_path / "folder", archive_format="folder")
    elsewhere = tmp_path / "elsewhere"
    (folder / "repo").rename(elsewhere)
    (folder / "repo").symlink_to(elsewhere)
    assert_refused(folder, store, "symbolic link")


def test_object_whose_content_does_not_match_its_key(store, valid_zip, tmp_path):
    with zipfile.ZipFile(valid_zip) as handle:
        key = max(name for name in handle.namelist() if name.startswith("repo/")).removeprefix("repo/")
    archive = rewrite_zip(valid_zip, tmp_path / "bad.aiida", {f"repo/{key}": b"not the original content"})
    assert_refused(archive, store, f"object {key} is corrupt")


def test_referenced_object_missing_from_the_archive(store, valid_zip, tmp_path):
    with zipfile.ZipFile(valid_zip) as handle:
        key = min(name for name in handle.namelist() if name.startswith("repo/")).removeprefix("repo/")
    archive = rewrite_zip(valid_zip, tmp_path / "lacking.aiida", {f"repo/{key}": None})
    assert_refused(archive, store, f"lacks: {key}")


def bomb(path: Path, size: int, name: str = "repo/" + "b" * 64) -> Path:
    """A valid archive plus one highly compressible entry of ``size`` zero bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as handle:
        handle.writestr("metadata.json", METADATA)
        with handle.open(name, "w", force_zip64=True) as entry:
            chunk = bytes(1 << 20)
            for _ in range(size // len(chunk)):
                entry.write(chunk)
    return path


def test_zip_bomb_ratio_is_refused_with_default_limits(store, tmp_path):
    assert_refused(bomb(tmp_path / "bomb.aiida", 64 << 20), store, "zip bomb")


@pytest.mark.parametrize(
    ("limits", "match"),
    [
        (ArchiveLimits(max_entry_bytes=1 << 20), "more than the limit of 1048576"),
        (ArchiveLimits(max_total_bytes=1 << 20, max_ratio=10_000), "in total"),
        (ArchiveLimits(max_entries=1), "2 entries"),
        (ArchiveLimits(max_ratio=10, ratio_grace_bytes=1000), "expands"),
    ],
)
def test_declared_sizes_are_checked_against_the_limits(store, tmp_path, limits, match):
    assert_refused(bomb(tmp_path / "big.aiida", 2 << 20), store, match, limits=limits)


def test_limits_apply_to_folders(store, graph_store, tmp_path):
    folder = create_archive(graph_store[0], tmp_path / "folder", archive_format="folder")
    assert_refused(folder, store, "in total", limits=ArchiveLimits(max_total_bytes=1000))
    assert_refused(folder, store, "entries", limits=ArchiveLimits(max_entries=3))


def patch_declared_size(archive: Path, name: str, size: int) -> None:
    """Make the central directory claim ``size`` uncompressed bytes for one entry (a lying header)."""
    content = bytearray(archive.read_bytes())
    encoded = name.encode()
    start = 0
    while True:
        record = content.index(b"PK\x01\x02", start)
        name_length = struct.unpack_from("<H", content, record + 28)[0]
        if bytes(content[record + 46 : record + 46 + name_length]) == encoded:
            struct.pack_into("<I", content, record + 24, size)
            break
        start = record + 4
    archive.write_bytes(bytes(content))


@pytest.mark.parametrize("entry", ["db.sqlite3", "object"])
def test_lying_header_does_not_get_past(store, valid_zip, tmp_path, entry):
    with zipfile.ZipFile(valid_zip) as handle:
        objects = [info for info in handle.infolist() if info.filename.startswith("repo/")]
        biggest = max(objects, key=lambda info: info.file_size).filename
        name = "db.sqlite3" if entry == "db.sqlite3" else biggest
        real_size = handle.getinfo(name).file_size
    for declared in (real_size // 2, real_size + 100):
        archive = tmp_path / f"lying-{declared}.aiida"
        archive.write_bytes(valid_zip.read_bytes())
        patch_declared_size(archive, name, declared)
        assert_refused(archive, store, name)


def test_limited_reader_stops_at_the_first_byte_beyond_the_declared_size():
    limits = ArchiveLimits()
    reader = LimitedReader(io.BytesIO(b"x" * 20), "entry", 10, limits, ByteBudget(limits.max_total_bytes))
    with pytest.raises(ArchiveError, match="'entry' declares 10 bytes but holds more"):
        while reader.read(4):
            pass
    assert reader.produced <= 11


def test_limited_reader_reports_a_short_entry():
    limits = ArchiveLimits()
    reader = LimitedReader(io.BytesIO(b"x" * 5), "short", 10, limits, ByteBudget(limits.max_total_bytes))
    with pytest.raises(ArchiveError, match="ends after 5 of its declared 10 bytes"):
        reader.read()
        reader.read()


def test_budget_is_shared_by_every_entry_of_an_archive():
    limits = ArchiveLimits()
    budget = ByteBudget(15)
    LimitedReader(io.BytesIO(b"a" * 10), "first", 10, limits, budget).read()
    with pytest.raises(ArchiveError, match="15 bytes in total"):
        LimitedReader(io.BytesIO(b"b" * 10), "second", 10, limits, budget).read()


def test_limited_reader_enforces_the_entry_limit_over_a_larger_declaration():
    limits = ArchiveLimits(max_entry_bytes=8)
    reader = LimitedReader(io.BytesIO(b"x" * 20), "big", 20, limits, ByteBudget(100))
    with pytest.raises(ArchiveError, match="may produce at most 8 bytes"):
        reader.read()


@pytest.mark.parametrize(
    "options",
    [
        {"max_total_bytes": -1},
        {"max_entries": 1.5},
        {"max_ratio": 0.5},
        {"max_ratio": True},
        {"max_entry_bytes": None},
    ],
)
def test_limits_are_validated(options):
    with pytest.raises(InputValidationError, match="ArchiveLimits"):
        ArchiveLimits(**options)


def test_inspect_applies_the_same_checks(tmp_path):
    archive = zip_with_entry(tmp_path / "evil.aiida", "../evil")
    with pytest.raises(ArchiveError, match="refusing the entry"):
        inspect_archive(archive)


def loosen_table(database: Path, table: str) -> None:
    """Rebuild a table without its constraints, as a hostile archive could."""
    connection = sqlite3.connect(database)
    connection.execute(f"CREATE TABLE loose AS SELECT * FROM {table}")
    connection.execute(f"DROP TABLE {table}")
    connection.execute(f"ALTER TABLE loose RENAME TO {table}")
    connection.commit()
    connection.close()


@pytest.mark.parametrize(
    ("statement", "match"),
    [
        (
            "INSERT INTO db_dbnode SELECT id + 1000, uuid, node_type, process_type, label, description, "
            "ctime, mtime, attributes, extras, repository_metadata, dbcomputer_id, user_id FROM db_dbnode "
            "LIMIT 1",
            "rows cannot be stored",
        ),
        ("UPDATE db_dbnode SET attributes = '{broken' WHERE id = 1", "malformed JSON"),
        (
            "UPDATE db_dbnode SET repository_metadata = '{\"o\": 5}' WHERE id = 1",
            "malformed repository_metadata",
        ),
        ("UPDATE db_dbnode SET ctime = 'yesterday' WHERE id = 1", "malformed time"),
        ("UPDATE db_dbnode SET user_id = 77 WHERE id = 1", "user 77"),
    ],
)
def test_rows_a_valid_archive_cannot_hold_are_refused(store, graph_store, tmp_path, statement, match):
    folder = create_archive(graph_store[0], tmp_path / "folder", archive_format="folder")
    loosen_table(folder / "db.sqlite3", "db_dbnode")
    connection = sqlite3.connect(folder / "db.sqlite3")
    connection.execute(statement)
    connection.commit()
    connection.close()
    assert_refused(folder, store, match)


def test_limited_reader_reads_nothing_when_asked_for_nothing():
    limits = ArchiveLimits()
    reader = LimitedReader(io.BytesIO(b"abc"), "entry", 3, limits, ByteBudget(100))
    assert reader.read(0) == b""
    assert reader.read(2) == b"ab"
    assert reader.read() == b"c"
    assert reader.read() == b""


def test_entry_count_is_checked_before_the_central_directory_is_read(store, valid_zip, monkeypatch):
    from pytest_tempstore.archive import source

    def no_parsing(*args, **kwargs):
        raise AssertionError("the central directory was read")

    monkeypatch.setattr(source.zipfile, "ZipFile", no_parsing)
    with pytest.raises(ArchiveError, match="entries, more than the limit of 3"):
        import_archive(valid_zip, store, limits=ArchiveLimits(max_entries=3))


def test_zip64_entry_count_is_read_from_the_zip64_record(tmp_path):
    from pytest_tempstore.archive.source import _declared_entry_count

    entries = 5_000_000
    zip64_end = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, 0, 0)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, 0, 1)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    archive = tmp_path / "z64.zip"
    archive.write_bytes(zip64_end + locator + end)
    assert _declared_entry_count(archive) == entries
