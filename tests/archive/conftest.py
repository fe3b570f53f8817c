"""Fixtures for the archive tests: stores, a provenance graph to fill them with, and a content description.

``describe(store)`` reduces a store to what an archive must carry, keyed by
uuid (and email for users), so two stores compare equal exactly when they hold
the same data, whatever their ids.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_tempstore import SqliteTempBackend

CTIME = datetime(2024, 1, 2, 3, 4, 5, 678901)
MTIME = datetime(2024, 2, 3, 4, 5, 6, 789012)

#: The files of the graph's folder node: nested folders, an empty and a binary file, non-ASCII names.
FOLDER_FILES = {
    "sub/deeper/x.txt": b"nested content",
    "empty.txt": b"",
    "bin.dat": bytes(range(256)) * 64,
    "données/résumé-ü.txt": "données ✓".encode(),
    "shared.txt": b"the same bytes in two nodes",
}
#: The files of a second node; ``shared.txt`` has the same content as the folder node's.
RETRIEVED_FILES = {"shared.txt": b"the same bytes in two nodes", "log.out": b"done\n"}
UNREFERENCED = b"an object no node refers to"


@dataclass(frozen=True)
class Graph:
    """The pks and uuids of the graph that :func:`_populate` builds."""

    pks: dict[str, int]
    uuids: dict[str, str]
    group_id: int
    computer_id: int


def _tree(store: SqliteTempBackend, files: dict[str, bytes]) -> dict[str, Any]:
    """Store the files and return the repository_metadata tree of a node holding them."""
    root: dict[str, Any] = {"o": {}}
    for path, content in files.items():
        key = store.get_repository().put_object_from_filelike(io.BytesIO(content))
        folder = root
        *parents, name = path.split("/")
        for parent in parents:
            folder = folder["o"].setdefault(parent, {"o": {}})
        folder["o"][name] = {"k": key}
    return root


def _populate(store: SqliteTempBackend, tag: str = "") -> Graph:
    """Fill a store with a provenance graph that uses all six link types, and everything around it."""
    other_user = store.bulk_insert("user", [{"email": f"other{tag}@example.com", "first_name": "Ada"}], True)[
        0
    ]
    computer = store.bulk_insert(
        "computer",
        [{"label": f"localhost{tag}", "hostname": "localhost", "metadata": {"shebang": "#!/bin/bash"}}],
        True,
    )[0]
    store.bulk_insert(
        "authinfo",
        [{"aiidauser_id": store.default_user_id, "dbcomputer_id": computer, "auth_params": {"safe": 1}}],
        True,
    )
    calcfunction = "process.calculation.calcfunction.CalcFunctionNode."
    workfunction = "process.workflow.workfunction.WorkFunctionNode."
    specs: dict[str, dict[str, Any]] = {
        "x": {"node_type": "data.core.int.Int.", "attributes": {"value": 1}},
        "y": {"node_type": "data.core.int.Int.", "attributes": {"value": 2}},
        "add": {
            "node_type": calcfunction,
            "process_type": "tests.add",
            "attributes": {"sealed": True, "checkpoints": "serialised state"},
        },
        "sum": {"node_type": "data.core.int.Int.", "attributes": {"value": 3}},
        "inner": {"node_type": workfunction, "process_type": "tests.inner", "attributes": {"sealed": True}},
        "outer": {"node_type": workfunction, "process_type": "tests.outer", "attributes": {"sealed": True}},
        "folder": {
            "node_type": "data.core.folder.FolderData.",
            "label": "fichiers ✓",
            "extras": {"tag": {"nested": [1, 2.5, None, "ü"]}, "_aiida_hash": "abc"},
            "repository_metadata": _tree(store, FOLDER_FILES),
        },
        "job": {
            "node_type": "process.calculation.calcjob.CalcJobNode.",
            "process_type": "tests.job",
            "attributes": {"sealed": True},
            "dbcomputer_id": computer,
        },
        "retrieved": {
            "node_type": "data.core.folder.FolderData.",
            "repository_metadata": _tree(store, RETRIEVED_FILES),
        },
        "lonely": {
            "node_type": "data.core.dict.Dict.",
            "attributes": {"a": {"b": "c"}},
            "description": "alone",
        },
    }
    rows = [
        {
            "label": name,
            "ctime": CTIME,
            "mtime": MTIME,
            "user_id": store.default_user_id,
            "attributes": {},
            "extras": {},
            "repository_metadata": {},
            **spec,
        }
        for name, spec in specs.items()
    ]
    pks = dict(zip(specs, store.bulk_insert("node", rows, allow_defaults=True), strict=True))
    links = [
        ("x", "add", "input_calc", "x"),
        ("y", "add", "input_calc", "y"),
        ("add", "sum", "create", "result"),
        ("x", "inner", "input_work", "x"),
        ("y", "inner", "input_work", "y"),
        ("x", "outer", "input_work", "x"),
        ("y", "outer", "input_work", "y"),
        ("inner", "sum", "return", "result"),
        ("outer", "sum", "return", "result"),
        ("inner", "add", "call_calc", "CALL"),
        ("outer", "inner", "call_work", "CALL"),
        ("folder", "job", "input_calc", "folder"),
        ("job", "retrieved", "create", "retrieved"),
    ]
    store.bulk_insert(
        "link",
        [
            {"input_id": pks[a], "output_id": pks[b], "type": kind, "label": label}
            for a, b, kind, label in links
        ],
    )
    group = store.bulk_insert(
        "group", [{"label": f"grp{tag}", "user_id": store.default_user_id, "extras": {"k": "v"}}], True
    )[0]
    store.bulk_insert(
        "group_node", [{"dbgroup_id": group, "dbnode_id": pks[name]} for name in ("x", "folder")]
    )
    store.bulk_insert(
        "comment",
        [
            {
                "dbnode_id": pks["folder"],
                "user_id": other_user,
                "content": "a comment ✓",
                "ctime": CTIME,
                "mtime": MTIME,
            }
        ],
        True,
    )
    store.bulk_insert(
        "log",
        [
            {
                "dbnode_id": pks["add"],
                "loggername": "aiida.test",
                "levelname": "WARNING",
                "message": "careful",
                "metadata": {"line": 3},
                "time": CTIME,
            }
        ],
        True,
    )
    store.get_repository().put_object_from_filelike(io.BytesIO(UNREFERENCED))
    return Graph(pks=pks, uuids=_uuids_by_pk(store, pks), group_id=group, computer_id=computer)


def _uuids_by_pk(store: SqliteTempBackend, pks: dict[str, int]) -> dict[str, str]:
    with store.transaction() as session:
        rows = dict(session.connection().exec_driver_sql("SELECT id, uuid FROM db_dbnode").all())
    return {name: rows[pk] for name, pk in pks.items()}


def _files(tree: dict[str, Any], read: Callable[[str], bytes], prefix: str = "") -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name, entry in tree.get("o", {}).items():
        if "k" in entry:
            files[prefix + name] = read(entry["k"])
        else:
            files.update(_files(entry, read, f"{prefix}{name}/"))
    return files


_NODE_FIELDS = ("node_type", "process_type", "label", "description", "ctime", "mtime")


def _describe(
    store: SqliteTempBackend, *, with_import_groups: bool = False, as_imported: bool = False
) -> dict[str, Any]:
    """Everything the store holds that an archive carries, independent of ids.

    With ``as_imported``, only what an import into another store keeps (see ``_without_private_data``).
    """
    description = _describe_all(store, with_import_groups=with_import_groups)
    return _without_private_data(description) if as_imported else description


def _describe_all(store: SqliteTempBackend, *, with_import_groups: bool) -> dict[str, Any]:
    read = store.get_repository().get_object_content
    with store.transaction() as session:
        connection = session.connection()

        def rows(sql: str) -> list[Any]:
            return list(connection.exec_driver_sql(sql).all())

        emails = dict(rows("SELECT id, email FROM db_dbuser"))
        computers = dict(rows("SELECT id, uuid FROM db_dbcomputer"))
        node_uuids = dict(rows("SELECT id, uuid FROM db_dbnode"))
        groups = {}
        for pk, uuid, label, type_string, description, extras, user in rows(
            "SELECT id, uuid, label, type_string, description, extras, user_id FROM db_dbgroup"
        ):
            if type_string == "core.import" and not with_import_groups:
                continue
            members = sorted(
                node_uuids[node]
                for (node,) in rows(f"SELECT dbnode_id FROM db_dbgroup_dbnodes WHERE dbgroup_id = {pk}")
            )
            groups[uuid] = (label, type_string, description, json.loads(extras), emails[user], members)
        return {
            "users": sorted(rows("SELECT email, first_name, last_name, institution FROM db_dbuser")),
            "computers": {
                uuid: (label, hostname, description, scheduler, transport, json.loads(metadata))
                for uuid, label, hostname, description, scheduler, transport, metadata in rows(
                    "SELECT uuid, label, hostname, description, scheduler_type, transport_type, metadata "
                    "FROM db_dbcomputer"
                )
            },
            "authinfos": {
                (emails[user], computers[computer]): (json.loads(params), json.loads(metadata), bool(enabled))
                for user, computer, params, metadata, enabled in rows(
                    "SELECT aiidauser_id, dbcomputer_id, auth_params, metadata, enabled FROM db_dbauthinfo"
                )
            },
            "nodes": {
                row[0]: {
                    **dict(zip(_NODE_FIELDS, row[1:7], strict=True)),
                    "attributes": json.loads(row[7]),
                    "extras": json.loads(row[8]),
                    "user": emails[row[9]],
                    "computer": None if row[10] is None else computers[row[10]],
                    "files": _files(json.loads(row[11]), read),
                }
                for row in rows(
                    "SELECT uuid, node_type, process_type, label, description, ctime, mtime, "
                    "json(attributes), json(extras), user_id, dbcomputer_id, repository_metadata "
                    "FROM db_dbnode"
                )
            },
            "links": sorted(
                (node_uuids[source], node_uuids[target], kind, label)
                for source, target, kind, label in rows(
                    "SELECT input_id, output_id, type, label FROM db_dblink"
                )
            ),
            "groups": groups,
            "comments": {
                uuid: (node_uuids[node], emails[user], content, ctime, mtime)
                for uuid, node, user, content, ctime, mtime in rows(
                    "SELECT uuid, dbnode_id, user_id, content, ctime, mtime FROM db_dbcomment"
                )
            },
            "logs": {
                uuid: (node_uuids[node], logger, level, message, json.loads(metadata), time)
                for uuid, node, logger, level, message, metadata, time in rows(
                    "SELECT uuid, dbnode_id, loggername, levelname, message, metadata, time FROM db_dblog"
                )
            },
        }


def _without_private_data(description: dict[str, Any]) -> dict[str, Any]:
    """What an import keeps: no ``_aiida_`` extras, no process checkpoints, no authinfos."""
    nodes = {}
    for uuid, original in description["nodes"].items():
        node = dict(original)
        extras = node["extras"]
        node["extras"] = {name: value for name, value in extras.items() if not name.startswith("_aiida_")}
        if node["node_type"].startswith("process."):
            attributes = node["attributes"]
            node["attributes"] = {name: value for name, value in attributes.items() if name != "checkpoints"}
        nodes[uuid] = node
    return {**description, "nodes": nodes, "authinfos": {}}


@pytest.fixture
def graph_store(new_store: Callable[..., SqliteTempBackend]) -> tuple[SqliteTempBackend, Graph]:
    """A store holding the graph of :func:`_populate`."""
    store = new_store()
    return store, _populate(store)


@pytest.fixture
def populate() -> Callable[..., Graph]:
    """``populate(store, tag='')``: fill a store with the sample graph; ``tag`` makes labels distinct."""
    return _populate


@pytest.fixture
def describe() -> Callable[..., dict[str, Any]]:
    """``describe(store, with_import_groups=False, as_imported=False)``: a store's content by uuid."""
    return _describe


@dataclass(frozen=True)
class SampleFiles:
    """The file contents of the sample graph."""

    folder: dict[str, bytes]
    retrieved: dict[str, bytes]
    unreferenced: bytes

    @property
    def referenced_keys(self) -> set[str]:
        contents = [*self.folder.values(), *self.retrieved.values()]
        return {hashlib.sha256(content).hexdigest() for content in contents}


@pytest.fixture
def sample_files() -> SampleFiles:
    """What the sample graph's nodes hold in their repositories, and the one unreferenced object."""
    return SampleFiles(dict(FOLDER_FILES), dict(RETRIEVED_FILES), UNREFERENCED)


@pytest.fixture(scope="session")
def imported_view() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """What an import keeps of a description: no ``_aiida_`` extras, no checkpoints, no authinfos."""
    return _without_private_data
