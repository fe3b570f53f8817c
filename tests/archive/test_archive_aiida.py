"""Interoperability with aiida-core 2.9.4, for real: we read its archives, and it reads ours.

aiida-core runs in this process on its own throwaway profiles (its
``SqliteTempBackend``), with ``AIIDA_PATH`` pointing at a temporary folder. The
provenance graph is built once per module, with aiida-core's own calcfunctions
and workfunctions, so every comparison below is against what aiida-core wrote.
"""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

from pytest_tempstore.archive import create_archive, import_archive, inspect_archive

if TYPE_CHECKING:
    from collections.abc import Iterator

# aiida-core's own import makes an unstored group to read its type string, which SQLAlchemy warns about;
# and once its archive models were imported in the process (as the AiiDA-mode tests do) before a
# core.sqlite_temp profile is loaded, its nodes, comments and logs draw the same warning. The graphs
# these tests compare field by field show that nothing is lost.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:Object of type <Db\w+> not in session:sqlalchemy.exc.SAWarning"
)

BINARY = bytes(range(256)) * 16
SHARED = b"identical content in two nodes"


@pytest.fixture(scope="module")
def aiida_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """aiida-core, imported with a private ``AIIDA_PATH``, and a way to switch to a fresh profile."""
    config = tmp_path_factory.mktemp("aiida-config")
    (config / ".aiida").mkdir()  # present already, so aiida-core does not warn that it creates it
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIIDA_PATH", str(config))
        import aiida
        from aiida.manage import get_manager
        from aiida.manage.configuration.settings import AiiDAConfigDir
        from aiida.storage.sqlite_temp import SqliteTempBackend as AiidaTempBackend

        # aiida-core fixes its folder at first import, which an earlier test module may have done
        # under the test run's own private AIIDA_PATH; what matters is that it is not the user's.
        assert not AiiDAConfigDir.get().is_relative_to(Path.home()), "never the user's ~/.aiida"
        logger = logging.getLogger("aiida")
        level = logger.level
        logger.setLevel(logging.WARNING)
        counter = iter(range(1_000_000))

        def fresh_profile() -> Any:
            number = next(counter)
            profile = AiidaTempBackend.create_profile(
                f"archive-test-{number}",
                filepath=tmp_path_factory.mktemp(f"aiida-profile-{number}"),
                options={"warnings.development_version": False},
            )
            # A clean switch: nothing cached for the previous profile (its default user, its
            # session) may leak into the next one, whichever test runs first.
            get_manager().unload_profile()
            aiida.load_profile(profile)
            return profile

        try:
            yield SimpleNamespace(fresh_profile=fresh_profile, manager=get_manager())
        finally:
            get_manager().unload_profile()
            logger.setLevel(level)


def build_aiida_graph() -> dict[str, Any]:
    """A graph made by aiida-core itself: all six link types, files, groups, comments, logs, extras."""
    from aiida import orm
    from aiida.common import timezone
    from aiida.common.links import LinkType
    from aiida.engine import calcfunction, workfunction

    @calcfunction
    def add(x: orm.Int, y: orm.Int) -> orm.Int:
        return orm.Int(x.value + y.value)

    @workfunction
    def inner(x: orm.Int, y: orm.Int) -> orm.Int:
        return add(x, y)

    @workfunction
    def outer(x: orm.Int, y: orm.Int) -> orm.Int:
        return inner(x, y)

    total = outer(orm.Int(1), orm.Int(2))  # input_work, call_work, call_calc, input_calc, create, return

    user = orm.User.collection.get_default()
    computer = orm.Computer(
        label="localhost-ü", hostname="localhost", transport_type="core.local", scheduler_type="core.direct"
    ).store()
    authinfo = orm.AuthInfo(computer=computer, user=user)
    authinfo.set_auth_params({"safe_interval": 0.5})
    authinfo.store()

    folder = orm.FolderData()
    for path, content in {
        "sub/deeper/x.txt": b"nested",
        "empty.txt": b"",
        "bin.dat": BINARY,
        "données/résumé-ü.txt": "données ✓".encode(),
        "shared.txt": SHARED,
    }.items():
        folder.base.repository.put_object_from_filelike(io.BytesIO(content), path)
    folder.base.extras.set_many({"tag": {"nested": [1, 2.5, None, "ü"]}, "count": 3})
    folder.label = "fichiers ✓"
    folder.store()

    job = orm.CalcJobNode(computer=computer)
    job.set_process_type("aiida.calculations:core.arithmetic.add")
    job.base.links.add_incoming(folder, LinkType.INPUT_CALC, "folder")
    job.store()
    retrieved = orm.FolderData()
    retrieved.base.repository.put_object_from_filelike(io.BytesIO(SHARED), "copy.txt")
    retrieved.base.links.add_incoming(job, LinkType.CREATE, "retrieved")
    retrieved.store()
    job.seal()

    group = orm.Group(label="my-group", description="a group ✓").store()
    group.base.extras.set("k", "v")
    group.add_nodes([folder, total])
    folder.base.comments.add("a comment ✓")
    orm.Log(timezone.now(), "aiida.test", "WARNING", job.pk, "careful", {"line": 3}).store()
    orm.Dict({"a": {"b": [1, 2]}}, label="lonely").store()
    return {"folder": folder.uuid, "job": job.uuid, "total": total.uuid}


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _files(tree: dict[str, Any], read: Any, prefix: str = "") -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name, entry in tree.get("o", {}).items():
        if "k" in entry:
            files[prefix + name] = read(entry["k"])
        else:
            files.update(_files(entry, read, f"{prefix}{name}/"))
    return files


