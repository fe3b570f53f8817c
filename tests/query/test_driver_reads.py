"""Queries read on the driver: the same rows as through SQLAlchemy, seeing exactly what its session would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from pytest_tempstore.exceptions import ClosedStorage
from pytest_tempstore.storage.entities import Node
from pytest_tempstore.storage.models import DbNode
from pytest_tempstore.storage.querybuilder import QueryBuilder

INT = "data.core.int.Int."


def ints(store, *values):
    return [Node(store, INT, attributes={"value": value}).store() for value in values]


def count_ints(store):
    return QueryBuilder(backend=store).append(INT).count()


@pytest.fixture
def statements_through_sqlalchemy(store):
    """The queries SQLAlchemy's engine sends while the test runs."""
    sent: list[str] = []
    engine = store.get_session().get_bind()

    def note(connection, cursor, statement, *_):
        if statement.startswith("SELECT"):
            sent.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    yield sent
    sa.event.remove(engine, "before_cursor_execute", note)


def run_twice(queries, sent):
    """Run ``queries`` twice; how many queries SQLAlchemy sent the first time and the second."""
    counts = []
    for _ in range(2):
        before = len(sent)
        queries()
        counts.append(len(sent) - before)
    return counts


def test_entities_counts_and_single_rows_come_from_the_driver_once_run(store, statements_through_sqlalchemy):
    first, second = ints(store, 1, 2)
    query = QueryBuilder(backend=store).append(INT, tag="int", filters={"attributes.value": {">": 0}})
    query.order_by({"int": "id"})

    def queries():
        found = query.all(flat=True)
        assert [node.pk for node in found] == [first.pk, second.pk]
        assert all(isinstance(node, Node) and node.backend is store for node in found)
        assert found[1].attributes == {"value": 2}
        assert found[1].ctime == second.ctime
        assert query.count() == 2
        assert query.first(flat=True).pk == first.pk
        by_id = QueryBuilder(backend=store).append(INT, filters={"id": second.pk}, project="uuid")
        assert by_id.one() == [second.uuid]

    # The first time through SQLAlchemy, whose cache compiles them; from then on on the driver.
    assert run_twice(queries, statements_through_sqlalchemy) == [4, 0]


def test_values_are_sent_as_sqlalchemy_would_send_them(store, statements_through_sqlalchemy):
    (node,) = ints(store, 1)
    since = QueryBuilder(backend=store).append(INT, filters={"ctime": {">=": node.ctime}}, project="id")
    later = QueryBuilder(backend=store).append(
        INT, filters={"ctime": {">": datetime(2999, 1, 1, tzinfo=UTC)}}
    )

    def queries():
        assert since.all(flat=True) == [node.pk]
        assert later.count() == 0

    assert run_twice(queries, statements_through_sqlalchemy) == [2, 0]


def test_lists_of_values_are_expanded_once(store, statements_through_sqlalchemy):
    first, second, _ = ints(store, 1, 2, 3)
    among = QueryBuilder(backend=store).append(
        INT, filters={"id": {"in": [first.pk, second.pk]}}, project="id"
    )

    def queries():
        assert sorted(among.all(flat=True)) == [first.pk, second.pk]
        assert QueryBuilder(backend=store).append(INT, filters={"id": {"in": []}}).count() == 0

    assert run_twice(queries, statements_through_sqlalchemy) == [2, 0]


def test_lists_of_times_and_json_functions_go_through_sqlalchemy_with_the_same_results(
    store, statements_through_sqlalchemy
):
    first, second, _ = ints(store, 1, 2, 3)
    at = QueryBuilder(backend=store).append(
        INT, filters={"ctime": {"in": [first.ctime, second.ctime]}}, project="id"
    )
    keyed = QueryBuilder(backend=store).append(INT, filters={"attributes": {"has_key": "value"}})

    def queries():
        assert sorted(at.all(flat=True)) == [first.pk, second.pk]
        assert keyed.count() == 3

    assert run_twice(queries, statements_through_sqlalchemy) == [2, 2]


def test_a_transaction_sees_its_own_nodes_and_loses_them_on_rollback(store):
    ints(store, 1)
    assert count_ints(store) == count_ints(store) == 1  # the count now runs on the driver
    with pytest.raises(RuntimeError), store.transaction():
        ints(store, 2, 3)
        assert count_ints(store) == 3
        raise RuntimeError("undo")
    assert count_ints(store) == 1


def test_orm_work_outside_a_transaction_is_seen_and_committed_as_before(store):
    assert count_ints(store) == count_ints(store) == 0  # the count now runs on the driver
    session = store.get_session()
    session.add(DbNode(node_type=INT, user_id=store.default_user_id))
    assert count_ints(store) == 1
    session.rollback()  # nothing left to undo: the query committed the node first, as AiiDA does
    assert count_ints(store) == 1


def test_a_query_on_a_closed_store_is_refused(store):
    ints(store, 1)
    query = QueryBuilder(backend=store).append(INT)
    assert query.count() == query.count() == 1  # the count now runs on the driver
    store.close()
    with pytest.raises(ClosedStorage):
        query.count()
