"""bulk_insert and bulk_update: the reference's key rules, and all-or-nothing on errors."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pytest_tempstore import EntityTypes
from pytest_tempstore.exceptions import InputValidationError, IntegrityError, NotExistent

from .conftest import count, node_row


def test_ids_come_back_in_row_order(store):
    rows = [node_row(store.default_user_id, label=f"n{i}") for i in range(5)]
    ids = store.bulk_insert(EntityTypes.NODE, rows)
    assert len(ids) == 5
    with store.transaction() as session:
        labels = dict(session.connection().exec_driver_sql("SELECT id, label FROM db_dbnode").all())
    assert [labels[pk] for pk in ids] == [f"n{i}" for i in range(5)]


def test_ids_keep_growing_after_earlier_inserts(store):
    first = store.bulk_insert("node", [node_row(store.default_user_id)])
    second = store.bulk_insert("node", [node_row(store.default_user_id) for _ in range(3)])
    assert second == [first[0] + 1, first[0] + 2, first[0] + 3]


def test_empty_rows_return_an_empty_list(store):
    assert store.bulk_insert("node", []) == []
    store.bulk_update("node", [])


def test_the_callers_dicts_are_not_changed(store):
    rows = [node_row(store.default_user_id), {"user_id": store.default_user_id}]
    before = copy.deepcopy(rows)
    store.bulk_insert("node", rows[:1])
    store.bulk_insert("node", rows[1:], allow_defaults=True)
    store.bulk_update("node", [{"id": 1, "label": "x"}])
    assert rows == before


def test_values_read_back_as_written(store):
    when = datetime(2023, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    row = node_row(store.default_user_id, ctime=when, attributes={"a": [1, 2.5, "x", None, True]})
    (pk,) = store.bulk_insert("node", [row])
    from pytest_tempstore.storage.models import DbNode

    with store.transaction() as session:
        node = session.get(DbNode, pk)
        assert node is not None
        assert node.ctime == when
        assert node.attributes == {"a": [1, 2.5, "x", None, True]}
        assert node.uuid == row["uuid"]


def test_times_in_other_zones_are_stored_as_utc(store):
    local = datetime(2024, 1, 1, 12, 0, tzinfo=UTC).astimezone(timezone(timedelta(hours=5)))
    (pk,) = store.bulk_insert("node", [node_row(store.default_user_id, ctime=local)])
    from pytest_tempstore.storage.models import DbNode

    with store.transaction() as session:
        assert session.get(DbNode, pk).ctime == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def test_times_are_stored_as_the_orm_stores_them(store):
    # Whole seconds too: a different text form would sort and compare wrongly in SQL.
    from pytest_tempstore.storage.models import DbNode

    whole_second = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    (bulk_pk,) = store.bulk_insert("node", [node_row(store.default_user_id, ctime=whole_second)])
    with store.transaction() as session:
        orm_node = DbNode(**{**node_row(store.default_user_id), "ctime": whole_second})
        session.add(orm_node)
    stored = store.read_sql("SELECT ctime FROM db_dbnode WHERE id IN (?, ?)", (bulk_pk, orm_node.id))
    assert [text for (text,) in stored] == ["2024-01-01 12:00:00.000000"] * 2


def test_allow_defaults_fills_the_rest(store):
    (pk,) = store.bulk_insert("node", [{"user_id": store.default_user_id}], allow_defaults=True)
    from pytest_tempstore.storage.models import DbNode

    with store.transaction() as session:
        node = session.get(DbNode, pk)
        assert node is not None
        assert uuid.UUID(node.uuid).version == 4
        assert node.attributes == {}
        assert node.repository_metadata == {}
        assert node.process_type is None


@pytest.mark.parametrize(
    ("entity", "row"),
    [
        ("user", {"email": "a@b.c"}),
        ("computer", {"label": "localhost", "metadata": {"x": 1}}),
        ("group", {"label": "g", "user_id": 1}),
        ("setting", None),
    ],
)
def test_every_entity_type_takes_rows(store, entity, row):
    if row is None:
        with pytest.raises(InputValidationError, match="unknown entity type 'setting'"):
            store.bulk_insert(entity, [{}], allow_defaults=True)
        return
    assert store.bulk_insert(entity, [row], allow_defaults=True) == [2 if entity == "user" else 1]


def test_metadata_column_is_given_as_metadata(store):
    (computer,) = store.bulk_insert("computer", [{"label": "c", "metadata": {"a": 1}}], allow_defaults=True)
    store.bulk_insert(
        "authinfo",
        [{"aiidauser_id": 1, "dbcomputer_id": computer, "metadata": {"b": 2}}],
        allow_defaults=True,
    )
    with store.transaction() as session:
        stored = session.connection().exec_driver_sql("SELECT metadata FROM db_dbauthinfo").scalar_one()
    assert stored == '{"b": 2}'


def test_missing_keys_without_defaults(store):
    row = node_row(store.default_user_id)
    del row["label"]
    with pytest.raises(IntegrityError, match=r"missing keys \['label'\]"):
        store.bulk_insert("node", [row])


@pytest.mark.parametrize("allow_defaults", [False, True])
def test_unknown_keys(store, allow_defaults):
    row = node_row(store.default_user_id, colour="blue")
    with pytest.raises(IntegrityError, match=r"unknown keys \['colour'\]"):
        store.bulk_insert("node", [row], allow_defaults=allow_defaults)


def test_id_is_not_a_column_to_insert(store):
    with pytest.raises(IntegrityError, match="unknown keys"):
        store.bulk_insert("node", [{"id": 7, "user_id": 1}], allow_defaults=True)


@pytest.mark.parametrize("bad", [["user_id", 1], "row", 3, None])
def test_non_dict_rows(store, bad):
    with pytest.raises(IntegrityError, match="row 1 is a"):
        store.bulk_insert("node", [{"user_id": 1}, bad], allow_defaults=True)
    assert count(store, "db_dbnode") == 0


def test_wrong_entity_type_lists_the_valid_ones(store):
    with pytest.raises(InputValidationError, match="valid types are: authinfo, comment"):
        store.bulk_insert("nodes", [])
    with pytest.raises(InputValidationError):
        store.bulk_update(5, [])


def test_a_unique_violation_leaves_no_row_behind(store):
    shared = str(uuid.uuid4())
    rows = [node_row(store.default_user_id, uuid=str(uuid.uuid4())) for _ in range(3)]
    rows.append(node_row(store.default_user_id, uuid=shared))
    rows.append(node_row(store.default_user_id, uuid=shared))
    with pytest.raises(IntegrityError, match=r"node: UNIQUE constraint failed: db_dbnode.uuid"):
        store.bulk_insert("node", rows)
    assert count(store, "db_dbnode") == 0


def test_a_foreign_key_violation_is_caught_at_once_and_names_the_values(store):
    rows = [node_row(store.default_user_id), node_row(99), node_row(98)]
    with pytest.raises(IntegrityError, match="user_id refers to rows that do not exist in db_dbuser: 98, 99"):
        store.bulk_insert("node", rows)
    assert count(store, "db_dbnode") == 0


def test_a_foreign_key_violation_inside_a_transaction_keeps_the_transaction_usable(store):
    with store.transaction():
        store.bulk_insert("node", [node_row(store.default_user_id)])
        with pytest.raises(IntegrityError):
            store.bulk_insert("node", [node_row(store.default_user_id), node_row(42)])
        store.bulk_insert("node", [node_row(store.default_user_id)])
    assert count(store, "db_dbnode") == 2


def test_a_value_that_is_not_json_names_the_column(store):
    row = node_row(store.default_user_id, extras={"when": object()})
    with pytest.raises(IntegrityError, match="column 'extras' cannot store"):
        store.bulk_insert("node", [node_row(store.default_user_id), row])
    assert count(store, "db_dbnode") == 0


def test_bulk_update_changes_only_the_given_columns_and_bumps_mtime(store):
    old = datetime(2020, 1, 1, tzinfo=UTC)
    pk1, pk2 = store.bulk_insert("node", [node_row(store.default_user_id, mtime=old) for _ in range(2)])
    store.bulk_update(
        "node", [{"id": pk1, "label": "new", "extras": {"k": 1}}, {"id": pk2, "description": "d"}]
    )
    from pytest_tempstore.storage.models import DbNode

    with store.transaction() as session:
        first, second = session.get(DbNode, pk1), session.get(DbNode, pk2)
        assert (first.label, first.extras, first.description) == ("new", {"k": 1}, "")
        assert (second.label, second.description) == ("", "d")
        assert first.mtime > old
        assert second.mtime > old


def test_bulk_update_of_an_unknown_id_names_it_and_changes_nothing(store):
    (pk,) = store.bulk_insert("node", [node_row(store.default_user_id)])
    with pytest.raises(NotExistent, match="no rows with ids 404, 405"):
        store.bulk_update("node", [{"id": pk, "label": "changed"}, {"id": 404}, {"id": 405, "label": "x"}])
    with store.transaction() as session:
        assert session.connection().exec_driver_sql("SELECT label FROM db_dbnode").scalar_one() == ""


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"label": "x"}, "has no 'id'"),
        ({"id": "1", "label": "x"}, "non-integer id"),
        ({"id": 1, "colour": "x"}, r"unknown keys \['colour'\]"),
        ({"id": 1, "user_id": 77}, "user_id refers to rows that do not exist"),
    ],
)
def test_bad_updates(store, row, message):
    store.bulk_insert("node", [node_row(store.default_user_id, label="kept")])
    with pytest.raises(IntegrityError, match=message):
        store.bulk_update("node", [row])
    with store.transaction() as session:
        assert session.connection().exec_driver_sql("SELECT label FROM db_dbnode").scalar_one() == "kept"
