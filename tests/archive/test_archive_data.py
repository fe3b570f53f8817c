"""The archives in ``tests/data/archives``, written by aiida-core 2.9.4 (by ``make_archives.py`` there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tempstore.archive import EntityCounts, create_archive, import_archive, inspect_archive

ARCHIVES = Path(__file__).resolve().parents[1] / "data" / "archives"
PROVENANCE = ARCHIVES / "provenance.aiida"
EMPTY = ARCHIVES / "empty.aiida"
SHARED = b"identical content in two nodes"


def nodes_by_label(description):
    return {node["label"]: node for node in description["nodes"].values()}


def test_provenance_archive_imports_with_everything_in_it(store, describe):
    report = import_archive(PROVENANCE, store, include_authinfos=True)

    assert report.new == EntityCounts(
        users=0, computers=1, authinfos=1, nodes=9, groups=1, comments=1, logs=1, links=13, group_nodes=2
    )
    content = describe(store)
    assert {link[2] for link in content["links"]} == {
        "create",
        "return",
        "input_calc",
        "input_work",
        "call_calc",
        "call_work",
    }
    nodes = nodes_by_label(content)
    assert nodes["files"]["files"] == {
        "sub/deeper/x.txt": b"nested",
        "empty.txt": b"",
        "bin.dat": bytes(range(256)),
        "données/résumé-ü.txt": "données ✓".encode(),
        "shared.txt": SHARED,
    }
    assert nodes["files"]["extras"] == {"tag": {"nested": [1, 2.5, None, "ü"]}}
    assert nodes["retrieved"]["files"] == {"copy.txt": SHARED}
    assert nodes["job"]["computer"] is not None
    assert all("_aiida_hash" not in node["extras"] for node in content["nodes"].values())
    assert [group[:3] for group in content["groups"].values()] == [("my-group", "core", "a group ✓")]
    assert [comment[2] for comment in content["comments"].values()] == ["a comment ✓"]
    assert [(log[2], log[3], log[4]) for log in content["logs"].values()] == [
        ("WARNING", "careful", {"line": 3})
    ]
    assert list(content["authinfos"].values()) == [({"safe_interval": 0.5}, {}, True)]
    assert report.objects_copied == 6


def test_provenance_archive_keeps_its_uuids(store):
    summary = inspect_archive(PROVENANCE)
    import_archive(PROVENANCE, store)
    with store.transaction() as session:
        count = (
            session.connection().exec_driver_sql("SELECT COUNT(DISTINCT uuid) FROM db_dbnode").scalar_one()
        )
    assert count == summary.entities.nodes == 9


def test_provenance_archive_survives_our_round_trip(store, new_store, describe, tmp_path):
    import_archive(PROVENANCE, store, include_authinfos=True)
    again = new_store()

    archive = create_archive(store, tmp_path / "again.aiida", include_authinfos=True)
    import_archive(archive, again, include_authinfos=True, create_group=False)

    assert describe(again, with_import_groups=True) == describe(store, with_import_groups=True)


def test_empty_archive_imports_nothing(store, describe):
    before = describe(store, with_import_groups=True)
    report = import_archive(EMPTY, store)
    assert report.new == EntityCounts()
    assert report.existing == EntityCounts(users=1)
    assert report.import_group_id is None
    assert describe(store, with_import_groups=True) == before


@pytest.mark.parametrize("archive", [PROVENANCE, EMPTY], ids=lambda path: path.name)
def test_committed_archives_stay_small(archive):
    assert archive.stat().st_size < 16 * 1024
