"""transaction(): savepoint nesting done right, where the reference commits too early."""

from __future__ import annotations

import pytest

from pytest_tempstore.exceptions import IntegrityError
from pytest_tempstore.storage.models import DbNode

from .conftest import count, node_row


class Boom(Exception):
    pass


def add_node(store) -> int:
    (pk,) = store.bulk_insert("node", [node_row(store.default_user_id)])
    return pk


def test_outside_a_transaction_each_operation_commits(store):
    add_node(store)
    assert not store.in_transaction
    assert count(store, "db_dbnode") == 1


def test_in_transaction_is_true_only_inside(store):
    assert not store.in_transaction
    with store.transaction():
        assert store.in_transaction
        with store.transaction():
            assert store.in_transaction
        assert store.in_transaction
    assert not store.in_transaction


def test_a_failing_block_leaves_nothing(store):
    with pytest.raises(Boom), store.transaction():
        add_node(store)
        raise Boom
    assert count(store, "db_dbnode") == 0


def test_a_failing_inner_block_rolls_back_only_itself(store):
    with store.transaction():
        add_node(store)
        with pytest.raises(Boom), store.transaction():
            add_node(store)
            raise Boom
        add_node(store)
    assert count(store, "db_dbnode") == 2


def test_a_successful_inner_block_commits_nothing_before_the_outer_block_ends(store):
    with pytest.raises(Boom), store.transaction():
        with store.transaction():
            add_node(store)
        # The inner block ended well; an error now must still undo its work.
        raise Boom
    assert count(store, "db_dbnode") == 0


def test_deep_nesting_keeps_the_rules_at_every_level(store):
    with store.transaction():
        add_node(store)
        with store.transaction():
            add_node(store)
            with pytest.raises(Boom), store.transaction():
                add_node(store)
                with store.transaction():
                    add_node(store)
                raise Boom
            add_node(store)
    assert count(store, "db_dbnode") == 3


def test_the_transaction_yields_the_store_session(store):
    with store.transaction() as session:
        assert session is store.get_session()


def test_session_work_outside_a_transaction_is_committed_by_the_next_one(store):
    session = store.get_session()
    session.connection().exec_driver_sql(
        "INSERT INTO db_dbsetting (key, val, description, time) VALUES ('k', '1', '', '2024-01-01 00:00:00')"
    )
    with store.transaction():
        pass
    assert store.get_global_variable("k") == 1


def test_a_deferred_foreign_key_violation_fails_the_commit_with_our_error(store):
    (pk,) = store.bulk_insert("node", [node_row(store.default_user_id)])
    with pytest.raises(IntegrityError, match="FOREIGN KEY"), store.transaction() as session:
        # Raw SQL that bypasses our checks: only SQLite's deferred check at commit catches it.
        session.connection().exec_driver_sql(
            f"INSERT INTO db_dblink (input_id, output_id, label, type) VALUES ({pk}, 999, 'x', 'create')"
        )
    assert count(store, "db_dblink") == 0
    # The store is still usable after the failed commit.
    add_node(store)
    assert count(store, "db_dbnode") == 2


def test_read_sql_sees_the_threads_uncommitted_work_and_what_the_session_has_not_sent(store):
    from pytest_tempstore.storage.models import DbNode

    with store.transaction() as session:
        pk = add_node(store)
        assert store.read_sql("SELECT id FROM db_dbnode") == [(pk,)]
        session.add(DbNode(**node_row(store.default_user_id)))  # pending: not flushed yet
        assert len(store.read_sql("SELECT id FROM db_dbnode")) == 2
    assert count(store, "db_dbnode") == 2


def test_read_sql_waits_for_another_threads_transaction(store):
    import threading

    seen: list[object] = []
    inside, may_commit = threading.Event(), threading.Event()

    def write() -> None:
        with store.transaction():
            add_node(store)
            inside.set()
            may_commit.wait(5)

    writer = threading.Thread(target=write)
    writer.start()
    inside.wait(5)
    reader = threading.Thread(target=lambda: seen.append(store.read_sql("SELECT count(*) FROM db_dbnode")))
    reader.start()
    reader.join(0.2)
    assert reader.is_alive(), "the read ran inside another thread's open transaction"
    may_commit.set()
    writer.join(5)
    reader.join(5)
    assert seen == [[(1,)]]


def test_read_sql_on_a_closed_store_raises_closed_storage(store):
    from pytest_tempstore.exceptions import ClosedStorage

    store.close()
    with pytest.raises(ClosedStorage):
        store.read_sql("SELECT 1")


LINK_TO_NOTHING = "INSERT INTO db_dblink (input_id, output_id, label, type) VALUES (?, 999, 'x', 'create')"


def test_raw_transaction_commits_its_writes_or_none(store):
    pk = add_node(store)
    with store.raw_transaction() as connection:
        assert store.in_transaction
        connection.execute("UPDATE db_dbnode SET label = 'kept' WHERE id = ?", (pk,))
    assert not store.in_transaction
    with pytest.raises(Boom), store.raw_transaction() as connection:
        connection.execute("UPDATE db_dbnode SET label = 'lost' WHERE id = ?", (pk,))
        raise Boom
    assert store.read_sql("SELECT label FROM db_dbnode") == [("kept",)]


def test_raw_transaction_fails_on_a_deferred_foreign_key_with_our_error(store):
    pk = add_node(store)
    with pytest.raises(IntegrityError, match="FOREIGN KEY"), store.raw_transaction() as connection:
        connection.execute("UPDATE db_dbnode SET label = 'lost' WHERE id = ?", (pk,))
        connection.execute(LINK_TO_NOTHING, (pk,))
    assert not store.in_transaction
    assert store.read_sql("SELECT label FROM db_dbnode") == [("",)]
    assert count(store, "db_dblink") == 0


def test_raw_transaction_inside_transaction_is_a_nested_block(store):
    with store.transaction():
        pk = add_node(store)
        with pytest.raises(Boom), store.raw_transaction() as connection:
            connection.execute("UPDATE db_dbnode SET label = 'inner' WHERE id = ?", (pk,))
            raise Boom
        assert store.read_sql("SELECT label FROM db_dbnode") == [("",)]
        with store.raw_transaction() as connection:
            connection.execute("UPDATE db_dbnode SET label = 'inner' WHERE id = ?", (pk,))
    assert store.read_sql("SELECT label FROM db_dbnode") == [("inner",)]
    with pytest.raises(Boom), store.transaction():
        with store.raw_transaction() as connection:
            connection.execute("UPDATE db_dbnode SET label = 'undone' WHERE id = ?", (pk,))
        raise Boom
    assert store.read_sql("SELECT label FROM db_dbnode") == [("inner",)]


def test_raw_transaction_expires_what_the_session_caches(store):
    pk = add_node(store)
    node = store.get_session().get(DbNode, pk)
    assert node.label == ""
    with store.raw_transaction() as connection:
        connection.execute("UPDATE db_dbnode SET label = 'changed' WHERE id = ?", (pk,))
    assert node.label == "changed"