def describe_aiida(*, with_import_groups: bool = False) -> dict[str, Any]:
    """The loaded aiida-core profile's content, in the shape of the ``describe`` fixture."""
    from aiida import orm
    from aiida.manage import get_manager

    def query(entity: Any, fields: list[str]) -> list[list[Any]]:
        return orm.QueryBuilder().append(entity, project=fields).all()

    read = get_manager().get_profile_storage().get_repository().get_object_content
    emails = dict(query(orm.User, ["id", "email"]))
    computers = dict(query(orm.Computer, ["id", "uuid"]))
    node_uuids = dict(query(orm.Node, ["id", "uuid"]))
    groups = {}
    for pk, uuid, label, type_string, description, extras, user in query(
        orm.Group, ["id", "uuid", "label", "type_string", "description", "extras", "user_id"]
    ):
        if type_string == "core.import" and not with_import_groups:
            continue
        members = orm.QueryBuilder().append(orm.Group, filters={"id": pk}, tag="g")
        members.append(orm.Node, with_group="g", project="uuid")
        groups[uuid] = (label, type_string, description, extras, emails[user], sorted(members.all(flat=True)))
    return {
        "users": sorted(
            tuple(row) for row in query(orm.User, ["email", "first_name", "last_name", "institution"])
        ),
        "computers": {
            row[0]: (*row[1:6], row[6])
            for row in query(
                orm.Computer,
                ["uuid", "label", "hostname", "description", "scheduler_type", "transport_type", "metadata"],
            )
        },
        "authinfos": {
            (emails[user], computers[computer]): (params, metadata, enabled)
            for user, computer, params, metadata, enabled in query(
                orm.AuthInfo, ["aiidauser_id", "dbcomputer_id", "auth_params", "metadata", "enabled"]
            )
        },
        "nodes": {
            row[0]: {
                "node_type": row[1],
                "process_type": row[2],
                "label": row[3],
                "description": row[4],
                "ctime": _time(row[5]),
                "mtime": _time(row[6]),
                "attributes": row[7],
                "extras": row[8],
                "user": emails[row[9]],
                "computer": None if row[10] is None else computers[row[10]],
                "files": _files(row[11], read),
            }
            for row in query(
                orm.Node,
                [
                    "uuid",
                    "node_type",
                    "process_type",
                    "label",
                    "description",
                    "ctime",
                    "mtime",
                    "attributes",
                    "extras",
                    "user_id",
                    "dbcomputer_id",
                    "repository_metadata",
                ],
            )
        },
        "links": sorted(
            tuple(row)
            for row in orm.QueryBuilder()
            .append(orm.Node, tag="in", project="uuid")
            .append(orm.Node, with_incoming="in", project="uuid", edge_project=["type", "label"])
            .all()
        ),
        "groups": groups,
        "comments": {
            uuid: (node_uuids[node], emails[user], content, _time(ctime), _time(mtime))
            for uuid, node, user, content, ctime, mtime in query(
                orm.Comment, ["uuid", "dbnode_id", "user_id", "content", "ctime", "mtime"]
            )
        },
        "logs": {
            uuid: (node_uuids[node], logger, level, message, metadata, _time(time))
            for uuid, node, logger, level, message, metadata, time in query(
                orm.Log, ["uuid", "dbnode_id", "loggername", "levelname", "message", "metadata", "time"]
            )
        },
    }


@pytest.fixture(scope="module")
def aiida_source(
    aiida_env: SimpleNamespace, tmp_path_factory: pytest.TempPathFactory, imported_view: Any
) -> SimpleNamespace:
    """aiida-core's graph, its description, the archive aiida-core made of it (with authinfos).

    ``expected`` is what an import of that archive with its authinfos must hold.
    """
    from aiida.tools.archive import create_archive as aiida_create_archive

    aiida_env.fresh_profile()
    uuids = build_aiida_graph()
    archive = tmp_path_factory.mktemp("aiida-archives") / "source.aiida"
    aiida_create_archive(None, archive, include_authinfos=True)
    description = describe_aiida()
    expected = {**imported_view(description), "authinfos": description["authinfos"]}
    return SimpleNamespace(archive=archive, description=description, expected=expected, uuids=uuids)


@pytest.fixture(scope="module", autouse=True)
def _graph_before_other_aiida_work(aiida_source: SimpleNamespace) -> None:
    """Build aiida-core's graph before anything else of aiida-core runs, whatever the test order.

    Once aiida-core has imported an archive in one profile, running its processes in a later
    profile of the same process fails; building the graph first keeps the tests independent.
    """


