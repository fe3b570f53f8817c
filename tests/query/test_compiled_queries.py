"""Queries run again: each store reuses what it compiled, never what it read, and never another store's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pytest_tempstore.storage.entities import Node
from pytest_tempstore.storage.querybuilder import QueryBuilder

INT = "data.core.int.Int."


def ints(store, *values):
    return [Node(store, INT, attributes={"value": value}).store() for value in values]


def values_above(store, threshold):
    query = QueryBuilder(backend=store).append(
        INT, filters={"attributes.value": {">": threshold}}, project="attributes.value"
    )
    return sorted(query.all(flat=True))


def test_a_query_run_again_sees_the_rows_as_they_are_now(store):
    ints(store, 1, 5)
    assert values_above(store, 2) == [5]
    ints(store, 7)
    assert values_above(store, 2) == [5, 7]
    assert values_above(store, 6) == [7]


def test_stores_never_share_results_or_entities(new_store):
    first, second = new_store(), new_store()
    (one,) = ints(first, 10)
    (two,) = ints(second, 20)
    assert values_above(first, 0) == [10]
    assert values_above(second, 0) == [20]
    for store, node in ((first, one), (second, two)):
        (found,) = QueryBuilder(backend=store).append(Node, project="*").all(flat=True)
        assert found.backend is store
        assert found.uuid == node.uuid


def test_values_that_are_not_plain_json_are_compared_as_given(store):
    (node,) = ints(store, 1)
    created = node.ctime

    def created_since(moment):
        return QueryBuilder(backend=store).append(Node, filters={"ctime": {">=": moment}}, project="id").all()

    assert created_since(created - timedelta(seconds=1)) == [[node.pk]]
    assert created_since(created + timedelta(seconds=1)) == []
    assert created_since(datetime(2000, 1, 1, tzinfo=UTC)) == [[node.pk]]


def test_numbers_of_other_types_are_other_queries(store):
    ints(store, 1)
    Node(store, INT, attributes={"value": True}).store()
    Node(store, INT, attributes={"value": 1.0}).store()
    by_value = {
        repr(value): QueryBuilder(backend=store)
        .append(INT, filters={"attributes.value": value}, project="attributes.value")
        .count()
        for value in (1, True, 1.0)
    }
    # As in AiiDA: 1 and 1.0 are the same number, true is not a number.
    assert by_value == {"1": 2, "True": 1, "1.0": 2}


def test_projected_times_and_json_come_back_converted(store):
    (node,) = ints(store, 3)
    query = QueryBuilder(backend=store).append(Node, project=["id", "ctime", "attributes"])
    for _ in range(2):
        ((pk, ctime, attributes),) = query.all()
        assert (pk, ctime, attributes) == (node.pk, node.ctime, {"value": 3})
        assert isinstance(ctime, datetime)
