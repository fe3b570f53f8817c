"""``import_archive``: matching, remapping, merging, the import group, old versions, all-or-nothing."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import shutil
import sqlite3
import tarfile
import zipfile
from typing import TYPE_CHECKING

import pytest

from pytest_tempstore.archive import EntityCounts, ImportReport, create_archive, import_archive
from pytest_tempstore.exceptions import ArchiveError, IncompatibleArchiveVersion, InputValidationError

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def archive_folder(graph_store, tmp_path):
    """The sample graph written as an archive folder (with authinfos), and its store."""
    store, graph = graph_store
    return (
        create_archive(store, tmp_path / "graph", archive_format="folder", include_authinfos=True),
        store,
        graph,
    )


def sql(database: Path, statement: str, *parameters: object) -> None:
    connection = sqlite3.connect(database)
    try:
        with connection:
            connection.execute(statement, parameters)
    finally:
        connection.close()


def set_version(folder: Path, version: str) -> None:
    metadata = json.loads((folder / "metadata.json").read_text())
    metadata["export_version"] = version
    (folder / "metadata.json").write_text(json.dumps(metadata))


def state(store) -> tuple[object, ...]:
    """Rows and objects of a store, for checking that a failed import changed nothing."""
    with store.transaction() as session:
        connection = session.connection()
        tables = [
            name
            for (name,) in connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        rows = {
            table: sorted(map(tuple, connection.exec_driver_sql(f"SELECT * FROM {table}")))
            for table in tables
        }
    return rows, sorted(store.get_repository().list_objects())


@pytest.mark.parametrize("archive_format", ["zip", "folder"])
def test_round_trip_keeps_everything_an_archive_carries(
    graph_store, new_store, describe, tmp_path, archive_format
):
    store, _ = graph_store
    archive = create_archive(store, tmp_path / "a", archive_format=archive_format)
    target = new_store()

    report = import_archive(archive, target)

    assert describe(target) == describe(store, as_imported=True)
    assert report.new == EntityCounts(
        users=1, computers=1, nodes=10, groups=1, comments=1, logs=1, links=13, group_nodes=2
    )
    assert report.existing == EntityCounts(users=1)
    assert report.objects_copied == 6
    assert report.archive == archive
    assert report.archive_version == "main_0001"


def test_report_is_frozen(archive_folder, store):
    report = import_archive(archive_folder[0], store)
    assert isinstance(report, ImportReport)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.objects_copied = 0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.new.nodes = 0  # type: ignore[misc]


def test_ids_are_remapped_into_a_store_with_data(archive_folder, new_store, populate, describe):
    archive, source, _ = archive_folder
    target = new_store()
    populate(target, tag="-mine")
    before = describe(target)

    import_archive(archive, target)

    after = describe(target)
    expected = describe(source, as_imported=True)
    for kind in ("nodes", "comments", "logs", "groups", "computers"):
        assert after[kind] == {**before[kind], **expected[kind]}
    assert sorted(after["links"]) == sorted(before["links"] + expected["links"])


def test_importing_twice_adds_nothing_but_an_import_group(archive_folder, store, describe):
    archive, _, _ = archive_folder
    first = import_archive(archive, store)
    content = describe(store)

    second = import_archive(archive, store)

    assert describe(store) == content
    assert second.new == EntityCounts()
    assert second.existing == EntityCounts(
        users=2, computers=1, nodes=10, groups=1, comments=1, logs=1, links=13, group_nodes=2
    )
    assert second.objects_copied == 0
    assert second.objects_existing == 6
    assert second.import_group_id not in (None, first.import_group_id)


def import_groups(store) -> dict[int, tuple[str, list[int]]]:
    with store.transaction() as session:
        connection = session.connection()
        groups = connection.exec_driver_sql(
            "SELECT id, label FROM db_dbgroup WHERE type_string = 'core.import'"
        )
        return {
            pk: (
                label,
                sorted(
                    node
                    for (node,) in connection.exec_driver_sql(
                        "SELECT dbnode_id FROM db_dbgroup_dbnodes WHERE dbgroup_id = ?", (pk,)
                    )
                ),
            )
            for pk, label in groups.all()
        }


def all_node_ids(store) -> list[int]:
    with store.transaction() as session:
        return sorted(pk for (pk,) in session.connection().exec_driver_sql("SELECT id FROM db_dbnode"))


def test_import_group_holds_every_node_of_the_archive(archive_folder, store):
    archive, _, _ = archive_folder
    first = import_archive(archive, store)
    second = import_archive(archive, store)

    groups = import_groups(store)
    assert set(groups) == {first.import_group_id, second.import_group_id}
    for label, members in groups.values():
        assert re.fullmatch(r"\d{8}-\d{6}(-\d+)?", label)
        assert members == all_node_ids(store)
    assert len({label for label, _ in groups.values()}) == 2, "labels are unique"


def test_no_import_group_when_not_asked_or_without_nodes(archive_folder, new_store, tmp_path):
    archive, _, _ = archive_folder
    store = new_store()
    assert import_archive(archive, store, create_group=False).import_group_id is None
    assert import_groups(store) == {}

    empty = create_archive(new_store(), tmp_path / "empty.aiida")
    assert import_archive(empty, store).import_group_id is None
    assert import_groups(store) == {}


def test_named_import_group_is_made_once_and_reused(archive_folder, store):
    archive, _, _ = archive_folder
    first = import_archive(archive, store, group_label="from-archive")
    second = import_archive(archive, store, group_label="from-archive")

    assert first.import_group_id == second.import_group_id
    assert import_groups(store) == {first.import_group_id: ("from-archive", all_node_ids(store))}


@pytest.mark.parametrize("label", ["", 5])
def test_bad_group_label_is_refused(archive_folder, store, label):
    with pytest.raises(InputValidationError, match="group_label"):
        import_archive(archive_folder[0], store, group_label=label)


def test_group_label_without_a_group_is_refused(archive_folder, store):
    with pytest.raises(InputValidationError, match="create_group"):
        import_archive(archive_folder[0], store, create_group=False, group_label="x")


def test_group_memberships_are_merged(graph_store, new_store, describe, tmp_path):
    source, graph = graph_store
    target = new_store()
    import_archive(create_archive(source, tmp_path / "one.aiida"), target)
    source.bulk_insert("group_node", [{"dbgroup_id": graph.group_id, "dbnode_id": graph.pks["lonely"]}])

    report = import_archive(create_archive(source, tmp_path / "two.aiida"), target)

    assert (report.new.group_nodes, report.existing.group_nodes) == (1, 2)
    (group,) = describe(target)["groups"].values()
    assert group[-1] == sorted(graph.uuids[name] for name in ("x", "folder", "lonely"))


def test_new_links_between_existing_nodes_are_added(graph_store, new_store, describe, tmp_path):
    source, graph = graph_store
    target = new_store()
    import_archive(create_archive(source, tmp_path / "one.aiida"), target)
    source.bulk_insert(
        "link",
        [
            {
                "input_id": graph.pks["lonely"],
                "output_id": graph.pks["job"],
                "type": "input_calc",
                "label": "p",
            }
        ],
    )

    report = import_archive(create_archive(source, tmp_path / "two.aiida"), target)

    assert (report.new.links, report.existing.links) == (1, 13)
    assert (graph.uuids["lonely"], graph.uuids["job"], "input_calc", "p") in describe(target)["links"]


def test_existing_entities_are_left_as_they_are(archive_folder, store, describe):
    archive, _, graph = archive_folder
    import_archive(archive, store)
    with store.transaction() as session:
        node_id = (
            session.connection()
            .exec_driver_sql("SELECT id FROM db_dbnode WHERE uuid = ?", (graph.uuids["lonely"],))
            .scalar_one()
        )
    store.bulk_update("node", [{"id": node_id, "extras": {"mine": True}, "label": "renamed"}])

    import_archive(archive, store)

    node = describe(store)["nodes"][graph.uuids["lonely"]]
    assert (node["extras"], node["label"]) == ({"mine": True}, "renamed")


def test_taken_computer_and_group_labels_are_renamed(archive_folder, store, describe):
    store.bulk_insert("computer", [{"label": "localhost"}], allow_defaults=True)
    store.bulk_insert(
        "group", [{"label": "grp", "type_string": "other", "user_id": store.default_user_id}], True
    )

    import_archive(archive_folder[0], store)

    content = describe(store)
    assert sorted(computer[0] for computer in content["computers"].values()) == [
        "localhost",
        "localhost (Imported #0)",
    ]
    assert sorted(group[0] for group in content["groups"].values()) == ["grp", "grp (Imported #0)"]


def test_users_are_matched_by_email(archive_folder, new_store, describe):
    target = new_store(default_user_email="other@example.com")
    report = import_archive(archive_folder[0], target)
    assert (report.new.users, report.existing.users) == (1, 1)
    assert [user[0] for user in describe(target)["users"]] == ["other@example.com", "user@email.com"]


def test_authinfos_come_only_when_asked(archive_folder, new_store, describe):
    archive, source, _ = archive_folder
    without = new_store()
    import_archive(archive, without)
    assert describe(without)["authinfos"] == {}

    with_authinfos = new_store()
    first = import_archive(archive, with_authinfos, include_authinfos=True)
    second = import_archive(archive, with_authinfos, include_authinfos=True)
    assert describe(with_authinfos)["authinfos"] == describe(source)["authinfos"]
    assert (first.new.authinfos, second.new.authinfos, second.existing.authinfos) == (1, 0, 1)


def test_private_extras_and_checkpoints_are_dropped_from_new_nodes(archive_folder, store, describe):
    archive, _, graph = archive_folder
    sql(
        archive / "db.sqlite3",
        "UPDATE db_dbnode SET attributes = ?, extras = ? WHERE uuid = ?",
        json.dumps({"sealed": True, "checkpoints": "code"}),
        json.dumps({"_aiida_hash": "h", "kept": 1}),
        graph.uuids["add"],
    )
    sql(
        archive / "db.sqlite3",
        "UPDATE db_dbnode SET extras = '{\"hidden\": true}', node_type = 'data.core.code.Code.' "
        "WHERE uuid = ?",
        graph.uuids["lonely"],
    )

    import_archive(archive, store)

    nodes = describe(store)["nodes"]
    assert (nodes[graph.uuids["add"]]["attributes"], nodes[graph.uuids["add"]]["extras"]) == (
        {"sealed": True},
        {"kept": 1},
    )
    assert nodes[graph.uuids["lonely"]]["extras"] == {}


def test_uuids_and_times_are_kept(archive_folder, store, describe):
    archive, source, graph = archive_folder
    import_archive(archive, store)
    node = describe(store)["nodes"][graph.uuids["folder"]]
    assert (node["ctime"], node["mtime"]) == ("2024-01-02 03:04:05.678901", "2024-02-03 04:05:06.789012")
    assert describe(store)["comments"] == describe(source)["comments"]


@pytest.mark.parametrize("version", ["main_0000", "main_0000a", "main_0000b", "main_0001"])
def test_every_main_version_is_read(archive_folder, store, describe, version):
    archive, source, _ = archive_folder
    set_version(archive, version)
    report = import_archive(archive, store)
    assert report.archive_version == version
    assert describe(store) == describe(source, as_imported=True)


def make_nullable_copy(database: Path) -> None:
    """Rebuild every table without its NOT NULL constraints, as ``main_0000`` allowed."""
    connection = sqlite3.connect(database)
    try:
        tables = [
            name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in tables:
            connection.execute(f"CREATE TABLE loose AS SELECT * FROM {table}")
            connection.execute(f"DROP TABLE {table}")
            connection.execute(f"ALTER TABLE loose RENAME TO {table}")
        connection.commit()
    finally:
        connection.close()


@pytest.mark.parametrize("version", ["main_0000", "main_0000a"])
def test_nulls_of_early_versions_get_the_later_defaults(archive_folder, store, describe, version):
    archive, _, graph = archive_folder
    database = archive / "db.sqlite3"
    make_nullable_copy(database)
    for statement in (
        "UPDATE db_dbnode SET label = NULL, description = NULL",
        "UPDATE db_dbcomputer SET hostname = NULL, metadata = NULL",
        "UPDATE db_dbgroup SET type_string = NULL, description = NULL",
        "UPDATE db_dblog SET loggername = NULL, metadata = NULL",
        "UPDATE db_dbcomment SET content = NULL",
        "UPDATE db_dbuser SET first_name = NULL",
        "UPDATE db_dbauthinfo SET auth_params = NULL",
        # An authinfo whose computer was deleted: main_0000a drops it.
        "INSERT INTO db_dbauthinfo (id, aiidauser_id, dbcomputer_id, metadata, auth_params, enabled) "
        "VALUES (99, 1, NULL, '{}', '{}', 1)",
    ):
        sql(database, statement)
    set_version(archive, version)

    report = import_archive(archive, store, include_authinfos=True)

    content = describe(store)
    assert {node["label"] for node in content["nodes"].values()} == {""}
    assert {node["description"] for node in content["nodes"].values()} == {""}
    assert [computer[1:] for computer in content["computers"].values()] == [("", "", "", "", {})]
    assert [group[1:3] for group in content["groups"].values()] == [("core", "")]
    assert [(log[1], log[4]) for log in content["logs"].values()] == [("", {})]
    assert [comment[2] for comment in content["comments"].values()] == [""]
    assert report.new.authinfos == 1
    assert list(content["authinfos"].values()) == [({}, {}, True)]
    assert content["nodes"][graph.uuids["folder"]]["files"]


def test_legacy_archive_is_refused_with_advice(tmp_path, store):
    archive = tmp_path / "old.aiida"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("metadata.json", json.dumps({"export_version": "0.9", "aiida_version": "1.6.0"}))
        handle.writestr("data.json", "{}")

    with pytest.raises(IncompatibleArchiveVersion, match=r"0\.9.*verdi archive migrate"):
        import_archive(archive, store)


def test_legacy_archive_without_metadata_is_refused_with_advice(tmp_path, store):
    archive = tmp_path / "old.aiida"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("data.json", "{}")
    with pytest.raises(ArchiveError, match="verdi archive migrate"):
        import_archive(archive, store)


def test_legacy_tar_archive_is_refused_with_advice(tmp_path, store):
    archive = tmp_path / "old.tar.gz"
    with tarfile.open(archive, "w:gz") as handle:
        content = json.dumps({"export_version": "0.4"}).encode()
        info = tarfile.TarInfo("metadata.json")
        info.size = len(content)
        handle.addfile(info, io.BytesIO(content))
    with pytest.raises(ArchiveError, match=r"tar file.*verdi archive migrate"):
        import_archive(archive, store)


def corrupt_last_object(folder: Path) -> str:
    """Replace the content of the object read last; return its key."""
    key = max(path.name for path in (folder / "repo").iterdir())
    path = folder / "repo" / key
    content = path.read_bytes()
    path.unlink()  # the archive's objects may be hard links to the source store's files
    path.write_bytes(content + b"tampered")
    return key


def test_failed_import_leaves_rows_and_objects_as_they_were(archive_folder, store):
    archive, _, _ = archive_folder
    key = store.get_repository().put_object_from_filelike(io.BytesIO(b"mine"))
    store.bulk_insert(
        "node", [{"user_id": store.default_user_id, "repository_metadata": {"o": {"f": {"k": key}}}}], True
    )
    before = state(store)
    key = corrupt_last_object(archive)

    with pytest.raises(ArchiveError, match=f"object {key} is corrupt"):
        import_archive(archive, store)

    assert state(store) == before


def test_failure_while_inserting_rows_leaves_the_store_as_it_was(archive_folder, store):
    archive, _, _ = archive_folder
    sql(
        archive / "db.sqlite3",
        "UPDATE db_dblink SET input_id = 4242 WHERE id = (SELECT MIN(id) FROM db_dblink)",
    )
    before = state(store)

    with pytest.raises(ArchiveError, match="4242"):
        import_archive(archive, store)

    assert state(store) == before


def test_import_inside_a_transaction_joins_it(archive_folder, store):
    before = state(store)
    with pytest.raises(RuntimeError, match="outer failure"), store.transaction():
        import_archive(archive_folder[0], store, create_group=False)
        assert len(all_node_ids(store)) == 10
        raise RuntimeError("outer failure")
    rows, _ = state(store)
    assert rows == before[0]


def test_only_referenced_objects_are_copied(graph_store, sample_files, store, tmp_path):
    source, _ = graph_store
    archive = create_archive(source, tmp_path / "extra", archive_format="folder")
    stray = b"stray object in the archive"
    (archive / "repo" / hashlib.sha256(stray).hexdigest()).write_bytes(stray)

    import_archive(archive, store)

    assert set(store.get_repository().list_objects()) == sample_files.referenced_keys


def test_kept_store_folder_loads_back(graph_store, new_store, describe, tmp_path):
    source, _ = graph_store
    kept = create_archive(source, tmp_path / "tempstore-kept" / "test_x", archive_format="folder")
    copy = tmp_path / "moved"
    shutil.copytree(kept, copy)
    target = new_store()
    import_archive(copy, target)
    assert describe(target) == describe(source, as_imported=True)
