"""Our QueryBuilder on its own: filters checked against Python, casts, ordering, joins and bad input."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_tempstore.exceptions import InputValidationError, MultipleObjectsError, NotExistent
from pytest_tempstore.storage.backend import SqliteTempBackend
from pytest_tempstore.storage.entities import Comment, Group, Node, User
from pytest_tempstore.storage.querybuilder import QueryBuilder

INT = "data.core.int.Int."
CALC = "process.calculation.calcfunction.CalcFunctionNode."


@pytest.fixture
def store() -> Any:
    backend = SqliteTempBackend(SqliteTempBackend.create_profile("filters"))
    yield backend
    backend.close()


# ---------------------------------------------------------------------- filters vs Python

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-5, 5, allow_nan=False),
    st.sampled_from(["a", "b", "ab"]),
)
values = st.one_of(
    scalars, st.lists(scalars, max_size=3), st.dictionaries(st.sampled_from("xy"), scalars, max_size=2)
)
attribute_dicts = st.lists(
    st.dictionaries(st.sampled_from(["v", "w"]), values, max_size=2), min_size=1, max_size=6
)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _python_predicate(operator: str, operand: Any, present: bool, value: Any) -> bool:
    """What an operator means on one attribute value, written independently of the SQL."""
    if not present:
        return False
    if operator == "==":
        if _number(operand):
            return _number(value) and value == operand
        return type(value) is type(operand) and value == operand
    if operator in (">", "<"):
        same = (_number(operand) and _number(value)) or (type(operand) is type(value) is str)
        return same and (value > operand if operator == ">" else value < operand)
    if operator == "of_length":
        return isinstance(value, list) and len(value) == operand
    if operator == "has_key":
        # PostgreSQL's `?`: an object key, a string element of an array, or the string itself.
        return (
            (isinstance(value, dict) and operand in value)
            or (isinstance(value, list) and operand in value)
            or (isinstance(value, str) and value == operand)
        )
    raise AssertionError(operator)


operations = st.one_of(
    st.tuples(st.just("=="), st.one_of(st.booleans(), st.integers(-5, 5), st.sampled_from(["a", "b"]))),
    st.tuples(
        st.sampled_from([">", "<"]),
        st.one_of(st.integers(-5, 5), st.floats(-5, 5), st.sampled_from(["a", "b"])),
    ),
    st.tuples(st.just("of_length"), st.integers(0, 3)),
    st.tuples(st.just("has_key"), st.sampled_from(["x", "a"])),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=attribute_dicts, operation=operations, negate=st.booleans())
def test_json_filters_agree_with_python(
    store: SqliteTempBackend, rows: list[dict[str, Any]], operation: Any, negate: bool
) -> None:
    store._clear()
    nodes = [Node(store, CALC, attributes=attributes).store() for attributes in rows]
    operator, operand = operation
    if isinstance(operand, float) and math.isclose(operand, round(operand)):
        operand = float(round(operand)) + 0.5
    key = ("!" if negate else "") + operator
    found = set(
        QueryBuilder(store)
        .append(Node, filters={"attributes.v": {key: operand}}, project="id")
        .all(flat=True)
    )
    expected = set()
    for node, attributes in zip(nodes, rows, strict=True):
        match = _python_predicate(operator, operand, "v" in attributes, attributes.get("v"))
        # As in PostgreSQL, has_key on an absent value is unknown: neither it nor its negation matches.
        if operator == "has_key" and "v" not in attributes:
            continue
        if match != negate:
            expected.add(node.pk)
    assert found == expected


# ---------------------------------------------------------------------- where the reference is wrong


def test_booleans_are_not_integers(store: SqliteTempBackend) -> None:
    true_node = Node(store, CALC, attributes={"v": True}).store()
    one_node = Node(store, CALC, attributes={"v": 1}).store()
    qb = QueryBuilder(store)
    assert qb.append(Node, filters={"attributes.v": True}, project="id").all(flat=True) == [true_node.pk]
    assert QueryBuilder(store).append(Node, filters={"attributes.v": 1}, project="id").all(flat=True) == [
        one_node.pk
    ]
    assert QueryBuilder(store).append(Node, project="attributes.v").order_by({"node_1": "id"}).all(
        flat=True
    ) == [True, 1]


def test_floats_are_not_truncated(store: SqliteTempBackend) -> None:
    Node(store, CALC, attributes={"v": 1.5}).store()
    assert QueryBuilder(store).append(Node, filters={"attributes.v": 1}).count() == 0
    assert QueryBuilder(store).append(Node, filters={"attributes.v": {">": 1}}).count() == 1


def test_like_is_case_sensitive_ilike_is_not(store: SqliteTempBackend) -> None:
    Node(store, CALC, label="Alpha", attributes={"s": "Alpha"}).store()
    for key in ("label", "attributes.s"):
        assert QueryBuilder(store).append(Node, filters={key: {"like": "alpha"}}).count() == 0
        assert QueryBuilder(store).append(Node, filters={key: {"like": "Al%"}}).count() == 1
        assert QueryBuilder(store).append(Node, filters={key: {"ilike": "alpha"}}).count() == 1


def test_contains_on_a_whole_json_column(store: SqliteTempBackend) -> None:
    node = Node(store, CALC, attributes={"a": 1, "b": {"c": [1, 2]}}).store()
    Node(store, CALC, attributes={"a": 2}).store()
    found = QueryBuilder(store).append(
        Node, filters={"attributes": {"contains": {"b": {"c": [2]}}}}, project="id"
    )
    assert found.all(flat=True) == [node.pk]
    assert (
        QueryBuilder(store).append(Node, filters={"attributes": {"==": {"b": {"c": [1, 2]}, "a": 1}}}).count()
        == 1
    )


def test_node_type_prefixes_and_exact_types(store: SqliteTempBackend) -> None:
    Node(store, INT).store()
    Node(store, "data.core.int.special.SpecialInt.").store()
    Node(store, "data.core.float.Float.").store()
    Node(store, CALC).store()
    assert QueryBuilder(store).append(INT).count() == 2
    assert QueryBuilder(store).append(INT, subclassing=False).count() == 1
    assert QueryBuilder(store).append("data.").count() == 3
    assert QueryBuilder(store).append("process.calculation.").count() == 1
    assert QueryBuilder(store).append([INT, "data.core.float.Float."]).count() == 3
    assert QueryBuilder(store).append("node").count() == store.query().append(Node).count() == 4


def test_casts_projections_and_dict(store: SqliteTempBackend) -> None:
    node = Node(
        store,
        CALC,
        label="n",
        attributes={"i": 3, "f": 2.5, "s": "x", "b": False, "l": [1, 2], "d": "2024-01-02T03:04:05+00:00"},
    ).store()
    qb = store.query().append(
        Node,
        tag="n",
        project=[
            "attributes.i::float",
            "attributes.f::int",
            "attributes.s::text",
            "attributes.b::bool",
            "attributes.d::date",
            "attributes.l::json",
            "pk",
        ],
    )
    row = qb.one()
    assert row[:4] == [3.0, 2, "x", False]
    assert row[4].isoformat() == "2024-01-02T03:04:05+00:00"
    assert row[5:] == [[1, 2], node.pk]
    assert qb.dict()[0]["n"]["attributes.s"] == "x"
    mapped = QueryBuilder(
        store,
        path=[{"entity_type": "", "orm_base": "node", "tag": "n"}],
        project={"n": ["label"]},
        project_map={"n": {"label": "name"}},
    )
    assert mapped.dict() == [{"n": {"name": "n"}}]


def test_order_limit_offset_first_one(store: SqliteTempBackend) -> None:
    for value in (3, 1, 2):
        Node(store, CALC, attributes={"v": value}).store()
    qb = (
        store.query()
        .append(Node, tag="n", project="attributes.v")
        .order_by({"n": [{"attributes.v": "desc"}]})
    )
    assert qb.all(flat=True) == [3, 2, 1]
    assert qb.first(flat=True) == 3
    assert qb.limit(1).offset(1).all(flat=True) == [2]
    with pytest.raises(MultipleObjectsError):
        store.query().append(Node).one()
    with pytest.raises(NotExistent):
        store.query().append(Node, filters={"id": -1}).one()
    assert store.query().append(Node, filters={"id": -1}).first() is None


def test_ancestors_and_descendants_report_depth(store: SqliteTempBackend) -> None:
    previous = Node(store, INT).store()
    chain = [previous]
    for index in range(4):
        node = Node(store, CALC if index % 2 == 0 else INT)
        node.add_incoming(previous, "input_calc" if index % 2 == 0 else "create", "link")
        chain.append(node.store())
        previous = node
    qb = store.query().append(Node, tag="last", filters={"id": chain[-1].pk})
    qb.append(Node, with_descendants="last", project="id", edge_project="depth")
    assert sorted(qb.all()) == sorted([node.pk, 3 - index] for index, node in enumerate(chain[:-1]))
    qb = (
        store.query()
        .append(Node, tag="first", filters={"id": chain[0].pk})
        .append(Node, with_ancestors="first", project="id")
    )
    assert sorted(qb.all(flat=True)) == [node.pk for node in chain[1:]]


def test_outer_join_and_group_and_user_relationships(store: SqliteTempBackend) -> None:
    lonely = Node(store, INT).store()
    user = User(store, "u@example.com").store()
    group = Group(store, "g", user=user).store()
    group.add_nodes(lonely)
    # As in AiiDA, the outer-joined vertex must have no filters (nodes and groups have type filters).
    qb = (
        store.query()
        .append(Node, tag="n", project="id")
        .append(Comment, with_node="n", outerjoin=True, project="id")
    )
    assert qb.all() == [[lonely.pk, None]]
    assert store.query().append(Group, tag="g").append(Node, with_group="g", project="id").all(flat=True) == [
        lonely.pk
    ]
    assert store.query().append(User, tag="u", filters={"email": "u@example.com"}).append(
        Group, with_user="u", project="*"
    ).all(flat=True) == [group]
    assert store.query().append(Group, filters={"user": user}).count() == 1


# ---------------------------------------------------------------------- bad input names the culprit


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda qb: qb.append(Node, filters={"colour": 1}), "valid columns"),
        (lambda qb: qb.append(Node, filters={"id": {"has_key": 1}}), "valid operators"),
        (lambda qb: qb.append(Node, filters={"attributes.x": {"bigger": 1}}), "valid operators"),
        (lambda qb: qb.append(Node, filters={"label.x": 1}), "not a JSON column"),
        (lambda qb: qb.append(Node, filters={"attributes.x": {"of_type": "thing"}}), "of_type"),
        (lambda qb: qb.append(Node, filters={"attributes.x": {"of_length": "2"}}), "integer"),
        (lambda qb: qb.append(Node, filters={"attributes.x": {"like": 2}}), "string pattern"),
        (lambda qb: qb.append(Node, filters={"id": {"in": 3}}), "list of values"),
        (lambda qb: qb.append(Node, filters={"or": {"id": 1}}), "list of filter dicts"),
        (lambda qb: qb.append(Node, project="colour"), "valid columns"),
        (lambda qb: qb.append(Node, project={"attributes.x": {"cast": "z"}}), "valid casts"),
        (lambda qb: qb.append(Node, project={"id": {"func": "sum"}}), "valid"),
        (lambda qb: qb.append(Node, project=["id", "id"]), "more than once"),
        (lambda qb: qb.append(Node).append(Node, with_friend="node_1"), "relationship keywords"),
        (lambda qb: qb.append(Node).append(Group, with_incoming="node_1"), "not a relationship of a group"),
        (lambda qb: qb.append(Node).append(Node, with_user="node_1"), "needs 'node_1' to be a user"),
        (lambda qb: qb.append(Node).append(Node, with_incoming="nope"), "unknown tag"),
        (lambda qb: qb.append(Node, tag="a").append(Node, tag="a"), "already in use"),
        (lambda qb: qb.append("data.core.int.Int"), "unknown entity"),
        (lambda qb: qb.append(Node, tag="a").order_by({"a": {"id": "up"}}), "asc, desc"),
        (lambda qb: qb.append(Node, tag="a").order_by({"b": "id"}), "unknown tag"),
        (lambda qb: qb.append(Node).limit(-1), "limit"),
        (lambda qb: qb.all(), "append"),
        (
            lambda qb: (
                qb.append(Node, tag="a")
                .append(Group, with_node="a", edge_filters={"id": 1})
                .append(Node, with_group="core_1", edge_project="label")
            ),
            "valid columns",
        ),
        (lambda qb: qb.append(Node, tag="a").append(User, with_node="a", edge_filters={"id": 1}), "no table"),
    ],
)
def test_bad_input_names_the_culprit(store: SqliteTempBackend, build: Any, message: str) -> None:
    with pytest.raises(InputValidationError, match=message):
        build(QueryBuilder(store))


def test_failed_append_leaves_the_query_unchanged(store: SqliteTempBackend) -> None:
    qb = QueryBuilder(store).append(Node, tag="a")
    before = qb.as_dict()
    with pytest.raises(InputValidationError):
        qb.append(Node, tag="b", filters={"colour": 1})
    assert qb.as_dict() == before
    assert "b" not in qb.get_used_tags()


def test_from_dict_rejects_unknown_keys(store: SqliteTempBackend) -> None:
    with pytest.raises(InputValidationError, match="unknown query keys"):
        QueryBuilder.from_dict({"path": [], "colour": 1}, backend=store)
