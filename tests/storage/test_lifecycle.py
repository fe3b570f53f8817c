"""Versions, initialise/migrate, close and clean-up: a store leaves nothing behind."""

from __future__ import annotations

import gc
import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from pytest_tempstore import SqliteTempBackend
from pytest_tempstore.exceptions import (
    ClosedStorage,
    IncompatibleStorageSchema,
    StorageBusy,
)
from pytest_tempstore.profile import Profile, StorageSection

from .conftest import count, node_row


def test_versions_are_the_head():
    profile = SqliteTempBackend.create_profile()
    assert SqliteTempBackend.version_head() == "main_0001"
    assert SqliteTempBackend.version_profile(profile) == "main_0001"
    SqliteTempBackend.migrate(profile)


def test_a_profile_of_another_backend_is_refused():
    profile = Profile(name="p", default_user_email="a@b.c", storage=StorageSection(backend="core.psql_dos"))
    with pytest.raises(IncompatibleStorageSchema, match=r"core\.psql_dos"):
        SqliteTempBackend.migrate(profile)
    with pytest.raises(IncompatibleStorageSchema):
        SqliteTempBackend(profile)


def test_initialise_with_reset_empties_the_open_stores_of_the_profile(store):
    store.bulk_insert("node", [node_row(store.default_user_id)])
    other = SqliteTempBackend(SqliteTempBackend.create_profile(name="other"))
    other.bulk_insert("node", [node_row(other.default_user_id)])
    try:
        assert SqliteTempBackend.initialise(store.profile) is False
        assert count(store, "db_dbnode") == 1
        assert SqliteTempBackend.initialise(store.profile, reset=True) is True
        assert count(store, "db_dbnode") == 0
        assert count(store, "db_dbuser") == 1
        assert count(other, "db_dbnode") == 1
    finally:
        other.close()


def test_a_new_store_holds_only_the_default_user():
    store = SqliteTempBackend(SqliteTempBackend.create_profile(default_user_email="me@example.org"))
    try:
        info = store.get_info(detailed=True)["entities"]
        assert info["Users"] == {"count": 1, "emails": ["me@example.org"]}
        assert all(info[name]["count"] == 0 for name in info if name != "Users")
    finally:
        store.close()


def test_str_names_the_state_and_the_sandbox(tmp_path):
    store = SqliteTempBackend(SqliteTempBackend.create_profile(filepath=tmp_path))
    assert str(store) == "SqliteTemp storage [open], sandbox: (not created yet)"
    store.get_repository().put_object_from_filelike(io.BytesIO(b"x"))
    assert str(store) == f"SqliteTemp storage [open], sandbox: {tmp_path / 'repo'}"
    store.close()
    assert str(store).startswith("SqliteTemp storage [closed]")


def test_close_is_idempotent_and_removes_the_sandbox():
    store = SqliteTempBackend(SqliteTempBackend.create_profile())
    store.get_repository().put_object_from_filelike(io.BytesIO(b"content"))
    folder = store.get_repository().folder
    assert folder is not None
    assert folder.is_dir()
    store.close()
    store.close()
    assert store.is_closed
    assert not folder.exists()


def test_an_explicit_filepath_is_left_empty(tmp_path):
    store = SqliteTempBackend(SqliteTempBackend.create_profile(filepath=tmp_path))
    store.get_repository().put_object_from_filelike(io.BytesIO(b"content"))
    store.close()
    assert list(tmp_path.iterdir()) == []


CLOSED_CALLS = [
    ("get_session", ()),
    ("get_repository", ()),
    ("get_info", ()),
    ("maintain", ()),
    ("bulk_insert", ("node", [{"user_id": 1}], True)),
    ("bulk_update", ("node", [{"id": 1}])),
    ("get_global_variable", ("k",)),
    ("set_global_variable", ("k", 1)),
    ("snapshot", ()),
    ("_clear", ()),
    ("write_database", ("unused.sqlite3",)),
]


@pytest.mark.parametrize(("method", "args"), CLOSED_CALLS, ids=[name for name, _ in CLOSED_CALLS])
def test_every_operation_after_close_raises_closed_storage(method, args):
    store = SqliteTempBackend(SqliteTempBackend.create_profile())
    snapshot = store.snapshot()
    store.close()
    with pytest.raises(ClosedStorage, match="closed"):
        getattr(store, method)(*args)
    with pytest.raises(ClosedStorage):
        store.restore(snapshot)
    with pytest.raises(ClosedStorage), store.transaction():
        pass
    with pytest.raises(ClosedStorage):
        _ = store.default_user_id


def test_a_garbage_collected_store_removes_its_sandbox():
    store = SqliteTempBackend(SqliteTempBackend.create_profile())
    store.get_repository().put_object_from_filelike(io.BytesIO(b"content"))
    folder = store.get_repository().folder
    del store
    gc.collect()
    assert folder is not None
    assert not folder.exists()


def test_a_store_open_at_interpreter_exit_removes_its_sandbox(tmp_path):
    script = textwrap.dedent(
        """
        import io
        from pytest_tempstore import SqliteTempBackend
        store = SqliteTempBackend(SqliteTempBackend.create_profile())
        store.get_repository().put_object_from_filelike(io.BytesIO(b"content"))
        print(store.get_repository().folder)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    folder = result.stdout.strip()
    assert folder
    assert not Path(folder).exists()


def test_operations_that_replace_the_database_refuse_inside_a_transaction(store):
    snapshot = store.snapshot()
    with store.transaction():
        for call in (store._clear, store.snapshot, lambda: store.restore(snapshot)):
            with pytest.raises(StorageBusy, match="inside transaction"):
                call()


def test_delete_closes_the_store():
    store = SqliteTempBackend(SqliteTempBackend.create_profile())
    store.delete()
    assert store.is_closed


def test_stores_share_one_initialized_dialect_and_their_connections_are_set_up_for_it(store, tmp_path):
    other = SqliteTempBackend(SqliteTempBackend.create_profile(filepath=tmp_path / "other"))
    try:
        first, second = (backend._database.engine for backend in (store, other))
        assert first is not second
        assert first.dialect is second.dialect
        # The dialect registers SQL functions on every connection it is given (regexp_match uses one).
        matches = sa.select(sa.literal("provenance").regexp_match("ven+a"))
        for backend in (store, other):
            with backend.transaction() as session:
                assert session.scalar(matches) == 1
    finally:
        other.close()
