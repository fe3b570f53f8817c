"""``create_archive``: the layout aiida-core reads, its options, atomic writes, exports of part of a store."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zipfile
from typing import TYPE_CHECKING

import pytest

from pytest_tempstore.archive import create_archive
from pytest_tempstore.exceptions import ArchiveError, InputValidationError

if TYPE_CHECKING:
    from pathlib import Path

EXPECTED_METADATA_KEYS = {
    "export_version",
    "aiida_version",
    "key_format",
    "compression",
    "ctime",
    "creation_parameters",
}


def query(database: Path, sql: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(database)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def extract_database(archive: Path, into: Path) -> Path:
    with zipfile.ZipFile(archive) as handle:
        handle.extract("db.sqlite3", into)
    return into / "db.sqlite3"


def test_zip_has_aiida_layout_and_only_referenced_objects(graph_store, sample_files, tmp_path):
    store, _ = graph_store
    target = tmp_path / "out.aiida"

    written = create_archive(store, target)

    assert written == target
    with zipfile.ZipFile(target) as archive:
        infos = archive.infolist()
        assert [info.filename for info in infos[:2]] == ["metadata.json", "db.sqlite3"]
        assert infos[0].compress_type == zipfile.ZIP_STORED
        assert infos[1].compress_type == zipfile.ZIP_DEFLATED
        objects = {info.filename.removeprefix("repo/"): info for info in infos[2:]}
        assert set(objects) == sample_files.referenced_keys
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in objects.values())
        for key in objects:
            assert hashlib.sha256(archive.read(f"repo/{key}")).hexdigest() == key
        assert hashlib.sha256(sample_files.unreferenced).hexdigest() not in objects
        metadata = json.loads(archive.read("metadata.json"))
    assert set(metadata) == EXPECTED_METADATA_KEYS
    assert metadata["export_version"] == "main_0001"
    assert metadata["aiida_version"] == "2.9.4"
    assert metadata["key_format"] == "sha256"
    assert metadata["compression"] == 6
    parameters = metadata["creation_parameters"]
    assert parameters["entities_starting_set"] is None
    assert (parameters["include_authinfos"], parameters["include_comments"], parameters["include_logs"]) == (
        False,
        True,
        True,
    )
    assert parameters["graph_traversal_rules"]["create_backward"] is True
    assert parameters["graph_traversal_rules"]["input_calc_forward"] is False


def test_compression_zero_stores_every_entry(graph_store, tmp_path):
    store, _ = graph_store
    target = create_archive(store, str(tmp_path / "stored.aiida"), compression=0)
    with zipfile.ZipFile(target) as archive:
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}
        assert json.loads(archive.read("metadata.json"))["compression"] == 0


@pytest.mark.parametrize("compression", [-1, 10, 2.5, True, "6"])
def test_bad_compression_is_refused_before_writing(store, tmp_path, compression):
    with pytest.raises(InputValidationError, match="compression"):
        create_archive(store, tmp_path / "x.aiida", compression=compression)
    assert list(tmp_path.iterdir()) == []


def test_unknown_archive_format_is_refused(store, tmp_path):
    with pytest.raises(InputValidationError, match="archive_format"):
        create_archive(store, tmp_path / "x", archive_format="tar")  # type: ignore[arg-type]


def test_backend_may_be_given_by_keyword(store, tmp_path):
    assert create_archive(backend=store, filename=tmp_path / "k.aiida").is_file()


def test_folder_has_the_same_layout_unzipped(graph_store, sample_files, tmp_path):
    store, _ = graph_store
    target = create_archive(store, tmp_path / "kept", archive_format="folder")

    assert sorted(path.name for path in target.iterdir()) == ["db.sqlite3", "metadata.json", "repo"]
    objects = {path.name: path.read_bytes() for path in (target / "repo").iterdir()}
    assert set(objects) == sample_files.referenced_keys
    assert all(hashlib.sha256(content).hexdigest() == key for key, content in objects.items())
    assert json.loads((target / "metadata.json").read_text())["export_version"] == "main_0001"
    assert query(target / "db.sqlite3", "SELECT COUNT(*) FROM db_dbnode") == [(10,)]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["kept"], "no temporary folder is left beside"


def test_empty_store_folder_still_has_a_repo_folder(store, tmp_path):
    target = create_archive(store, tmp_path / "empty", archive_format="folder")
    assert (target / "repo").is_dir()
    assert list((target / "repo").iterdir()) == []


@pytest.mark.parametrize("archive_format", ["zip", "folder"])
def test_existing_target_is_kept_without_overwrite(store, tmp_path, archive_format):
    target = tmp_path / "taken"
    if archive_format == "zip":
        target.write_bytes(b"precious")
    else:
        target.mkdir()
        (target / "file").write_bytes(b"precious")

    with pytest.raises(FileExistsError, match="taken"):
        create_archive(store, target, archive_format=archive_format)

    if archive_format == "zip":
        assert target.read_bytes() == b"precious"
    else:
        assert (target / "file").read_bytes() == b"precious"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["taken"]


@pytest.mark.parametrize("archive_format", ["zip", "folder"])
def test_overwrite_replaces_the_target(graph_store, tmp_path, archive_format):
    store, _ = graph_store
    target = tmp_path / "archive"
    create_archive(store, target, archive_format=archive_format, include_comments=False)

    create_archive(store, target, archive_format=archive_format, overwrite=True)

    database = (
        target / "db.sqlite3" if archive_format == "folder" else extract_database(target, tmp_path / "x")
    )
    assert query(database, "SELECT COUNT(*) FROM db_dbcomment") == [(1,)]
    leftovers = {path.name for path in tmp_path.iterdir()} - {"archive", "x"}
    assert leftovers == set()


def test_overwrite_refuses_to_replace_a_folder_by_a_file(store, tmp_path):
    (tmp_path / "dir").mkdir()
    with pytest.raises(ArchiveError, match="cannot replace"):
        create_archive(store, tmp_path / "dir", overwrite=True)
    assert (tmp_path / "dir").is_dir()


@pytest.mark.parametrize("archive_format", ["zip", "folder"])
def test_failure_leaves_nothing_behind(store, tmp_path, archive_format):
    missing_key = "0" * 64
    store.bulk_insert(
        "node",
        [{"user_id": store.default_user_id, "repository_metadata": {"o": {"f": {"k": missing_key}}}}],
        allow_defaults=True,
    )

    with pytest.raises(ArchiveError, match=missing_key):
        create_archive(store, tmp_path / "broken", archive_format=archive_format)

    assert list(tmp_path.iterdir()) == []


def test_missing_parent_folders_are_made(store, tmp_path):
    target = create_archive(store, tmp_path / "a" / "b" / "c.aiida")
    assert target.is_file()


def test_include_options_leave_tables_empty(graph_store, tmp_path):
    store, _ = graph_store
    default = create_archive(store, tmp_path / "default", archive_format="folder")
    bare = create_archive(
        store, tmp_path / "bare", archive_format="folder", include_comments=False, include_logs=False
    )
    full = create_archive(store, tmp_path / "full", archive_format="folder", include_authinfos=True)

    def counts(folder: Path) -> tuple[object, ...]:
        return query(
            folder / "db.sqlite3",
            "SELECT (SELECT COUNT(*) FROM db_dbcomment), (SELECT COUNT(*) FROM db_dblog), "
            "(SELECT COUNT(*) FROM db_dbauthinfo)",
        )[0]

    assert counts(default) == (1, 1, 0)
    assert counts(bare) == (0, 0, 0)
    assert counts(full) == (1, 1, 1)
    parameters = json.loads((full / "metadata.json").read_text())["creation_parameters"]
    assert parameters["include_authinfos"] is True


def test_store_settings_and_process_checkpoints_stay_out(graph_store, tmp_path):
    store, graph = graph_store
    store.set_global_variable("secret", "value")

    target = create_archive(store, tmp_path / "out", archive_format="folder")

    assert query(target / "db.sqlite3", "SELECT COUNT(*) FROM db_dbsetting") == [(0,)]
    (attributes,) = query(
        target / "db.sqlite3", f"SELECT attributes FROM db_dbnode WHERE id = {graph.pks['add']}"
    )[0]
    assert json.loads(str(attributes)) == {"sealed": True}
    assert store.get_global_variable("secret") == "value"


def node_uuids(folder: Path) -> set[str]:
    return {str(uuid) for (uuid,) in query(folder / "db.sqlite3", "SELECT uuid FROM db_dbnode")}


def test_subset_follows_the_default_export_rules(graph_store, sample_files, tmp_path):
    store, graph = graph_store

    target = create_archive(store, tmp_path / "sum", archive_format="folder", entities=[graph.pks["sum"]])

    expected = {graph.uuids[name] for name in ("sum", "add", "x", "y", "inner", "outer")}
    assert node_uuids(target) == expected
    database = target / "db.sqlite3"
    links = query(database, "SELECT COUNT(*) FROM db_dblink")[0][0]
    assert links == 11, "every link among the exported nodes"
    assert query(database, "SELECT label FROM db_dbgroup") == [("grp",)]
    assert query(database, "SELECT COUNT(*) FROM db_dbgroup_dbnodes") == [(1,)], "only exported members"
    assert query(database, "SELECT email FROM db_dbuser") == [("user@email.com",)]
    assert query(database, "SELECT COUNT(*) FROM db_dbcomputer") == [(0,)]
    assert query(database, "SELECT COUNT(*) FROM db_dblog") == [(1,)]
    assert list((target / "repo").iterdir()) == []
    metadata = json.loads((target / "metadata.json").read_text())
    assert metadata["creation_parameters"]["entities_starting_set"] == {"node": [graph.uuids["sum"]]}


def test_subset_brings_computers_authinfos_users_comments_and_files(graph_store, sample_files, tmp_path):
    store, graph = graph_store

    target = create_archive(
        store, tmp_path / "job", archive_format="folder", entities=[graph.pks["job"]], include_authinfos=True
    )

    assert node_uuids(target) == {graph.uuids[name] for name in ("job", "folder", "retrieved")}
    database = target / "db.sqlite3"
    assert query(database, "SELECT label FROM db_dbcomputer") == [("localhost",)]
    assert query(database, "SELECT COUNT(*) FROM db_dbauthinfo") == [(1,)]
    assert sorted(query(database, "SELECT email FROM db_dbuser")) == [
        ("other@example.com",),
        ("user@email.com",),
    ]
    assert query(database, "SELECT content FROM db_dbcomment") == [("a comment ✓",)]
    assert {path.name for path in (target / "repo").iterdir()} == sample_files.referenced_keys


def test_subset_of_a_lonely_node(graph_store, tmp_path):
    store, graph = graph_store
    target = create_archive(store, tmp_path / "one", archive_format="folder", entities=[graph.pks["lonely"]])
    assert node_uuids(target) == {graph.uuids["lonely"]}
    assert query(target / "db.sqlite3", "SELECT COUNT(*) FROM db_dbgroup") == [(0,)]


@pytest.mark.parametrize(
    ("entities", "message"), [([10_000], "10000"), (["1"], "integers"), ([True], "integers")]
)
def test_subset_of_unknown_or_malformed_pks_is_refused(graph_store, tmp_path, entities, message):
    store, _ = graph_store
    with pytest.raises(InputValidationError, match=message):
        create_archive(store, tmp_path / "x.aiida", entities=entities)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("archive_format", ["zip", "folder"])
def test_target_made_by_someone_else_meanwhile_is_not_replaced(store, tmp_path, monkeypatch, archive_format):
    from pytest_tempstore.archive import writer

    target = tmp_path / "raced"
    original = writer.build_metadata

    def build_metadata_then_race(**options):
        # Another process creates the target while this one is building its archive.
        if archive_format == "zip":
            target.write_bytes(b"theirs")
        else:
            target.mkdir()
            (target / "theirs").write_bytes(b"theirs")
        return original(**options)

    monkeypatch.setattr(writer, "build_metadata", build_metadata_then_race)

    with pytest.raises(FileExistsError, match="raced"):
        create_archive(store, target, archive_format=archive_format)

    kept = target if archive_format == "zip" else target / "theirs"
    assert kept.read_bytes() == b"theirs"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["raced"]