def aiida_import(aiida_env: SimpleNamespace, archive: Path) -> dict[str, Any]:
    """Import ``archive`` into a fresh aiida-core profile with aiida-core; describe the result."""
    from aiida.tools.archive import import_archive as aiida_import_archive

    aiida_env.fresh_profile()
    aiida_import_archive(archive, include_authinfos=True)
    return describe_aiida()


def test_the_source_graph_is_what_the_tests_claim(aiida_source):
    description = aiida_source.description
    assert {link[2] for link in description["links"]} == {
        "create",
        "return",
        "input_calc",
        "input_work",
        "call_calc",
        "call_work",
    }
    assert description["nodes"][aiida_source.uuids["folder"]]["files"]["bin.dat"] == BINARY
    assert len(description["authinfos"]) == len(description["comments"]) == len(description["logs"]) == 1
    assert all(node["extras"].get("_aiida_hash") for node in description["nodes"].values())


def test_aiida_archive_imports_into_a_store(aiida_source, store, describe):
    report = import_archive(aiida_source.archive, store, include_authinfos=True)

    assert describe(store) == aiida_source.expected
    assert report.new.nodes == len(aiida_source.expected["nodes"])
    assert report.new.links == len(aiida_source.expected["links"])


def test_aiida_archive_imports_twice_without_duplicates(aiida_source, store, describe):
    import_archive(aiida_source.archive, store)
    content = describe(store)
    report = import_archive(aiida_source.archive, store)
    assert describe(store) == content
    assert report.new.nodes == report.new.links == report.objects_copied == 0


def test_store_archive_imports_into_aiida(aiida_env, graph_store, describe, imported_view, tmp_path):
    store, _ = graph_store
    archive = create_archive(store, tmp_path / "ours.aiida", include_authinfos=True)

    imported = aiida_import(aiida_env, archive)

    expected = describe(store, as_imported=True)
    expected["authinfos"] = describe(store)["authinfos"]
    assert imported == expected


def test_store_archive_folder_imports_into_aiida(aiida_env, graph_store, describe, tmp_path):
    # aiida-core 2.9.4 cannot read objects from an archive folder (its folder repository opens files
    # in binary mode with an encoding), so this export holds only nodes without files.
    store, graph = graph_store
    kept = create_archive(store, tmp_path / "kept", archive_format="folder", entities=[graph.pks["sum"]])

    imported = aiida_import(aiida_env, kept)

    assert set(imported["nodes"]) == {
        graph.uuids[name] for name in ("sum", "add", "x", "y", "inner", "outer")
    }
    full = describe(store, as_imported=True)
    assert all(imported["nodes"][uuid] == full["nodes"][uuid] for uuid in imported["nodes"])


@pytest.mark.parametrize("compression", [0, 9])
def test_round_trip_aiida_store_archive_aiida(aiida_env, aiida_source, store, tmp_path, compression):
    import_archive(aiida_source.archive, store, include_authinfos=True)
    archive = create_archive(store, tmp_path / "back.aiida", include_authinfos=True, compression=compression)

    assert aiida_import(aiida_env, archive) == aiida_source.expected


def test_subset_archive_imports_into_aiida(aiida_env, graph_store, describe, tmp_path):
    store, graph = graph_store
    archive = create_archive(store, tmp_path / "part.aiida", entities=[graph.pks["sum"]])

    imported = aiida_import(aiida_env, archive)

    wanted = {graph.uuids[name] for name in ("sum", "add", "x", "y", "inner", "outer")}
    assert set(imported["nodes"]) == wanted
    full = describe(store, as_imported=True)
    assert imported["links"] == [link for link in full["links"] if {link[0], link[1]} <= wanted]
    assert [group[-1] for group in imported["groups"].values()] == [[graph.uuids["x"]]]


def test_aiida_reads_our_archive_without_importing(aiida_env, graph_store, tmp_path):
    from aiida import orm
    from aiida.tools.archive.implementations.sqlite_zip.main import ArchiveFormatSqlZip

    store, _ = graph_store
    archive = create_archive(store, tmp_path / "ours.aiida")
    aiida_env.fresh_profile()
    archive_format = ArchiveFormatSqlZip()
    assert archive_format.read_version(archive) == "main_0001"
    with archive_format.open(archive, "r") as reader:
        backend = reader.get_backend()
        assert orm.QueryBuilder(backend=backend).append(orm.Node).count() == 10
        assert backend.get_repository().key_format == "sha256"
        assert len(list(backend.get_repository().list_objects())) == 6


def test_inspect_reads_aiida_archives(aiida_source):
    summary = inspect_archive(aiida_source.archive)
    assert summary.export_version == "main_0001"
    assert summary.aiida_version == "2.9.4"
    assert summary.entities.nodes == len(aiida_source.description["nodes"])
    assert summary.entities.authinfos == 1
    assert summary.node_types["process.workflow.workfunction.WorkFunctionNode."] == 2
