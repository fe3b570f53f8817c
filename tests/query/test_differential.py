"""The same queries through aiida-core's QueryBuilder and, via ``as_dict()``/``from_dict()``, through ours.

Queries avoid the reference's SQLite defects (booleans compared as integers,
floats truncated when compared with integers); ours are tested in
``test_filters.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from pytest_tempstore.storage.entities import Entity
from pytest_tempstore.storage.querybuilder import LinkQuadruple, QueryBuilder

if TYPE_CHECKING:
    from pytest_tempstore.storage.backend import SqliteTempBackend

INT = "data.core.int.Int."
Query = Callable[[Any], Any]


def _aiida_entity(value: Any) -> tuple[str, str, int] | None:
    """``('entity', kind, pk)`` for an aiida-core entity, else ``None``."""
    if not (hasattr(value, "pk") and type(value).__module__.startswith("aiida")):
        return None
    from aiida import orm

    kinds = {orm.Node: "node", orm.User: "user", orm.Group: "group", orm.Computer: "computer",
             orm.Comment: "comment", orm.Log: "log", orm.AuthInfo: "authinfo"}  # fmt: skip
    return "entity", next(name for cls, name in kinds.items() if isinstance(value, cls)), value.pk


def _normal(value: Any) -> Any:
    """A comparable form of a result value from either side."""
    if isinstance(value, Entity):
        return ("entity", type(value).__name__.lower(), value.pk)
    if isinstance(value, LinkQuadruple):
        return ("link", *value)
    if type(value).__name__ == "LinkQuadruple":
        link_type = getattr(value.link_type, "value", value.link_type)
        return ("link", value.source_id, value.target_id, link_type, value.link_label)
    if isinstance(value, list | dict):
        items = sorted(value.items()) if isinstance(value, dict) else value
        return tuple(_normal(item) for item in items)
    return _aiida_entity(value) or value


def _rows(rows: list[Any], ordered: bool) -> list[Any]:
    normal = [_normal(row) for row in rows]
    return normal if ordered else sorted(normal, key=repr)


def q_all(orm: Any) -> Any:
    return orm.QueryBuilder().append(orm.Node, project=["id", "uuid"])


QUERIES: dict[str, tuple[Query, bool]] = {
    # ------------------------------------------------------------------ entity selection
    "all nodes": (
        lambda orm: orm.QueryBuilder().append(orm.Node, project=["id", "uuid", "node_type"]),
        False,
    ),
    "ints by class": (
        lambda orm: orm.QueryBuilder().append(orm.Int, project=["uuid", "attributes.value"]),
        False,
    ),
    "all data": (lambda orm: orm.QueryBuilder().append(orm.Data, project="id"), False),
    "process nodes": (lambda orm: orm.QueryBuilder().append(orm.ProcessNode, project="id"), False),
    "calculations": (lambda orm: orm.QueryBuilder().append(orm.CalculationNode, project="id"), False),
    "workflows": (lambda orm: orm.QueryBuilder().append(orm.WorkflowNode, project="id"), False),
    "two classes": (lambda orm: orm.QueryBuilder().append((orm.Int, orm.Float), project="id"), False),
    "no subclassing": (
        lambda orm: orm.QueryBuilder().append(orm.Int, subclassing=False, project="id"),
        False,
    ),
    "entity star": (lambda orm: orm.QueryBuilder().append(orm.Int), False),
    "users": (lambda orm: orm.QueryBuilder().append(orm.User, project=["email", "first_name"]), False),
    "computers": (
        lambda orm: orm.QueryBuilder().append(orm.Computer, project=["*", "label", "hostname"]),
        False,
    ),
    "authinfos": (lambda orm: orm.QueryBuilder().append(orm.AuthInfo, project=["*", "enabled"]), False),
    "groups": (lambda orm: orm.QueryBuilder().append(orm.Group, project=["label", "type_string"]), False),
    "comments": (lambda orm: orm.QueryBuilder().append(orm.Comment, project=["content", "*"]), False),
    "logs": (lambda orm: orm.QueryBuilder().append(orm.Log, project=["levelname", "message"]), False),
    # ------------------------------------------------------------------ column operators
    "id ==": (lambda orm: orm.QueryBuilder().append(orm.Node, filters={"id": 3}, project="uuid"), False),
    "label !==": (
        lambda orm: orm.QueryBuilder().append(orm.Int, filters={"label": {"!==": "int1"}}, project="label"),
        False,
    ),
    "id >": (lambda orm: orm.QueryBuilder().append(orm.Node, filters={"id": {">": 10}}, project="id"), False),
    "id <=": (
        lambda orm: orm.QueryBuilder().append(orm.Node, filters={"id": {"<=": 4}}, project="id"),
        False,
    ),
    "pk in": (
        lambda orm: orm.QueryBuilder().append(orm.Node, filters={"pk": {"in": [1, 3, 5]}}, project="pk"),
        False,
    ),
    "id !in": (
        lambda orm: orm.QueryBuilder().append(orm.Int, filters={"id": {"!in": [1, 2]}}, project="id"),
        False,
    ),
    "label like": (
        lambda orm: orm.QueryBuilder().append(orm.Node, filters={"label": {"like": "int%"}}, project="label"),
        False,
    ),
    "label like underscore": (
        lambda orm: orm.QueryBuilder().append(
            orm.Node, filters={"label": {"like": "gamma\\_1"}}, project="label"
        ),
        False,
    ),
    "label ~like": (
        lambda orm: orm.QueryBuilder().append(orm.Str, filters={"label": {"~like": "%a%"}}, project="label"),
        False,
    ),
    "description ilike": (
        lambda orm: orm.QueryBuilder().append(
            orm.Int, filters={"description": {"ilike": "AN INT%"}}, project="id"
        ),
        False,
    ),
    "node_type like": (
        lambda orm: orm.QueryBuilder().append(
            orm.Node, filters={"node_type": {"like": "data.core.%"}}, project="id"
        ),
        False,
    ),
    "process_type null": (
        lambda orm: orm.QueryBuilder().append(orm.Node, filters={"process_type": None}, project="id"),
        False,
    ),
    "or of columns": (
        lambda orm: orm.QueryBuilder().append(
            orm.Node, filters={"or": [{"id": 1}, {"label": "out2"}]}, project="id"
        ),
        False,
    ),
    "and in operator dict": (
        lambda orm: orm.QueryBuilder().append(
            orm.Node, filters={"id": {"and": [{">": 2}, {"<": 6}]}}, project="id"
        ),
        False,
    ),
    "~or": (
        lambda orm: orm.QueryBuilder().append(orm.Int, filters={"~or": [{"id": 1}, {"id": 2}]}, project="id"),
        False,
    ),
    "!and": (
        lambda orm: orm.QueryBuilder().append(
            orm.Int, filters={"!and": [{"id": {">": 1}}, {"id": {"<": 5}}]}, project="id"
        ),
        False,
    ),
    "user filter": (
        lambda orm: orm.QueryBuilder().append(orm.Group, filters={"user": 2}, project="label"),
        False,
    ),
    # ------------------------------------------------------------------ JSON operators
    "attr int ==": (
        lambda orm: orm.QueryBuilder().append(orm.Int, filters={"attributes.value": 3}, project="id"),
        False,
    ),
    "attr int >": (
        lambda orm: orm.QueryBuilder().append(orm.Int, filters={"attributes.value": {">": 2}}, project="id"),
        False,
    ),
    "attr int <": (
        lambda orm: orm.QueryBuilder().append(orm.Int, filters={"attributes.value": {"<": 2}}, project="id"),
        False,
    ),
    "attr int >= <=": (
        lambda orm: orm.QueryBuilder().append(
            orm.Int, filters={"attributes.value": {">=": 2, "<=": 4}}, project="id"
        ),
        False,
    ),
    "attr float >": (
        lambda orm: orm.QueryBuilder().append(
            orm.Node, filters={"attributes.value": {">": 1.0}}, project="id"
        ),
        False,
    ),
    "attr int in": (
        lambda orm: orm.QueryBuilder().append(
            orm.Int, filters={"attributes.value": {"in": [1, 10, 99]}}, project="id"
        ),
        False,
    ),
    "attr int !in": (
        lambda orm: orm.QueryBuilder().append(
            orm.Int, filters={"attributes.value": {"!in": [1, 10]}}, project="id"
        ),
        False,
    ),
    "attr str ==": (
        lambda orm: orm.QueryBuilder().append(orm.Node, filters={"attributes.value": "alpha"}, project="id"),
        False,
    ),
    "attr str in": (
        lambda orm: orm.QueryBuilder().append(
            orm.Node, filters={"attributes.value": {"in": ["alpha", "Beta"]}}, project="id"
        ),
        False,
    ),
    "attr like": (
        lambda orm: orm.QueryBuilder().append(
            orm.Str, filters={"attributes.value": {"like": "%a"}}, project="id"
        ),
        False,
    ),
    "attr like escaped": (
        lambda orm: orm.QueryBuilder().append(
            orm.Str, filters={"attributes.value": {"like": "100\\%"}}, project="id"
        ),
        False,
    ),
    "attr ilike": (
        lambda orm: orm.QueryBuilder().append(
            orm.Str, filters={"attributes.value": {"ilike": "b%"}}, project="id"
        ),
        False,
    ),
    "nested attr ==": (
        lambda orm: orm.QueryBuilder().append(orm.Dict, filters={"attributes.b.c": "x"}, project="id"),
        False,
    ),
    "wrong type no match": (
        lambda orm: orm.QueryBuilder().append(orm.Dict, filters={"attributes.a": {">": 0}}, project="id"),
        False,
    ),
    "wrong type negated": (
        lambda orm: orm.QueryBuilder().append(orm.Dict, filters={"attributes.a": {"!==": 1}}, project="id"),
        False,
    ),
    "has_key": (
        lambda orm: orm.QueryBuilder().append(
            orm.Dict, filters={"attributes": {"has_key": "f"}}, project="id"
        ),
        False,
    ),
    "nested has_key": (
        lambda orm: orm.QueryBuilder().append(
            orm.Dict, filters={"attributes.b": {"has_key": "d"}}, project="id"
        ),
        False,
    ),
    "of_type string": (
        lambda orm: orm.QueryBuilder().append(
            orm.Dict, filters={"attributes.a": {"of_type": "string"}}, project="id"
        ),
        False,
    ),
    "of_type number": (
        lambda orm: orm.QueryBuilder().append(
            orm.Dict, filters={"attributes.a": {"of_type": "number"}}, project="id"
        ),
        False,
    ),
    "of_type array": (
        lambda orm: orm.QueryBuilder().append(
            orm.Dict, filters={"attributes.tags": {"of_type": "array"}}, project="id"
        ),
        False,
    ),
    "of_type object": (
        lambda orm: orm.QueryBuilder().append(
            orm.Dict, filters={"attributes.b": {"of_type": "object"}}, project="id"
        ),
        False,
    ),
    "of_length": (
        lambda orm: orm.QueryBuilder().append(
            orm.Dict, filters={"attributes.tags": {"of_length": 2}}, project="id"
        ),
        False,
    ),
    "longer": (
        lambda orm: orm.QueryBuilder().append(
            orm.Dict, filters={"attributes.tags": {"longer": 0}}, project="id"
        ),
        False,
    ),
    "shorter": (
        lambda orm: orm.QueryBuilder().append(
            orm.Dict, filters={"attributes.b.d": {"shorter": 2}}, project="id"
        ),
        False,
    ),
    "contains list": (
        lambda orm: orm.QueryBuilder().append(
            orm.Dict, filters={"attributes.tags": {"contains": ["q"]}}, project="id"
        ),
        False,
    ),
    "contains nested list": (
        lambda orm: orm.QueryBuilder().append(
            orm.Dict, filters={"attributes.b.d": {"contains": [2, 3]}}, project="id"
        ),
        False,
    ),
    "extras ==": (
        lambda orm: orm.QueryBuilder().append(
            orm.Int, filters={"extras.kind": "odd"}, project=["id", "extras.rank"]
        ),
        False,
    ),
    "extras has_key": (
        lambda orm: orm.QueryBuilder().append(
            orm.Node, filters={"extras": {"has_key": "rank"}}, project="id"
        ),
        False,
    ),
    "json or": (
        lambda orm: orm.QueryBuilder().append(
            orm.Int, filters={"attributes.value": {"or": [{"<": 0}, {">": 5}]}}, project="id"
        ),
        False,
    ),
    "process attribute": (
        lambda orm: orm.QueryBuilder().append(
            orm.CalcFunctionNode, filters={"attributes.exit_status": 0}, project="label"
        ),
        False,
    ),
    # ------------------------------------------------------------------ projections
    "project **": (lambda orm: orm.QueryBuilder().append(orm.Int, filters={"id": 1}, project="**"), False),
    "project json": (
        lambda orm: orm.QueryBuilder().append(
            orm.Dict, project=["attributes.b", "attributes.tags", "attributes.s"]
        ),
        False,
    ),
    "project whole attributes": (
        lambda orm: orm.QueryBuilder().append(orm.Dict, project=["attributes", "extras"]),
        False,
    ),
    "cast int": (
        lambda orm: orm.QueryBuilder().append(orm.Int, project=[{"attributes.value": {"cast": "i"}}]),
        False,
    ),
    "cast float": (
        lambda orm: orm.QueryBuilder().append(orm.Float, project=[{"attributes.value": {"cast": "f"}}]),
        False,
    ),
    "cast text": (
        lambda orm: orm.QueryBuilder().append(orm.Str, project=[{"attributes.value": {"cast": "t"}}]),
        False,
    ),
    "missing key projects None": (
        lambda orm: orm.QueryBuilder().append(orm.Dict, project=["attributes.f"]),
        False,
    ),
    "ctime": (lambda orm: orm.QueryBuilder().append(orm.Int, project=["ctime", "mtime"]), False),
    "dict()": (lambda orm: orm.QueryBuilder().append(orm.Int, tag="i", project=["id", "label"]), False),
    "func count": (
        lambda orm: orm.QueryBuilder().append(orm.Int, project=[{"id": {"func": "count"}}]),
        False,
    ),
    "func max": (lambda orm: orm.QueryBuilder().append(orm.Node, project=[{"id": {"func": "max"}}]), False),
    # ------------------------------------------------------------------ ordering, limit, offset, distinct
    "order by id desc": (
        lambda orm: (
            orm.QueryBuilder().append(orm.Node, tag="n", project="id").order_by({"n": {"id": "desc"}})
        ),
        True,
    ),
    "order by attribute cast": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.Int, tag="n", project="attributes.value")
            .order_by({"n": [{"attributes.value": {"cast": "i", "order": "desc"}}, "id"]})
        ),
        True,
    ),
    "order by label then limit": (
        lambda orm: (
            orm.QueryBuilder().append(orm.Int, tag="n", project="label").order_by({"n": "label"}).limit(3)
        ),
        True,
    ),
    "offset": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.Node, tag="n", project="id")
            .order_by({"n": "id"})
            .offset(5)
            .limit(4)
        ),
        True,
    ),
    "distinct": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.Node, tag="n")
            .append(orm.User, with_node="n", project="email")
            .distinct()
        ),
        False,
    ),
    # ------------------------------------------------------------------ relationships
    "with_incoming": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.CalcFunctionNode, tag="c", project="label")
            .append(orm.Int, with_incoming="c", project="label")
        ),
        False,
    ),
    "with_outgoing": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.CalcFunctionNode, tag="c", filters={"label": "calc1"})
            .append(orm.Data, with_outgoing="c", project="label", edge_project=["label", "type"])
        ),
        False,
    ),
    "edge filter": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.Node, tag="s", project="id")
            .append(
                orm.Node, with_incoming="s", edge_filters={"type": {"in": ["create", "return"]}}, project="id"
            )
        ),
        False,
    ),
    "edge star": (
        lambda orm: (
            orm.QueryBuilder().append(orm.Node, tag="s").append(orm.Node, with_incoming="s", edge_project="*")
        ),
        False,
    ),
    "default join": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.Int, tag="i", project="id")
            .append(orm.CalculationNode, project="id")
        ),
        False,
    ),
    "three step path": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.Int, tag="a", filters={"label": "int0"})
            .append(orm.CalcFunctionNode, tag="c", with_incoming="a")
            .append(orm.Int, with_incoming="c", project="label")
        ),
        False,
    ),
    "with_ancestors": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.Int, tag="a", filters={"label": "int0"})
            .append(orm.Node, with_ancestors="a", project="id")
        ),
        False,
    ),
    "with_descendants": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.Int, tag="d", filters={"label": "out2"})
            .append(orm.Node, with_descendants="d", project="id")
        ),
        False,
    ),
    "ancestors of all": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.Node, tag="d", project="id")
            .append(orm.Node, with_descendants="d", project="id")
        ),
        False,
    ),
    "descendants typed": (
        lambda orm: (
            orm.QueryBuilder().append(orm.Dict, tag="a").append(orm.Int, with_ancestors="a", project="label")
        ),
        False,
    ),
    "with_group": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.Group, tag="g", filters={"label": "ints"})
            .append(orm.Int, with_group="g", project="label")
        ),
        False,
    ),
    "group with_node": (
        lambda orm: (
            orm.QueryBuilder().append(orm.Dict, tag="n").append(orm.Group, with_node="n", project="label")
        ),
        False,
    ),
    "group with_user": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.User, tag="u", filters={"email": "other@example.com"})
            .append(orm.Group, with_user="u", project="label")
        ),
        False,
    ),
    "node with_user": (
        lambda orm: (
            orm.QueryBuilder().append(orm.User, tag="u").append(orm.Node, with_user="u", project="id")
        ),
        False,
    ),
    "user with_node": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.Int, tag="n", filters={"id": 1})
            .append(orm.User, with_node="n", project="email")
        ),
        False,
    ),
    "node with_computer": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.Computer, tag="c")
            .append(orm.Node, with_computer="c", project="label")
        ),
        False,
    ),
    "computer with_node": (
        lambda orm: (
            orm.QueryBuilder().append(orm.Node, tag="n").append(orm.Computer, with_node="n", project="label")
        ),
        False,
    ),
    "comment with_node": (
        lambda orm: (
            orm.QueryBuilder().append(orm.Int, tag="n").append(orm.Comment, with_node="n", project="content")
        ),
        False,
    ),
    "node with_comment": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.Comment, tag="c", filters={"content": {"like": "%dict"}})
            .append(orm.Node, with_comment="c", project="id")
        ),
        False,
    ),
    "comment with_user": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.User, tag="u", filters={"email": "other@example.com"})
            .append(orm.Comment, with_user="u", project="content")
        ),
        False,
    ),
    "user with_comment": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.Comment, tag="c")
            .append(orm.User, with_comment="c", project="email")
        ),
        False,
    ),
    "log with_node": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.CalcFunctionNode, tag="n")
            .append(orm.Log, with_node="n", project=["levelname"])
        ),
        False,
    ),
    "node with_log": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.Log, tag="l", filters={"levelname": "ERROR"})
            .append(orm.Node, with_log="l", project="label")
        ),
        False,
    ),
    "authinfo with_computer": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.Computer, tag="c")
            .append(orm.AuthInfo, with_computer="c", project="enabled")
        ),
        False,
    ),
    "authinfo with_user": (
        lambda orm: (
            orm.QueryBuilder().append(orm.User, tag="u").append(orm.AuthInfo, with_user="u", project="id")
        ),
        False,
    ),
    "user with_authinfo": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.AuthInfo, tag="a")
            .append(orm.User, with_authinfo="a", project="email")
        ),
        False,
    ),
    "user with_group": (
        lambda orm: (
            orm.QueryBuilder().append(orm.Group, tag="g").append(orm.User, with_group="g", project="email")
        ),
        False,
    ),
    "outer join": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.Int, tag="i", project="label")
            .append(orm.CalculationNode, with_incoming="i", outerjoin=True, filters={}, project="id")
        ),
        False,
    ),
    "workflow calls": (
        lambda orm: (
            orm.QueryBuilder()
            .append(orm.WorkflowNode, tag="w")
            .append(
                orm.CalculationNode, with_incoming="w", edge_filters={"type": "call_calc"}, project="label"
            )
        ),
        False,
    ),
}


@pytest.fixture(scope="module")
def run_both(
    aiida_orm: Any, aiida_graph: Any, mirrored_store: SqliteTempBackend
) -> Callable[[Query, str], tuple[Any, Any]]:
    def run(build: Query, method: str) -> tuple[Any, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = build(aiida_orm)
            data = reference.as_dict()
            expected = getattr(reference, method)()
        ours = getattr(QueryBuilder.from_dict(data, backend=mirrored_store), method)()
        return expected, ours

    return run


def test_there_are_enough_queries() -> None:
    assert len(QUERIES) >= 50


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_rows_match_aiida(name: str, run_both: Callable[[Query, str], tuple[Any, Any]]) -> None:
    build, ordered = QUERIES[name]
    expected, ours = run_both(build, "all")
    assert expected, f"{name}: the reference returned nothing, so the comparison proves little"
    assert _rows(ours, ordered) == _rows(expected, ordered)


@pytest.mark.parametrize("name", ["dict()", "with_outgoing", "project **", "with_descendants"])
def test_dicts_match_aiida(name: str, run_both: Callable[[Query, str], tuple[Any, Any]]) -> None:
    expected, ours = run_both(QUERIES[name][0], "dict")
    assert _rows(ours, False) == _rows(expected, False)


@pytest.mark.parametrize("name", ["all nodes", "with_ancestors", "distinct", "offset", "attr int in"])
def test_counts_match_aiida(name: str, run_both: Callable[[Query, str], tuple[Any, Any]]) -> None:
    expected, ours = run_both(QUERIES[name][0], "count")
    assert ours == expected


def test_our_as_dict_round_trips(run_both: Any, mirrored_store: SqliteTempBackend) -> None:
    for build, _ in QUERIES.values():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = build(__import__("aiida").orm).as_dict()
        ours = QueryBuilder.from_dict(data, backend=mirrored_store)
        again = QueryBuilder.from_dict(ours.as_dict(), backend=mirrored_store)
        assert again.as_dict() == ours.as_dict()
        assert _rows(again.all(), True) == _rows(ours.all(), True)
