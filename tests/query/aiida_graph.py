"""A provenance graph built with aiida-core, copied row by row into a store (uuids and ids kept)."""

from __future__ import annotations

import datetime
import json
import os
import warnings
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from pytest_tempstore.storage.backend import SqliteTempBackend

TABLE_ORDER = (
    ("user", "db_dbuser"),
    ("computer", "db_dbcomputer"),
    ("authinfo", "db_dbauthinfo"),
    ("node", "db_dbnode"),
    ("link", "db_dblink"),
    ("group", "db_dbgroup"),
    ("group_node", "db_dbgroup_dbnodes"),
    ("comment", "db_dbcomment"),
    ("log", "db_dblog"),
)


def load_aiida(config_folder: str) -> Any:
    """Import aiida-core with its configuration in ``config_folder`` and load a throwaway temp profile."""
    os.environ["AIIDA_PATH"] = config_folder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import aiida
        from aiida import orm
        from aiida.storage.sqlite_temp import SqliteTempBackend as AiidaTempBackend

        # A folder of ours: without one, aiida-core makes a temporary folder it never removes.
        storage = os.path.join(config_folder, "storage")
        profile = AiidaTempBackend.create_profile("differential", filepath=storage)
        aiida.load_profile(profile, allow_switch=True)
    return orm


def build_graph(orm: Any) -> dict[str, Any]:
    """Nodes of several types, a provenance chain, a workflow, groups, comments, logs, computers."""
    nodes = _data_nodes(orm)
    _provenance(orm, nodes)
    _groups_comments_logs(orm, nodes)
    return nodes


def _data_nodes(orm: Any) -> dict[str, Any]:
    nodes: dict[str, Any] = {}
    for index, value in enumerate((1, 2, 3, 10, -5)):
        node = orm.Int(value)
        node.label = f"int{index}"
        node.description = "an integer" if index % 2 else "Integer"
        node.store()
        node.base.extras.set_many({"rank": index, "kind": "odd" if value % 2 else "even"})
        nodes[f"int{index}"] = node
    for index, value in enumerate((1.5, 2.5, -0.5)):
        nodes[f"float{index}"] = orm.Float(value).store()
    for index, value in enumerate(("alpha", "Beta", "gamma_1", "100%")):
        node = orm.Str(value)
        node.label = value
        nodes[f"str{index}"] = node.store()
    dicts = (
        {"a": 1, "b": {"c": "x", "d": [1, 2, 3]}, "tags": ["p", "q"], "n": None, "s": "text"},
        {"a": "one", "b": {"c": "y"}, "tags": [], "f": 2.5, "s": "Text"},
        {"a": 3, "b": {"d": [4]}, "tags": ["q"], "s": "other"},
    )
    for index, value in enumerate(dicts):
        nodes[f"dict{index}"] = orm.Dict(value).store()
    nodes["list"] = orm.List([1, "two", 3.5]).store()
    return nodes


def _provenance(orm: Any, nodes: dict[str, Any]) -> None:
    from aiida.common.links import LinkType

    orm.User(email="other@example.com", first_name="Ada").store()
    computer = orm.Computer(
        label="localhost", hostname="localhost", transport_type="core.local", scheduler_type="core.direct"
    ).store()
    orm.AuthInfo(computer, orm.User.collection.get_default()).store()

    # calc1: int0, int1 -> out1; calc2: out1, dict0 -> out2; work calls calc1 and returns out1
    work = orm.WorkFunctionNode()
    work.base.links.add_incoming(nodes["int0"], LinkType.INPUT_WORK, "x")
    work.label = "work"
    work.store()
    calc1 = orm.CalcFunctionNode()
    calc1.computer = computer
    calc1.base.attributes.set("exit_status", 0)
    calc1.base.links.add_incoming(nodes["int0"], LinkType.INPUT_CALC, "x")
    calc1.base.links.add_incoming(nodes["int1"], LinkType.INPUT_CALC, "y")
    calc1.base.links.add_incoming(work, LinkType.CALL_CALC, "call")
    calc1.label = "calc1"
    calc1.store()
    out1 = orm.Int(3)
    out1.base.links.add_incoming(calc1, LinkType.CREATE, "result")
    out1.label = "out1"
    out1.store()
    out1.base.links.add_incoming(work, LinkType.RETURN, "result")
    calc2 = orm.CalcFunctionNode()
    calc2.base.attributes.set("exit_status", 1)
    calc2.base.links.add_incoming(out1, LinkType.INPUT_CALC, "a")
    calc2.base.links.add_incoming(nodes["dict0"], LinkType.INPUT_CALC, "b")
    calc2.label = "calc2"
    calc2.store()
    out2 = orm.Int(4)
    out2.base.links.add_incoming(calc2, LinkType.CREATE, "sum")
    out2.label = "out2"
    out2.store()
    nodes.update(work=work, calc1=calc1, out1=out1, calc2=calc2, out2=out2)


def _groups_comments_logs(orm: Any, nodes: dict[str, Any]) -> None:
    user = orm.User.collection.get(email="other@example.com")
    group = orm.Group(label="ints").store()
    group.add_nodes([nodes[f"int{index}"] for index in range(5)])
    other = orm.Group(label="misc", user=user).store()
    other.add_nodes([nodes["dict0"], nodes["str0"]])
    nodes["int0"].base.comments.add("first comment")
    nodes["int0"].base.comments.add("second comment", user=user)
    nodes["dict1"].base.comments.add("about a dict")
    for level, message in (("REPORT", "started"), ("ERROR", "failed")):
        orm.Log(datetime.datetime.now(datetime.UTC), "aiida.calc", level, nodes["calc1"].pk, message).store()


def copy_into(store: SqliteTempBackend) -> None:
    """Copy every row of aiida-core's loaded storage into ``store``, keeping ids and uuids."""
    from aiida.manage import get_manager

    session = get_manager().get_profile_storage().get_session()
    metadata = sa.MetaData()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metadata.reflect(bind=session.connection())
    for entity_type, table_name in TABLE_ORDER:
        table = metadata.tables[table_name]
        rows = [dict(row._mapping) for row in session.execute(sa.select(table).order_by(table.c.id))]
        if entity_type == "user":
            default = [row for row in rows if row["email"] == store.default_user_email]
            assert default
            assert default[0]["id"] == store.default_user_id
            rows = [row for row in rows if row["email"] != store.default_user_email]
        ids = [row.pop("id") for row in rows]
        for row in rows:
            for name, value in row.items():
                if isinstance(table.c[name].type, sa.JSON) and isinstance(value, str):
                    row[name] = json.loads(value)
        assigned = store.bulk_insert(entity_type, rows, allow_defaults=True)
        assert assigned == ids, f"{table_name}: ids changed while copying"
